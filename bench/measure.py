#!/usr/bin/env python3
"""Measures a release build of `revoke-open-ingress` against DESIGN.md's budgets.

For each of several runs: spawn the binary under a minimal Lambda Runtime API served here,
against moto's server on localhost, and measure
  cold start    process spawn -> first GET /next (settings validated, nothing else loaded),
  first event   /next answered with a world-open AuthorizeSecurityGroupIngress -> response
                posted (describe, revoke by rule id, publish the alert),
  warm event    the same on a second group, in the same process,
  AWS calls     requests moto logged during the first event,
  peak memory   VmHWM of the process after both events;
and the deployment zip (the binary as `bootstrap`, deflated). Prints a table beside the
budgets and writes bench/out/results.json. Not a pass/fail test.

    bench/run            (builds the release binary, then runs this)
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import e2e  # noqa: E402  (moto, seeding and event helpers of the black-box run)

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
FUNCTION = "revoke-open-ingress"
BUDGETS = {"cold_start_ms": 5, "first_event_ms": 12, "aws_calls": 3, "peak_memory_mib": 10, "zip_mib": 3}


class RuntimeApi:
    """The three Runtime API routes a function uses, with timestamps."""

    def __init__(self):
        self.events = []          # queue of (request id, bytes)
        self.lock = threading.Condition()
        self.first_next = None
        self.served = {}          # request id -> time the event was handed out
        self.responses = {}       # request id -> (time, body)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                now = time.perf_counter()
                with api.lock:
                    if api.first_next is None:
                        api.first_next = now
                    while not api.events:
                        api.lock.wait()
                    request_id, body = api.events.pop(0)
                    api.served[request_id] = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                now = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request_id = self.path.split("/")[-2]
                with api.lock:
                    api.responses[request_id] = (now, body)
                    api.lock.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, request_id, event, timeout=30):
        with self.lock:
            self.events.append((request_id, json.dumps(event).encode()))
            self.lock.notify_all()
            deadline = time.monotonic() + timeout
            while request_id not in self.responses:
                if not self.lock.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise RuntimeError(f"no response to {request_id}")
        at, body = self.responses[request_id]
        return (at - self.served[request_id]) * 1000, json.loads(body)


def moto_requests(log_path):
    return sum(1 for line in log_path.read_text("utf-8", "replace").splitlines() if '"POST /' in line or '"GET /' in line)


def vm_hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def zip_size(binary, workdir):
    path = workdir / "bootstrap.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(binary, "bootstrap")
    return path.stat().st_size


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    binary = target / "release" / FUNCTION
    if not binary.exists():
        sys.exit(f"{binary} missing: run bench/run (it builds with --release)")
    workdir = Path(tempfile.mkdtemp(prefix="eks-remediator-bench-"))
    results = []
    try:
        moto_port = e2e.start_moto(workdir)
        aws = e2e.clients(f"http://127.0.0.1:{moto_port}")
        vpc = aws["ec2"].create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        topic, _queue = e2e.seed_alerts(aws["sns"], aws["sqs"])
        moto_log = workdir / "moto.log"
        for run in range(RUNS):
            ctx = {"aws": aws, "vpc": vpc}
            groups = [e2e.INGRESS.seed(ctx, f"bench-{run}-{i}") for i in range(2)]
            events = [e2e.build_event(e2e.INGRESS.sample,
                                      [(e2e.PH_ACCOUNT, "123456789012"), (e2e.PH_REGION, "us-east-1"),
                                       *e2e.INGRESS.replacements(g)], workdir / f"e{run}{i}.json")
                      for i, g in enumerate(groups)]
            api = RuntimeApi()
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update({
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
                "AWS_LAMBDA_FUNCTION_VERSION": "1",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "AWS_LAMBDA_LOG_LEVEL": "WARN",
                "MODE": "remediate",
                "ALERT_TOPIC_ARN": topic,
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
                "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true",
            })
            spawned = time.perf_counter()
            proc = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                before = moto_requests(moto_log)
                first_ms, first = api.invoke(f"first-{run}", events[0])
                calls = moto_requests(moto_log) - before
                warm_ms, warm = api.invoke(f"warm-{run}", events[1])
                for out in (first, warm):
                    statuses = [o["status"] for o in out.get("outcomes", [])]
                    if statuses != ["remediated"]:
                        raise RuntimeError(f"unexpected output {out}")
                results.append({
                    "cold_start_ms": (api.first_next - spawned) * 1000,
                    "first_event_ms": first_ms,
                    "warm_event_ms": warm_ms,
                    "aws_calls": calls,
                    "peak_memory_mib": vm_hwm_kib(proc.pid) / 1024,
                })
            finally:
                proc.kill()
                proc.wait()
                api.server.shutdown()
        size = zip_size(binary, workdir)
    finally:
        e2e.Child.stop_all()
    summary = {key: statistics.median(r[key] for r in results) for key in results[0]}
    summary["zip_mib"] = size / 1024 / 1024
    summary["binary_mib"] = binary.stat().st_size / 1024 / 1024
    print(f"revoke-open-ingress, release build, {RUNS} runs against moto on localhost (medians)")
    print(f"{'measure':<18}{'value':>10}{'budget':>10}")
    for key, value in summary.items():
        budget = BUDGETS.get(key)
        flag = "" if budget is None else ("  ok" if value <= budget else "  OVER")
        print(f"{key:<18}{value:>10.2f}{'' if budget is None else budget:>10}{flag}")
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps({"summary": summary, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
