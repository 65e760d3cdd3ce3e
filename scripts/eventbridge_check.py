#!/usr/bin/env python3
"""Send the sample events through a real EventBridge engine: moto's server.

Usage: python3 scripts/eventbridge_check.py [template.yaml] [events/]

scripts/match_patterns.py checks the samples with its own matcher; this script checks them
with moto's (moto does not implement TestEventPattern, but its rules do match events sent
with PutEvents). It starts `moto_server` on a free localhost port, reads every EventBridge
rule of the template with match_patterns.py's loader (SAM EventBridgeRule events and
AWS::Events::Rule resources that target a function; !Sub of the pseudo parameters is
evaluated as partition aws, account 123456789012, region us-east-1, the samples' values),
creates each rule on moto's default bus with one SQS queue per function as its target, sends
every sample with PutEvents and reads the queues back. Expectations:

  events/<rule>/NAME.json            reaches the function of <rule>, and no other;
  events/<rule>/not-for-me-*.json    does not reach the function of <rule>;
  events/<rule>/own-call-*.json      reaches no function (a function's own call);
  events/NAME.json                   only reported.

and, generated from every CloudTrail sample (detail-type "AWS API Call via CloudTrail")
that reaches a function:

  +errorCode   the same call, failed (errorCode set): reaches no function;
  +iam-user    made by an IAM user (no sessionContext): reaches the same functions;
  +root        made by the account's root user: reaches the same functions;

and one unrelated call (aws.s3 CreateBucket), which reaches no function. An event that
reaches one function twice (two of its rules match) fails too: the function would run twice.
Where match_patterns.py's matcher decides otherwise than moto, a note says so (one of the
two differs from AWS there). Exit status: 0 all expectations hold, 1 some failed, 2 the
check could not run.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import match_patterns  # noqa: E402  (the template loader and rule extraction)

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account: the samples' account
CLOUDTRAIL = "AWS API Call via CloudTrail"
MOTO_START_TIMEOUT = 60
# moto delivers to SQS targets inside PutEvents; the queues are still polled until they stay
# empty for SETTLE seconds (at most DELIVERY_TIMEOUT) in case a version delivers later.
SETTLE = 1.0
DELIVERY_TIMEOUT = 30.0

IAM_USER = {
    "type": "IAMUser",
    "principalId": "AIDAEXAMPLEUSERID0001",
    "arn": f"arn:aws:iam::{ACCOUNT}:user/someone",
    "accountId": ACCOUNT,
    "accessKeyId": "AKIAEXAMPLEKEYID0001",
    "userName": "someone",
}
ROOT = {
    "type": "Root",
    "principalId": ACCOUNT,
    "arn": f"arn:aws:iam::{ACCOUNT}:root",
    "accountId": ACCOUNT,
    "accessKeyId": "ASIAEXAMPLEKEYID0002",
}
UNRELATED = {
    "version": "0",
    "id": "00000000-0000-0000-0000-000000000000",
    "detail-type": CLOUDTRAIL,
    "source": "aws.s3",
    "account": ACCOUNT,
    "time": "2024-01-01T00:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {
        "eventVersion": "1.09",
        "userIdentity": IAM_USER,
        "eventTime": "2024-01-01T00:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "CreateBucket",
        "awsRegion": REGION,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"bucketName": "some-bucket", "Host": "some-bucket.s3.amazonaws.com"},
        "responseElements": None,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    },
}


class SetupError(Exception):
    """The check could not be carried out."""


# ------------------------------------------------------------------------------- moto

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(logfile) -> tuple[subprocess.Popen, str]:
    exe = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(exe).exists():
        raise SetupError("moto_server not found: run `source scripts/tools.sh` first")
    port = free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise SetupError(f"moto_server exited early with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2) as resp:
                if resp.status == 200:
                    return proc, endpoint
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() - started > MOTO_START_TIMEOUT:
            raise SetupError(f"moto_server not ready after {MOTO_START_TIMEOUT}s")
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------ cases

class Case:
    """One event to send and what it must reach."""

    def __init__(self, name, event, expect, own=None, base=None):
        self.name = name      # shown in the report
        self.event = event
        self.expect = expect  # "own-only", "not-own", "none", "same-as-base", "report"
        self.own = own        # logical id of the function the sample belongs to
        self.base = base      # the Case a generated one derives from
        self.reached: dict[str, int] = {}  # function -> deliveries
        self.event_id = None


def load_samples(events_dir: Path, by_binary: dict[str, str]) -> tuple[list[Case], list[str]]:
    cases, errors = [], []
    for path in sorted(events_dir.rglob("*.json")):
        rel = path.relative_to(events_dir)
        try:
            event = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            errors.append(f"{rel}: cannot read: {exc}")
            continue
        if match_patterns.is_delivered_otherwise(event):
            continue
        if not isinstance(event, dict) or not event.get("source") or not event.get("detail-type"):
            errors.append(f"{rel}: not an EventBridge event (source, detail-type)")
            continue
        if len(rel.parts) < 2:
            cases.append(Case(str(rel), event, "report"))
            continue
        own = by_binary.get(rel.parts[0])
        if own is None:
            errors.append(f"{rel}: no function in the template has Binary {rel.parts[0]!r}")
            continue
        if path.name.startswith("not-for-me-"):
            expect = "not-own"
        elif path.name.startswith("own-call-"):
            expect = "none"
        else:
            expect = "own-only"
        cases.append(Case(str(rel), event, expect, own=own))
    return cases, errors


def variants(case: Case) -> list[Case]:
    """The generated negatives of a CloudTrail sample that reached a function."""
    out = []
    failed = copy.deepcopy(case.event)
    failed["detail"]["errorCode"] = "AccessDenied"
    failed["detail"]["errorMessage"] = "User is not authorized to perform this operation"
    out.append(Case(f"{case.name} +errorCode", failed, "none", base=case))
    for label, actor in (("iam-user", IAM_USER), ("root", ROOT)):
        ev = copy.deepcopy(case.event)
        ev["detail"]["userIdentity"] = copy.deepcopy(actor)
        out.append(Case(f"{case.name} +{label}", ev, "same-as-base", base=case))
    return out


def entry(event: dict) -> dict:
    e = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event.get("detail", {})),
        "Resources": [r for r in event.get("resources") or [] if isinstance(r, str)],
    }
    t = event.get("time")
    if isinstance(t, str):
        try:
            e["Time"] = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError:
            pass
    return e


# ---------------------------------------------------------------------------- engine

def rule_name(rule_id: str, used: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "-", rule_id)[:60]
    base, n = name, 2
    while name in used:
        name, n = f"{base[:57]}-{n}", n + 1
    used.add(name)
    return name


def send(events_client, cases: list[Case]) -> None:
    for case in cases:
        resp = events_client.put_events(Entries=[entry(case.event)])
        got = resp["Entries"][0]
        if resp.get("FailedEntryCount") or "EventId" not in got:
            raise SetupError(f"PutEvents refused {case.name}: {got}")
        case.event_id = got["EventId"]


def collect(sqs, queues: dict[str, str], cases: list[Case]) -> None:
    by_id = {c.event_id: c for c in cases}
    started = last_new = time.monotonic()
    while True:
        new = 0
        for function, url in queues.items():
            while True:
                msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
                if not msgs:
                    break
                for m in msgs:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                    event_id = json.loads(m["Body"]).get("id")
                    case = by_id.get(event_id)
                    if case is None:
                        raise SetupError(f"queue of {function}: unknown event {event_id}")
                    case.reached[function] = case.reached.get(function, 0) + 1
                    new += 1
        now = time.monotonic()
        if new:
            last_new = now
        elif now - last_new >= SETTLE:
            return
        if now - started > DELIVERY_TIMEOUT:
            return
        time.sleep(0.1)


def judge(case: Case, shared: dict[str, set]) -> list[str]:
    """`shared`: each function's exact `detail.eventName` values, from its patterns."""
    reached = set(case.reached)
    problems = [f"reached {f} {n} times" for f, n in sorted(case.reached.items()) if n > 1]
    if case.expect == "own-only":
        if case.own not in reached:
            problems.append(f"did not reach {case.own}")
        # A function whose rule names the same eventName shares the trigger (CreateCluster:
        # enforce-cluster-config and guard-cluster-access), as in match_patterns.py.
        others = sorted(f for f in reached - {case.own}
                        if case.event.get("detail", {}).get("eventName") not in shared.get(f, ()))
        if others:
            problems.append(f"also reached {', '.join(others)}")
    elif case.expect == "not-own":
        if case.own in reached:
            problems.append(f"reached its own function {case.own}")
    elif case.expect == "none":
        if reached:
            problems.append(f"reached {', '.join(sorted(reached))}")
    elif case.expect == "same-as-base":
        want = set(case.base.reached)
        if reached != want:
            problems.append(f"reached {', '.join(sorted(reached)) or 'nothing'}, "
                            f"not {', '.join(sorted(want))} like the sample")
    return problems


# ------------------------------------------------------------------------------ main

def run(template_path: Path, events_dir: Path) -> int:
    import boto3
    from botocore.config import Config

    rules = match_patterns.extract_rules(match_patterns.load_template(str(template_path)))
    if not rules:
        raise SetupError(f"no EventBridge rules found in {template_path}")
    functions = sorted({r["function"] for r in rules})
    by_binary = {r["binary"]: r["function"] for r in rules if r["binary"]}
    cases, errors = load_samples(events_dir, by_binary)
    if not cases:
        raise SetupError(f"no sample events under {events_dir}")

    with tempfile.TemporaryFile() as log:
        proc, endpoint = start_moto(log)
        try:
            cfg = Config(region_name=REGION, retries={"max_attempts": 2, "mode": "standard"})
            kw = dict(endpoint_url=endpoint, aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=cfg)
            events, sqs = boto3.client("events", **kw), boto3.client("sqs", **kw)
            queues, arns = {}, {}
            for f in functions:
                url = sqs.create_queue(QueueName=f"eb-check-{f}"[:80])["QueueUrl"]
                queues[f] = url
                arns[f] = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            used: set[str] = set()
            for r in rules:
                name = rule_name(r["rule"], used)
                events.put_rule(Name=name, EventPattern=json.dumps(r["pattern"]), State="ENABLED")
                events.put_targets(Rule=name, Targets=[{"Id": "function", "Arn": arns[r["function"]]}])

            # Round 1: the samples and the unrelated call.
            unrelated = Case("generated aws.s3 CreateBucket", UNRELATED, "none")
            round1 = cases + [unrelated]
            send(events, round1)
            collect(sqs, queues, round1)
            # Round 2: the negatives generated from the CloudTrail samples that reached a function.
            round2 = [v for c in cases
                      if c.event.get("detail-type") == CLOUDTRAIL and c.reached
                      and isinstance(c.event.get("detail"), dict)
                      for v in variants(c)]
            send(events, round2)
            collect(sqs, queues, round2)
        except Exception:
            log.seek(0)
            tail = log.read().decode("utf-8", "replace").splitlines()[-20:]
            print("moto_server log (tail):\n  " + "\n  ".join(tail), file=sys.stderr)
            raise
        finally:
            stop(proc)

    all_cases = round1 + round2
    failures = len(errors)
    for e in errors:
        print(f"FAIL {e}")
    notes = 0
    shared: dict[str, set] = {}
    for r in rules:
        names = (r["pattern"].get("detail") or {}).get("eventName") or []
        shared.setdefault(r["function"], set()).update(n for n in names if isinstance(n, str))
    for case in all_cases:
        problems = judge(case, shared)
        reached = ", ".join(sorted(case.reached)) or "none"
        if problems:
            failures += 1
            print(f"FAIL {case.name}: reached {reached}  <- {'; '.join(problems)}")
        elif case.expect == "report":
            print(f"     {case.name}: reached {reached} (no expectation)")
        # The same event through match_patterns.py's matcher.
        py = {r["function"] for r in rules if match_patterns.matches(r["pattern"], case.event)}
        if py != set(case.reached):
            notes += 1
            print(f"note {case.name}: moto reached {reached}, match_patterns.py "
                  f"{', '.join(sorted(py)) or 'none'}")
    generated = len(round2) + 1
    print(f"eventbridge: {len(rules)} rules of {len(functions)} functions in moto; "
          f"{len(cases)} samples + {generated} generated events"
          + (f"; {notes} disagreement(s) with match_patterns.py" if notes else ""))
    print(f"eventbridge: {len(all_cases) + len(errors) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    template = Path(argv[1]) if len(argv) > 1 else root / "template.yaml"
    events_dir = Path(argv[2]) if len(argv) > 2 else root / "events"
    if len(argv) > 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        return run(template, events_dir)
    except (SetupError, OSError, ValueError, match_patterns.yaml.YAMLError) as exc:
        print(f"eventbridge: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
