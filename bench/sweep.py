#!/usr/bin/env python3
"""Measures the sweep over many security groups against DESIGN.md's budgets: the read-only
scan's client CPU for 1000 groups, and the remediating sweep of 1000 world-open groups beside
Cloud Custodian's pull mode.

For each size (100 and 1000 groups; `BENCH_SWEEP_SIZES` to change), a fresh region of moto's
server on localhost gets that many security groups: one in ten tagged for EKS with tcp/22 open
to the world, the rest with tcp/443 from 10.0.0.0/8. Then the release `eks-remediator scan
--json` (the sweep's scans, read-only) runs against it, and this records
  wall time     spawn to exit,
  client CPU    user + system time of the process (rusage), which is what the budget bounds;
                the rest of the wall time is moto answering,
  AWS calls     requests moto logged during the scan,
  found         world-open groups reported (must equal the seeded ones).
(Peak memory is not reported: a forked child's ru_maxrss counts the Python parent's pages.)

Then the remediating case (`BENCH_SWEEP_REMEDIATE`, default 1000; 0 to skip): a fresh region
with that many untagged groups, each with tcp/22 open to 0.0.0.0/0 and tcp/443 from
10.0.0.0/8. The release `sweep` function, under bench/measure.py's Runtime API, gets one
scheduled event with MODE=remediate and INGRESS_SCOPE=all; recorded are its wall time (event
handed out -> response), its CPU for the event (all threads, schedstat), its peak memory
(VmHWM) and the requests moto logged. Afterwards every tcp/22 rule must be gone and every
tcp/443 rule still there. When Cloud Custodian is installed (`custodian` on PATH, or
BENCH_CUSTODIAN=/path/to/custodian, or none to skip it; `pip install c7n`), its pull mode does the same work in a
second region seeded the same way: `custodian run` with a `security-group` policy, an `ingress`
filter on 0.0.0.0/0 and `remove-permissions: matched`; its wall time and CPU (rusage) are
recorded beside ours, and checked the same way. Both runs are recorded by moto's request
recorder (`/moto-api/recorder/`), whose log gives the calls each made, by action; recording
costs moto some time, the same for both.

moto's own server (werkzeug) answers every request with `Connection: close`, so each of the
thousand revocations opens and closes a TCP connection, on both sides of loopback; AWS keeps
connections open. So the remediating case runs a second time (`BENCH_SWEEP_KEPT_ALIVE=0` to
skip) against the same moto served by waitress (HTTP/1.1 keep-alive, from PyPI through
scripts/tools.sh), both tools again, each in regions of their own: the difference between the
two rows is what the emulator's connection handling costs a client, not what the work does.
The budget row is the first one, on moto's own server, as a new user would run it.

Prints tables and writes bench/out/sweep.json. Not a pass/fail test.

    bench/run            (builds the release binaries, then runs this)
"""

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import e2e  # noqa: E402  (moto and client helpers of the black-box run)
import measure  # noqa: E402  (the Runtime API and process readings of bench/measure.py)
from measure import moto_requests  # noqa: E402  (requests in moto's log)

SIZES = [int(n) for n in os.environ.get("BENCH_SWEEP_SIZES", "100,1000").split(",") if n]
CPU_BUDGET_S = {1000: 0.2}
REGIONS = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "ap-south-1"]
REMEDIATE = int(os.environ.get("BENCH_SWEEP_REMEDIATE", "1000"))
REMEDIATE_REGIONS = ("us-west-2", "ca-central-1")   # ours, Cloud Custodian's
KEPT_ALIVE = os.environ.get("BENCH_SWEEP_KEPT_ALIVE", "1") != "0"
KEPT_ALIVE_REGIONS = ("us-east-2", "eu-north-1")    # the same, on the keep-alive server
SERVERS = {"werkzeug": "moto_server (werkzeug, Connection: close)",
           "waitress": "same moto, served by waitress (keep-alive)"}
# moto's WSGI application, as moto_server builds it, served by waitress with a thread per
# connection up to 16 (moto_server's werkzeug starts a thread per request).
KEPT_ALIVE_SERVER = """
import sys
import waitress
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
waitress.serve(DomainDispatcherApplication(create_backend_app), host="127.0.0.1",
               port=int(sys.argv[1]), threads=16, connection_limit=1000, channel_timeout=300)
"""
REMEDIATE_BUDGET = {"client_cpu_s": 0.25}
CUSTODIAN_POLICY = """policies:
  - name: world-open-ingress
    resource: security-group
    filters:
      - type: ingress
        Cidr:
          value: "0.0.0.0/0"
    actions:
      - type: remove-permissions
        ingress: matched
"""


def seed(endpoint, region, count):
    """`count` groups in a new VPC of `region`; returns the ids of the world-open ones."""
    ec2 = ec2_client(endpoint, region)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    open_ids = []
    for i in range(count):
        unsafe = i % 10 == 0
        tags = [{"Key": "aws:eks:cluster-name", "Value": "bench"}] if unsafe else []
        spec = [{"ResourceType": "security-group", "Tags": tags}] if tags else []
        group = ec2.create_security_group(GroupName=f"bench-{i}", Description="bench",
                                          VpcId=vpc, TagSpecifications=spec)["GroupId"]
        port, cidr = (22, "0.0.0.0/0") if unsafe else (443, "10.0.0.0/8")
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}])
        if unsafe:
            open_ids.append(group)
    return open_ids


def recorder(endpoint, verb):
    """moto's request recorder: start-recording, stop-recording, reset-recording, or
    download-recording (each request with its headers and base64 body, a JSON line each)."""
    method = "GET" if verb == "download-recording" else "POST"
    request = urllib.request.Request(f"{endpoint}/moto-api/recorder/{verb}", method=method)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.read().decode("utf-8", "replace")


@contextlib.contextmanager
def recording(endpoint):
    """Records the requests moto gets inside the block; yields a dict that holds, after it,
    the AWS actions they made, counted (`actions_recorded`)."""
    counts = {}
    recorder(endpoint, "reset-recording")
    recorder(endpoint, "start-recording")
    try:
        yield counts
    finally:
        recorder(endpoint, "stop-recording")
    counts.update(actions_recorded(endpoint))


def actions_recorded(endpoint):
    """The AWS actions moto saw since recording started, counted: `Action=` for the query
    protocols (EC2, IAM, SNS), `X-Amz-Target` for JSON ones, method and path for REST ones."""
    counts = {}
    for line in recorder(endpoint, "download-recording").splitlines():
        if not line.strip():
            continue
        request = json.loads(line)
        body = request.get("body") or ""
        if request.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        target = {k.lower(): v for k, v in (request.get("headers") or {}).items()}.get("x-amz-target")
        action = (urllib.parse.parse_qs(body).get("Action", [None])[0] or target
                  or f"{request.get('method')} {urllib.parse.urlsplit(request.get('url', '')).path}")
        counts[action] = counts.get(action, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def ec2_client(endpoint, region):
    return e2e.boto3.client("ec2", endpoint_url=endpoint, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def seed_open_and_private(endpoint, region, count):
    """`count` untagged groups, each with tcp/22 open to the world and tcp/443 from 10/8."""
    ec2 = ec2_client(endpoint, region)
    vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    for i in range(count):
        group = ec2.create_security_group(GroupName=f"bench-open-{i}", Description="bench",
                                          VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])


def ingress_left(endpoint, region):
    """(world-open tcp/22 rules, tcp/443 rules from 10/8) left in `region`."""
    rules = ec2_client(endpoint, region).describe_security_group_rules()["SecurityGroupRules"]
    ingress = [r for r in rules if not r["IsEgress"]]
    return (sum(1 for r in ingress if r.get("FromPort") == 22 and r.get("CidrIpv4") == "0.0.0.0/0"),
            sum(1 for r in ingress if r.get("FromPort") == 443 and r.get("CidrIpv4") == "10.0.0.0/8"))


def check_remediated(who, endpoint, region, count):
    left = ingress_left(endpoint, region)
    if left != (0, count):
        raise RuntimeError(f"{who}: {left[0]} world-open rules left, {left[1]} of {count} private kept")


def remediate_ours(endpoint, region, count, workdir):
    """The release sweep function, MODE=remediate, INGRESS_SCOPE=all, one scheduled event."""
    sns = e2e.boto3.client("sns", endpoint_url=endpoint, region_name=region,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    topic = sns.create_topic(Name="bench-sweep-remediate")["TopicArn"]
    event = json.loads(measure.SCHEDULED.read_text())
    event["region"] = region
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": region, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "MODE": "remediate", "INGRESS_SCOPE": "all",
           "ALERT_TOPIC_ARN": topic}
    api = measure.RuntimeApi(measure.SWEEP)
    proc = measure.spawn(measure.release_binary(measure.SWEEP), measure.SWEEP, env, api)
    try:
        api.polled.wait(timeout=30)
        with recording(endpoint) as by_action:
            cpu_before = measure.cpu_ms(proc.pid)
            ms, kind, out = api.invoke("sweep-remediate", event, timeout=600)
            cpu = measure.cpu_ms(proc.pid) - cpu_before
        remediated = sum(1 for o in (out or {}).get("outcomes", [])
                         if o["rule"] == "revoke-open-ingress" and o["status"] == "remediated")
        peak = measure.memory(proc.pid)["peak_memory_mib"]
    finally:
        measure.stop(proc)
        api.server.shutdown()
    # moto has no DescribeClusterVersions: with no cluster the version scan makes no call.
    if kind != "response" or remediated != count:
        raise RuntimeError(f"sweep: {kind}, {remediated} of {count} remediated: {str(out)[:500]}")
    check_remediated("sweep", endpoint, region, count)
    return {"tool": "eks-remediator sweep", "groups": count, "wall_s": ms / 1000,
            "client_cpu_s": cpu / 1000, "peak_memory_mib": peak,
            "aws_calls": sum(by_action.values()), "revoked": remediated,
            "calls_by_action": by_action}


def custodian_binary():
    given = os.environ.get("BENCH_CUSTODIAN")
    if given:
        return None if given == "none" else given
    for candidate in (shutil.which("custodian"),
                      Path.home() / ".cache/eks-remediator/c7n/bin/custodian"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def remediate_custodian(binary, endpoint, region, count, workdir):
    """Cloud Custodian's pull mode on the same work: `custodian run` with the policy above."""
    policy = workdir / "custodian.yml"
    policy.write_text(CUSTODIAN_POLICY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": region})
    with recording(endpoint) as by_action:
        spawned = time.perf_counter()
        # Without --cache-period 0, a run within 15 minutes of another reuses the groups the
        # earlier one listed (its cache is keyed by account and region, not by endpoint).
        proc = subprocess.Popen([binary, "run", "-s", str(workdir / "custodian-out"), "-r", region,
                                 "--cache-period", "0", str(policy)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - spawned
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"custodian failed: {err.decode(errors='replace')[-2000:]}")
    check_remediated("custodian", endpoint, region, count)
    return {"tool": "cloud custodian (pull)", "groups": count, "wall_s": wall,
            "client_cpu_s": usage.ru_utime + usage.ru_stime, "peak_memory_mib": None,
            "aws_calls": sum(by_action.values()), "revoked": count,
            "calls_by_action": by_action}


def start_moto_kept_alive(workdir):
    """moto's application under waitress, which keeps connections open as AWS does; returns
    its endpoint once it answers."""
    port = e2e.free_port()
    e2e.Child("moto-waitress", [sys.executable, "-c", KEPT_ALIVE_SERVER, str(port)],
              workdir / "moto-waitress.log")
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):
                return endpoint
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto under waitress not answering: {workdir / 'moto-waitress.log'}")
            time.sleep(0.2)


def remediate_both(endpoint, regions, custodian, workdir, server):
    """Seeds REMEDIATE open groups in a region per tool, then runs ours and (when installed)
    Cloud Custodian's on them; each row says which server it ran against."""
    ours_region, theirs_region = regions
    for region in (ours_region, theirs_region) if custodian else (ours_region,):
        started = time.monotonic()
        seed_open_and_private(endpoint, region, REMEDIATE)
        e2e.log(f"seeded {REMEDIATE} open groups in {region} in {time.monotonic() - started:.0f}s")
    rows = [remediate_ours(endpoint, ours_region, REMEDIATE, workdir)]
    if custodian:
        rows.append(remediate_custodian(custodian, endpoint, theirs_region, REMEDIATE, workdir))
    for row in rows:
        row["server"] = server
    return rows


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    binary = target / "release" / "eks-remediator"
    if not binary.exists():
        sys.exit(f"{binary} missing: run bench/run (it builds with --release)")
    workdir = Path(tempfile.mkdtemp(prefix="eks-remediator-bench-sweep-"))
    rows = []
    try:
        # moto's request recorder writes to its working directory unless told where.
        os.environ["MOTO_RECORDER_FILEPATH"] = str(workdir / "moto_recording")
        port = e2e.start_moto(workdir)
        endpoint = f"http://127.0.0.1:{port}"
        moto_log = workdir / "moto.log"
        remediating = []
        if REMEDIATE:
            custodian = custodian_binary()
            remediating += remediate_both(endpoint, REMEDIATE_REGIONS, custodian, workdir, "werkzeug")
            if KEPT_ALIVE:
                kept_alive = start_moto_kept_alive(workdir)
                remediating += remediate_both(kept_alive, KEPT_ALIVE_REGIONS, custodian, workdir,
                                              "waitress")
        for size, region in zip(SIZES, REGIONS):
            started = time.monotonic()
            open_ids = seed(endpoint, region, size)
            e2e.log(f"seeded {size} groups in {region} in {time.monotonic() - started:.0f}s")
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
                        "RUST_LOG": "error"})
            before = moto_requests(moto_log)
            spawned = time.perf_counter()
            proc = subprocess.Popen([str(binary), "scan", "--json", "--region", region], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - spawned
            proc.returncode = os.waitstatus_to_exitcode(status)
            calls = moto_requests(moto_log) - before
            found = sorted(r["resource"]["id"] for r in json.loads(out)
                           if r["rule"] == "revoke-open-ingress")
            if found != sorted(open_ids):
                raise RuntimeError(f"{size} groups: found {len(found)}, seeded {len(open_ids)} open")
            rows.append({"groups": size, "wall_s": wall, "client_cpu_s": usage.ru_utime + usage.ru_stime,
                         "aws_calls": calls, "open_found": len(found)})
    finally:
        e2e.Child.stop_all()
    print("eks-remediator scan (the sweep's scans), release build, against moto on localhost")
    print(f"{'groups':>7}{'wall s':>9}{'CPU s':>8}{'budget':>8}{'calls':>7}{'open':>6}")
    for r in rows:
        budget = CPU_BUDGET_S.get(r["groups"])
        flag = "" if budget is None else ("  ok" if r["client_cpu_s"] <= budget else "  OVER")
        print(f"{r['groups']:>7}{r['wall_s']:>9.2f}{r['client_cpu_s']:>8.3f}"
              f"{'' if budget is None else budget:>8}{r['aws_calls']:>7}{r['open_found']:>6}{flag}")
    if remediating:
        print()
        print(f"remediating sweep: {REMEDIATE} groups with tcp/22 open to the world and tcp/443 from 10/8,"
              " same moto")
        for server, title in SERVERS.items():
            rows_here = [r for r in remediating if r["server"] == server]
            if not rows_here:
                continue
            print(f"  against {title}")
            print(f"  {'tool':<24}{'wall s':>8}{'CPU s':>8}{'budget':>8}{'MiB':>7}{'calls':>7}{'revoked':>9}")
            for r in rows_here:
                # The budget is for moto's own server, as a new user runs it.
                budget = (REMEDIATE_BUDGET["client_cpu_s"]
                          if r["tool"].startswith("eks") and server == "werkzeug" else None)
                flag = "" if budget is None else ("  ok" if r["client_cpu_s"] <= budget else "  OVER")
                mem = "" if r["peak_memory_mib"] is None else f"{r['peak_memory_mib']:.1f}"
                print(f"  {r['tool']:<24}{r['wall_s']:>8.2f}{r['client_cpu_s']:>8.3f}"
                      f"{'' if budget is None else budget:>8}{mem:>7}{r['aws_calls']:>7}{r['revoked']:>9}{flag}")
            for r in rows_here:
                print(f"    {r['tool']} calls: " + ", ".join(f"{a} {n}" for a, n in r["calls_by_action"].items()))
    out_dir = REPO / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "sweep.json").write_text(json.dumps({"scan": rows, "remediate": remediating}, indent=2))


if __name__ == "__main__":
    main()
