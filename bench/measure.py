#!/usr/bin/env python3
"""Measures the release build of every function against DESIGN.md's budgets.

For each function, and each of several runs: spawn its binary under a minimal Lambda Runtime
API served here, against moto's server on localhost, and measure
  cold start    process spawn -> first GET /next (settings validated; the SDK's config, the
                function's clients and the HTTP connector built: src/aws/warm_up.rs),
  first event   /next answered with the function's sample event (the one its e2e demo uses,
                on a freshly seeded resource) -> response posted: observe, fix, alert;
                for audit-workloads, its e2e delivery of a cluster's audit log (a Deployment
                without probes and a cluster-admin binding: two alerts, one dedupe PutItem;
                bench/audit_batch.py measures a 1 MiB batch); for publish-findings, its
                sample SNS notification (a remediated alert) about a freshly seeded group,
                with SECURITY_HUB=true and a chat topic: BatchImportFindings, Publish,
  warm event    the same on a second resource, in the same process,
  AWS calls     requests moto logged during the first event, plus those the EKS access
                stand-in answered itself (guard-cluster-access talks to moto through
                scripts/eks_access_standin.py, since moto lacks access entries: its times
                include that Python hop),
  peak memory   VmHWM of the process after both events;
and its deployment zip: the one `sam build` made (scripts/test) when there is one, and this
x86-64 binary as `bootstrap`, deflated. Alerts (and publish-findings' chat notifications) go to
topics without subscribers. The sweep function gets one
scheduled event over whatever the runs above left in the account. Prints a table beside the
budgets (the first-event budget is written for revoke-open-ingress: describe, revoke,
publish) and writes bench/out/functions.json. Not a pass/fail test.

    bench/run            (builds the release binaries, then runs this, bench/audit_batch.py and bench/sweep.py)
    BENCH_RUNS=9 BENCH_FUNCTIONS=revoke-open-ingress python bench/measure.py
    BENCH_FUNCTIONS=audit-workloads python bench/measure.py   (no sweep: it is not named)
"""

import json
import os
import re
import signal
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
ONLY = [f for f in os.environ.get("BENCH_FUNCTIONS", "").split(",") if f]
BUDGETS = {"cold_start_ms": 5, "cold_start_min_ms": 5, "peak_memory_mib": 10, "lambda_zip_mib": 3}
FIRST_EVENT_BUDGETS = {"revoke-open-ingress": {"first_event_ms": 12, "aws_calls": 3}}
# What each function's sample event leads to on its seeded resource (outcome statuses, sorted).
EXPECTED = {"notify-eks-finding": ["alert"], "audit-workloads": ["alert", "alert"],
            # It decides nothing: it carries the rules' outcomes on.
            "publish-findings": []}
SWEEP = "sweep"
SCHEDULED = REPO / "fuzz" / "seeds" / "sweep" / "scheduled-event.json"
COLUMNS = ("cold_start_ms", "cold_start_min_ms", "start_cpu_ms", "start_waiting_ms", "first_event_ms", "warm_event_ms", "first_event_cpu_ms", "warm_event_cpu_ms",
           "aws_calls", "peak_memory_mib", "lambda_zip_mib",
           "zip_mib")
# The deployment packages `scripts/test` made with `sam build` (the template's architecture,
# arm64 by default), when there are any: what Lambda gets, and what the zip budget is about.
SAM_ZIPS = Path(os.environ.get("EKS_REMEDIATOR_SAM_BUILD") or Path.home() / ".cache/eks-remediator/sam") / "zips"


class RuntimeApi:
    """The three Runtime API routes a function uses, with timestamps."""

    def __init__(self, function):
        self.function = function
        self.events = []          # queue of (request id, bytes)
        self.lock = threading.Condition()
        self.first_next = None
        self.polled = threading.Event()  # set at the first GET /next
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
                        api.polled.set()
                    while not api.events:
                        api.lock.wait()
                    request_id, body = api.events.pop(0)
                    api.served[request_id] = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 f"arn:aws:lambda:us-east-1:123456789012:function:{api.function}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                now = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                # /2018-06-01/runtime/invocation/<id>/response, or .../<id>/error
                request_id, outcome = self.path.split("/")[-2:]
                with api.lock:
                    api.responses[request_id] = (now, body, outcome)
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
        at, body, outcome = self.responses[request_id]
        return (at - self.served[request_id]) * 1000, outcome, json.loads(body or b"null")


# A request line of moto's (werkzeug's) log. Answers of 4xx and 5xx come in colour, the
# method inside ANSI escapes ("\x1b[31m\x1b[1mPOST / HTTP/1.1\x1b[0m" 400): a conditional
# PutItem refused, a resource not found.
REQUEST_LINE = re.compile(r'"(?:\x1b\[[0-9;]*m)*(?:GET|POST|PUT|DELETE|HEAD|PATCH) /')


def moto_requests(log_path):
    return sum(1 for line in log_path.read_text("utf-8", "replace").splitlines() if REQUEST_LINE.search(line))


def standin_answers(log_path):
    """The requests the EKS access stand-in answered itself (the rest it forwarded to moto,
    which logged them)."""
    if not log_path.exists():
        return 0
    return sum(1 for line in log_path.read_text("utf-8", "replace").splitlines()
               if line.startswith("eks-access-standin: stand-in "))


def proc_status_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def schedstat_ms(pid, field):
    """A /proc/<pid>/task/*/schedstat field summed over the threads, in ms: 0 is the CPU time
    used so far, 1 the time spent runnable but waiting for a CPU."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[field])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended between the listing and the read
    return total / 1e6


def cpu_ms(pid):
    """CPU time the process has used so far, all threads."""
    return schedstat_ms(pid, 0)


def start(pid, spawned, api):
    """The cold start, split: the process's own CPU and its wait for a CPU until the first
    poll (it is blocked in that poll now, so neither moves), the rest being the kernel's exec
    and the loader before the process's clock starts, and the Runtime API's answer."""
    return {"cold_start_ms": (api.first_next - spawned) * 1000,
            "start_cpu_ms": cpu_ms(pid),
            "start_waiting_ms": schedstat_ms(pid, 1)}


def minor_faults(pid):
    """Pages the process has touched for the first time (and the kernel mapped in) so far."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


def memory(pid):
    """Peak resident memory, and what is resident now: the heap and stacks (anonymous) and
    the pages of the binary itself (file-backed), which grow with the code an event runs."""
    return {"peak_memory_mib": proc_status_kib(pid, "VmHWM") / 1024,
            "rss_anon_mib": proc_status_kib(pid, "RssAnon") / 1024,
            "rss_file_mib": proc_status_kib(pid, "RssFile") / 1024}


def zip_size(binary, workdir):
    path = workdir / "bootstrap.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(binary, "bootstrap")
    return path.stat().st_size


def release_binary(function):
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    binary = target / "release" / function
    if not binary.exists():
        sys.exit(f"{binary} missing: run bench/run (it builds with --release)")
    return binary


def spawn(binary, function, env_extra, api):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(env_extra)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
    })
    env.pop("RUST_LOG", None)
    # This machine sets SSL_CERT_DIR (and SSL_CERT_FILE to the bundle) for every process; with
    # it, rustls-native-certs reads /etc/ssl/certs' 439 files on top of the bundle, 4 ms of the
    # first event's CPU. Lambda sets neither; keep the bundle, drop the directory.
    env.pop("SSL_CERT_DIR", None)
    # BENCH_WRAP runs the binary under a profiler, e.g. "strace -f -tt -o /tmp/trace".
    wrap = os.environ.get("BENCH_WRAP", "").split()
    return subprocess.Popen([*wrap, str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc):
    """Ends a function's process; under BENCH_WRAP, with SIGINT first, so that a profiler can
    write what it recorded."""
    if os.environ.get("BENCH_WRAP"):
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    proc.wait()


def measure_function(fn, ctx, workdir):
    """RUNS processes of `fn`, each with a first and a warm event on resources of its own."""
    binary, expected = release_binary(fn.name), EXPECTED.get(fn.name, ["remediated"])
    moto_log, standin_log, runs = workdir / "moto.log", workdir / "eks-access-standin.log", []

    def calls_now():
        return moto_requests(moto_log) + standin_answers(standin_log)

    for run in range(RUNS):
        resources = [fn.seed(ctx, f"bench-{fn.name}-{run}-{i}") for i in range(2)]
        events = [e2e.make_event(fn, ctx, r, workdir / f"{fn.name}-{run}-{i}.json")[0]
                  for i, r in enumerate(resources)]
        api = RuntimeApi(fn.name)
        spawned = time.perf_counter()
        proc = spawn(binary, fn.name, e2e.function_env(fn, "remediate", ctx), api)
        try:
            # Nothing else runs here until the first poll: reading moto's growing log holds
            # the GIL that the Runtime API's thread needs to answer, which inflated the cold
            # starts of the functions measured last.
            api.polled.wait(timeout=30)
            started = start(proc.pid, spawned, api)
            before = calls_now()
            cpu_start, faults_start = cpu_ms(proc.pid), minor_faults(proc.pid)
            first_ms, first_kind, first = api.invoke(f"first-{run}", events[0])
            calls, cpu_first, faults_first = calls_now() - before, cpu_ms(proc.pid), minor_faults(proc.pid)
            warm_ms, warm_kind, warm = api.invoke(f"warm-{run}", events[1])
            cpu_warm, faults_warm = cpu_ms(proc.pid), minor_faults(proc.pid)
            for kind, out in ((first_kind, first), (warm_kind, warm)):
                statuses = sorted(o["status"] for o in (out or {}).get("outcomes", []))
                if kind != "response" or statuses != expected:
                    raise RuntimeError(f"{fn.name}: expected outcomes {expected}, got {kind} {out}")
            runs.append({
                **started,
                "first_event_ms": first_ms,
                "warm_event_ms": warm_ms,
                "first_event_cpu_ms": cpu_first - cpu_start,
                "warm_event_cpu_ms": cpu_warm - cpu_first,
                "first_event_page_faults": faults_first - faults_start,
                "warm_event_page_faults": faults_warm - faults_first,
                "aws_calls": calls,
                **memory(proc.pid),
            })
        finally:
            stop(proc)
            api.server.shutdown()
    return runs


def moto_floor(ctx):
    """What moto itself takes for revoke-open-ingress's three calls, as boto3 makes them on a
    group seeded the same way: DescribeSecurityGroups, RevokeSecurityGroupIngress by rule id,
    and a JSON Publish. boto3 adds its own CPU, so this is an upper bound of moto's share of
    the first event; the rest of the first event is the function's."""
    ec2, sns, times = ctx["aws"]["ec2"], ctx["aws"]["sns"], []
    message = json.dumps({"default": json.dumps({"rule": "revoke-open-ingress"}), "email": "x" * 600})
    for run in range(RUNS):
        group = e2e.INGRESS.seed(ctx, f"bench-floor-{run}")
        started = time.perf_counter()
        ec2.describe_security_groups(GroupIds=[group["id"]])
        ec2.revoke_security_group_ingress(GroupId=group["id"], SecurityGroupRuleIds=[group["open_rule"]])
        sns.publish(TopicArn=ctx["topic"], Message=message, MessageStructure="json",
                    Subject="[eks-remediator] remediated: tcp/22 open to 0.0.0.0/0")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure_sweep(ctx, workdir):
    """RUNS sweep processes, each with one scheduled event over the account as it is."""
    binary, moto_log, runs = release_binary(SWEEP), workdir / "moto.log", []
    event = json.loads(SCHEDULED.read_text())
    event["account"] = ctx["account"]
    env = {k: v for k, v in e2e.function_env(e2e.INGRESS, "alert-only", ctx).items()
           if k.startswith("AWS_") or k in ("MODE", "ALERT_TOPIC_ARN")}
    env["SWEEP_DIGEST_OVER"] = "5"
    notes = set()
    for run in range(RUNS):
        api = RuntimeApi(SWEEP)
        spawned = time.perf_counter()
        proc = spawn(binary, SWEEP, env, api)
        try:
            api.polled.wait(timeout=30)
            started = start(proc.pid, spawned, api)
            before = moto_requests(moto_log)
            ms, kind, out = api.invoke(f"sweep-{run}", event, timeout=120)
            calls = moto_requests(moto_log) - before
            if kind == "error":
                # moto has no DescribeClusterVersions: the version scan fails, the rest count.
                notes.add(f"{out.get('errorType')}: {out.get('errorMessage')}")
            runs.append({
                **started,
                "first_event_ms": ms,
                "aws_calls": calls,
                **memory(proc.pid),
            })
        finally:
            stop(proc)
            api.server.shutdown()
    return runs, sorted(notes)


def summarise(runs, function, binary, workdir):
    summary = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    # The machine's neighbours move medians by a few ms from one session to the next; the
    # fastest start says what the binary itself costs.
    summary["cold_start_min_ms"] = min(r["cold_start_ms"] for r in runs)
    logical_id = "".join(part.capitalize() for part in function.split("-")) + "Function"
    deployed = SAM_ZIPS / f"{logical_id}.zip"
    summary["lambda_zip_mib"] = deployed.stat().st_size / 1024 / 1024 if deployed.exists() else None
    summary["zip_mib"] = zip_size(binary, workdir) / 1024 / 1024
    summary["binary_mib"] = binary.stat().st_size / 1024 / 1024
    return summary


def table(results):
    lines = [f"{'function':<24}" + "".join(f"{c:>20}" for c in COLUMNS)]
    budgets = {c: BUDGETS.get(c) for c in COLUMNS}
    lines.append(f"{'budget':<24}" + "".join(f"{'' if b is None else b:>20}" for b in budgets.values()))
    over = []
    for name, r in results.items():
        cells = []
        for c in COLUMNS:
            value = r["summary"].get(c)
            budget = FIRST_EVENT_BUDGETS.get(name, {}).get(c, budgets[c])
            mark = "" if value is None or budget is None or value <= budget else " OVER"
            if mark:
                over.append(f"{name} {c} {value:.2f} > {budget}")
            cells.append(f"{'-' if value is None else f'{value:.2f}'}{mark:>5}")
        lines.append(f"{name:<24}" + "".join(f"{cell:>20}" for cell in cells))
    return "\n".join(lines), over


def main():
    functions = [fn for fn in e2e.FUNCTIONS if not ONLY or fn.name in ONLY]
    workdir = Path(tempfile.mkdtemp(prefix="eks-remediator-bench-"))
    results = {}
    try:
        moto_port = e2e.start_moto(workdir)
        standin_port = e2e.start_standin(workdir, moto_port)
        aws = e2e.clients(f"http://127.0.0.1:{moto_port}")
        vpc, subnets = e2e.seed_network(aws["ec2"])
        # A topic without subscribers: moto delivers to a subscribed queue inside Publish,
        # which would time moto's fan-out (tens of ms); SNS delivers after it answers.
        topic = aws["sns"].create_topic(Name="eks-remediator-bench")["TopicArn"]
        # publish-findings' chat topic, also without subscribers (see e2e.chat_topic).
        chat = aws["sns"].create_topic(Name="eks-remediator-bench-chat")["TopicArn"]
        ctx = {"aws": aws, "account": aws["sts"].get_caller_identity()["Account"], "moto_port": moto_port,
               "topic": topic, "chat_topic": chat, "vpc": vpc, "subnets": subnets,
               "standin_port": standin_port,
               "standin_eks": e2e.clients(f"http://127.0.0.1:{standin_port}")["eks"]}
        for fn in functions:
            e2e.log(f"measuring {fn.name} ({RUNS} runs)")
            runs = measure_function(fn, ctx, workdir)
            results[fn.name] = {"summary": summarise(runs, fn.name, release_binary(fn.name), workdir), "runs": runs}
            if fn is e2e.INGRESS:
                results[fn.name]["summary"]["moto_floor_ms"] = moto_floor(ctx)
        if not ONLY or SWEEP in ONLY:
            e2e.log(f"measuring {SWEEP} ({RUNS} runs)")
            runs, notes = measure_sweep(ctx, workdir)
            results[SWEEP] = {"summary": summarise(runs, SWEEP, release_binary(SWEEP), workdir), "runs": runs,
                              "notes": notes}
    finally:
        e2e.Child.stop_all()
    print(f"Release builds, {RUNS} runs each against moto on localhost (medians; times in ms, sizes in MiB)")
    text, over = table(results)
    print(text)
    print("first-event budget (revoke-open-ingress): 12 ms and 3 AWS calls; the sweep's event is a whole sweep")
    if e2e.AUDIT.name in results:
        print(f"{e2e.AUDIT.name}'s event: a delivery of two audit events (a Deployment without probes, a "
              f"cluster-admin binding to an outsider): two alerts and the Deployment's dedupe PutItem; "
              f"bench/audit_batch.py measures a 1 MiB batch")
    if e2e.FINDINGS.name in results:
        print(f"{e2e.FINDINGS.name}'s event: one SNS notification of a remediated alert, SECURITY_HUB=true "
              f"and a chat topic: BatchImportFindings (a new finding) and one Publish")
    floor = results.get(e2e.INGRESS.name, {}).get("summary", {}).get("moto_floor_ms")
    if floor is not None:
        print(f"moto's share: the same three calls from boto3 take {floor:.2f} ms (median)")
    for note in results.get(SWEEP, {}).get("notes", []):
        print(f"sweep: {note}")
    for line in over:
        print(f"OVER BUDGET: {line}")
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": commit, "runs": RUNS,
            "cpus": os.cpu_count(), "budgets": {**BUDGETS, **{f"{k} first event": v
                                                             for k, v in FIRST_EVENT_BUDGETS.items()}}}
    path = out / "functions.json"
    if ONLY and path.exists():
        # Some functions only (BENCH_FUNCTIONS): the others' rows of the last full run stay,
        # each row saying when it was measured.
        try:
            previous = json.loads(path.read_text())
        except ValueError:
            previous = {}
        kept = previous.get("functions", {})
        when = {k: previous.get("meta", {}).get(k) for k in ("date", "commit")}
        for row in kept.values():
            row.setdefault("measured", when)
        for row in results.values():
            row["measured"] = {"date": meta["date"], "commit": commit}
        results = {**kept, **results}
        meta = {**previous.get("meta", {}), "updated": meta["date"], "updated_functions": sorted(ONLY)}
    path.write_text(json.dumps({"meta": meta, "functions": results}, indent=2))


if __name__ == "__main__":
    main()
