#!/usr/bin/env python3
"""Evaluate CloudWatch Logs JSON filter patterns locally.

Why this exists: the `audit-workloads` function is fed by a CloudWatch Logs subscription
filter on each EKS cluster's audit log group, and the filter pattern decides which audit
events reach it (and so what the function costs). No AWS account is reachable from the
tests, and moto cannot stand in: its `EventMessageFilter` (moto 5.2.1, moto/logs/utils.py)
files every pattern that starts with `{` under `UnsupportedFilterPattern`, i.e. it
matches everything. So the pattern is checked here, against sample events, by an evaluator
written from AWS's documentation:

  "Filter pattern syntax for metric filters, subscription filters, filter log events, and
  Live Tail", section "Using filter patterns to match terms in JSON log events"
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html

and, where that page is silent, its earlier revisions (awsdocs/amazon-cloudwatch-logs-
user-guide, doc_source/FilterAndPatternSyntax.md, revisions of 2020 to 2022), the companion page
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntaxForMetricFilters.html
and the API reference's length constraint on `filterPattern`
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_SubscriptionFilter.html:
"Maximum length of 1024").

Supported (a pattern is `{ EXPRESSION }`):
  selectors   `$.a.b`, names of letters, digits, `-` and `_`; array elements `$.a[0]`,
              `$.a[0][1]`, `$.a[1].id`; bracket notation `$.['cluster.name']`; the wildcard
              selectors `$.a.*` and `$.a[*]` (at most one in a selector, at most three in a
              pattern, as documented) with `=`, `<`, `>`, `<=`, `>=` and `IS ...`;
  `=` / `!=`  against a string, quoted (`"a b"`) or not (letters, digits, `_`, `.` and `*`,
              as in the documented `123.123.*`), with `*` as a wildcard at the start and/or
              the end; a lone `*` (quoted or not) matches any string or number;
  numbers     `=`, `!=`, `<`, `>`, `<=`, `>=` against a number: optional sign, integer or
              decimal, optional exponent (`+1000`, `55.5`, `10e-3`, `1e+3`);
  `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`;
  `&&`, `||` and parentheses, with the documented precedence () > && > ||;
  the 1024-character maximum length.

Refused with a `FilterPatternError` rather than guessed:
  `EXISTS` and `IS NOT ...` (documented as not supported); regular expressions `%...%`,
  text patterns (`ERROR -ARGUMENTS`) and space-delimited patterns (`[ip, user, ...]`), all
  valid in CloudWatch but not implemented here; a `*` inside a string (the 2020-2021 revisions
  say `Ev*ent` matches only the literal `Ev*ent`, the current page says nothing); backslashes in
  quoted strings (no escape syntax is documented); unquoted values with other characters;
  `!=` or `NOT EXISTS` on a wildcard selector (whether "any" or "every" element is meant is
  not documented); lower-case keywords (the documentation writes them upper case and says
  filter patterns are case sensitive).

How a condition meets the event, with where each rule comes from:
  * "Property selectors point to value nodes in JSON log events. Value nodes can be strings
    or numbers." "If a property selector points to an array or object, the filter pattern
    won't match the log format." The 2020-2021 revisions: "both {$.users = 1} and
    {$.users != 1} will fail to match a log event where users is an array". So a comparison
    (`!=` included) is true only on a string or number; an array or object makes it false.
  * An absent field makes every comparison false, `!=` included. Not stated in so many
    words; the metric-filter page says `{ $.eventType = "*" && $.sourceIPAddress !=
    123.123.* }` matches an event that "contain[s] the properties eventType and
    sourceIPAddress", and users report the console's pattern test agreeing
    (DataBiosphere/azul#5884: `$.userIdentity.invokedBy != "..."` does not match an event
    without the field). `NOT EXISTS` is the documented way to match an absent field.
  * `null` and booleans are matched by `IS NULL` / `IS TRUE` / `IS FALSE` only ("This will
    only be true is the specified object is set to null", 2020-2021 revisions); comparisons
    on them are false (an assumption: they are not value nodes by the definition above).
  * A string pattern matches strings only, a number matches numbers only (compared as
    numbers, so `1e3` equals `1000`); only a lone `*` matches both (`{ $.latency = * }`
    matches `"latency": 50`). Whether `"400"` matches the number 400 is not documented.
  * `NOT EXISTS` is true when the selector reaches nothing: a missing key, an index past the
    end, or a step into something that is not an object or array. A field set to null
    exists.
  * A message that is not a JSON object (not JSON at all, or a bare array/string/number)
    matches no JSON pattern.

Usage: filter_pattern.py PATTERN FILE...
  Each FILE holds one log event's message (a JSON document); prints `match` or `drop`, a
  tab, and the file name, one line per file, and the pattern's length on stderr. Exit
  status 0, or 2 when the pattern is refused or a file cannot be read.

Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Union

DOC_URL = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html"

#: `filterPattern`: "Length Constraints: Minimum length of 0. Maximum length of 1024."
MAX_PATTERN_LENGTH = 1024
#: "You can only use up to one wildcard selector in a property selector, and up to three
#: wildcard selectors in a filter pattern with compound expressions."
MAX_WILDCARDS_PER_SELECTOR = 1
MAX_WILDCARDS_PER_PATTERN = 3

__all__ = [
    "DOC_URL",
    "MAX_PATTERN_LENGTH",
    "CompiledPattern",
    "FilterPatternError",
    "InvalidPatternError",
    "UnsupportedPatternError",
    "compile",
]


class FilterPatternError(ValueError):
    """A pattern this module will not evaluate."""

    def __init__(self, message: str, pattern: str | None = None, at: int | None = None):
        self.reason = message
        self.pattern = pattern
        self.at = at
        where = f" (at character {at + 1})" if at is not None else ""
        super().__init__(message + where)


class InvalidPatternError(FilterPatternError):
    """Documented as invalid or unsupported by CloudWatch Logs (or over a documented limit)."""


class UnsupportedPatternError(FilterPatternError):
    """Valid CloudWatch Logs syntax that this evaluator does not implement."""


# ------------------------------------------------------------------- model --

_KEY, _INDEX, _ANY_KEY, _ANY_INDEX = "key", "index", "any-key", "any-index"


@dataclass(frozen=True)
class Selector:
    text: str
    steps: tuple[tuple[str, Any], ...]

    @property
    def wildcards(self) -> int:
        return sum(1 for kind, _ in self.steps if kind in (_ANY_KEY, _ANY_INDEX))

    def resolve(self, document: Any) -> list[Any]:
        """The nodes the selector reaches in `document` (none, one, or several with a wildcard)."""
        nodes = [document]
        for kind, arg in self.steps:
            reached: list[Any] = []
            for node in nodes:
                if kind == _KEY and isinstance(node, dict) and arg in node:
                    reached.append(node[arg])
                elif kind == _INDEX and isinstance(node, list) and arg < len(node):
                    reached.append(node[arg])
                elif kind == _ANY_KEY and isinstance(node, dict):
                    reached.extend(node.values())
                elif kind == _ANY_INDEX and isinstance(node, list):
                    reached.extend(node)
            nodes = reached
            if not nodes:
                break
        return nodes


@dataclass(frozen=True)
class Number:
    value: Decimal
    text: str


@dataclass(frozen=True)
class Text:
    """A string with optional `*` at its start and/or end; `core` is the literal part."""

    core: str
    leading: bool
    trailing: bool
    text: str

    @property
    def is_anything(self) -> bool:
        return self.core == "" and (self.leading or self.trailing)

    def matches(self, value: str) -> bool:
        if self.leading and self.trailing:
            return self.core in value
        if self.leading:
            return value.endswith(self.core)
        if self.trailing:
            return value.startswith(self.core)
        return value == self.core


Literal = Union[Number, Text]


def _is_number(node: Any) -> bool:
    return isinstance(node, (int, float, Decimal)) and not isinstance(node, bool)


def _is_value_node(node: Any) -> bool:
    return isinstance(node, str) or _is_number(node)


def _equals(node: Any, literal: Literal) -> bool:
    if isinstance(literal, Number):
        return _is_number(node) and Decimal(str(node)) == literal.value
    if literal.is_anything:
        return _is_value_node(node)
    return isinstance(node, str) and literal.matches(node)


_ORDER: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Comparison:
    selector: Selector
    operator: str
    literal: Literal

    def evaluate(self, document: Any) -> bool:
        nodes = self.selector.resolve(document)
        if self.operator == "=":
            return any(_equals(n, self.literal) for n in nodes)
        if self.operator == "!=":
            # Only on a value node: absent fields, arrays, objects, null and booleans fail.
            return any(_is_value_node(n) and not _equals(n, self.literal) for n in nodes)
        assert isinstance(self.literal, Number)
        order = _ORDER[self.operator]
        return any(_is_number(n) and order(Decimal(str(n)), self.literal.value) for n in nodes)


_IS_VALUES = {"NULL": None, "TRUE": True, "FALSE": False}


@dataclass(frozen=True)
class IsCheck:
    selector: Selector
    keyword: str  # NULL, TRUE or FALSE

    def evaluate(self, document: Any) -> bool:
        wanted = _IS_VALUES[self.keyword]
        return any(n is wanted for n in self.selector.resolve(document))


@dataclass(frozen=True)
class NotExists:
    selector: Selector

    def evaluate(self, document: Any) -> bool:
        return not self.selector.resolve(document)


@dataclass(frozen=True)
class And:
    parts: tuple[Any, ...]

    def evaluate(self, document: Any) -> bool:
        return all(p.evaluate(document) for p in self.parts)


@dataclass(frozen=True)
class Or:
    parts: tuple[Any, ...]

    def evaluate(self, document: Any) -> bool:
        return any(p.evaluate(document) for p in self.parts)


# ------------------------------------------------------------------ parser --

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]+")
_WORD = re.compile(r"[A-Za-z]+")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_UNQUOTED = re.compile(r"[A-Za-z0-9_.*+-]+")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_KEYWORDS = {"IS", "NOT", "NULL", "TRUE", "FALSE", "EXISTS"}


class _Parser:
    def __init__(self, pattern: str, start: int, end: int):
        self.pattern = pattern
        self.pos = start
        self.end = end
        self.selectors: list[Selector] = []

    # -- helpers
    def error(self, message: str, at: int | None = None) -> InvalidPatternError:
        return InvalidPatternError(message, self.pattern, self.pos if at is None else at)

    def unsupported(self, message: str, at: int | None = None) -> UnsupportedPatternError:
        return UnsupportedPatternError(message, self.pattern, self.pos if at is None else at)

    def skip_space(self) -> None:
        while self.pos < self.end and self.pattern[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= self.end

    def peek(self, text: str) -> bool:
        self.skip_space()
        return self.pattern.startswith(text, self.pos) and self.pos + len(text) <= self.end

    def char(self) -> str:
        return self.pattern[self.pos] if self.pos < self.end else ""

    # -- grammar: or := and ('||' and)* ; and := term ('&&' term)* ;
    #             term := '(' or ')' | condition
    def parse(self) -> Any:
        if self.at_end():
            raise self.error("empty JSON filter pattern: nothing between '{' and '}'")
        expression = self.parse_or()
        if not self.at_end():
            raise self.error(f"unexpected {self.pattern[self.pos:self.end]!r}; expected '&&', '||' or the end")
        return expression

    def parse_or(self) -> Any:
        parts = [self.parse_and()]
        while self.peek("||"):
            self.pos += 2
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self) -> Any:
        parts = [self.parse_term()]
        while self.peek("&&"):
            self.pos += 2
            parts.append(self.parse_term())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_term(self) -> Any:
        self.skip_space()
        if self.peek("("):
            opened = self.pos
            self.pos += 1
            inner = self.parse_or()
            if not self.peek(")"):
                raise self.error("'(' is not closed", opened)
            self.pos += 1
            return inner
        if self.pos >= self.end:
            raise self.error("a condition is missing at the end of the pattern")
        if self.char() != "$":
            if self.char() == "!":
                raise self.error("there is no negation operator; use '!=' or NOT EXISTS")
            raise self.error(f"expected a condition starting with a '$.' selector, found {self.char()!r}")
        return self.parse_condition()

    def parse_condition(self) -> Any:
        selector = self.parse_selector()
        self.skip_space()
        word_at = self.pos
        word = _WORD.match(self.pattern, self.pos, self.end)
        if word:
            return self.parse_keyword_condition(selector, word.group(), word_at)
        for operator in _OPERATORS:
            if self.pattern.startswith(operator, self.pos):
                if operator == "=" and self.pattern.startswith("==", self.pos):
                    raise self.error("'==' is not an operator; use '='")
                self.pos += len(operator)
                break
        else:
            raise self.error(
                f"expected an operator (=, !=, <, >, <=, >=, IS, NOT EXISTS) after {selector.text}"
            )
        literal = self.parse_value(operator)
        if operator in _ORDER and not isinstance(literal, Number):
            raise self.error(f"{operator!r} compares numbers; {literal.text!r} is not a number", word_at)
        if operator == "!=" and selector.wildcards:
            raise self.unsupported(
                f"'!=' on the wildcard selector {selector.text}: whether any or every element"
                " must differ is not documented",
                word_at,
            )
        return Comparison(selector, operator, literal)

    def parse_keyword_condition(self, selector: Selector, word: str, at: int) -> Any:
        if word.upper() in _KEYWORDS and word != word.upper():
            raise self.unsupported(f"keyword {word!r}: the documentation writes it {word.upper()!r}", at)
        self.pos += len(word)
        if word == "EXISTS":
            raise self.error("'EXISTS' is documented as not supported (\"The variables IS NOT and"
                             " EXISTS currently aren't supported\"); '= \"*\"' matches a present"
                             " string or number", at)
        if word == "IS":
            self.skip_space()
            kw_at = self.pos
            kw = _WORD.match(self.pattern, self.pos, self.end)
            if not kw:
                raise self.error("IS must be followed by NULL, TRUE or FALSE")
            name = kw.group()
            self.pos += len(name)
            if name == "NOT":
                raise self.error("'IS NOT' is documented as not supported (\"The variables IS NOT"
                                 " and EXISTS currently aren't supported\")", kw_at)
            if name.upper() in _IS_VALUES and name != name.upper():
                raise self.unsupported(f"keyword {name!r}: the documentation writes it {name.upper()!r}", kw_at)
            if name not in _IS_VALUES:
                raise self.error(f"IS must be followed by NULL, TRUE or FALSE, not {name!r}", kw_at)
            return IsCheck(selector, name)
        if word == "NOT":
            self.skip_space()
            kw_at = self.pos
            kw = _WORD.match(self.pattern, self.pos, self.end)
            if not kw or kw.group() != "EXISTS":
                if kw and kw.group().upper() == "EXISTS":
                    raise self.unsupported(f"keyword {kw.group()!r}: the documentation writes it 'EXISTS'", kw_at)
                raise self.error("NOT must be followed by EXISTS", kw_at)
            self.pos += len("EXISTS")
            if selector.wildcards:
                raise self.unsupported(
                    f"NOT EXISTS on the wildcard selector {selector.text} is not documented", at
                )
            return NotExists(selector)
        raise self.error(f"expected an operator after {selector.text}, found {word!r}", at)

    def parse_selector(self) -> Selector:
        start = self.pos
        p = self.pattern
        if not p.startswith("$.", self.pos):
            raise self.error("a property selector starts with '$.'")
        self.pos += 1  # at the first '.'
        steps: list[tuple[str, Any]] = []
        while self.pos < self.end and p[self.pos] in ".[":
            if p[self.pos] == ".":
                self.pos += 1
                if p.startswith("*", self.pos):
                    steps.append((_ANY_KEY, None))
                    self.pos += 1
                elif p.startswith("['", self.pos):
                    close = p.find("']", self.pos + 2, self.end)
                    if close < 0:
                        raise self.error("bracket notation \"['name']\" is not closed")
                    key = p[self.pos + 2:close]
                    if not key:
                        raise self.error("empty property name in bracket notation")
                    steps.append((_KEY, key))
                    self.pos = close + 2
                else:
                    name = _NAME.match(p, self.pos, self.end)
                    if not name:
                        raise self.error(
                            "a property name has letters, digits, '-' and '_' (use $.['a.b'] for others)"
                        )
                    steps.append((_KEY, name.group()))
                    self.pos = name.end()
            else:  # '['
                if not steps:
                    raise self.error("an array element must follow a property ($.name[0])")
                if p.startswith("[*]", self.pos):
                    steps.append((_ANY_INDEX, None))
                    self.pos += 3
                    continue
                digits = _DIGITS.match(p, self.pos + 1, self.end)
                if not digits or not p.startswith("]", digits.end()):
                    raise self.error("an array element is [NUMBER] or [*]")
                steps.append((_INDEX, int(digits.group())))
                self.pos = digits.end() + 1
        if self.pos < self.end and not (p[self.pos].isspace() or p[self.pos] in "=!<>"):
            if p[self.pos] in "()&|":
                raise self.error(f"the selector {p[start:self.pos]} has no operator")
            raise self.error(f"unexpected {p[self.pos]!r} in a property selector")
        selector = Selector(p[start:self.pos], tuple(steps))
        if selector.wildcards > MAX_WILDCARDS_PER_SELECTOR:
            raise self.error(
                f"{selector.text} has {selector.wildcards} wildcard selectors; the documented"
                f" quota is {MAX_WILDCARDS_PER_SELECTOR} in a property selector",
                start,
            )
        self.selectors.append(selector)
        return selector

    def parse_value(self, operator: str) -> Literal:
        self.skip_space()
        start = self.pos
        p = self.pattern
        c = self.char()
        if c == "" or p.startswith(("&&", "||", ")"), self.pos):
            raise self.error(f"a value is missing after {operator!r}")
        if c == "%":
            raise self.unsupported(
                "regular expressions (%...%) are valid in CloudWatch Logs but not implemented here"
            )
        if c == "'":
            raise self.error("strings are quoted with double quotes")
        if c == '"':
            close = p.find('"', self.pos + 1, self.end)
            if close < 0:
                raise self.error("the quoted string is not closed")
            body = p[self.pos + 1:close]
            if "\\" in body:
                raise self.unsupported("backslashes in quoted strings: no escape syntax is documented")
            self.pos = close + 1
            self.check_value_end()
            return self.text_literal(body, p[start:self.pos], start)
        token = _UNQUOTED.match(p, self.pos, self.end)
        if not token:
            raise self.error(f"{c!r} must be inside double quotes")
        self.pos = token.end()
        self.check_value_end()
        raw = token.group()
        if _NUMBER.fullmatch(raw):
            return Number(Decimal(raw), raw)
        if "+" in raw or "-" in raw:
            raise self.error(f"{raw!r} is not a number; a string with '+' or '-' must be in double quotes", start)
        return self.text_literal(raw, raw, start)

    def check_value_end(self) -> None:
        if self.pos < self.end:
            c = self.pattern[self.pos]
            if not (c.isspace() or c == ")" or self.pattern.startswith(("&&", "||"), self.pos)):
                raise self.error(f"{c!r} must be inside double quotes, or separated by a space")

    def text_literal(self, body: str, text: str, at: int) -> Text:
        leading = body.startswith("*")
        core = body[1:] if leading else body
        trailing = core.endswith("*")
        core = core[:-1] if trailing else core
        if "*" in core:
            raise self.unsupported(
                f"{text}: a '*' inside a string is not documented as a wildcard (only at its start or end)",
                at,
            )
        return Text(core, leading, trailing, text)


# ----------------------------------------------------------------- compile --


@dataclass(frozen=True)
class CompiledPattern:
    pattern: str
    expression: Any

    @property
    def length(self) -> int:
        return len(self.pattern)

    def matches_document(self, document: Any) -> bool:
        """Whether an already parsed JSON value matches (a non-object never does)."""
        return isinstance(document, dict) and bool(self.expression.evaluate(document))

    def matches(self, message: str) -> bool:
        """Whether a log event's raw message matches; a message that is not JSON never does."""
        try:
            document = json.loads(message, parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return False
        return self.matches_document(document)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def compile(pattern: str) -> CompiledPattern:  # noqa: A001 - the API asked for this name
    """Parse a CloudWatch Logs JSON filter pattern; raise FilterPatternError when refused."""
    if not isinstance(pattern, str):
        raise TypeError("pattern must be a str")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidPatternError(
            f"the pattern is {len(pattern)} characters; the documented maximum is {MAX_PATTERN_LENGTH}",
            pattern,
        )
    start, end = 0, len(pattern)
    while start < end and pattern[start].isspace():
        start += 1
    while end > start and pattern[end - 1].isspace():
        end -= 1
    if start == end:
        raise UnsupportedPatternError("an empty pattern matches every event; it is not a JSON pattern", pattern)
    if pattern[start] != "{":
        kind = "a space-delimited pattern" if pattern[start] == "[" else (
            "a regular expression" if pattern[start] == "%" else "a text (term) pattern")
        raise UnsupportedPatternError(
            f"this is {kind}; only JSON patterns ('{{ $.field = value }}') are implemented", pattern, start
        )
    if pattern[end - 1] != "}":
        raise InvalidPatternError("if a filter pattern starts with '{' it must end with '}'", pattern, end - 1)
    parser = _Parser(pattern, start + 1, end - 1)
    expression = parser.parse()
    wildcards = sum(s.wildcards for s in parser.selectors)
    if wildcards > MAX_WILDCARDS_PER_PATTERN:
        raise InvalidPatternError(
            f"the pattern has {wildcards} wildcard selectors; the documented quota is"
            f" {MAX_WILDCARDS_PER_PATTERN} in a filter pattern",
            pattern,
        )
    return CompiledPattern(pattern, expression)


# --------------------------------------------------------------------- CLI --


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print("usage: filter_pattern.py PATTERN FILE...", file=sys.stderr)
        print("  prints match or drop, a tab and the file, for each file (one log event's JSON)", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    pattern, files = argv[0], argv[1:]
    try:
        compiled = compile(pattern)
    except FilterPatternError as e:
        print(f"filter_pattern.py: pattern refused: {e}", file=sys.stderr)
        print(f"filter_pattern.py: see {DOC_URL}", file=sys.stderr)
        return 2
    print(f"pattern: {compiled.length} of at most {MAX_PATTERN_LENGTH} characters", file=sys.stderr)
    status = 0
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                message = f.read()
        except (OSError, UnicodeDecodeError) as e:
            print(f"filter_pattern.py: {path}: {e}", file=sys.stderr)
            status = 2
            continue
        print(f"{'match' if compiled.matches(message) else 'drop'}\t{path}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
