#!/usr/bin/env python3
"""Measures `eks-remediator scan` across accounts and regions: 3 accounts x 2 regions of moto's
server on localhost, one region of one account with 1000 security groups (one in ten tagged for
EKS with tcp/22 open to the world, the rest tcp/443 from 10/8), the others empty. Each account
is entered through STS AssumeRole, as in an organisation.

The release binary runs `scan --accounts A,B,C --regions us-east-1,eu-west-1 --format json`
with `--concurrency 1` and `--concurrency 8`, `BENCH_SCAN_ORG_RUNS` times each (default 3,
interleaved), straight to moto and through a proxy that holds each request
`BENCH_SCAN_ORG_LATENCY_MS` (default 50) before passing it on: moto on localhost answers in
about a millisecond, AWS in tens (a region away, more), and that round trip is what running
accounts and regions side by side hides. For each run this records
  wall time     spawn to exit,
  client CPU    user + system time of the process (rusage),
  AWS calls     requests moto logged during the run,
  open found    world-open groups reported (must equal the seeded ones), and the exit code.
Prints medians and writes bench/out/scan_org.json. Not a pass/fail test.

    bench/run            (builds the release binaries, then runs this)
"""

import http.client
import http.server
import json
import os
import threading
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
import e2e  # noqa: E402  (moto and client helpers of the black-box run)
from measure import moto_requests  # noqa: E402  (requests in moto's log)
from sweep import seed  # noqa: E402  (1000 groups, one in ten open)

ACCOUNTS = ["111111111111", "222222222222", "333333333333"]
REGIONS = ["us-east-1", "eu-west-1"]
GROUPS = int(os.environ.get("BENCH_SCAN_ORG_GROUPS", "1000"))
RUNS = int(os.environ.get("BENCH_SCAN_ORG_RUNS", "3"))
CONCURRENCY = [1, 8]
LATENCY_MS = [0, int(os.environ.get("BENCH_SCAN_ORG_LATENCY_MS", "50"))]


def delaying_proxy(moto_port, latency_ms):
    """A local HTTP proxy to moto that waits `latency_ms` before forwarding each request (one
    thread per connection); returns its port."""

    class Delay(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            time.sleep(latency_ms / 1000)
            upstream = http.client.HTTPConnection("127.0.0.1", moto_port, timeout=300)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("connection", "content-length", "transfer-encoding")}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            upstream.close()
            self.send_response(answer.status)
            for k, v in answer.getheaders():
                if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Delay)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def assumed(endpoint, account):
    """Keys acting in `account`: moto's STS lets any caller into any account's role."""
    sts = e2e.boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/bench",
                            RoleSessionName="bench")["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def run_scan(binary, endpoint, moto_log, concurrency):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true", "RUST_LOG": "error"})
    args = [str(binary), "scan", "--accounts", ",".join(ACCOUNTS), "--regions", ",".join(REGIONS),
            "--format", "json", "--concurrency", str(concurrency)]
    before = moto_requests(moto_log)
    spawned = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - spawned
    rows = json.loads(out)
    return {"concurrency": concurrency, "wall_s": wall,
            "client_cpu_s": usage.ru_utime + usage.ru_stime,
            "aws_calls": moto_requests(moto_log) - before,
            "exit_code": os.waitstatus_to_exitcode(status),
            "rows": len(rows),
            "open_found": sorted(r["resource"]["id"] for r in rows
                                 if r["rule"] == "revoke-open-ingress")}


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    binary = target / "release" / "eks-remediator"
    if not binary.exists():
        sys.exit(f"{binary} missing: run bench/run (it builds with --release)")
    workdir = Path(tempfile.mkdtemp(prefix="eks-remediator-bench-scan-org-"))
    runs = []
    try:
        port = e2e.start_moto(workdir)
        endpoint = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        # bench/sweep.py's seed, in the first account's first region.
        keys = assumed(endpoint, ACCOUNTS[0])
        original = e2e.boto3.client

        def client(service, **kwargs):
            return original(service, **{**kwargs, **keys})
        e2e.boto3.client = client
        try:
            open_ids = sorted(seed(endpoint, REGIONS[0], GROUPS))
        finally:
            e2e.boto3.client = original
        e2e.log(f"seeded {GROUPS} groups in {ACCOUNTS[0]} {REGIONS[0]} in "
                f"{time.monotonic() - started:.0f}s")
        run_scan(binary, endpoint, workdir / "moto.log", 8)   # moto's own first-call costs
        through = {0: endpoint}
        for latency in LATENCY_MS:
            if latency:
                through[latency] = f"http://127.0.0.1:{delaying_proxy(port, latency)}"
        for _ in range(RUNS):
            for latency in LATENCY_MS:
                for concurrency in CONCURRENCY:
                    run = run_scan(binary, through[latency], workdir / "moto.log", concurrency)
                    if run["open_found"] != open_ids:
                        raise RuntimeError(f"found {len(run['open_found'])} open groups, "
                                           f"seeded {len(open_ids)}")
                    run["open_found"] = len(run["open_found"])
                    run["latency_ms"] = latency
                    runs.append(run)
    finally:
        e2e.Child.stop_all()
    summary = []
    for latency in LATENCY_MS:
        for concurrency in CONCURRENCY:
            mine = [r for r in runs if r["concurrency"] == concurrency and r["latency_ms"] == latency]
            summary.append({
                "latency_ms": latency,
                "concurrency": concurrency,
                "wall_s": statistics.median(r["wall_s"] for r in mine),
                "client_cpu_s": statistics.median(r["client_cpu_s"] for r in mine),
                "aws_calls": statistics.median(r["aws_calls"] for r in mine),
                "rows": mine[0]["rows"], "open_found": mine[0]["open_found"],
                "exit_code": mine[0]["exit_code"]})
    print(f"eks-remediator scan: {len(ACCOUNTS)} accounts x {len(REGIONS)} regions, {GROUPS} groups "
          f"in one, release build, moto on localhost, median of {RUNS}")
    print(f"{'added latency':>14}{'concurrency':>12}{'wall s':>9}{'CPU s':>8}{'calls':>7}{'rows':>6}"
          f"{'open':>6}{'exit':>6}")
    for s in summary:
        print(f"{str(s['latency_ms']) + ' ms':>14}{s['concurrency']:>12}{s['wall_s']:>9.2f}"
              f"{s['client_cpu_s']:>8.3f}{s['aws_calls']:>7.0f}{s['rows']:>6}{s['open_found']:>6}"
              f"{s['exit_code']:>6}")
    for latency in LATENCY_MS:
        serial, wide = [s for s in summary if s["latency_ms"] == latency]
        print(f"{latency} ms added: concurrency {wide['concurrency']} is "
              f"{serial['wall_s'] / wide['wall_s']:.1f}x faster than {serial['concurrency']}")
    out_dir = REPO / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "scan_org.json").write_text(json.dumps({"summary": summary, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
