#!/usr/bin/env python3
"""Build (and decode) the CloudWatch Logs subscription payloads that the audit-workloads Lambda receives.

Why this exists: audit-workloads is not triggered by EventBridge. CloudWatch Logs invokes it
through a subscription filter on each cluster's `/aws/eks/<cluster>/cluster` log group, with an
event of the form

    {"awslogs": {"data": "<base64(gzip(json document))>"}}

The sample audit events in events/audit-workloads/audit-log/ are pretty-printed, one Kubernetes
`audit.k8s.io/v1` Event per file, so that people can read them. This script turns them into
the payload that CloudWatch Logs really sends: the decoded document has `messageType`
(`DATA_MESSAGE`), `owner` (the account), `logGroup`, `logStream`
(`kube-apiserver-audit-<32 hex>`), `subscriptionFilters` and `logEvents`, where every log event
has a 56-digit decimal `id` (the millisecond timestamp shifted left by 144 bits plus a
sequence, as in the ids of the AWS documentation examples), a `timestamp` in milliseconds and a
`message` that holds the audit event serialised on one line the way the API server writes it
(compact JSON; `<`, `>` and `&` escaped as Go's encoding/json does). With --control it builds
the CONTROL_MESSAGE that CloudWatch Logs sends to check that a destination is reachable.

Usage:
    scripts/audit_payload.py [--cluster prod] [--account 123456789012] FILE...
    scripts/audit_payload.py --control [--timestamp MS]
    scripts/audit_payload.py --decode PAYLOAD_FILE [--expand]

FILE... are audit events (a JSON object, or a JSON list of objects), put in one batch in the
order given. The payload is printed on standard output. --decode prints the decoded document of a
payload file (`{"awslogs": {"data": ...}}`, or the bare base64 string); --expand also parses each
message as JSON. The output is deterministic: the log stream name, the ids and the gzip header do
not depend on the time of the run (only --control without --timestamp uses the current time).

From Python:
    import audit_payload
    payload = audit_payload.build_payload([event1, event2], cluster="prod", account="123456789012")
    document = audit_payload.decode_payload(payload)

Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import gzip
import hashlib
import json
import re
import sys
from typing import Any, Iterable

DEFAULT_CLUSTER = "prod"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_FILTER_NAME = "eks-remediator-audit-workloads"
# The text of the health check that CloudWatch Logs sends. The AWS documentation quotes it for
# Kinesis ("...destination Kinesis stream.") and Firehose ("...destination Firehose."); for a
# Lambda destination the wording is not documented, so handlers must key on messageType only.
CONTROL_TEXT = "CWL CONTROL MESSAGE: Checking health of destination Lambda function."

_SEQ_BITS = 144  # id = timestamp_ms << 144 | sequence (checked against the AWS doc examples)


def log_group_name(cluster: str) -> str:
    """The log group EKS writes control-plane logs to."""
    return f"/aws/eks/{cluster}/cluster"


def audit_log_stream_name(cluster: str, account: str) -> str:
    """A stable `kube-apiserver-audit-<32 hex>` stream name for a cluster (EKS uses 32 hex digits)."""
    digest = hashlib.md5(f"{account}/{cluster}/kube-apiserver-audit".encode()).hexdigest()
    return f"kube-apiserver-audit-{digest}"


def serialize_audit_event(event: dict[str, Any]) -> str:
    """One line of compact JSON, escaped like Go's encoding/json (the API server's audit encoder)."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    # These characters only occur inside JSON strings, so a plain replace is safe.
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _parse_k8s_time(value: str) -> int:
    """RFC 3339 audit timestamp (fraction of any length) -> epoch milliseconds."""
    m = _TIME.match(value)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    whole, frac, tz = m.groups()
    moment = _dt.datetime.fromisoformat(whole + ("+00:00" if tz == "Z" else tz))
    return int(moment.timestamp()) * 1000 + int((frac or "0")[:3].ljust(3, "0"))


def event_timestamp_ms(event: dict[str, Any]) -> int:
    """The CloudWatch timestamp of an audit event: its stageTimestamp (else requestReceivedTimestamp)."""
    for key in ("stageTimestamp", "requestReceivedTimestamp"):
        if isinstance(event.get(key), str):
            return _parse_k8s_time(event[key])
    raise ValueError("audit event has neither stageTimestamp nor requestReceivedTimestamp")


def event_ids(timestamps: list[int], seed: str) -> list[str]:
    """56-digit decimal ids: timestamp << 144 | a per-batch base plus the position in the batch."""
    base = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:18], "big") >> 8  # 136 bits: room to add
    return [str((ts << _SEQ_BITS) | (base + i)) for i, ts in enumerate(timestamps)]


def build_document(events: Iterable[dict[str, Any]], *, cluster: str = DEFAULT_CLUSTER,
                   account: str = DEFAULT_ACCOUNT, filter_name: str = DEFAULT_FILTER_NAME,
                   log_stream: str | None = None) -> dict[str, Any]:
    """The decoded DATA_MESSAGE document for a batch of audit events (one log stream)."""
    events = list(events)
    if not events:
        raise ValueError("a DATA_MESSAGE needs at least one log event")
    stream = log_stream or audit_log_stream_name(cluster, account)
    timestamps = [event_timestamp_ms(e) for e in events]
    ids = event_ids(timestamps, f"{stream}/{timestamps[0]}/{len(events)}")
    return {
        "messageType": "DATA_MESSAGE",
        "owner": account,
        "logGroup": log_group_name(cluster),
        "logStream": stream,
        "subscriptionFilters": [filter_name],
        "logEvents": [
            {"id": i, "timestamp": ts, "message": serialize_audit_event(e)}
            for i, ts, e in zip(ids, timestamps, events)
        ],
    }


def build_control_document(timestamp_ms: int) -> dict[str, Any]:
    """The CONTROL_MESSAGE CloudWatch Logs sends to check that a destination is reachable."""
    return {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": timestamp_ms, "message": CONTROL_TEXT}],
    }


def encode_payload(document: dict[str, Any]) -> dict[str, Any]:
    """{"awslogs": {"data": base64(gzip(compact json))}}; gzip mtime 0 keeps the output stable."""
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    data = base64.b64encode(gzip.compress(raw, mtime=0)).decode("ascii")
    return {"awslogs": {"data": data}}


def build_payload(events: Iterable[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """build_document + encode_payload: the Lambda event for a batch of audit events."""
    return encode_payload(build_document(events, **kwargs))


def decode_payload(payload: dict[str, Any] | str) -> dict[str, Any]:
    """The document inside a payload (`{"awslogs": {"data": ...}}` or the bare base64 string)."""
    data = payload["awslogs"]["data"] if isinstance(payload, dict) else payload
    return json.loads(gzip.decompress(base64.b64decode(data)).decode("utf-8"))


def _load_events(paths: list[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            loaded = json.load(fh)
        items = loaded if isinstance(loaded, list) else [loaded]
        for item in items:
            if not isinstance(item, dict) or item.get("kind") != "Event":
                raise ValueError(f"{path}: not an audit.k8s.io Event")
            events.append(item)
    return events


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", metavar="FILE", help="audit event JSON files, in batch order")
    parser.add_argument("--cluster", default=DEFAULT_CLUSTER, help="cluster name (default: %(default)s)")
    parser.add_argument("--account", default=DEFAULT_ACCOUNT, help="owner account (default: %(default)s)")
    parser.add_argument("--filter-name", default=DEFAULT_FILTER_NAME, help="subscription filter name (default: %(default)s)")
    parser.add_argument("--log-stream", help="log stream name (default: kube-apiserver-audit-<hash of account and cluster>)")
    parser.add_argument("--control", action="store_true", help="build the CONTROL_MESSAGE instead (no FILE)")
    parser.add_argument("--timestamp", type=int, help="CONTROL_MESSAGE timestamp in ms (default: now)")
    parser.add_argument("--decode", metavar="PAYLOAD_FILE", help="print the decoded document of a payload file")
    parser.add_argument("--expand", action="store_true", help="with --decode: parse each message as JSON")
    args = parser.parse_args(argv[1:])

    try:
        if args.decode:
            if args.files or args.control:
                parser.error("--decode takes no FILE and no --control")
            with open(args.decode, encoding="utf-8") as fh:
                text = fh.read().strip()
            payload: Any = json.loads(text) if text.startswith("{") else text
            document = decode_payload(payload)
            if args.expand:
                for ev in document.get("logEvents", []):
                    try:
                        ev["message"] = json.loads(ev["message"])
                    except (ValueError, TypeError):
                        pass
            out = document
        elif args.control:
            if args.files:
                parser.error("--control takes no FILE")
            ts = args.timestamp if args.timestamp is not None else int(_dt.datetime.now(_dt.timezone.utc).timestamp() * 1000)
            out = encode_payload(build_control_document(ts))
        else:
            if not args.files:
                parser.error("give at least one FILE, or --control, or --decode")
            out = build_payload(_load_events(args.files), cluster=args.cluster, account=args.account,
                                filter_name=args.filter_name, log_stream=args.log_stream)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
