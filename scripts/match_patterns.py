#!/usr/bin/env python3
"""Check the sample events in events/ against the EventBridge patterns of template.yaml.

Usage: python3 scripts/match_patterns.py template.yaml events/

For every *.json file under the events directory it prints which functions'
rules match it. Expectations, by location:

  events/<rule>/NAME.json          must be matched by the function of <rule>,
                                   and by no other function, unless that one's
                                   pattern names the event's eventName too (a
                                   shared trigger: CreateCluster is judged by
                                   enforce-cluster-config and guard-cluster-access);
  events/<rule>/not-for-me-*.json  must NOT be matched by the function of <rule>
                                   (other functions may match it);
  events/<rule>/own-call-*.json    a call made by an eks-remediator function's own
                                   role: by its content a trigger of <rule> (so
                                   the catalog tests count it as <rule>'s), but
                                   matched by NO function (loop prevention);
  events/NAME.json                 (no rule directory) is only reported.

Files that are not EventBridge events are skipped and counted: CloudWatch Logs
subscription deliveries (`{"awslogs": ...}`) and Kubernetes audit events
(`"apiVersion": "audit.k8s.io/v1"`), which reach audit-workloads through a
subscription filter, and SNS notifications (`{"Records": [{"Sns": ...}]}`), which reach
publish-findings through its subscription to the alert topic, not EventBridge
(is_delivered_otherwise).

A function belongs to <rule> when its `Metadata.BuildProperties.Binary` is the
rule name (the binaries are named exactly as the rules, see DESIGN.md). Exit
status: 0 when every expectation holds, 1 otherwise, 2 on a usage or input
error.

Patterns are read from AWS::Serverless::Function events of type EventBridgeRule
(or CloudWatchEvent) and from AWS::Events::Rule resources whose targets point
at a function with Fn::GetAtt/Ref. The matcher implements EventBridge's
content filtering: exact values (type-sensitive), prefix, suffix,
equals-ignore-case, anything-but (value, list, prefix or suffix), exists,
numeric, wildcard, cidr and $or, on nested objects; an array in the event
matches when any of its elements matches. Inside a pattern, Fn::Sub (!Sub) of a
string that names only pseudo parameters is evaluated with the sample events'
values (SAMPLE_PSEUDO_PARAMETERS); any other intrinsic function is refused.
Standard library + PyYAML only.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
import sys
from typing import Any

import yaml

# ----------------------------------------------------------------- loading --


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short-form tags into long form."""


def _construct_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {"Fn::" + tag_suffix: value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return doc


def _target_function(arn: Any) -> str | None:
    """Logical id of the function an Events::Rule target Arn points at."""
    if isinstance(arn, dict):
        if "Fn::GetAtt" in arn:
            ref = arn["Fn::GetAtt"]
            if isinstance(ref, list) and ref and ref[-1] == "Arn":
                return str(ref[0])
        if "Ref" in arn:
            return str(arn["Ref"])
    return None


def extract_rules(template: dict) -> list[dict]:
    """[{function, rule_name, binary, rule, pattern}] for every rule in the template."""
    resources = template["Resources"]
    binaries = {}
    for logical_id, res in resources.items():
        if not isinstance(res, dict):
            continue
        if res.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            build = (res.get("Metadata") or {}).get("BuildProperties") or {}
            binaries[logical_id] = build.get("Binary")

    rules = []
    for logical_id, res in resources.items():
        if not isinstance(res, dict):
            continue
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function":
            for event_id, event in (props.get("Events") or {}).items():
                if (event or {}).get("Type") not in ("EventBridgeRule", "CloudWatchEvent"):
                    continue
                pattern = (event.get("Properties") or {}).get("Pattern")
                rules.append({
                    "function": logical_id,
                    "binary": binaries.get(logical_id),
                    "rule": f"{logical_id}.{event_id}",
                    "pattern": pattern,
                })
        elif res.get("Type") == "AWS::Events::Rule":
            pattern = props.get("EventPattern")
            if pattern is None:
                continue  # a schedule
            for target in props.get("Targets") or []:
                fn = _target_function((target or {}).get("Arn"))
                if fn in binaries:
                    rules.append({
                        "function": fn,
                        "binary": binaries.get(fn),
                        "rule": logical_id,
                        "pattern": pattern,
                    })
    for r in rules:
        if isinstance(r["pattern"], str):  # a pattern may be given as a JSON string
            r["pattern"] = json.loads(r["pattern"])
        if not isinstance(r["pattern"], dict):
            raise ValueError(f"{r['rule']}: pattern is not an object: {r['pattern']!r}")
        r["pattern"] = _substitute_pseudo_parameters(r["pattern"])
        _check_no_intrinsics(r["pattern"], r["rule"])
    return rules


# The account, region and partition of every sample event (events/README.md).
SAMPLE_PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
}


def _substitute_pseudo_parameters(node: Any) -> Any:
    """Evaluates each {"Fn::Sub": "..."} whose ${...} are all pseudo parameters above;
    leaves any other Fn::Sub (variables, the list form) for _check_no_intrinsics to refuse."""
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            text = node["Fn::Sub"]
            names = re.findall(r"\$\{([^}]*)\}", text)
            if all(n in SAMPLE_PSEUDO_PARAMETERS for n in names):
                return re.sub(r"\$\{([^}]*)\}", lambda m: SAMPLE_PSEUDO_PARAMETERS[m.group(1)], text)
        return {k: _substitute_pseudo_parameters(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_pseudo_parameters(v) for v in node]
    return node


def _check_no_intrinsics(node: Any, where: str) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" or k.startswith("Fn::"):
                raise ValueError(f"{where}: pattern uses {k}, which this checker cannot evaluate")
            _check_no_intrinsics(v, where)
    elif isinstance(node, list):
        for v in node:
            _check_no_intrinsics(v, where)


# ---------------------------------------------------------------- matching --

_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    """EventBridge equality: type-sensitive ("5" != 5, true != 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def _numeric_ok(value: Any, spec: list) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    ops = {
        "=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }
    if len(spec) % 2:
        raise ValueError(f"numeric: odd-length spec {spec!r}")
    for i in range(0, len(spec), 2):
        op, bound = spec[i], spec[i + 1]
        if op not in ops:
            raise ValueError(f"numeric: unknown operator {op!r}")
        if not ops[op](float(value), float(bound)):
            return False
    return True


def _wildcard_ok(value: Any, pattern: str) -> bool:
    if not isinstance(value, str):
        return False
    regex = "".join(".*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _cidr_ok(value: Any, cidr: str) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _string_op(value: Any, op: str, arg: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": "x"}}
        if set(arg) != {"equals-ignore-case"}:
            raise ValueError(f"{op}: unsupported argument {arg!r}")
        value, arg = value.lower(), arg["equals-ignore-case"].lower()
    if op == "prefix":
        return value.startswith(arg)
    if op == "suffix":
        return value.endswith(arg)
    if op == "equals-ignore-case":
        return value.lower() == str(arg).lower()
    raise AssertionError(op)


def _anything_but_ok(value: Any, arg: Any) -> bool:
    if isinstance(arg, dict):
        (op, inner), = arg.items()
        if op in ("prefix", "suffix", "equals-ignore-case"):
            if isinstance(inner, list):
                return not any(_string_op(value, op, x) for x in inner)
            return not _string_op(value, op, inner)
        if op == "wildcard":
            inner = inner if isinstance(inner, list) else [inner]
            return not any(_wildcard_ok(value, x) for x in inner)
        raise ValueError(f"anything-but: unsupported operator {op!r}")
    values = arg if isinstance(arg, list) else [arg]
    return not any(_same(value, x) for x in values)


def _leaf_matches(matcher: Any, value: Any) -> bool:
    """One element of a pattern's value list against one present scalar."""
    if not isinstance(matcher, dict):
        return _same(matcher, value)
    if len(matcher) != 1:
        raise ValueError(f"matcher must have one operator: {matcher!r}")
    (op, arg), = matcher.items()
    if op == "exists":
        return bool(arg)  # the value is present
    if op in ("prefix", "suffix", "equals-ignore-case"):
        return _string_op(value, op, arg)
    if op == "anything-but":
        return _anything_but_ok(value, arg)
    if op == "numeric":
        return _numeric_ok(value, arg)
    if op == "wildcard":
        return _wildcard_ok(value, arg)
    if op == "cidr":
        return _cidr_ok(value, arg)
    raise ValueError(f"unsupported pattern operator {op!r}")


def _values_match(matchers: list, value: Any) -> bool:
    """A pattern list against an event field (value may be _MISSING or a list)."""
    if not isinstance(matchers, list):
        raise ValueError(f"pattern leaf must be a list, got {matchers!r}")
    if value is _MISSING:
        return any(isinstance(m, dict) and m.get("exists") is False for m in matchers)
    candidates = value if isinstance(value, list) else [value]
    for m in matchers:
        if isinstance(m, dict) and "exists" in m:
            # The field is present: exists:true matches, exists:false does not.
            if m["exists"] is True:
                return True
            continue
        if any(_leaf_matches(m, v) for v in candidates if not isinstance(v, (dict, list))):
            return True
    return False


def matches(pattern: dict, event: Any) -> bool:
    """EventBridge content filtering of `event` by `pattern`."""
    if not isinstance(pattern, dict):
        raise ValueError(f"pattern must be an object: {pattern!r}")
    if isinstance(event, list):  # an array of objects: any element may match
        return any(matches(pattern, e) for e in event)
    for key, sub in pattern.items():
        if key == "$or":
            if not any(matches(alt, event) for alt in sub):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(sub, dict):
            if value is _MISSING or not isinstance(value, (dict, list)):
                # EventBridge flattens paths: below an absent (or scalar) field
                # every nested field is absent, so only exists:false can match.
                value = {}
            if not matches(sub, value):
                return False
        elif not _values_match(sub, value):
            return False
    return True


# --------------------------------------------------------------------- CLI --


def _names_event(pattern: dict, name: Any) -> bool:
    """Whether a pattern lists `name` among its exact `detail.eventName` values."""
    names = (pattern.get("detail") or {}).get("eventName") or []
    return isinstance(name, str) and name in names


def is_delivered_otherwise(event: Any) -> bool:
    """Whether a sample is no EventBridge event: a CloudWatch Logs subscription delivery, one
    Kubernetes audit event of such a delivery, an SNS notification of the alert topic (what
    publish-findings receives), or an Amazon Q Developer custom notification (what it sends)."""
    if not isinstance(event, dict):
        return False
    records = event.get("Records")
    sns = isinstance(records, list) and bool(records) and isinstance(records[0], dict) \
        and "Sns" in records[0]
    chat = event.get("source") == "custom" and "version" in event and "detail-type" not in event
    return sns or chat or "awslogs" in event \
        or str(event.get("apiVersion", "")).startswith("audit.k8s.io/")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    template_path, events_dir = argv[1], argv[2]
    try:
        rules = extract_rules(load_template(template_path))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not rules:
        print(f"error: no EventBridge rules found in {template_path}", file=sys.stderr)
        return 2

    functions = sorted({r["function"] for r in rules})
    by_binary = {r["binary"]: r["function"] for r in rules if r["binary"]}
    print(f"{template_path}: {len(rules)} rule(s) for {len(functions)} function(s)")
    for r in rules:
        print(f"  {r['rule']}  (binary {r['binary'] or '?'})")

    files = []
    for root, _dirs, names in os.walk(events_dir):
        for name in names:
            if name.endswith(".json"):
                files.append(os.path.join(root, name))
    files.sort()
    if not files:
        print(f"error: no *.json files under {events_dir}", file=sys.stderr)
        return 2

    failures = skipped = 0
    for path in files:
        rel = os.path.relpath(path, events_dir)
        parts = rel.split(os.sep)
        rule_dir = parts[0] if len(parts) > 1 else None
        negative = os.path.basename(path).startswith("not-for-me-")
        own_call = os.path.basename(path).startswith("own-call-")
        try:
            with open(path, encoding="utf-8") as fh:
                event = json.load(fh)
        except (OSError, json.JSONDecodeError) as exc:
            print(f"FAIL {rel}: cannot read: {exc}")
            failures += 1
            continue
        if is_delivered_otherwise(event):
            skipped += 1
            continue

        hit_rules = [r for r in rules if matches(r["pattern"], event)]
        hit_functions = sorted({r["function"] for r in hit_rules})
        shown = ", ".join(r["rule"] for r in hit_rules) or "no rule"

        problems = []
        if rule_dir is not None:
            own = by_binary.get(rule_dir)
            if own is None:
                problems.append(f"no function in the template has Binary {rule_dir!r}")
            elif own_call:
                if hit_functions:
                    problems.append(f"an own call, matched by {', '.join(hit_functions)}")
            elif negative:
                if own in hit_functions:
                    problems.append(f"matched by its own function {own}")
            else:
                if own not in hit_functions:
                    problems.append(f"not matched by {own}")
                name = (event.get("detail") or {}).get("eventName")
                others = sorted({r["function"] for r in hit_rules
                                 if r["function"] != own and not _names_event(r["pattern"], name)})
                if others:
                    problems.append(f"also matched by {', '.join(others)}")
        status = "FAIL" if problems else "ok  "
        print(f"{status} {rel}: {shown}" + (f"  <- {'; '.join(problems)}" if problems else ""))
        failures += bool(problems)

    print(f"{len(files) - failures - skipped} passed, {failures} failed, {skipped} skipped (not EventBridge events)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
