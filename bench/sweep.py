#!/usr/bin/env python3
"""Measures the sweep over many security groups against DESIGN.md's budget (client CPU for
1000 groups).

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
Prints a table and writes bench/out/sweep.json. Not a pass/fail test.

    bench/run            (builds the release binaries, then runs this)
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import e2e  # noqa: E402  (moto and client helpers of the black-box run)
from measure import moto_requests  # noqa: E402  (requests in moto's log)

SIZES = [int(n) for n in os.environ.get("BENCH_SWEEP_SIZES", "100,1000").split(",")]
CPU_BUDGET_S = {1000: 0.2}
REGIONS = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "ap-south-1"]


def seed(endpoint, region, count):
    """`count` groups in a new VPC of `region`; returns the ids of the world-open ones."""
    ec2 = e2e.boto3.client("ec2", endpoint_url=endpoint, region_name=region,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
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


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    binary = target / "release" / "eks-remediator"
    if not binary.exists():
        sys.exit(f"{binary} missing: run bench/run (it builds with --release)")
    workdir = Path(tempfile.mkdtemp(prefix="eks-remediator-bench-sweep-"))
    rows = []
    try:
        port = e2e.start_moto(workdir)
        endpoint = f"http://127.0.0.1:{port}"
        moto_log = workdir / "moto.log"
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
    out_dir = REPO / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "sweep.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
