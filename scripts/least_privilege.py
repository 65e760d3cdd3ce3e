#!/usr/bin/env python3
"""Least privilege, checked from the calls the integration tests actually made.

Usage: python3 scripts/least_privilege.py template.yaml CALLS_DIR

The integration tests record every AWS action each function's handler calls (an SDK
interceptor, src/aws/calls.rs) into CALLS_DIR, one file per handler call named
<rule>.<pid>-<n>.calls (tests/support/call_record.rs: parallel tests share no file). This
script reads the template's
role of each function (<PascalRule>Role, both branches of an Fn::If) and:
  - fails when a function called an action its role does not allow;
  - lists, per function, allowed actions that no test exercised (information, not a failure:
    some are only reached on paths the emulator cannot produce).
Exit status: 0 when every call is allowed, 1 otherwise, 2 on a usage or input error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from match_patterns import load_template  # noqa: E402


def pascal(rule: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in rule.split("-"))


def statements(node: Any):
    """Every statement object under a policy document, both branches of Fn::If included."""
    if isinstance(node, list):
        for item in node:
            yield from statements(item)
    elif isinstance(node, dict):
        if "Fn::If" in node and isinstance(node["Fn::If"], list):
            yield from statements(node["Fn::If"][1:])
        elif "Effect" in node:
            yield node


def allowed_actions(role: dict) -> set[str]:
    actions: set[str] = set()
    for policy in (role.get("Properties") or {}).get("Policies") or []:
        document = (policy or {}).get("PolicyDocument") or {}
        for statement in statements(document.get("Statement")):
            if statement.get("Effect") != "Allow":
                continue
            action = statement.get("Action")
            actions.update([action] if isinstance(action, str) else action or [])
    return {a.lower() for a in actions}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    template = load_template(argv[1])
    calls_dir = argv[2]
    if not os.path.isdir(calls_dir):
        print(f"least privilege: no recorded calls in {calls_dir}; run cargo test first", file=sys.stderr)
        return 2
    resources = template["Resources"]
    failures = 0
    called_by_rule: dict[str, set[str]] = {}
    for name in sorted(os.listdir(calls_dir)):
        if not name.endswith(".calls"):
            continue
        # Rule names hold no dot: what precedes the first one is the rule.
        rule = name.split(".", 1)[0]
        with open(os.path.join(calls_dir, name), encoding="utf-8") as fh:
            called_by_rule.setdefault(rule, set()).update(line.strip() for line in fh if line.strip())
    for rule, called in sorted(called_by_rule.items()):
        role = resources.get(f"{pascal(rule)}Role")
        if not isinstance(role, dict):
            print(f"FAIL {rule}: no {pascal(rule)}Role in the template")
            failures += 1
            continue
        allowed = allowed_actions(role)
        denied = sorted(c for c in called if c.lower() not in allowed)
        for action in denied:
            print(f"FAIL {rule}: called {action}, which {pascal(rule)}Role does not allow")
        failures += len(denied)
        unused = sorted(a for a in allowed if a not in {c.lower() for c in called})
        print(f"ok   {rule}: {len(called)} action(s) called, all allowed"
              + (f"; allowed but not exercised by a test: {', '.join(unused)}" if unused else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
