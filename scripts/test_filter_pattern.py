"""Tests of scripts/filter_pattern.py against the examples of AWS's documentation.

Run from the repository root: python3 -m unittest scripts/test_filter_pattern.py

Sources, cited in each test:
  [page]    "Filter pattern syntax for metric filters, subscription filters, filter log events,
            and Live Tail", https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
            (section "Using filter patterns to match terms in JSON log events"), and its
            example-led twin matching-terms-json-log-events.html;
  [metric]  "Filter pattern syntax for metric filters",
            https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntaxForMetricFilters.html;
  [2021]    the same page's earlier revision (awsdocs/amazon-cloudwatch-logs-user-guide,
            doc_source/FilterAndPatternSyntax.md, 2020-2021), which had more examples;
  [api]     API_SubscriptionFilter / API_MetricFilter: filterPattern "Maximum length of 1024".
A test whose expectation is an inference, not a documented result, says so.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import filter_pattern as fp  # noqa: E402

# [page] "JSON log event" (also [2021], which had "ThisFlag": true and no "cluster.name").
PAGE_EVENT = {
    "eventType": "UpdateTrail",
    "sourceIPAddress": "111.111.111.111",
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "SomeObject": None,
    "cluster.name": "c",
}
EVENT_2021 = {k: v for k, v in PAGE_EVENT.items() if k != "cluster.name"} | {"ThisFlag": True}

# [page] "JSON object" of the compound-expression examples.
COMPOUND_EVENT = {
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [
        {"id": 2, "email": "John.Doe@example.com"},
        {"id": 3, "email": "Jane.Doe@example.com"},
    ],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
}


def matches(pattern: str, event) -> bool:
    message = event if isinstance(event, str) else json.dumps(event)
    return fp.compile(pattern).matches(message)


class PageStringExamples(unittest.TestCase):
    """[page] "The following examples ... show how filter patterns can match terms in a JSON log event"."""

    def test_string_value(self):
        # "This filter pattern matches the string "UpdateTrail" in the property "eventType"."
        self.assertTrue(matches('{ $.eventType = "UpdateTrail" }', PAGE_EVENT))
        self.assertFalse(matches('{ $.eventType = "UpdateTrail" }', {"eventType": "CreateTrail"}))

    def test_not_equal_with_wildcard(self):
        # "This filter pattern contains a wild card and matches the property "sourceIPAddress"
        # because it doesn't contain a number with the prefix "123.123."."
        self.assertTrue(matches("{ $.sourceIPAddress != 123.123.* }", PAGE_EVENT))
        self.assertFalse(matches("{ $.sourceIPAddress != 123.123.* }", {"sourceIPAddress": "123.123.4.5"}))

    def test_array_element(self):
        # "This filter pattern matches the element "value" in the array "arrayKey"."
        self.assertTrue(matches('{ $.arrayKey[0] = "value" }', PAGE_EVENT))
        self.assertFalse(matches('{ $.arrayKey[1] = "value" }', PAGE_EVENT))

    def test_property_with_a_period_in_its_key(self):
        # "Example: Filter pattern that matches a JSON property with a period (.) in the key"
        self.assertTrue(matches("{ $.['cluster.name'] = \"c\" }", PAGE_EVENT))
        self.assertFalse(matches('{ $.cluster.name = "c" }', PAGE_EVENT))

    def test_is_null(self):
        # "The following filter pattern returns JSON logs where the value of SomeObject is NULL."
        self.assertTrue(matches("{ $.SomeObject IS NULL }", PAGE_EVENT))
        # [2021] "This will only be true is the specified object is set to null."
        self.assertFalse(matches("{ $.SomeOtherObject IS NULL }", PAGE_EVENT))
        self.assertFalse(matches("{ $.eventType IS NULL }", PAGE_EVENT))

    def test_not_exists(self):
        # "The following filter pattern uses NOT EXISTS to return JSON logs that don't contain
        # the field SomeOtherObject."
        self.assertTrue(matches("{ $.SomeOtherObject NOT EXISTS }", PAGE_EVENT))
        # [2021] "This will only be true if specified object does not exist in log data."
        self.assertFalse(matches("{ $.eventType NOT EXISTS }", PAGE_EVENT))
        # A field set to null exists.
        self.assertFalse(matches("{ $.SomeObject NOT EXISTS }", PAGE_EVENT))

    def test_regex_examples_are_refused_not_guessed(self):
        # [page] documents these (regex between %...%); this evaluator does not implement regex.
        for pattern in (
            "{ $.eventType = %Trail% }",
            "{ $.arrayKey[*] = %val.{2}% }",
            r"{ $.* = %111\.111\.111\.1[0-9]{1,2}% }",
        ):
            with self.subTest(pattern=pattern), self.assertRaises(fp.UnsupportedPatternError):
                fp.compile(pattern)


class Earlier2021Examples(unittest.TestCase):
    """[2021] "JSON Metric Filter Examples" and the SELECTOR / STRING definitions."""

    def test_object_in_array(self):
        # "Filter on the second entry in objectList having a property called id = 2."
        self.assertTrue(matches("{ $.objectList[1].id = 2 }", EVENT_2021))
        # "If objectList is not an array this will be false. If the items in objectList are
        # not objects or do not have an id property, this will be false."
        self.assertFalse(matches("{ $.objectList[1].id = 2 }", {"objectList": {"1": {"id": 2}}}))
        self.assertFalse(matches("{ $.objectList[1].id = 2 }", {"objectList": ["a", "b"]}))
        self.assertFalse(matches("{ $.objectList[1].id = 2 }", {"objectList": [{"id": 1}, {"name": "b"}]}))

    def test_array_index_on_something_else(self):
        # "If arrayKey is not an array this will be false."
        self.assertFalse(matches('{ $.arrayKey[0] = "value" }', {"arrayKey": "value"}))
        self.assertFalse(matches('{ $.arrayKey[0] = "value" }', {"arrayKey": {"0": "value"}}))

    def test_is_true_and_false(self):
        # "Filters on ThisFlag being TRUE. This also works for boolean filters which check for
        # FALSE value."
        self.assertTrue(matches("{ $.ThisFlag IS TRUE }", EVENT_2021))
        self.assertFalse(matches("{ $.ThisFlag IS FALSE }", EVENT_2021))
        self.assertTrue(matches("{ $.ThisFlag IS FALSE }", {"ThisFlag": False}))
        # A string is not a boolean, nor 1 true.
        self.assertFalse(matches("{ $.ThisFlag IS TRUE }", {"ThisFlag": "true"}))
        self.assertFalse(matches("{ $.ThisFlag IS TRUE }", {"ThisFlag": 1}))

    def test_wildcards_before_and_after(self):
        # "*Event will match PutEvent and GetEvent. Event* will match EventId and EventName."
        for name in ("PutEvent", "GetEvent"):
            self.assertTrue(matches("{ $.eventName = *Event }", {"eventName": name}))
        self.assertFalse(matches("{ $.eventName = *Event }", {"eventName": "EventId"}))
        for name in ("EventId", "EventName"):
            self.assertTrue(matches("{ $.eventName = Event* }", {"eventName": name}))
        self.assertFalse(matches("{ $.eventName = Event* }", {"eventName": "PutEvent"}))

    def test_wildcard_inside_a_string_is_refused(self):
        # "Ev*ent will only match the actual string Ev*ent." The current page no longer says
        # so, so the evaluator refuses it rather than pick one reading.
        with self.assertRaises(fp.UnsupportedPatternError):
            fp.compile("{ $.eventName = Ev*ent }")

    def test_selector_on_an_array_matches_neither_equal_nor_not_equal(self):
        # "both {$.users = 1} and {$.users != 1} will fail to match a log event where users is
        # an array: { "users": [1, 2, 3] }"
        event = {"users": [1, 2, 3]}
        self.assertFalse(matches("{$.users = 1}", event))
        self.assertFalse(matches("{$.users != 1}", event))
        # [page] "If a property selector points to an array or object, the filter pattern
        # won't match the log format."
        self.assertFalse(matches("{ $.users != 1 }", {"users": {"id": 1}}))

    def test_or_in_json_filters(self):
        # "{$.foo = bar} matches pattern 1, {$.foo = baz } matches pattern 2, and
        # {$.foo = bar || $.foo = baz } matches pattern 1 and 2."
        one, two = '{"foo": "bar"}', '{"foo": "baz"}'
        self.assertEqual([matches("{$.foo = bar}", e) for e in (one, two)], [True, False])
        self.assertEqual([matches("{$.foo = baz }", e) for e in (one, two)], [False, True])
        self.assertEqual([matches("{$.foo = bar || $.foo = baz }", e) for e in (one, two)], [True, True])

    def test_numeric_examples(self):
        # "Examples: { $.latency >= 500 } { $.numbers[0] < 10e3 } { $.numbers[0] < 10e-3 }
        # { $.processes[4].averageRuntime <= 55.5 } { $.errorCode = 400 } { $.errorCode != 500 }
        # { $.latency > +1000 }" (valid patterns; the events are ours).
        self.assertTrue(matches("{ $.latency >= 500 }", {"latency": 500}))
        self.assertFalse(matches("{ $.latency >= 500 }", {"latency": 499.9}))
        self.assertTrue(matches("{ $.numbers[0] < 10e3 }", {"numbers": [9999]}))
        self.assertFalse(matches("{ $.numbers[0] < 10e3 }", {"numbers": [10000]}))
        self.assertTrue(matches("{ $.numbers[0] < 10e-3 }", {"numbers": [0.001]}))
        self.assertFalse(matches("{ $.numbers[0] < 10e-3 }", {"numbers": [0.01]}))
        processes = {"processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}]}
        self.assertTrue(matches("{ $.processes[4].averageRuntime <= 55.5 }", processes))
        self.assertTrue(matches("{ $.errorCode = 400 }", {"errorCode": 400}))
        self.assertFalse(matches("{ $.errorCode != 500 }", {"errorCode": 500}))
        self.assertTrue(matches("{ $.errorCode != 500 }", {"errorCode": 404}))
        self.assertTrue(matches("{ $.latency > +1000 }", {"latency": 1001}))
        self.assertFalse(matches("{ $.latency > +1000 }", {"latency": 1000}))


class PageNumericExamples(unittest.TestCase):
    """[page] "Writing filter patterns that match numeric values" (valid patterns; the events are ours)."""

    def test_operators(self):
        cases = [
            ("{ $.bandwidth > 75 }", {"bandwidth": 76}, {"bandwidth": 75}),
            ("{ $.latency < 50 }", {"latency": 49}, {"latency": 50}),
            ("{ $.refreshRate >= 60 }", {"refreshRate": 60}, {"refreshRate": 59}),
            ("{ $.responseTime <= 5 }", {"responseTime": 5}, {"responseTime": 6}),
            ("{ $.errorCode = 400}", {"errorCode": 400}, {"errorCode": 401}),
            ("{ $.errorCode != 500 }", {"errorCode": 200}, {"errorCode": 500}),
            ("{ $.number[0] = 1e+3 }", {"number": [1000]}, {"number": [100]}),
            ("{ $.number[0] != 1e-3 }", {"number": [1]}, {"number": [0.001]}),
        ]
        for pattern, yes, no in cases:
            with self.subTest(pattern=pattern):
                self.assertTrue(matches(pattern, yes))
                self.assertFalse(matches(pattern, no))


class CompoundExamples(unittest.TestCase):
    """[page] "Using compound expressions": "() > && > ||", with the documented results."""

    def test_and_matches(self):
        # "Example: Expression that matches using AND (&&)"
        pattern = '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }'
        self.assertTrue(matches(pattern, COMPOUND_EVENT))

    def test_or_matches(self):
        # "Example: Expression that matches using OR (||)": && binds tighter, so this is
        # email = ... || (coordinates... && actions...).
        self.assertTrue(matches(
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch"'
            ' && $.actions[2] = "nonmatch" }', COMPOUND_EVENT))

    def test_or_inside_and_does_not_match(self):
        # "Example: Expression that doesn't match using AND (&&)": "doesn't find a match
        # because the expression doesn't match the third action in "actions"."
        self.assertFalse(matches(
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch")'
            ' && $.actions[2] = "nonmatch" }', COMPOUND_EVENT))

    def test_and_inside_or_does_not_match(self):
        # "Example: Expression that doesn't match using OR (||)"
        pattern = '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }'
        self.assertFalse(matches(pattern, COMPOUND_EVENT))

    def test_2021_unquoted_variants(self):
        # [2021] the same examples with unquoted nonmatch/nomatch: "Matches the JSON above."
        # and "Doesn't match the JSON above."
        matching = ('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch'
                    ' && $.actions[2] = nomatch }')
        not_matching = ('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
                        ' && $.actions[2] = nomatch }')
        self.assertTrue(matches(matching, COMPOUND_EVENT))
        self.assertFalse(matches(not_matching, COMPOUND_EVENT))

    def test_nested_parentheses(self):
        # Our own, on the documented precedence: parentheses first, at any depth.
        event = {"a": 1, "b": 2, "c": 3, "d": 4}
        self.assertTrue(matches("{ (($.a = 9 || ($.b = 2 && $.c = 3)) && $.d = 4) }", event))
        self.assertFalse(matches("{ (($.a = 9 || ($.b = 2 && $.c = 9)) && $.d = 4) }", event))
        self.assertTrue(matches("{ ((((($.a = 1))))) }", event))
        # Without the parentheses && binds first: a = 1 || (b = 9 && c = 9).
        self.assertTrue(matches("{ $.a = 1 || $.b = 9 && $.c = 9 }", event))
        self.assertFalse(matches("{ ($.a = 1 || $.b = 9) && $.c = 9 }", event))

    def test_or_inside_and_with_several_groups(self):
        # The shape of the audit pattern: (A || B) && (C || D) && E.
        pattern = "{ ($.v = create || $.v = patch) && ($.r = pods || $.r = jobs) && $.s = done }"
        self.assertTrue(matches(pattern, {"v": "patch", "r": "jobs", "s": "done"}))
        self.assertFalse(matches(pattern, {"v": "delete", "r": "jobs", "s": "done"}))
        self.assertFalse(matches(pattern, {"v": "patch", "r": "nodes", "s": "done"}))
        self.assertFalse(matches(pattern, {"v": "patch", "r": "jobs"}))


class MetricFilterPageExamples(unittest.TestCase):
    """[metric] examples."""

    def test_star_string_and_not_equal(self):
        # "The metric filter increments the metric whenever a JSON log event contain the
        # properties eventType and "sourceIPAddress"."
        pattern = '{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }'
        self.assertTrue(matches(pattern, PAGE_EVENT))
        # Inference from that sentence: without sourceIPAddress the != condition fails.
        self.assertFalse(matches(pattern, {"eventType": "UpdateTrail"}))
        self.assertFalse(matches(pattern, {"sourceIPAddress": "111.111.111.111"}))

    def test_star_matches_a_number(self):
        # "{ $.latency = * } metricValue: $.latency" ... "matches the term "latency" in the
        # example JSON log event and publishes a numeric value of 50": {"latency": 50, ...}
        self.assertTrue(matches("{ $.latency = * }", {"latency": 50, "requestType": "GET"}))
        self.assertFalse(matches("{ $.latency = * }", {"requestType": "GET"}))


class AbsentFields(unittest.TestCase):
    """A selector that reaches nothing: NOT EXISTS is documented; the rest follows [page]'s
    "value nodes" rule and [metric]'s sentence above (an inference, also what
    DataBiosphere/azul#5884 reports from the console's pattern test)."""

    def test_every_comparison_fails_on_an_absent_field(self):
        for pattern in ("{ $.a = x }", "{ $.a != x }", "{ $.a = * }", "{ $.a != * }", "{ $.a < 1 }",
                        "{ $.a >= 1 }", "{ $.a != 1 }", "{ $.a IS NULL }", "{ $.a IS TRUE }",
                        "{ $.a IS FALSE }"):
            with self.subTest(pattern=pattern):
                self.assertFalse(matches(pattern, {"b": 1}))

    def test_not_exists_through_missing_or_wrong_parents(self):
        for event in ({}, {"a": None}, {"a": "text"}, {"a": []}, {"a": {"c": 1}}, {"a": [{"b": 1}]}):
            with self.subTest(event=event):
                self.assertTrue(matches("{ $.a.b NOT EXISTS }", event))
        self.assertFalse(matches("{ $.a.b NOT EXISTS }", {"a": {"b": None}}))
        self.assertTrue(matches("{ $.a[2] NOT EXISTS }", {"a": [1, 2]}))
        self.assertFalse(matches("{ $.a[1] NOT EXISTS }", {"a": [1, 2]}))

    def test_not_exists_combines_with_or(self):
        pattern = "{ $.code < 400 || $.code NOT EXISTS }"
        self.assertTrue(matches(pattern, {"code": 200}))
        self.assertTrue(matches(pattern, {}))
        self.assertFalse(matches(pattern, {"code": 403}))

    def test_null_and_booleans_are_not_value_nodes(self):
        # An assumption (see the module's docstring): only strings and numbers are compared.
        for value in (None, True, False):
            with self.subTest(value=value):
                self.assertFalse(matches("{ $.a != x }", {"a": value}))
                self.assertFalse(matches("{ $.a = * }", {"a": value}))
                self.assertFalse(matches("{ $.a != 1 }", {"a": value}))


class NumbersAndStrings(unittest.TestCase):
    def test_numbers_compare_as_numbers(self):
        self.assertTrue(matches("{ $.n = 1000 }", {"n": 1e3}))
        self.assertTrue(matches("{ $.n = 1e3 }", {"n": 1000}))
        self.assertTrue(matches("{ $.n = 1.50 }", {"n": 1.5}))
        self.assertTrue(matches("{ $.n = -2 }", {"n": -2}))
        self.assertTrue(matches("{ $.n < 0.1 }", '{"n": 0.09999999999999999999}'))

    def test_a_number_does_not_equal_a_string_nor_a_string_a_number(self):
        # Not documented either way; the evaluator keeps the two apart.
        self.assertFalse(matches("{ $.n = 400 }", {"n": "400"}))
        self.assertFalse(matches('{ $.n = "400" }', {"n": 400}))
        self.assertFalse(matches("{ $.n > 300 }", {"n": "400"}))
        # != on a value node of the other kind: it is not equal.
        self.assertTrue(matches("{ $.n != 400 }", {"n": "400"}))

    def test_unquoted_strings(self):
        # [page] "Strings that contain types other than alphanumeric characters and the
        # underscore symbol must be placed in double quotation marks."
        self.assertTrue(matches("{ $.verb = create }", {"verb": "create"}))
        self.assertTrue(matches("{ $.a = some_value }", {"a": "some_value"}))
        self.assertTrue(matches("{ $.a = 1.2.3 }", {"a": "1.2.3"}))
        for pattern in ("{ $.a = aws-auth }", "{ $.a = eks:x }", "{ $.a = a/b }", "{ $.a = x@y }"):
            with self.subTest(pattern=pattern), self.assertRaises(fp.InvalidPatternError):
                fp.compile(pattern)
        self.assertTrue(matches('{ $.a = "aws-auth" }', {"a": "aws-auth"}))

    def test_case_sensitive(self):
        # [page] "Filter patterns are case sensitive."
        self.assertFalse(matches('{ $.stage = "responsecomplete" }', {"stage": "ResponseComplete"}))


class Wildcards(unittest.TestCase):
    def test_value_wildcards_with_equal_and_not_equal(self):
        user = "system:serviceaccount:kube-system:replicaset-controller"
        self.assertTrue(matches('{ $.u = "system:serviceaccount:kube-system:*" }', {"u": user}))
        self.assertFalse(matches('{ $.u != "system:serviceaccount:kube-system:*" }', {"u": user}))
        self.assertTrue(matches('{ $.u != "system:serviceaccount:kube-system:*" }',
                                {"u": "system:serviceaccount:argocd:argocd-application-controller"}))
        self.assertTrue(matches('{ $.u = "*controller" }', {"u": user}))
        self.assertTrue(matches('{ $.u = "*:kube-system:*" }', {"u": user}))
        self.assertFalse(matches('{ $.u = "*:default:*" }', {"u": user}))
        self.assertTrue(matches('{ $.u = "*" }', {"u": ""}))

    def test_wildcard_selectors(self):
        # [page] "You can use the JSON wildcard to select any array element or any JSON object field."
        self.assertTrue(matches('{ $.arrayKey[*] = "another value" }', PAGE_EVENT))
        self.assertTrue(matches("{ $.objectList[*].id = 2 }", PAGE_EVENT))
        self.assertFalse(matches("{ $.objectList[*].id = 3 }", PAGE_EVENT))
        self.assertTrue(matches('{ $.* = "111.111.111.111" }', PAGE_EVENT))
        self.assertTrue(matches("{ $.* IS NULL }", PAGE_EVENT))

    def test_wildcard_selector_quotas(self):
        # [page] "You can only use up to one wildcard selector in a property selector, and up to
        # three wildcard selectors in a filter pattern with compound expressions."
        with self.assertRaises(fp.InvalidPatternError):
            fp.compile("{ $.a[*].b.* = 1 }")
        fp.compile("{ $.a[*] = 1 && $.b.* = 1 && $.c[*] = 1 }")
        with self.assertRaises(fp.InvalidPatternError):
            fp.compile("{ $.a[*] = 1 && $.b.* = 1 && $.c[*] = 1 || $.d[*] = 1 }")

    def test_undocumented_wildcard_selector_forms_are_refused(self):
        for pattern in ("{ $.a[*] != 1 }", "{ $.a.* NOT EXISTS }"):
            with self.subTest(pattern=pattern), self.assertRaises(fp.UnsupportedPatternError):
                fp.compile(pattern)


class UnsupportedSyntax(unittest.TestCase):
    def test_documented_as_not_supported(self):
        # [page] "The variables IS NOT and EXISTS currently aren't supported."
        for pattern in ("{ $.a EXISTS }", "{ $.a IS NOT NULL }", "{ $.a IS NOT TRUE }"):
            with self.subTest(pattern=pattern), self.assertRaises(fp.InvalidPatternError) as caught:
                fp.compile(pattern)
            self.assertIn("currently aren't supported", str(caught.exception))

    def test_other_pattern_kinds_are_not_implemented(self):
        for pattern in ("ERROR", "ERROR -ARGUMENTS", '" "', "?ERROR ?ARGUMENTS", "%AUTHORIZED%",
                        "[w1=ERROR, w2]", "", "   "):
            with self.subTest(pattern=pattern), self.assertRaises(fp.UnsupportedPatternError):
                fp.compile(pattern)

    def test_malformed(self):
        for pattern in (
            "{ $.a = 1",             # AWS: "If a filter pattern starts with '{' it must end with '}'"
            "{ }",
            "{ a = 1 }",             # selectors start with "$."
            "{ $a = 1 }",
            "{ $.a == 1 }",
            "{ $.a = }",
            "{ $.a }",
            "{ $.a = 1 && }",
            "{ && $.a = 1 }",
            "{ $.a = 1 & $.b = 2 }",
            "{ $.a = 1 | $.b = 2 }",
            "{ ($.a = 1 }",
            "{ $.a = 1) }",
            "{ !($.a = 1) }",
            "{ $.a > abc }",         # numeric operators need a number
            "{ $.a < * }",
            '{ $.a = "unclosed }',
            "{ $.a = 'single' }",
            "{ $.a IS MAYBE }",
            "{ $.a NOT NULL }",
            "{ $.a LIKE x }",
            "{ $.[0] = 1 }",
            "{ $.a[x] = 1 }",
            "{ $.a:b = 1 }",
            "{ $.a = 1 } { $.b = 2 }",
        ):
            with self.subTest(pattern=pattern), self.assertRaises(fp.FilterPatternError):
                fp.compile(pattern)

    def test_not_implemented_details_are_refused(self):
        for pattern in ('{ $.a = "x\\"y" }', "{ $.a is null }", "{ $.a IS null }", "{ $.a not exists }",
                        "{ $.a = Ev*ent }", "{ $.a = %x% }"):
            with self.subTest(pattern=pattern), self.assertRaises(fp.UnsupportedPatternError):
                fp.compile(pattern)

    def test_maximum_length(self):
        # [api] filterPattern: "Length Constraints: Minimum length of 0. Maximum length of 1024."
        core = "{ $.a = 1 }"
        at_limit = core[:-1] + " " * (fp.MAX_PATTERN_LENGTH - len(core)) + "}"
        self.assertEqual(len(at_limit), 1024)
        self.assertEqual(fp.compile(at_limit).length, 1024)
        with self.assertRaises(fp.InvalidPatternError) as caught:
            fp.compile(at_limit + " ")
        self.assertIn("1025 characters", str(caught.exception))
        self.assertIn("1024", str(caught.exception))


class Messages(unittest.TestCase):
    def test_a_message_that_is_not_a_json_object_matches_nothing(self):
        compiled = fp.compile("{ $.a NOT EXISTS }")
        for message in ("", "ERROR 400", '2024-01-01 {"a": 1}', "[1, 2]", '"text"', "42", "null",
                        '{"a": 1', '{"b": NaN}'):
            with self.subTest(message=message):
                self.assertFalse(compiled.matches(message))
        self.assertTrue(compiled.matches('{"b": 1}'))
        self.assertTrue(compiled.matches('  {"b": 1}\n'))

    def test_whitespace_around_the_pattern(self):
        self.assertTrue(matches('  {$.a=1&&($.b="x"||$.c IS NULL)}  ', {"a": 1, "b": "x"}))


class CommandLine(unittest.TestCase):
    def run_cli(self, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = fp.main(list(args))
        return status, out.getvalue(), err.getvalue()

    def test_match_and_drop_per_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for name, body in (("yes.json", '{"verb": "create"}'), ("no.json", '{"verb": "get"}'),
                               ("text.json", "not json")):
                path = os.path.join(tmp, name)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(body)
                paths.append(path)
            status, out, err = self.run_cli("{ $.verb = create }", *paths)
        self.assertEqual(status, 0)
        self.assertEqual(out.splitlines(), [f"match\t{paths[0]}", f"drop\t{paths[1]}", f"drop\t{paths[2]}"])
        self.assertIn("19 of at most 1024 characters", err)

    def test_refused_pattern(self):
        status, out, err = self.run_cli("{ $.a EXISTS }", os.devnull)
        self.assertEqual((status, out), (2, ""))
        self.assertIn("pattern refused", err)

    def test_unreadable_file(self):
        status, _, err = self.run_cli("{ $.a = 1 }", "/nonexistent/event.json")
        self.assertEqual(status, 2)
        self.assertIn("/nonexistent/event.json", err)


if __name__ == "__main__":
    unittest.main()
