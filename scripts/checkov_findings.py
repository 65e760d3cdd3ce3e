#!/usr/bin/env python3
"""Report checkov's failed checks on the template, each with what to do about it.

Usage: python3 scripts/checkov_findings.py CHECKOV.json template.yaml FINDINGS.md

CHECKOV.json is `checkov -f template.yaml --framework cloudformation -o json`. For every
failed check this prints one line and writes FINDINGS.md: the check, the resource, and
either the suppression to add to the resource in template.yaml (its reason, as YAML for
`Metadata: checkov: skip:`) or the fix to make instead. The advice is this project's
judgement of each check for these functions; a check it does not know is listed for review.
Exit status: 0 no failed check (suppressed ones count as skipped), 1 failed checks, 2 the
report could not be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import match_patterns  # noqa: E402  (its CloudFormation-aware YAML loader)

# check id -> (action, reason). action "suppress": the reason is the comment of the skip;
# "fix": the reason says what to change. A callable decides per resource.
ADVICE = {
    "CKV_AWS_27": lambda res: (
        ("suppress",
         "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled: true); this check only "
         "recognises SSE-KMS (KmsMasterKeyId). The queue holds copies of events, no secrets; "
         "a customer managed key would also need key-policy grants for EventBridge, SQS "
         "redrive and Lambda.")
        if _prop(res, "SqsManagedSseEnabled") is True else
        ("fix", "Set SqsManagedSseEnabled: true (or KmsMasterKeyId) on the queue.")),
    "CKV_AWS_158": lambda res: (
        "suppress",
        "CloudWatch Logs encrypts every log group at rest with service keys; the functions "
        "log event ids, resource ARNs and the actions taken, no secrets or credentials. A "
        "customer managed key would need a key policy for logs.<region>.amazonaws.com."),
    "CKV_AWS_116": lambda res: (
        ("suppress",
         "Failed asynchronous invocations go to DeadLetterQueue through "
         "EventInvokeConfig.DestinationConfig.OnFailure, the successor of DeadLetterQueue "
         "(it keeps the error and the request context), which this check does not read; "
         "the EventBridge targets dead-letter into the same queue.")
        if _on_failure(res) else
        ("fix",
         "Add EventInvokeConfig: {MaximumRetryAttempts: 2, DestinationConfig: {OnFailure: "
         "{Type: SQS, Destination: !GetAtt DeadLetterQueue.Arn}}}, so that an event whose "
         "invocations keep failing is kept (DESIGN.md: Faults).")),
    "CKV_AWS_117": lambda res: (
        "suppress",
        "The function has no inbound network path and only calls public AWS APIs (EC2, EKS, "
        "IAM, GuardDuty, CloudTrail, SNS, SQS); inside a VPC it would need a NAT gateway or "
        "an interface endpoint per service, and gain nothing."),
    "CKV_AWS_115": lambda res: (
        "suppress",
        "One short invocation per matching API call or finding; reserved concurrency would "
        "take capacity from the account's unreserved pool (and fails to deploy where the "
        "account limit is the minimum), while throttled asynchronous invocations are "
        "retried by Lambda for up to 6 hours anyway."),
    "CKV_AWS_173": lambda res: (
        "suppress",
        "The variables hold settings (mode, tag key, ports, CIDRs, ARNs, queue URLs), no "
        "secrets; Lambda encrypts them at rest with an AWS managed key. A customer managed "
        "key adds a KMS decrypt to every cold start."),
}


def _prop(res: dict, name: str):
    return ((res or {}).get("Properties") or {}).get(name)


def _on_failure(res: dict) -> bool:
    cfg = _prop(res, "EventInvokeConfig") or {}
    return bool(((cfg.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"))


def _reports(data) -> list[dict]:
    # checkov prints one report object, a list of them (several frameworks), or, when it
    # found nothing to scan, a summary without results.
    items = data if isinstance(data, list) else [data]
    return [r for r in items if isinstance(r, dict)]


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    report_path, template_path, out_path = argv[1:]
    try:
        data = json.loads(Path(report_path).read_text(encoding="utf-8"))
        resources = match_patterns.load_template(template_path)["Resources"]
    except (OSError, ValueError, match_patterns.yaml.YAMLError) as exc:
        print(f"checkov: error: cannot read the report: {exc}", file=sys.stderr)
        return 2

    failed, passed, skipped, parse_errors = [], 0, 0, []
    for rep in _reports(data):
        summary = rep.get("summary") or {}
        passed += int(summary.get("passed") or 0)
        skipped += int(summary.get("skipped") or 0)
        parse_errors += (summary.get("parsing_errors") or 0) and [str(rep.get("check_type"))] or []
        failed += (rep.get("results") or {}).get("failed_checks") or []
    if not _reports(data) or (passed + skipped + len(failed) == 0):
        print("checkov: error: no check ran on the template", file=sys.stderr)
        return 2

    print(f"checkov: {passed} passed, {len(failed)} failed, {skipped} suppressed in the template")
    # check id -> name, and per resource: (check id, action, reason)
    names: dict[str, str] = {}
    by_check: dict[str, list[tuple[str, str, str]]] = {}
    by_resource: dict[str, list[tuple[str, str, str]]] = {}
    for f in failed:
        cid, logical_id = str(f.get("check_id")), str(f.get("resource", "?")).split(".", 1)[-1]
        names[cid] = str(f.get("check_name"))
        advice = ADVICE.get(cid)
        action, reason = advice(resources.get(logical_id)) if advice else (
            "review", "No advice for this check yet: read it, then fix or suppress.")
        by_check.setdefault(cid, []).append((logical_id, action, reason))
        by_resource.setdefault(logical_id, []).append((cid, action, reason))
    for cid, items in by_check.items():
        actions = "/".join(sorted({a for _l, a, _r in items}))
        print(f"  FAILED {cid} {names[cid]} [{actions}]: {', '.join(l for l, _a, _r in items)}")

    out = ["# checkov findings on template.yaml", "",
           f"checkov (framework cloudformation): {passed} passed, {len(failed)} failed, "
           f"{skipped} suppressed in the template.", ""]
    if parse_errors:
        out += [f"Parsing errors in: {', '.join(parse_errors)}", ""]
    if not failed:
        out.append("No failed check.")
    for cid, items in by_check.items():
        out += [f"## {cid}: {names[cid]}", ""]
        for action in ("suppress", "fix", "review"):
            hit = [(l, r) for l, a, r in items if a == action]
            if hit:
                out += [f"- **{action}** {', '.join(f'`{l}`' for l, _r in hit)}: {hit[0][1]}"]
        out.append("")
    skips_by_resource = {lid: [(c, r) for c, a, r in items if a == "suppress"]
                         for lid, items in by_resource.items()}
    if any(skips_by_resource.values()):
        out += ["## Suppressions to add", "",
                "Each block goes into the resource's `Metadata:` (a sibling of `Type:` and "
                "`Properties:`; a function's existing `Metadata:` keeps its `BuildMethod` and "
                "`BuildProperties`).", ""]
        for lid, skips in skips_by_resource.items():
            if not skips:
                continue
            out += [f"`{lid}`:", "", "```yaml", "    Metadata:", "      checkov:", "        skip:"]
            for cid, reason in skips:
                out += [f"          - id: {cid}", f"            comment: {json.dumps(reason)}"]
            out += ["```", ""]
    Path(out_path).write_text("\n".join(out) + "\n", encoding="utf-8")
    if failed:
        print(f"checkov: findings and suggested suppressions in {out_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
