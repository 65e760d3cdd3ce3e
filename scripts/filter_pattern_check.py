#!/usr/bin/env python3
"""Check the audit-log subscription filter pattern of template.yaml against the sample audit
events: every sample audit-workloads judges must pass it, and the ones it never judges must
be dropped, so the filter neither hides findings nor pays for invocations that find nothing.

Usage: python3 scripts/filter_pattern_check.py template.yaml events/audit-workloads/audit-log

The pattern is read from the template's Mappings (AuditLog/Filter/Pattern) and evaluated by
scripts/filter_pattern.py (CloudWatch Logs' JSON filter syntax, written from AWS's
documentation, since moto does not evaluate JSON patterns). Each audit event is given to the
pattern as EKS writes it: one line of JSON. Exit status 0 when every expectation holds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import filter_pattern  # noqa: E402
import match_patterns  # noqa: E402

# Samples the function never judges, and why; every other sample must pass the filter.
DROPPED = {
    "deployment-scale-subresource.json": "the scale subresource",
    "deployment-status-update.json": "the status subresource, by a kube-system controller",
    "replicaset-controller-pod-create.json": "a kube-system controller's pod",
    "addon-manager-daemonset-update.json": "EKS's add-on manager",
    "metadata-level-get.json": "a read",
    "request-received-stage.json": "not the ResponseComplete stage",
    "clusterrolebinding-discovery.json": "the API server reconciling a built-in binding",
}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[5], file=sys.stderr)
        return 2
    template = match_patterns.load_template(argv[1])
    pattern = template["Mappings"]["AuditLog"]["Filter"]["Pattern"]
    compiled = filter_pattern.compile(pattern)
    samples = sorted(Path(argv[2]).glob("*.json"))
    if not samples:
        print(f"error: no samples in {argv[2]}", file=sys.stderr)
        return 2
    unknown = set(DROPPED) - {p.name for p in samples}
    failures = len(unknown)
    for name in sorted(unknown):
        print(f"FAIL {name}: listed as dropped but not a sample")
    for path in samples:
        line = json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":"))
        passed = compiled.matches(line)
        expected = path.name not in DROPPED
        ok = passed == expected
        failures += not ok
        why = "" if expected else f" ({DROPPED[path.name]})"
        print(f"{'ok  ' if ok else 'FAIL'} {path.name}: {'passes' if passed else 'dropped'}{why}")
    print(f"pattern of {len(pattern)} characters: {len(samples) - failures} ok, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
