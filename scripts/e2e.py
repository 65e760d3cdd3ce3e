#!/usr/bin/env python3
"""Black-box run of the real function binaries against a local AWS emulator.

All nine functions are run: `revoke-open-ingress`, `enforce-cluster-config`,
`detach-node-policy`, `restore-audit-trail`, `notify-eks-finding`, `guard-cluster-access`,
`audit-workloads`, `harden-nodes` and `publish-findings`, and the `sweep` function once. End
to end:

1. `cargo build` makes the binaries (a no-op after `cargo test`);
2. `moto_server` starts on a free localhost port, with AWS managed IAM policies loaded
   (`MOTO_IAM_LOAD_MANAGED_POLICIES=true`), and is seeded with boto3: a VPC with two
   subnets, an SNS topic and an SQS queue subscribed to it;
3. `scripts/eks_access_standin.py` starts in front of moto, on a free localhost port, once
   for the whole run: moto has no EKS access entries, access policies, Pod Identity
   associations or add-ons, so this proxy answers those itself (statefully, as its Rust twin
   tests/support/eks_access.rs does for the integration tests); nor the cluster fields
   `deletionProtection` and `upgradePolicy`, which it keeps for the clusters created through
   it, adds to moto's DescribeCluster answers and answers the updates of (as
   tests/support/cluster_extras.rs does); it forwards everything else to moto.
   `guard-cluster-access`, `enforce-cluster-config` and the CLI talk to it (their
   `AWS_ENDPOINT_URL`); the other functions talk to moto directly.

Then, for each scenario (one function in one MODE), it:

1. seeds the resource the function acts on:
   - revoke-open-ingress: a security group tagged `aws:eks:cluster-name=demo` with tcp/22
     from 0.0.0.0/0 and tcp/22 from 10.0.0.0/8;
   - enforce-cluster-config, on CreateCluster: through the stand-in, an EKS cluster with a
     public endpoint open to 0.0.0.0/0, no control-plane logs, no deletion protection (the
     console's request does not send it; DELETION_PROTECTION is left at `alert`, so that is
     reported with the command to turn it on), and secrets encryption; on UpdateClusterConfig:
     through the stand-in, a cluster like guard-cluster-access's created with deletion
     protection, then protection turned off (the update the event is about), which the
     function turns back on;
   - detach-node-policy: an IAM role trusted by EC2 (an EKS node role) with the AWS managed
     policies AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and AdministratorAccess;
   - restore-audit-trail: a CloudTrail trail logging to an S3 bucket, started then stopped;
   - notify-eks-finding: nothing (it only alerts: the finding's cluster need not exist);
   - guard-cluster-access: an EKS cluster in moto (private endpoint, every control-plane log,
     secrets encryption, an IAM OIDC provider for its issuer: nothing else for the functions or
     the CLI's scan to find), then through the stand-in an
     access entry (STANDARD) for the role `contractor`, outside CLUSTER_ADMIN_PRINCIPALS
     (`role/platform-*`), with AmazonEKSClusterAdminPolicy over the cluster and
     AmazonEKSViewPolicy over namespace team-a;
   - audit-workloads, on a CloudWatch Logs delivery of a cluster's audit log: nothing but its
     DynamoDB table (DEDUPE_TABLE, partition key `pk`), created once; on a CreateLogGroup
     event: a cluster like guard-cluster-access's (nothing else to find) and its log group
     `/aws/eks/<name>/cluster` in moto's CloudWatch Logs, with no subscription filter. Once
     per account, an IAM role and a Lambda function in moto named like the deployed
     audit-workloads (AUDIT_WORKLOADS_FUNCTION_ARN): moto's PutSubscriptionFilter, like
     CloudWatch Logs', refuses a destination function that does not exist;
   - publish-findings: a security group as for revoke-open-ingress, and once, the chat topic
     with an SQS queue subscribed to it with raw message delivery (each body is the
     notification as published, as Amazon Q Developer reads it);
   - harden-nodes: a running EC2 instance (`ami-0fedcba9876543210`) tagged as an EKS node
     (`eks:cluster-name=demo`, `eks:nodegroup-name`, `kubernetes.io/cluster/demo`) with
     metadata options `HttpTokens=optional`, hop limit 2, endpoint enabled. No
     NODE_IMDS_HOP_LIMIT, so the fix must keep the hop limit at 2: moto's
     ModifyInstanceMetadataOptions resets every option a call leaves out, so this also checks
     that the function names them all;
2. turns the function's sample event (`events/revoke-open-ingress/authorize-ipv4-open-ssh.json`,
   `events/enforce-cluster-config/create-cluster-console-public.json`,
   `events/enforce-cluster-config/update-deletion-protection-off.json` with the real update's id,
   `events/detach-node-policy/attach-admin-access.json`,
   `events/restore-audit-trail/stop-logging-by-name.json`,
   `events/notify-eks-finding/policy-anonymous-access-granted.json`,
   `events/guard-cluster-access/associate-cluster-admin-console.json`,
   `events/audit-workloads/create-log-group-eks.json`, `events/harden-nodes/node-running.json`,
   EC2's own state-change notification) into an event about that resource
   (plain replacement of the placeholders, see events/README.md); audit-workloads' deliveries
   are built instead with scripts/audit_payload.py from sample audit events of
   `events/audit-workloads/audit-log/` (a Deployment applied without probes and a
   cluster-admin binding to an outsider; then the same Deployment applied again, which the
   dedupe table keeps quiet), gzipped and base64-encoded as CloudWatch Logs sends them;
3. starts cargo lambda's Lambda Runtime API emulator (`cargo lambda watch --only-lambda-apis`),
   runs the built binary against it with the scenario's environment, and sends it the event
   with `cargo lambda invoke`;
4. prints the resource BEFORE, the function's output, the resource AFTER and the ALERT(s)
   read back from the SQS queue.

publish-findings' scenario is its own (`PublishFindings.run`): with SECURITY_HUB=true and
CHAT_TOPIC_ARN, it is handed the alerts revoke-open-ingress publishes about its group, first in
alert-only mode (would-remediate), then in remediate mode (remediated), each as the SNS
notification Lambda delivers to a function subscribed to the alert topic (the envelope read
from the alert queue: its `Message` is the alert's default document, its message attributes
`status` and `rule`). After each, Security Hub's finding (GetFindings; moto imports without
Security Hub being enabled, and ignores GetFindings' filters, so the Id is picked here) and
the chat queue are shown: one finding, NEW and FAILED, then the same one RESOLVED and PASSED,
and one notification each. Last, a batch holding a message that is no alert document fails
the invocation, with nothing imported or posted.

Then the CLI (`eks-remediator`, also through the stand-in): `scan`, `replay` of a
revoke-open-ingress event read-only and with `--apply`, and `scan` again. Last, the sweep
repairs a missing subscription, in a moto account of its own (moto's STS) so that it meets
nothing else: an EKS cluster with its audit log on and its log group without our filter;
`eks-remediator scan` lists it (`audit-subscriptions`), the `sweep` function (MODE=remediate,
AUDIT_WORKLOADS_FUNCTION_ARN and AUDIT_FILTER_PATTERN set as the template sets them) puts the
filter from one scheduled event, and `scan` no longer lists it.

Without `--check` (the demo) it runs each function's scenarios with MODE=remediate (once per
kind of trigger). With `--check` it also runs each function that changes resources with
MODE=alert-only on a second resource (notify-eks-finding only ever alerts, so it has no such
scenario; audit-workloads changes only its subscriptions, so its alert-only scenario is a
CreateLogGroup; harden-nodes' is a second node, which the CLI's scan then lists, as it lists
the cluster left with deletion protection off), and asserts every result: the exit status is
0 when everything holds, 1 when a check fails, 2 when the run itself could not be done
(emulator, build, timeout). Each scenario has its own Runtime API
emulator and function process; moto and the stand-in serve the whole run (each scenario
seeds resources of its own names), their logs in the work directory.

Run it with the tools environment (scripts/demo and tests/blackbox.sh do):
    source scripts/tools.sh && python scripts/e2e.py [--check] [--verbose] [--only PART,...]

Every child process runs in its own process group and is killed at exit, also on failure
or Ctrl-C. Every wait is bounded.
"""

import argparse
import datetime
import functools
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import NamedTuple

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("e2e: boto3 is missing: run `source scripts/tools.sh` first (it installs moto[server] and boto3)")

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"
sys.path.insert(0, str(REPO / "scripts"))
import audit_payload  # noqa: E402  (CloudWatch Logs subscription payloads from audit events)

# Placeholders of events/README.md.
PH_ACCOUNT = "123456789012"
PH_REGION = "us-east-1"
PH_GROUP = "sg-0123456789abcdef0"
PH_OPEN_RULE = "sgr-0aaaaaaaaaaaaaaa1"
PH_CORP_RULE = "sgr-0aaaaaaaaaaaaaaa2"
PH_CLUSTER = "example-cluster"  # the cluster name in events/enforce-cluster-config/
PH_NODE_ROLE = "example-node-role"  # the node role name in events/detach-node-policy/
PH_TRAIL = "example-trail"  # the trail name (also inside its ARN) in events/restore-audit-trail/
# The instance of events/harden-nodes/node-running.json. The GuardDuty samples of
# revoke-open-ingress, detach-node-policy and notify-eks-finding name the same one; no scenario
# here uses those, and each scenario replaces only its own sample's placeholders.
PH_INSTANCE = "i-0123456789abcdef0"
# The principal of events/guard-cluster-access/associate-cluster-admin-console.json (kept: only
# its account is a placeholder, also inside the percent-encoded requestParameters.principalArn).
CONTRACTOR_ROLE = "contractor"

REGION = "us-east-1"
CLUSTER_TAG = ("aws:eks:cluster-name", "demo")
WORLD = "0.0.0.0/0"
CORP = "10.0.0.0/8"
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
SECRETS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
# AWS managed policies (moto has them only with MOTO_IAM_LOAD_MANAGED_POLICIES=true).
EKS_WORKER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
EKS_CNI_POLICY = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
# EKS access policies (the stand-in accepts any ARN; these are EKS's).
CLUSTER_ADMIN_ACCESS = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW_ACCESS = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
ADMIN_ACCESS_POLICIES = (CLUSTER_ADMIN_ACCESS,
                         "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy")
# Who may administer clusters (guard-cluster-access's CLUSTER_ADMIN_PRINCIPALS): the event's
# caller, role platform-admin, is; the contractor is not.
CLUSTER_ADMIN_PRINCIPALS = f"arn:aws:iam::{PH_ACCOUNT}:role/platform-*"
STANDIN = REPO / "scripts" / "eks_access_standin.py"
# audit-workloads: its subscription filter's name (FILTER_NAME in
# src/rules/audit_workloads/remediate.rs), its dedupe table, and the Lambda function in moto
# that stands for the deployed function (the destination of the filters it puts; the template
# gives the sweep `!GetAtt AuditWorkloadsFunction.Arn`).
AUDIT_FILTER = "eks-remediator-audit-workloads"
DEDUPE_TABLE = "eks-remediator-audit-dedupe"
AUDIT_FUNCTION = "eks-remediator-AuditWorkloadsFunction"
AUDIT_SAMPLES = EVENTS / "audit-workloads" / "audit-log"
PH_LOG_GROUP = "/aws/eks/prod/cluster"  # the log group of events/audit-workloads/create-log-group-eks.json
REALERT_DAYS = "7"
# harden-nodes: the AMI of its launch-template samples, and the metadata options an EKS node is
# launched with when its launch template allows IMDSv1 (what the function fixes).
NODE_AMI = "ami-0fedcba9876543210"
NODE_INSTANCE_TYPE = "m6i.large"
NODE_CLUSTER = "demo"
NODE_HOP_LIMIT = 2
# Who may be bound to cluster-admin inside a cluster: the sample binding's contractor and
# dev-team are not.
K8S_ADMIN_SUBJECTS = "platform-admins"
# The sweep's own moto account (moto's STS hands out credentials for any account).
SWEEP_ACCOUNT = "210987654321"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

# Bounded waits (seconds).
MOTO_START_TIMEOUT = 60
STANDIN_START_TIMEOUT = 30
WATCH_LISTEN_TIMEOUT = 180     # cargo lambda runs `cargo metadata` before it listens
# First invocation (the warm-up): the already built binary starts and polls the emulator, which
# takes well under a second; the generous bound is for a machine whose cores are shared with
# other builds. EKS_REMEDIATOR_E2E_READY_TIMEOUT (seconds) overrides it.
READY_TIMEOUT = int(os.environ.get("EKS_REMEDIATOR_E2E_READY_TIMEOUT") or 15 * 60)
INVOKE_TIMEOUT = 120
ALERT_TIMEOUT = 15
STOP_TIMEOUT = 10
PROGRESS_EVERY = 30


class SetupError(Exception):
    """The run could not be carried out (not a finding about the function)."""


def log(msg):
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes

def _children_map():
    """ppid -> [pid] for every process visible in /proc."""
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        # comm may contain spaces and parentheses: the fields after the last ')' are fixed.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 2:
            kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids


def _descendants(pid):
    if not os.path.isdir("/proc"):
        return []
    kids, out, todo = _children_map(), [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Child:
    """A background process in its own process group, output to a log file."""

    registry = []

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=True)
        Child.registry.append(self)

    def running(self):
        return self.proc.poll() is None

    def log_text(self):
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self):
        """SIGTERM to the process group (and stray descendants), SIGKILL after a grace period."""
        pid = self.proc.pid
        family = _descendants(pid) if self.running() else []
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            for child in family:
                try:
                    os.kill(child, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                continue
            # The leader is gone; give its group a moment, then make sure of the rest.
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and any(_alive(c) for c in family):
                time.sleep(0.05)
            if not any(_alive(c) for c in family):
                break
        self._log.close()

    @classmethod
    def stop_all(cls):
        while cls.registry:
            child = cls.registry.pop()
            try:
                child.stop()
            except Exception as exc:  # keep cleaning up the others
                log(f"could not stop {child.name}: {exc}")


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b")")[-1].split()[0] != b"Z"
    except OSError:
        return False


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- moto

def start_moto(workdir):
    exe = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(exe).exists():
        raise SetupError("moto_server not found: run `source scripts/tools.sh` first")
    port = free_port()
    started = time.monotonic()
    # detach-node-policy's scenarios attach AWS managed policies, which moto only knows when
    # it loads them at start.
    child = Child("moto_server", [exe, "-H", "127.0.0.1", "-p", str(port)],
                  workdir / "moto.log", env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"))
    url = f"http://127.0.0.1:{port}/moto-api/data.json"
    while True:
        if not child.running():
            raise SetupError(f"moto_server exited early:\n{child.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() - started > MOTO_START_TIMEOUT:
            raise SetupError(f"moto_server not ready after {MOTO_START_TIMEOUT}s:\n{child.log_tail()}")
        time.sleep(0.1)
    log(f"moto_server ready on 127.0.0.1:{port} in {time.monotonic() - started:.1f}s")
    return port


def start_standin(workdir, moto_port):
    """Starts scripts/eks_access_standin.py in front of moto; returns its port once it has
    forwarded a request to moto."""
    port = free_port()
    started = time.monotonic()
    child = Child("eks-access-standin",
                  [sys.executable, str(STANDIN), "--upstream", f"http://127.0.0.1:{moto_port}",
                   "--port", str(port)],
                  workdir / "eks-access-standin.log")
    while not port_open(port):
        if not child.running():
            raise SetupError(f"the EKS access stand-in exited early:\n{child.log_tail()}")
        if time.monotonic() - started > STANDIN_START_TIMEOUT:
            raise SetupError(f"the EKS access stand-in not listening after {STANDIN_START_TIMEOUT}s:"
                             f"\n{child.log_tail()}")
        time.sleep(0.1)
    # One call through it to moto (ListClusters): the forwarding works.
    clients(f"http://127.0.0.1:{port}")["eks"].list_clusters()
    log(f"EKS access stand-in ready on 127.0.0.1:{port} in {time.monotonic() - started:.1f}s "
        f"(log {child.log_path.name})")
    return port


def clients(endpoint, keys=None):
    """boto3 clients for `endpoint`, as moto's default account, or with `keys` (access key,
    secret, session token from moto's STS) as the account they belong to."""
    cfg = Config(region_name=REGION, connect_timeout=5, read_timeout=30,
                 retries={"max_attempts": 2, "mode": "standard"})
    key, secret, token = keys or ("testing", "testing", None)
    kw = dict(endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
              aws_session_token=token, config=cfg)

    class Clients(dict):
        """Made on first use: a boto3 client takes tens of milliseconds to build."""

        def __missing__(self, name):
            self[name] = boto3.client(name, **kw)
            return self[name]

    return Clients()


def assumed_keys(sts, account):
    """Credentials of a role in `account` from moto's STS: calls made with them see only
    that account's resources."""
    cred = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/eks-remediator-e2e",
                           RoleSessionName="e2e")["Credentials"]
    return cred["AccessKeyId"], cred["SecretAccessKey"], cred["SessionToken"]


def seed_network(ec2):
    """A VPC with two subnets in two zones (an EKS cluster needs two); returns (vpc, subnets)."""
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    return vpc_id, subnets


def seed_alerts(sns, sqs):
    topic = sns.create_topic(Name="eks-remediator-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="eks-remediator-alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue_url


def build_event(sample, replacements, path):
    """The sample event with its placeholders replaced (plain text replacement, as
    events/README.md describes), written to `path` for `cargo lambda invoke`."""
    text = sample.read_text("utf-8")
    for old, new in replacements:
        text = text.replace(old, new)
    event = json.loads(text)
    path.write_text(text, "utf-8")
    return event


# --------------------------------------------------------------------------- cargo lambda

class Watch:
    """`cargo lambda watch` serving one function binary, with its own environment."""

    def __init__(self, function, label, fn_env, workdir):
        self.function_name = function
        self.label = label
        self.port = free_port()
        # Only the Runtime API emulator: the function is the binary `cargo build` made, started
        # below, not a `cargo run` under watch, whose different build environment would make
        # cargo rebuild the dependency tree that `cargo test` just built.
        self.argv = [
            "cargo", "lambda", "watch", "--only-lambda-apis",
            "--invoke-address", "127.0.0.1",
            "--invoke-port", str(self.port),
        ]
        # Keep the caller's AWS settings (profile, real credentials, region) away from both
        # processes; fn_env sets what the function needs.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.started = time.monotonic()
        self.child = Child(f"cargo lambda watch ({label})", self.argv,
                           workdir / f"watch-{label}.log", env=env, cwd=REPO)
        self.fn_env = dict(env, **fn_env, **{
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.port}/.rt",
            "AWS_LAMBDA_FUNCTION_NAME": "_",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        })
        self.workdir = workdir
        self.function = None
        self._progress_at = 0  # bytes of the log already echoed

    def start_function(self):
        """Starts the built function binary against this emulator's Runtime API."""
        self.function = Child(f"{self.function_name} ({self.label})",
                              [str(function_binary(self.function_name))],
                              self.workdir / f"function-{self.label}.log", env=self.fn_env, cwd=REPO)

    def _echo_progress(self):
        text = self.child.log_text()
        new, self._progress_at = text[self._progress_at:], len(text)
        for line in new.splitlines():
            s = line.strip()
            if s.startswith(("Compiling", "Finished", "Running", "Blocking", "Updating",
                             "Downloaded", "Locking")) or s.startswith("error"):
                log(f"[watch {self.label}] {s}")

    def _build_failed(self):
        text = self.child.log_text()
        return "error: could not compile" in text or "error[E" in text

    def wait_listening(self):
        deadline = self.started + WATCH_LISTEN_TIMEOUT
        while not port_open(self.port):
            if not self.child.running():
                raise SetupError(f"cargo lambda watch ({self.label}) exited:\n{self.child.log_tail()}")
            if time.monotonic() > deadline:
                raise SetupError(f"cargo lambda watch ({self.label}) not listening on port "
                                 f"{self.port} after {WATCH_LISTEN_TIMEOUT}s:\n{self.child.log_tail()}")
            time.sleep(0.1)
        log(f"cargo lambda watch ({self.label}) listening on 127.0.0.1:{self.port} "
            f"after {time.monotonic() - self.started:.1f}s")

    def invoke_argv(self, data_file):
        # The emulator serves the function started with AWS_LAMBDA_FUNCTION_NAME=_ under the
        # default name, which is what `cargo lambda invoke` without a name calls.
        return ["cargo", "lambda", "invoke",
                "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
                "--data-file", str(data_file), "--output-format", "json"]

    def invoke(self, data_file, timeout, progress=False):
        """Runs `cargo lambda invoke`; returns (parsed output, seconds)."""
        started = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(self.invoke_argv(data_file), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, cwd=REPO, start_new_session=True)
            next_note = started + PROGRESS_EVERY
            try:
                while proc.poll() is None:
                    now = time.monotonic()
                    if progress:
                        self._echo_progress()
                        if now >= next_note:
                            log(f"still waiting for the function to start ({now - started:.0f}s, "
                                f"limit {timeout}s)")
                            next_note += PROGRESS_EVERY
                    if self._build_failed():
                        raise SetupError(f"the function did not build under cargo lambda watch:\n"
                                         f"{self.child.log_tail(80)}")
                    if not self.child.running():
                        raise SetupError(f"cargo lambda watch ({self.label}) exited:\n"
                                         f"{self.child.log_tail()}")
                    if now - started > timeout:
                        raise SetupError(f"cargo lambda invoke got no answer in {timeout}s; "
                                         f"watch log:\n{self.child.log_tail()}")
                    time.sleep(0.05)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            elapsed = time.monotonic() - started
            if progress:
                self._echo_progress()
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        if proc.returncode != 0:
            raise InvokeError(proc.returncode, stdout, stderr)
        try:
            return json.loads(stdout), elapsed
        except json.JSONDecodeError:
            raise InvokeError(proc.returncode, stdout, "output is not JSON")

    def stop(self):
        for child in (self.function, self.child):
            if child is None:
                continue
            child.stop()
            if child in Child.registry:
                Child.registry.remove(child)


class InvokeError(Exception):
    def __init__(self, code, stdout, stderr):
        self.detail = stderr.strip() or stdout.strip()
        super().__init__(f"cargo lambda invoke exited {code}: {self.detail}")


def function_binary(function):
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return Path(target) / "debug" / function


def build_functions(functions):
    """`cargo build` of the functions: a no-op right after `cargo test` on the same cache.

    It builds the whole workspace with all targets, as `cargo test --workspace --all-targets`
    does, so that cargo unifies the same features: `-p` alone resolves a smaller feature set
    (no dev-dependencies) and rebuilds tokio and every SDK crate for it.
    """
    log("cargo build --workspace --all-targets (a cold build can take many minutes)")
    started = time.monotonic()
    proc = subprocess.run(["cargo", "build", "--workspace", "--all-targets"], cwd=REPO)
    if proc.returncode != 0:
        raise SetupError("cargo build --workspace --all-targets failed")
    for function in functions:
        if not function_binary(function).is_file():
            raise SetupError(f"cargo build made no {function_binary(function)}")
    log(f"built {', '.join(functions)} (in {function_binary(functions[0]).parent}) "
        f"in {time.monotonic() - started:.1f}s")


def start_function(function, label, fn_env, warmup_file, workdir):
    """Starts watch and the function binary, and sends the warm-up event (an event of the
    function's source that it does not act on); returns the ready Watch."""
    watch = Watch(function, label, fn_env, workdir)
    log(f"starting: {' '.join(watch.argv)}")
    watch.wait_listening()
    watch.start_function()
    log(f"warm-up invoke ({warmup_file.relative_to(REPO)}); a cold build can take minutes, "
        f"limit {READY_TIMEOUT}s")
    try:
        out, secs = watch.invoke(warmup_file, READY_TIMEOUT, progress=True)
    except InvokeError as exc:
        raise SetupError(f"warm-up invocation failed: {exc}\nfunction log:\n{watch.function.log_tail()}")
    if out != {"outcomes": []}:
        log(f"warning: the not-for-me event gave {json.dumps(out)}")
    log(f"function ready ({label}) {time.monotonic() - watch.started:.1f}s after watch start "
        f"(warm-up invoke {secs:.1f}s)")
    return watch


# --------------------------------------------------------------------------- alerts

def drain_alerts(sqs, queue_url, expect, timeout=ALERT_TIMEOUT, parse=None):
    """Reads (and deletes) queued alerts: waits for `expect`, then until the queue is empty.
    Each body is read with `parse` (default: parse_alert, an SNS envelope)."""
    parse = parse or parse_alert
    alerts, deadline = [], time.monotonic() + timeout
    while True:
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        msgs = resp.get("Messages", [])
        for m in msgs:
            alerts.append(parse(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        if not msgs and (len(alerts) >= expect or time.monotonic() > deadline):
            return alerts


def parse_alert(body):
    """SQS body = SNS envelope; its Message = the `default` entry = the JSON document. The
    envelope is kept too (publish-findings' scenario hands it on as SNS hands it to Lambda)."""
    alert = {"subject": None, "doc": None, "raw": body, "error": None, "envelope": None}
    try:
        envelope = json.loads(body)
        alert["envelope"] = envelope if isinstance(envelope, dict) else None
        alert["subject"] = envelope.get("Subject")
        message = envelope.get("Message")
        alert["raw"] = message
        alert["doc"] = json.loads(message)
        if not isinstance(alert["doc"], dict):
            alert["error"] = "the default entry is not a JSON object"
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        alert["error"] = f"not JSON: {exc}"
    return alert


# --------------------------------------------------------------------------- display

def show_alerts(alerts):
    print(f"ALERT: {len(alerts)} message(s) on the SQS queue subscribed to the topic")
    for a in alerts:
        print(f"  Subject: {a['subject']}")
        if a["doc"] is not None:
            doc = a["doc"] if isinstance(a["doc"], dict) else {}
            note = doc.get("note")
            multiline_note = isinstance(note, str) and "\n" in note
            shown = a["doc"]
            if multiline_note:  # one long string: printed below, line by line
                shown = dict(doc, note=f"<{len(note.splitlines())} lines, printed below>")
            print(indent(json.dumps(shown, indent=2)))
            undo = doc.get("undo")
            if isinstance(undo, str) and "\n" in undo:
                print("  undo, one command per line, to run in this order:")
                print(indent(undo, "    "))
            if multiline_note:
                print("  note (the responder's context), line by line:")
                print(indent(note, "    "))
        else:
            print(f"  ({a['error']}) {a['raw']}")
    print()


def describe_event(event, resource):
    """One line: the API call and its caller, or the GuardDuty finding."""
    detail = event["detail"]
    if event.get("detail-type") == "GuardDuty Finding":
        return (f"GuardDuty finding {detail['type']} (severity {detail['severity']}) "
                f"on {resource['id']}")
    return f"{detail['eventName']} on {resource['id']} by {detail['userIdentity']['arn']}"


def indent(text, pad="  "):
    return "\n".join(pad + line for line in text.splitlines())


# --------------------------------------------------------------------------- checks

class Checks:
    def __init__(self, scenario):
        self.scenario = scenario
        self.failures = []

    def that(self, ok, what, detail=""):
        if ok:
            print(f"  ok    {what}")
        else:
            print(f"  FAIL  {what}" + (f": {detail}" if detail else ""))
            self.failures.append(f"[{self.scenario}] {what}" + (f": {detail}" if detail else ""))
        return ok


def resource_id(value):
    return value.get("id") if isinstance(value, dict) else value


def check_common(c, fn, rid, output, alerts, status):
    """What every scenario expects: one outcome and one alert, about `rid`, with `status`."""
    outcomes = output.get("outcomes") if isinstance(output, dict) else None
    c.that(isinstance(outcomes, list) and len(outcomes) == 1, "the output has exactly one outcome",
           json.dumps(output))
    o = outcomes[0] if isinstance(outcomes, list) and outcomes else {}
    c.that(o.get("rule") == fn.name, f"outcome rule is {fn.name}", repr(o.get("rule")))
    c.that(resource_id(o.get("resource")) == rid, f"outcome resource is {rid}",
           repr(o.get("resource")))
    c.that(o.get("status") == status, f"outcome status is {status}", repr(o.get("status")))

    c.that(len(alerts) == 1, "exactly one alert was published", f"{len(alerts)} alerts")
    a = alerts[0] if alerts else {"subject": None, "doc": None, "error": "no alert"}
    doc = a["doc"] if isinstance(a["doc"], dict) else {}
    c.that(a["doc"] is not None and not a["error"], "the alert's default entry is a JSON document",
           a["error"] or "")
    subject = a["subject"] or ""
    c.that(subject.startswith("[eks-remediator]") and len(subject) <= 100,
           "the subject starts with [eks-remediator] and has at most 100 characters", repr(subject))
    c.that(doc.get("rule") == fn.name, f"alert rule is {fn.name}", repr(doc.get("rule")))
    c.that(doc.get("status") == status, f"alert status is {status}", repr(doc.get("status")))
    res = doc.get("resource") if isinstance(doc.get("resource"), dict) else {}
    c.that(res.get("id") == rid and res.get("type") == fn.resource_type,
           f"alert resource is {fn.resource_type} {rid}", repr(doc.get("resource")))
    return o, doc


# --------------------------------------------------------------------------- the functions

def seed_quiet_cluster(ctx, name, eks=None, **fields):
    """An EKS cluster in moto with nothing for the functions or the CLI's scan to find:
    private endpoint, every control-plane log (the audit log too), secrets encryption, and an
    IAM OIDC provider for its issuer. Made straight in moto, so it reports no
    `deletionProtection` and is not judged on it; or through `eks` (the stand-in's client)
    with more CreateCluster `fields` (e.g. `deletionProtection=True`). Returns CreateCluster's
    cluster."""
    account = ctx["account"]
    cluster = (eks or ctx["aws"]["eks"]).create_cluster(
        name=name,
        roleArn=f"arn:aws:iam::{account}:role/eks-cluster-role",
        resourcesVpcConfig={"subnetIds": ctx["subnets"], "endpointPublicAccess": False,
                            "endpointPrivateAccess": True},
        logging={"clusterLogging": [{"types": list(LOG_TYPES), "enabled": True}]},
        encryptionConfig=[{"resources": ["secrets"], "provider": {
            "keyArn": f"arn:aws:kms:{REGION}:{account}:key/{SECRETS_KEY_ID}"}}],
        **fields,
    )["cluster"]
    # IRSA is set up (the scan alerts on a cluster whose pods can get no role of their own).
    # moto 5.2.1 gives every cluster the same issuer, so the first such provider covers all
    # the account's clusters, and a second is refused as a duplicate.
    try:
        ctx["aws"]["iam"].create_open_id_connect_provider(
            Url=cluster["identity"]["oidc"]["issuer"], ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
            raise
    return cluster

#
# One class per function binary: its sample and warm-up events, its settings, and how a
# scenario seeds, shows and checks the resource it acts on. `seed` returns a dict with at
# least `name` (the scenario's label for it) and `id` (the resource id in outcomes and alerts).

class RevokeOpenIngress:
    name = "revoke-open-ingress"
    resource_type = "security-group"
    sample = EVENTS / name / "authorize-ipv4-open-ssh.json"
    # A security-group event this function does not act on: it answers with no outcomes.
    warmup = EVENTS / name / "not-for-me-createsecuritygroup.json"
    settings = {"INGRESS_SCOPE": "eks", "ALLOWED_INGRESS_PORTS": "443"}
    undo_prefix = "aws ec2 authorize-security-group-ingress"

    def seed(self, ctx, name):
        """A group tagged for EKS with tcp/22 from the world and from 10/8 (two rules)."""
        ec2 = ctx["aws"]["ec2"]
        group_id = ec2.create_security_group(
            GroupName=name, Description=f"eks-remediator e2e: {name}", VpcId=ctx["vpc"],
            TagSpecifications=[{"ResourceType": "security-group", "Tags": [
                {"Key": CLUSTER_TAG[0], "Value": CLUSTER_TAG[1]}, {"Key": "Name", "Value": name}]}],
        )["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": WORLD}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": CORP, "Description": "corporate network"}]},
        ])
        # moto 5.2.1 answers AuthorizeSecurityGroupIngress with only the last new rule, so the
        # rule ids are read back with DescribeSecurityGroupRules.
        rules = self.state(ctx, {"id": group_id})
        ids = {}
        for cidr in (WORLD, CORP):
            found = [r["SecurityGroupRuleId"] for r in rules
                     if not r["IsEgress"] and r.get("CidrIpv4") == cidr and r.get("FromPort") == 22]
            if len(found) != 1:
                raise SetupError(f"seeding {group_id}: expected one tcp/22 rule from {cidr}, got {rules}")
            ids[cidr] = found[0]
        return {"name": name, "id": group_id, "open_rule": ids[WORLD], "corp_rule": ids[CORP]}

    def replacements(self, group):
        return [(PH_GROUP, group["id"]), (PH_OPEN_RULE, group["open_rule"]),
                (PH_CORP_RULE, group["corp_rule"])]

    def state(self, ctx, group):
        """The group's rules (ingress and egress)."""
        ec2, out, token = ctx["aws"]["ec2"], [], None
        while True:
            kw = {"Filters": [{"Name": "group-id", "Values": [group["id"]]}]}
            if token:
                kw["NextToken"] = token
            page = ec2.describe_security_group_rules(**kw)
            out.extend(page.get("SecurityGroupRules", []))
            token = page.get("NextToken")
            if not token:
                return out

    def show(self, title, group, rules):
        print(f"{title}: security group {group['id']} ({group['name']}, "
              f"tag {CLUSTER_TAG[0]}={CLUSTER_TAG[1]})")
        ingress = [r for r in rules if not r["IsEgress"]]
        if not ingress:
            print("  (no ingress rules)")
        for r in ingress:
            print("  " + self.describe_rule(r))
        print()

    @staticmethod
    def describe_rule(r):
        proto = r.get("IpProtocol")
        if proto == "-1":
            what = "all traffic"
        else:
            lo, hi = r.get("FromPort"), r.get("ToPort")
            what = f"{proto}/{lo}" if lo == hi else f"{proto}/{lo}-{hi}"
        src = r.get("CidrIpv4") or r.get("CidrIpv6") or r.get("PrefixListId") or \
            (r.get("ReferencedGroupInfo") or {}).get("GroupId") or "?"
        desc = f'  "{r["Description"]}"' if r.get("Description") else ""
        marker = "   <- world-open" if src in (WORLD, "::/0") else ""
        return f"{r['SecurityGroupRuleId']}  ingress  {what:<10} from {src:<12}{desc}{marker}"

    def check(self, c, mode, group, before, after, output, alerts):
        before_ids = {r["SecurityGroupRuleId"] for r in before}
        after_ids = {r["SecurityGroupRuleId"] for r in after}
        if mode == "alert-only":
            c.that(after_ids == before_ids, "nothing was revoked",
                   f"revoked {sorted(before_ids - after_ids)}, added {sorted(after_ids - before_ids)}")
            check_common(c, self, group["id"], output, alerts, "would-remediate")
            return
        c.that(group["open_rule"] not in after_ids, f"the world-open rule {group['open_rule']} was revoked")
        c.that(group["corp_rule"] in after_ids, f"the 10.0.0.0/8 rule {group['corp_rule']} remains")
        c.that(after_ids == before_ids - {group["open_rule"]},
               "nothing else changed (exactly one rule revoked)",
               f"revoked {sorted(before_ids - after_ids)}, added {sorted(after_ids - before_ids)}")
        o, doc = check_common(c, self, group["id"], output, alerts, "remediated")
        action = f"RevokeSecurityGroupIngress {group['open_rule']}"
        c.that(o.get("actions") == [action], f"outcome actions are [{action!r}]", repr(o.get("actions")))
        c.that(isinstance(doc.get("actions"), list) and action in doc["actions"],
               f"alert actions include {action!r}", repr(doc.get("actions")))
        undo = doc.get("undo")
        c.that(isinstance(undo, str) and undo.startswith(self.undo_prefix),
               f"alert undo starts with '{self.undo_prefix}'", repr(undo))
        c.that(isinstance(undo, str) and group["id"] in undo, f"alert undo names {group['id']}",
               repr(undo))


def cluster_state(eks, name):
    """What enforce-cluster-config looks at, as DescribeCluster (through `eks`) reports it.
    `deletion_protection` is None when the answer lacks the field: moto's, for a cluster the
    stand-in did not see created."""
    c = eks.describe_cluster(name=name)["cluster"]
    vpc = c.get("resourcesVpcConfig") or {}
    logs = sorted({t for setup in (c.get("logging") or {}).get("clusterLogging") or []
                   if setup.get("enabled") for t in setup.get("types") or []})
    keys = [(e.get("provider") or {}).get("keyArn") for e in c.get("encryptionConfig") or []
            if "secrets" in (e.get("resources") or [])]
    return {"status": c.get("status"), "public": vpc.get("endpointPublicAccess"),
            "private": vpc.get("endpointPrivateAccess"),
            "cidrs": vpc.get("publicAccessCidrs") or [], "logs": logs, "secrets_keys": keys,
            "deletion_protection": c.get("deletionProtection")}


def protection_text(on):
    return "not reported" if on is None else ("on" if on else "off")


def protect_command(name):
    """The command unprotected_note (src/rules/enforce_cluster_config/mod.rs) gives people."""
    return f"aws eks update-cluster-config --region {REGION} --name '{name}' --deletion-protection"


class EnforceClusterConfig:
    """enforce-cluster-config on the console's CreateCluster of a public, unlogged cluster.

    With `via_standin` (the scenarios), the cluster is created, and the function talks,
    through the stand-in, which reports `deletionProtection` as EKS does today: the sample's
    request does not send it, so the cluster is unprotected (EKS's default), which
    DELETION_PROTECTION=alert (the default) reports with the command to protect it. Without
    (CLUSTER, which the benchmark measures), both go straight to moto, which reports no
    `deletionProtection`, so the cluster is not judged on it."""
    name = "enforce-cluster-config"
    resource_type = "eks-cluster"
    sample = EVENTS / name / "create-cluster-console-public.json"
    # An EKS event this function does not act on: it answers with no outcomes.
    warmup = EVENTS / name / "not-for-me-update-cluster-version.json"
    # No PUBLIC_ACCESS_CIDRS (so the endpoint is made private) and no KMS_KEY_ARN (the seeded
    # cluster has secrets encryption). No RETRY_QUEUE_URL either: moto's updates finish at once.
    # No DELETION_PROTECTION: alert, the default.
    settings = {}
    undo_prefix = "aws eks update-cluster-config"

    def __init__(self, via_standin=False):
        self.via_standin = via_standin

    def eks(self, ctx):
        return ctx["standin_eks"] if self.via_standin else ctx["aws"]["eks"]

    def seed(self, ctx, name):
        """A cluster as the console creates it: endpoint public to 0.0.0.0/0 only, no
        control-plane logs, no deletion protection (the request does not send it); with
        secrets encryption, which is not this demo's subject."""
        account = ctx["account"]
        self.eks(ctx).create_cluster(
            name=name,
            roleArn=f"arn:aws:iam::{account}:role/eks-cluster-role",
            # moto reports absent endpoint flags as false (AWS's defaults are public, not
            # private), so both are explicit.
            resourcesVpcConfig={"subnetIds": ctx["subnets"], "endpointPublicAccess": True,
                                "endpointPrivateAccess": False, "publicAccessCidrs": [WORLD]},
            logging={"clusterLogging": [{"types": [], "enabled": True}]},
            encryptionConfig=[{"resources": ["secrets"], "provider": {
                "keyArn": f"arn:aws:kms:{REGION}:{account}:key/{SECRETS_KEY_ID}"}}],
        )
        return {"name": name, "id": name}

    def replacements(self, cluster):
        return [(PH_CLUSTER, cluster["name"])]

    def state(self, ctx, cluster):
        """What this function looks at, as DescribeCluster reports it."""
        return cluster_state(self.eks(ctx), cluster["name"])

    def show(self, title, cluster, st):
        print(f"{title}: EKS cluster {cluster['name']} ({st['status']})")
        public = "yes, from " + (", ".join(st["cidrs"]) or "?") if st["public"] else "no"
        marker = "   <- world-open" if st["public"] and WORLD in st["cidrs"] else ""
        print(f"  API endpoint, public access    {public}{marker}")
        print(f"  API endpoint, private access   {'yes' if st['private'] else 'no'}")
        missing = [t for t in LOG_TYPES if t not in st["logs"]]
        logs = ", ".join(st["logs"]) or "none"
        print(f"  control-plane logs enabled     {logs}"
              + (f"   <- off: {', '.join(missing)}" if missing else ""))
        print(f"  secrets encryption             {', '.join(st['secrets_keys']) or 'none'}")
        on = st["deletion_protection"]
        print(f"  deletion protection            {protection_text(on)}"
              + ("   <- created without it (EKS's default)" if on is False else ""))
        print()

    def check(self, c, mode, cluster, before, after, output, alerts):
        name = cluster["name"]
        if self.via_standin:
            c.that(before["deletion_protection"] is False,
                   "BEFORE: deletionProtection is false (created without it)",
                   repr(before["deletion_protection"]))
        if mode == "alert-only":
            c.that(after == before, "the cluster is unchanged (still public, no logs)",
                   f"before {before}, after {after}")
            _, doc = check_common(c, self, name, output, alerts, "would-remediate")
            self.check_protection_alert(c, name, doc)
            return
        c.that(after["public"] is False, "AFTER: endpointPublicAccess is false", repr(after["public"]))
        c.that(after["private"] is True, "AFTER: endpointPrivateAccess is true", repr(after["private"]))
        c.that(after["logs"] == sorted(LOG_TYPES), "AFTER: all five log types are enabled",
               repr(after["logs"]))
        c.that(after["secrets_keys"] == before["secrets_keys"], "secrets encryption is unchanged",
               f"before {before['secrets_keys']}, after {after['secrets_keys']}")
        if self.via_standin:
            c.that(after["deletion_protection"] is False,
                   "AFTER: deletion protection is still off (DELETION_PROTECTION=alert leaves it "
                   "to a person)", repr(after["deletion_protection"]))
        o, doc = check_common(c, self, name, output, alerts, "remediated")
        actions = o.get("actions") if isinstance(o.get("actions"), list) else []
        first = f"UpdateClusterConfig {name} resourcesVpcConfig "
        second = f"UpdateClusterConfig {name} logging enable "
        c.that(len(actions) == 2, "outcome has two actions", repr(o.get("actions")))
        c.that(len(actions) == 2 and actions[0].startswith(first)
               and actions[1].startswith(second),
               "the endpoint update comes first, then the logging update", repr(actions))
        enabled = actions[1][len(second):].split(",") if len(actions) == 2 else []
        c.that(sorted(enabled) == sorted(LOG_TYPES), "the logging update enables all five types",
               repr(enabled))
        c.that(doc.get("actions") == actions, "the alert lists the same actions",
               repr(doc.get("actions")))
        undo = doc.get("undo")
        lines = undo.splitlines() if isinstance(undo, str) else []
        c.that(len(lines) == 2 and all(line.startswith(self.undo_prefix) for line in lines),
               f"alert undo is two lines, each starting '{self.undo_prefix}'", repr(undo))
        c.that(len(lines) == 2 and "--resources-vpc-config" in lines[0] and "--logging" in lines[1]
               and all(name in line for line in lines),
               f"the undo lines restore {name}'s endpoint, then its logging", repr(undo))
        self.check_protection_alert(c, name, doc)

    def check_protection_alert(self, c, name, doc):
        """The missing deletion protection is reported, with the command to turn it on (when
        the stand-in reports the field); without it, nothing is said about it."""
        finding, note = doc.get("finding") or "", doc.get("note") or ""
        if not self.via_standin:
            c.that("deletion protection" not in finding,
                   "the alert says nothing of deletion protection (not reported)", repr(finding))
            return
        c.that(finding.split("; ")[:2] == ["public API endpoint open to 0.0.0.0/0",
                                            "no deletion protection"],
               "the alert's finding: the open endpoint, then 'no deletion protection'",
               repr(finding))
        c.that("DELETION_PROTECTION=alert" in note and protect_command(name) in note,
               f"the alert's note says DELETION_PROTECTION=alert and gives {protect_command(name)!r}",
               repr(note))


class EnforceDeletionProtection:
    """enforce-cluster-config on an UpdateClusterConfig that turned deletion protection off:
    it is turned back on, whatever DELETION_PROTECTION says. moto lacks the field, so the
    cluster is created protected through the stand-in, and protection is turned off through it
    as a person would (`aws eks update-cluster-config --no-deletion-protection`): the event is
    that call, and the function talks to the stand-in too. The cluster is otherwise quiet
    (private endpoint, every log, secrets encryption), so protection is all there is to find."""
    name = EnforceClusterConfig.name
    variant = "deletion-protection"
    trigger = "UpdateClusterConfig"
    resource_type = "eks-cluster"
    sample = EVENTS / name / "update-deletion-protection-off.json"
    warmup = EnforceClusterConfig.warmup
    # No DELETION_PROTECTION (alert, the default): protection turned off is reverted anyway.
    settings = {}
    via_standin = True
    # The sample's update id: not a placeholder of events/README.md, but unique in the file,
    # so it is replaced with the id of the real update, like the placeholders.
    sample_update_id = "8a3f1c6d-5e2b-4d97-a0c4-6b1e9f2d7a53"

    def seed(self, ctx, name):
        eks = ctx["standin_eks"]
        seed_quiet_cluster(ctx, name, eks=eks, deletionProtection=True)
        update = eks.update_cluster_config(name=name, deletionProtection=False)["update"]
        return {"name": name, "id": name, "update": update["id"]}

    def replacements(self, cluster):
        return [(PH_CLUSTER, cluster["name"]), (self.sample_update_id, cluster["update"])]

    def describe_event(self, event, cluster):
        detail = event["detail"]
        params = detail["requestParameters"]
        return (f"{detail['eventName']} deletionProtection={json.dumps(params['deletionProtection'])} "
                f"on {cluster['id']} by {detail['userIdentity']['arn']} (update {cluster['update']})")

    def state(self, ctx, cluster):
        return cluster_state(ctx["standin_eks"], cluster["name"])

    def show(self, title, cluster, st):
        print(f"{title}: EKS cluster {cluster['name']} ({st['status']})")
        on = st["deletion_protection"]
        print(f"  deletion protection            {protection_text(on)}"
              + ("   <- turned off" if on is False else ""))
        safe = (st["public"] is False and st["private"] is True and st["logs"] == sorted(LOG_TYPES)
                and st["secrets_keys"])
        print("  (private endpoint, all five control-plane logs, secrets encryption)" if safe else
              f"  endpoint public {st['public']}, private {st['private']}; logs {st['logs']}; "
              f"secrets {st['secrets_keys']}")
        print()

    def check(self, c, mode, cluster, before, after, output, alerts):
        name = cluster["name"]
        c.that(before["deletion_protection"] is False,
               "BEFORE: deletionProtection is false (created on, turned off through the stand-in)",
               repr(before["deletion_protection"]))
        action = f"UpdateClusterConfig {name} deletionProtection=true"
        undo = f"aws eks update-cluster-config --region {REGION} --name '{name}' --no-deletion-protection"
        if mode == "alert-only":
            c.that(after == before, "the cluster is unchanged (deletion protection still off)",
                   f"before {before}, after {after}")
            o, doc = check_common(c, self, name, output, alerts, "would-remediate")
            c.that(o.get("actions") == [action], f"outcome actions (what it would do) are [{action!r}]",
                   repr(o.get("actions")))
            c.that(doc.get("finding") == "deletion protection turned off",
                   "the alert's finding is 'deletion protection turned off'", repr(doc.get("finding")))
            c.that(str(doc.get("note") or "").startswith("alert-only mode: nothing was changed"),
                   "the alert's note says nothing was changed", repr(doc.get("note")))
            return
        c.that(after["deletion_protection"] is True, "AFTER: deletionProtection is true",
               repr(after["deletion_protection"]))
        rest = {k: v for k, v in after.items() if k != "deletion_protection"}
        c.that(rest == {k: v for k, v in before.items() if k != "deletion_protection"},
               "nothing else changed", f"before {before}, after {after}")
        o, doc = check_common(c, self, name, output, alerts, "remediated")
        c.that(o.get("actions") == [action], f"outcome actions are [{action!r}]", repr(o.get("actions")))
        c.that(doc.get("actions") == [action], f"alert actions are [{action!r}]",
               repr(doc.get("actions")))
        c.that(doc.get("undo") == undo, f"alert undo is {undo!r}", repr(doc.get("undo")))
        c.that(doc.get("finding") == "deletion protection turned off",
               "the alert's finding is 'deletion protection turned off'", repr(doc.get("finding")))


class DetachNodePolicy:
    name = "detach-node-policy"
    resource_type = "iam-role"
    sample = EVENTS / name / "attach-admin-access.json"
    # An IAM call on a user, not a role: this function answers with no outcomes.
    warmup = EVENTS / name / "not-for-me-attach-user-policy.json"
    # The defaults: no NODE_POLICY_ALLOWLIST, no REVOKE_EXFILTRATED_SESSIONS.
    settings = {}
    baseline = (EKS_WORKER_POLICY, EKS_CNI_POLICY)
    undo_prefix = "aws iam attach-role-policy"

    def seed(self, ctx, name):
        """An EKS node role: trusted by EC2, with the two EKS baseline policies (the worker
        node policy is what marks it as a node role) and AdministratorAccess."""
        iam = ctx["aws"]["iam"]
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST,
                        Description=f"eks-remediator e2e: {name}")
        for arn in (*self.baseline, ADMIN_POLICY):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return {"name": name, "id": name}

    def replacements(self, role):
        return [(PH_NODE_ROLE, role["name"])]

    def state(self, ctx, role):
        """The role's attached managed policies (ARNs, sorted)."""
        paginator = ctx["aws"]["iam"].get_paginator("list_attached_role_policies")
        return sorted(p["PolicyArn"] for page in paginator.paginate(RoleName=role["name"])
                      for p in page.get("AttachedPolicies", []))

    def show(self, title, role, attached):
        print(f"{title}: IAM role {role['name']} (trusted by ec2.amazonaws.com), attached policies")
        if not attached:
            print("  (none)")
        for arn in attached:
            marker = ("   <- EKS baseline" if arn in self.baseline
                      else "   <- admin-level" if arn == ADMIN_POLICY else "")
            print(f"  {arn:<52}{marker}")
        print()

    def check(self, c, mode, role, before, after, output, alerts):
        name = role["name"]
        c.that(sorted(before) == sorted((*self.baseline, ADMIN_POLICY)),
               "BEFORE: the two EKS baseline policies and AdministratorAccess are attached",
               repr(before))
        if mode == "alert-only":
            c.that(after == before, "the attached policies are unchanged (all three)",
                   f"before {before}, after {after}")
            check_common(c, self, name, output, alerts, "would-remediate")
            return
        c.that(ADMIN_POLICY not in after, "AFTER: AdministratorAccess is detached", repr(after))
        c.that(after == sorted(self.baseline), "AFTER: exactly the two EKS baseline policies remain",
               repr(after))
        o, doc = check_common(c, self, name, output, alerts, "remediated")
        action = f"DetachRolePolicy {name} {ADMIN_POLICY}"
        c.that(o.get("actions") == [action], f"outcome actions are [{action!r}]", repr(o.get("actions")))
        c.that(doc.get("actions") == [action], f"alert actions are [{action!r}]",
               repr(doc.get("actions")))
        undo = f"aws iam attach-role-policy --role-name '{name}' --policy-arn '{ADMIN_POLICY}'"
        c.that(doc.get("undo") == undo, f"alert undo is {undo!r}", repr(doc.get("undo")))


class RestoreAuditTrail:
    name = "restore-audit-trail"
    resource_type = "cloudtrail-trail"
    sample = EVENTS / name / "stop-logging-by-name.json"
    # A CloudTrail call this function does not act on: it answers with no outcomes.
    warmup = EVENTS / name / "not-for-me-create-trail.json"
    # The defaults (RECREATE_DETECTOR is about GuardDuty detectors, not trails).
    settings = {}

    def seed(self, ctx, name):
        """A trail logging to a bucket of its own, started, then stopped (as the event says)."""
        aws, bucket = ctx["aws"], f"{name}-logs"
        aws["s3"].create_bucket(Bucket=bucket)
        aws["cloudtrail"].create_trail(Name=name, S3BucketName=bucket)
        aws["cloudtrail"].start_logging(Name=name)
        aws["cloudtrail"].stop_logging(Name=name)
        return {"name": name, "id": name, "bucket": bucket}

    def replacements(self, trail):
        return [(PH_TRAIL, trail["name"])]

    def state(self, ctx, trail):
        """Whether the trail logs, as GetTrailStatus reports it."""
        return {"logging": ctx["aws"]["cloudtrail"].get_trail_status(Name=trail["name"])
                .get("IsLogging")}

    def show(self, title, trail, st):
        print(f"{title}: CloudTrail trail {trail['name']} (to s3://{trail['bucket']})")
        print(f"  logging   {'yes' if st['logging'] else 'no   <- stopped'}")
        print()

    def check(self, c, mode, trail, before, after, output, alerts):
        name = trail["name"]
        c.that(before["logging"] is False, "BEFORE: the trail is not logging", repr(before))
        if mode == "alert-only":
            c.that(after["logging"] is False, "the trail is still not logging", repr(after))
            check_common(c, self, name, output, alerts, "would-remediate")
            return
        c.that(after["logging"] is True, "AFTER: GetTrailStatus IsLogging is true", repr(after))
        o, doc = check_common(c, self, name, output, alerts, "remediated")
        action = f"StartLogging {name}"
        c.that(o.get("actions") == [action], f"outcome actions are [{action!r}]", repr(o.get("actions")))
        c.that(doc.get("actions") == [action], f"alert actions are [{action!r}]",
               repr(doc.get("actions")))
        undo = f"aws cloudtrail stop-logging --name '{name}'"
        c.that(doc.get("undo") == undo, f"alert undo is {undo!r}", repr(doc.get("undo")))


class NotifyEksFinding:
    name = "notify-eks-finding"
    resource_type = "eks-cluster"
    sample = EVENTS / name / "policy-anonymous-access-granted.json"
    # A GuardDuty finding on a plain EC2 instance: it answers with no outcomes.
    warmup = EVENTS / name / "not-for-me-ec2-finding.json"
    # MIN_SEVERITY as the template's default. MODE does not matter: this function only alerts.
    settings = {"MIN_SEVERITY": "4"}

    def seed(self, ctx, name):
        """Nothing: the function reads and changes nothing, so the finding's cluster (the
        placeholder `example-cluster`, kept) need not exist."""
        return {"name": name, "id": name,
                "arn": f"arn:aws:eks:{REGION}:{ctx['account']}:cluster/{name}"}

    def replacements(self, cluster):
        return [(PH_CLUSTER, cluster["name"])]

    def state(self, ctx, cluster):
        return None

    def show(self, title, cluster, _st):
        if title == "BEFORE":
            print(f"BEFORE: nothing seeded: cluster {cluster['name']} exists only in the finding "
                  f"(no AWS resource is read or changed)")
            print()

    def check(self, c, mode, cluster, before, after, output, alerts):
        name = cluster["name"]
        o, doc = check_common(c, self, name, output, alerts, "alert")
        c.that(o.get("actions") == [] and doc.get("actions") == [], "no actions (nothing changed)",
               f"outcome {o.get('actions')!r}, alert {doc.get('actions')!r}")
        res = doc.get("resource") if isinstance(doc.get("resource"), dict) else {}
        c.that(res.get("arn") == cluster["arn"], f"alert resource arn is {cluster['arn']}",
               repr(res.get("arn")))
        finding = doc.get("finding")
        prefix = "High Policy:Kubernetes/AnonymousAccessGranted"
        c.that(isinstance(finding, str) and finding.startswith(prefix),
               f"alert finding starts with {prefix!r}", repr(finding))
        note = doc.get("note")
        lines = note.splitlines() if isinstance(note, str) else []
        c.that("Severity: High (8)" in lines, "the note has the line 'Severity: High (8)'", repr(note))
        c.that(any(line.startswith("First steps: ") for line in lines),
               "the note has a 'First steps:' line", repr(note))


class GuardClusterAccess:
    name = "guard-cluster-access"
    resource_type = "eks-access-entry"
    sample = EVENTS / name / "associate-cluster-admin-console.json"
    # An EKS call this function does not act on: it answers with no outcomes.
    warmup = EVENTS / name / "not-for-me-delete-access-entry.json"
    settings = {"CLUSTER_ADMIN_PRINCIPALS": CLUSTER_ADMIN_PRINCIPALS}
    # moto has no access entries: the function talks to the stand-in, which answers those
    # and forwards the rest (DescribeCluster, SNS) to moto.
    via_standin = True
    undo_prefix = "aws eks associate-access-policy"

    def seed(self, ctx, name):
        """A cluster in moto (private endpoint, every log type, secrets encryption and an IAM
        OIDC provider for its issuer: nothing else for the functions or the CLI's scan to find),
        then through the stand-in an access entry for the contractor role with cluster admin
        over the cluster and view over namespace team-a."""
        account = ctx["account"]
        seed_quiet_cluster(ctx, name)
        principal = f"arn:aws:iam::{account}:role/{CONTRACTOR_ROLE}"
        eks = ctx["standin_eks"]
        eks.create_access_entry(clusterName=name, principalArn=principal, type="STANDARD")
        eks.associate_access_policy(clusterName=name, principalArn=principal,
                                    policyArn=CLUSTER_ADMIN_ACCESS, accessScope={"type": "cluster"})
        eks.associate_access_policy(clusterName=name, principalArn=principal, policyArn=VIEW_ACCESS,
                                    accessScope={"type": "namespace", "namespaces": ["team-a"]})
        return {"name": name, "id": f"{name}/{principal}", "cluster": name, "principal": principal}

    def replacements(self, grant):
        return [(PH_CLUSTER, grant["cluster"])]

    def state(self, ctx, grant):
        """The contractor's access entry type (None when there is none) and its associated
        access policies as (policy ARN, scope type, namespaces), through the stand-in."""
        eks, who = ctx["standin_eks"], {"clusterName": grant["cluster"],
                                        "principalArn": grant["principal"]}
        try:
            kind = eks.describe_access_entry(**who)["accessEntry"]["type"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return {"entry": None, "policies": []}
            raise
        pages = eks.get_paginator("list_associated_access_policies").paginate(**who)
        policies = sorted((a["policyArn"], a["accessScope"]["type"],
                           tuple(a["accessScope"].get("namespaces") or []))
                          for page in pages for a in page.get("associatedAccessPolicies", []))
        return {"entry": kind, "policies": policies}

    def show(self, title, grant, st):
        kind = st["entry"] or "none"
        print(f"{title}: EKS cluster {grant['cluster']}, access entry of {grant['principal']} "
              f"({kind}), associated access policies")
        if not st["policies"]:
            print("  (none)")
        for arn, scope, namespaces in st["policies"]:
            where = "the whole cluster" if scope == "cluster" else f"namespace {', '.join(namespaces)}"
            admin = arn in ADMIN_ACCESS_POLICIES and (scope == "cluster" or "kube-system" in namespaces)
            marker = (f"   <- cluster admin, and {CONTRACTOR_ROLE} is not in CLUSTER_ADMIN_PRINCIPALS"
                      if admin else "")
            print(f"  {arn.rsplit('/', 1)[-1]:<28} over {where:<20}{marker}".rstrip())
        if title == "BEFORE":
            print(f"  (CLUSTER_ADMIN_PRINCIPALS={CLUSTER_ADMIN_PRINCIPALS})")
        print()

    def describe_event(self, event, grant):
        detail = event["detail"]
        params = detail.get("requestParameters") or {}
        policy = (params.get("policyArn") or "?").rsplit("/", 1)[-1]
        scope = (params.get("accessScope") or {}).get("type") or "?"
        return (f"{detail['eventName']} {policy} ({scope} scope) for {grant['principal']} on "
                f"cluster {grant['cluster']} by {detail['userIdentity']['arn']}")

    def check(self, c, mode, grant, before, after, output, alerts):
        cluster, principal = grant["cluster"], grant["principal"]
        admin = (CLUSTER_ADMIN_ACCESS, "cluster", ())
        view = (VIEW_ACCESS, "namespace", ("team-a",))
        c.that(before == {"entry": "STANDARD", "policies": sorted([admin, view])},
               "BEFORE: a STANDARD access entry with AmazonEKSClusterAdminPolicy (cluster) and "
               "AmazonEKSViewPolicy (namespace team-a)", repr(before))
        if mode == "alert-only":
            c.that(after == before, "the access entry and its policies are unchanged",
                   f"before {before}, after {after}")
            check_common(c, self, grant["id"], output, alerts, "would-remediate")
            return
        c.that(admin not in after["policies"], "AFTER: AmazonEKSClusterAdminPolicy is disassociated",
               repr(after["policies"]))
        c.that(after["policies"] == [view], "AFTER: AmazonEKSViewPolicy over team-a is kept, and "
               "nothing else is associated", repr(after["policies"]))
        c.that(after["entry"] == "STANDARD", "AFTER: the access entry stays", repr(after["entry"]))
        o, doc = check_common(c, self, grant["id"], output, alerts, "remediated")
        action = f"DisassociateAccessPolicy {cluster} {principal} {CLUSTER_ADMIN_ACCESS}"
        c.that(o.get("actions") == [action], f"outcome actions are [{action!r}]", repr(o.get("actions")))
        c.that(doc.get("actions") == [action], f"alert actions are [{action!r}]",
               repr(doc.get("actions")))
        undo = doc.get("undo")
        c.that(isinstance(undo, str) and undo.startswith(self.undo_prefix),
               f"alert undo starts with '{self.undo_prefix}'", repr(undo))
        c.that(isinstance(undo, str) and all(part in undo for part in (
            f"'{cluster}'", f"'{principal}'", f"'{CLUSTER_ADMIN_ACCESS}'", "'type=cluster'")),
            "the undo names the cluster, the principal, the policy and its cluster scope", repr(undo))


# audit-workloads: what its scenarios share -----------------------------------------------

@functools.lru_cache(maxsize=None)
def audit_filter_pattern():
    """The subscription filter pattern of template.yaml (`Mappings.AuditLog.Filter.Pattern`),
    which the template hands audit-workloads and the sweep as AUDIT_FILTER_PATTERN."""
    import match_patterns  # noqa: PLC0415  (PyYAML, from the tools environment)
    template = match_patterns.load_template(str(REPO / "template.yaml"))
    return template["Mappings"]["AuditLog"]["Filter"]["Pattern"]


def audit_function_arn(ctx):
    """The Lambda function in moto that stands for the deployed audit-workloads, made once per
    account (with the IAM role to run it: moto checks that the role exists); returns its ARN.
    moto never runs it: it is the destination our subscription filters name, which
    PutSubscriptionFilter requires to exist."""
    if "audit_function_arn" not in ctx:
        aws = ctx["aws"]
        role = aws["iam"].create_role(RoleName=f"eks-remediator-{AuditWorkloads.name}",
                                      AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n")
        ctx["audit_function_arn"] = aws["lambda"].create_function(
            FunctionName=AUDIT_FUNCTION, Runtime="provided.al2023", Handler="bootstrap", Role=role,
            Code={"ZipFile": code.getvalue()})["FunctionArn"]
    return ctx["audit_function_arn"]


def dedupe_table(ctx):
    """audit-workloads' DEDUPE_TABLE in moto, made once: partition key `pk` (S), on demand,
    TTL on `expires`, as the template makes it."""
    if not ctx.get("dedupe_table"):
        ddb = ctx["aws"]["dynamodb"]
        try:
            ddb.create_table(TableName=DEDUPE_TABLE, BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
            ddb.update_time_to_live(TableName=DEDUPE_TABLE, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": "expires"})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        ctx["dedupe_table"] = DEDUPE_TABLE
    return ctx["dedupe_table"]


def audit_env(ctx):
    """audit-workloads' settings: its dedupe table, the allow-lists, and its own ARN and the
    filter pattern for the subscriptions it puts (the emulator's invoked function ARN is not
    the deployed function's)."""
    return {
        "DEDUPE_TABLE": dedupe_table(ctx),
        "REALERT_DAYS": REALERT_DAYS,
        "K8S_ADMIN_SUBJECTS": K8S_ADMIN_SUBJECTS,
        "CLUSTER_ADMIN_PRINCIPALS": CLUSTER_ADMIN_PRINCIPALS,
        "AUDIT_WORKLOADS_FUNCTION_ARN": audit_function_arn(ctx),
        "AUDIT_FILTER_PATTERN": audit_filter_pattern(),
    }


def audit_sample(name):
    return json.loads((AUDIT_SAMPLES / name).read_text("utf-8"))


def k8s_time(moment):
    """An audit event's timestamp (RFC 3339, microseconds, UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_event(sample, account, key, when=None):
    """A sample audit event as a new write: the account's principals, an audit ID of its own
    (derived from `key`, so that each scenario and each write has its own) and the time
    `when` (now by default)."""
    text = (AUDIT_SAMPLES / sample).read_text("utf-8").replace(PH_ACCOUNT, account)
    event = json.loads(text)
    event["auditID"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"eks-remediator/{key}/{sample}"))
    done = when or datetime.datetime.now(datetime.timezone.utc)
    event["requestReceivedTimestamp"] = k8s_time(done - datetime.timedelta(milliseconds=20))
    event["stageTimestamp"] = k8s_time(done)
    return event


def describe_delivery(payload):
    """The log events of a CloudWatch Logs delivery, one line each."""
    doc = audit_payload.decode_payload(payload)
    size = len(payload["awslogs"]["data"])
    lines = [f"CloudWatch Logs delivery of {doc['logGroup']} ({doc['logStream']}), "
             f"{len(doc['logEvents'])} log event(s), {size:,} bytes of base64 gzip:"]
    for entry in doc["logEvents"]:
        e = json.loads(entry["message"])
        ref = e.get("objectRef") or {}
        where = f"{ref['namespace']}/{ref.get('name', '')}" if ref.get("namespace") else ref.get("name", "")
        agent = (e.get("userAgent") or "?").split(" ")[0]
        lines.append(f"  {e['verb']} {ref.get('resource')} {where} by {e['user']['username']} "
                     f"({agent}), audit ID {e['auditID']}")
    return "\n".join(lines)


def epoch_text(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


class AuditWorkloads:
    """audit-workloads on a CloudWatch Logs delivery of cluster `name`'s audit log (no AWS
    resource: the cluster exists only in the log): a Deployment applied without probes and a
    cluster-admin binding to an outsider give one alert each. With `repeat`, the same
    Deployment applied again (a new write, the same findings) gives none: DEDUPE_TABLE holds
    the first alert's record."""
    name = "audit-workloads"
    # A CreateLogGroup of a Lambda function's log group: it answers with no outcomes.
    warmup = EVENTS / name / "not-for-me-create-log-group-lambda.json"
    deployment = "deployment-apply-no-probes.json"
    binding = "clusterrolebinding-cluster-admin-outsider.json"

    trigger = "its audit log"

    def __init__(self, repeat=False):
        self.repeat = repeat
        self.variant = "again" if repeat else "delivery"
        self.alerts_expected = 0 if repeat else 2
        self.samples = (self.deployment,) if repeat else (self.deployment, self.binding)

    def env(self, ctx):
        return audit_env(ctx)

    def seed(self, ctx, name):
        """Nothing in AWS but the dedupe table (once): the cluster exists only in the log."""
        dedupe_table(ctx)
        deploy, binding = (audit_sample(s)["objectRef"] for s in (self.deployment, self.binding))
        return {"name": name, "id": name, "cluster": name,
                "workload": f"{name}/{deploy['namespace']}/Deployment/{deploy['name']}",
                "binding": f"{name}/ClusterRoleBinding/{binding['name']}"}

    def make_event(self, ctx, r, path):
        key = f"{r['cluster']}/{'again' if self.repeat else 'first'}"
        events = [audit_event(s, ctx["account"], key) for s in self.samples]
        r["events"] = {s: e for s, e in zip(self.samples, events)}
        payload = audit_payload.build_payload(events, cluster=r["cluster"], account=ctx["account"])
        path.write_text(json.dumps(payload), "utf-8")
        return payload, (f"built with scripts/audit_payload.py from "
                         f"{AUDIT_SAMPLES.relative_to(REPO)}/{{{','.join(self.samples)}}}, "
                         f"with audit IDs and times of their own")

    def describe_event(self, event, r):
        text = describe_delivery(event)
        if self.repeat:
            text += "\n  (the Deployment of the scenario before, applied again unchanged)"
        return text

    def replacements(self, r):
        raise NotImplementedError("audit-workloads builds its deliveries (make_event)")

    def state(self, ctx, r):
        """The dedupe records of the cluster's workloads: (key, alerted, expires)."""
        pages = ctx["aws"]["dynamodb"].get_paginator("scan").paginate(
            TableName=dedupe_table(ctx), FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": f"workload#{r['cluster']}#"}})
        return sorted((i["pk"]["S"], int(i["alerted"]["N"]), int(i["expires"]["N"]))
                      for page in pages for i in page.get("Items", []))

    def show(self, title, r, records):
        print(f"{title}: DEDUPE_TABLE {DEDUPE_TABLE}, the workloads of cluster {r['cluster']} "
              f"already alerted (REALERT_DAYS={REALERT_DAYS})")
        if not records:
            print("  (none)")
        for key, alerted, expires in records:
            print(f"  {key}")
            print(f"    alerted {epoch_text(alerted)}; the same findings stay quiet until "
                  f"{epoch_text(expires)}")
        print()

    def check(self, c, mode, r, before, after, output, alerts):
        outcomes = output.get("outcomes") if isinstance(output, dict) else None
        key_prefix = "workload#" + r["workload"].replace("/", "#") + "#"
        if self.repeat:
            c.that(len(before) == 1 and before[0][0].startswith(key_prefix),
                   "BEFORE: the first delivery's record of the Deployment is in DEDUPE_TABLE",
                   repr(before))
            c.that(outcomes == [], "the output has no outcome", json.dumps(output))
            c.that(alerts == [], "no alert was published",
                   "; ".join(a["subject"] or a["raw"] for a in alerts))
            c.that(after == before, "AFTER: the record is unchanged (not alerted again)",
                   f"before {before}, after {after}")
            return
        c.that(before == [], "BEFORE: no record of the cluster's workloads", repr(before))
        c.that(isinstance(outcomes, list) and len(outcomes) == 2, "the output has two outcomes",
               json.dumps(output))
        outcomes = outcomes if isinstance(outcomes, list) else []
        c.that(sorted(o.get("resource") or "" for o in outcomes) == sorted([r["workload"], r["binding"]]),
               f"the outcomes are about {r['workload']} and {r['binding']}", json.dumps(outcomes))
        c.that(all(o.get("rule") == self.name and o.get("status") == "alert" and o.get("actions") == []
                   for o in outcomes),
               f"both outcomes are rule {self.name}, status alert, no actions", json.dumps(outcomes))
        c.that(len(alerts) == 2, "exactly two alerts were published", f"{len(alerts)} alerts")
        docs = {}
        for a in alerts:
            doc = a["doc"] if isinstance(a["doc"], dict) else {}
            res = doc.get("resource") if isinstance(doc.get("resource"), dict) else {}
            docs[res.get("type")] = doc
            subject = a["subject"] or ""
            c.that(a["doc"] is not None and not a["error"] and subject.startswith("[eks-remediator]")
                   and len(subject) <= 100,
                   f"the {res.get('type')} alert is a JSON document with an [eks-remediator] subject",
                   a["error"] or repr(subject))
        for kind, rid, sample in (("k8s-workload", r["workload"], self.deployment),
                                  ("k8s-binding", r["binding"], self.binding)):
            doc, event = docs.get(kind, {}), r["events"][sample]
            res = doc.get("resource") if isinstance(doc.get("resource"), dict) else {}
            c.that(res.get("id") == rid, f"an alert about {kind} {rid}", repr(sorted(docs)))
            c.that(doc.get("rule") == self.name and doc.get("status") == "alert"
                   and doc.get("actions") == [] and doc.get("undo") is None,
                   f"{kind}: rule {self.name}, status alert, no actions, undo null",
                   json.dumps({k: doc.get(k) for k in ("rule", "status", "actions", "undo")}))
            actor = doc.get("actor") if isinstance(doc.get("actor"), dict) else {}
            user = event["user"]
            c.that(actor.get("arn") == user["extra"]["arn"][0] and actor.get("username") == user["username"]
                   and actor.get("groups") == user["groups"],
                   f"{kind}: the actor is the IAM principal EKS authenticated, with the Kubernetes "
                   f"username and groups", repr(actor))
            ev = doc.get("event") if isinstance(doc.get("event"), dict) else {}
            ref = event["objectRef"]
            c.that(ev.get("id") == event["auditID"] and ev.get("name") == f"{event['verb']} {ref['resource']}"
                   and ev.get("source") == "kubernetes.audit",
                   f"{kind}: the event is the audit event ({event['verb']} {ref['resource']}, "
                   f"audit ID {event['auditID']})", repr(ev))
        workload = docs.get("k8s-workload", {})
        finding, note = workload.get("finding") or "", workload.get("note") or ""
        wanted = ("no readiness probe", "no liveness probe", "no CPU request", "no memory request",
                  "no memory limit", "names no version")
        c.that(all(w in finding for w in wanted),
               "the workload alert lists its findings: " + ", ".join(wanted), repr(finding))
        c.that(all(y in note for y in ("readinessProbe:", "livenessProbe:", "requests:", "limits:")),
               "the workload alert's note has the YAML that fixes them", repr(note))
        finding = docs.get("k8s-binding", {}).get("finding") or ""
        c.that("cluster-admin" in finding and "contractor@example.com" in finding and "dev-team" in finding,
               "the binding alert names cluster-admin and both outsiders", repr(finding))
        c.that(len(after) == 1 and after[0][0].startswith(key_prefix),
               f"AFTER: DEDUPE_TABLE holds one record, {key_prefix}<hash of the findings>",
               repr(after))


class AuditSubscribe:
    """audit-workloads on CloudTrail's CreateLogGroup of a cluster's log group (EKS makes it
    when the cluster's control-plane logging starts): the function subscribes the log group
    to itself."""
    name = "audit-workloads"
    variant = "subscribe"
    trigger = "CreateLogGroup"
    resource_type = "log-group"
    sample = EVENTS / name / "create-log-group-eks.json"
    warmup = AuditWorkloads.warmup
    undo_prefix = "aws logs delete-subscription-filter"

    def env(self, ctx):
        return audit_env(ctx)

    def seed(self, ctx, name):
        """A cluster with its audit log on (nothing else for the CLI's scan to find) and its log
        group, as EKS makes it, without a subscription filter."""
        seed_quiet_cluster(ctx, name)
        log_group = audit_payload.log_group_name(name)
        ctx["aws"]["logs"].create_log_group(logGroupName=log_group)
        return {"name": name, "id": log_group, "cluster": name, "log_group": log_group,
                "destination": audit_function_arn(ctx)}

    def replacements(self, r):
        return [(PH_LOG_GROUP, r["log_group"])]

    def describe_event(self, event, r):
        detail = event["detail"]
        return (f"{detail['eventName']} {detail['requestParameters']['logGroupName']} by "
                f"{detail['userIdentity']['arn']} (EKS, as cluster {r['cluster']}'s logging starts)")

    def state(self, ctx, r):
        """The log group's subscription filters: (name, destination, pattern)."""
        filters = ctx["aws"]["logs"].describe_subscription_filters(
            logGroupName=r["log_group"]).get("subscriptionFilters", [])
        return sorted((f["filterName"], f["destinationArn"], f.get("filterPattern", "")) for f in filters)

    def show(self, title, r, filters):
        print(f"{title}: CloudWatch Logs log group {r['log_group']} (cluster {r['cluster']}, "
              f"audit log on), subscription filters")
        show_filters(filters)
        if title == "BEFORE":
            print(f"  (audit-workloads is {r['destination']})")
        print()

    def check(self, c, mode, r, before, after, output, alerts):
        c.that(before == [], "BEFORE: the log group has no subscription filter", repr(before))
        if mode == "alert-only":
            c.that(after == [], "no subscription filter was put", repr(after))
            check_common(c, self, r["id"], output, alerts, "would-remediate")
            return
        wanted = [(AUDIT_FILTER, r["destination"], audit_filter_pattern())]
        c.that(after == wanted, f"AFTER: one filter, {AUDIT_FILTER}, to audit-workloads with the "
               f"template's pattern (DescribeSubscriptionFilters)", repr(after))
        o, doc = check_common(c, self, r["id"], output, alerts, "remediated")
        action = f"PutSubscriptionFilter {r['log_group']} {AUDIT_FILTER}"
        c.that(o.get("actions") == [action], f"outcome actions are [{action!r}]", repr(o.get("actions")))
        c.that(doc.get("actions") == [action], f"alert actions are [{action!r}]",
               repr(doc.get("actions")))
        undo = (f"aws logs delete-subscription-filter --log-group-name '{r['log_group']}' "
                f"--filter-name {AUDIT_FILTER}")
        c.that(doc.get("undo") == undo, f"alert undo is {undo!r}", repr(doc.get("undo")))


def show_filters(filters):
    if not filters:
        print("  (none)   <- the cluster's audit log is not streamed to audit-workloads")
    for name, destination, pattern in filters:
        shown = pattern if len(pattern) <= 60 else f"{pattern[:57]}... ({len(pattern)} characters)"
        print(f"  {name} -> {destination}")
        print(f"    pattern {shown}")


class HardenNodes:
    """harden-nodes on EC2's own notification that a node is running (no trail, no caller):
    the function requires IMDSv2 on it, keeping its hop limit (NODE_IMDS_HOP_LIMIT unset)."""
    name = "harden-nodes"
    resource_type = "ec2-instance"
    trigger = "EC2 Instance State-change Notification (running)"
    sample = EVENTS / name / "node-running.json"
    # The same notification for a pending instance: it answers with no outcomes, and no call.
    warmup = EVENTS / name / "not-for-me-node-pending.json"
    # The defaults: no NODE_IMDS_HOP_LIMIT, so the hop limit is only reported.
    settings = {}
    undo_prefix = "aws ec2 modify-instance-metadata-options"

    def seed(self, ctx, name):
        """A running EKS node as a managed node group launches it from a launch template that
        allows IMDSv1: tagged for cluster `demo` and node group `name`, metadata options
        HttpTokens=optional, hop limit 2, endpoint enabled."""
        ec2 = ctx["aws"]["ec2"]
        kw = {"SubnetId": ctx["subnets"][0]} if ctx.get("subnets") else {}
        instance = ec2.run_instances(
            ImageId=NODE_AMI, InstanceType=NODE_INSTANCE_TYPE, MinCount=1, MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "eks:cluster-name", "Value": NODE_CLUSTER},
                {"Key": "eks:nodegroup-name", "Value": name},
                {"Key": f"kubernetes.io/cluster/{NODE_CLUSTER}", "Value": "owned"},
                {"Key": "Name", "Value": name}]}],
            MetadataOptions={"HttpTokens": "optional", "HttpPutResponseHopLimit": NODE_HOP_LIMIT,
                             "HttpEndpoint": "enabled"},
            **kw,
        )["Instances"][0]
        return {"name": name, "id": instance["InstanceId"], "cluster": NODE_CLUSTER,
                "nodegroup": name}

    def replacements(self, node):
        return [(PH_INSTANCE, node["id"])]

    def describe_event(self, event, node):
        detail = event["detail"]
        return (f"{event['detail-type']}: {detail['instance-id']} is {detail['state']} "
                f"(EC2's own event: no trail, no caller)")

    def state(self, ctx, node):
        """The instance's state and metadata options, as DescribeInstances reports them."""
        found = ctx["aws"]["ec2"].describe_instances(InstanceIds=[node["id"]])
        i = found["Reservations"][0]["Instances"][0]
        m = i.get("MetadataOptions") or {}
        return {"instance": (i.get("State") or {}).get("Name"), "tokens": m.get("HttpTokens"),
                "hop_limit": m.get("HttpPutResponseHopLimit"), "endpoint": m.get("HttpEndpoint")}

    def show(self, title, node, st):
        print(f"{title}: EC2 instance {node['id']} ({st['instance']}), an EKS node of cluster "
              f"{node['cluster']}, node group {node['nodegroup']}; instance metadata options")
        marker = "   <- IMDSv1 answered" if st["tokens"] != "required" else ""
        print(f"  HttpTokens                {st['tokens']}{marker}")
        print(f"  HttpPutResponseHopLimit   {st['hop_limit']}")
        print(f"  HttpEndpoint              {st['endpoint']}")
        print()

    def check(self, c, mode, node, before, after, output, alerts):
        rid = node["id"]
        c.that(before == {"instance": "running", "tokens": "optional", "hop_limit": NODE_HOP_LIMIT,
                          "endpoint": "enabled"},
               f"BEFORE: running, HttpTokens optional, hop limit {NODE_HOP_LIMIT}, endpoint enabled",
               repr(before))
        action = f"ModifyInstanceMetadataOptions {rid} HttpTokens=required HttpPutResponseHopLimit={NODE_HOP_LIMIT}"
        if mode == "alert-only":
            c.that(after == before, "the metadata options are unchanged (IMDSv1 still answered)",
                   f"before {before}, after {after}")
            o, doc = check_common(c, self, rid, output, alerts, "would-remediate")
            c.that(o.get("actions") == [action] and doc.get("actions") == [action],
                   f"the outcome and the alert name the call it would make, {action!r}",
                   f"outcome {o.get('actions')!r}, alert {doc.get('actions')!r}")
            return
        c.that(after["tokens"] == "required", "AFTER: HttpTokens is required", repr(after))
        # moto's ModifyInstanceMetadataOptions resets the options a call leaves out (the hop
        # limit to 1): the limit stays only because the function names every option.
        c.that(after["hop_limit"] == NODE_HOP_LIMIT,
               f"AFTER: the hop limit is still {NODE_HOP_LIMIT} (NODE_IMDS_HOP_LIMIT unset)", repr(after))
        c.that(after["endpoint"] == "enabled", "AFTER: the metadata endpoint is still enabled",
               repr(after))
        o, doc = check_common(c, self, rid, output, alerts, "remediated")
        c.that(o.get("actions") == [action], f"outcome actions are [{action!r}]", repr(o.get("actions")))
        c.that(doc.get("actions") == [action], f"alert actions are [{action!r}]",
               repr(doc.get("actions")))
        undo = (f"aws ec2 modify-instance-metadata-options --region {REGION} --instance-id {rid} "
                f"--http-tokens optional --http-put-response-hop-limit {NODE_HOP_LIMIT}")
        c.that(doc.get("undo") == undo, f"alert undo is {undo!r}", repr(doc.get("undo")))
        note = doc.get("note")
        c.that(isinstance(note, str) and f"hop limit {NODE_HOP_LIMIT} left as it is" in note.lower()
               and "NODE_IMDS_HOP_LIMIT" in note,
               f"the alert's note says the hop limit {NODE_HOP_LIMIT} was left, and how to lower it",
               repr(note))


# publish-findings: what its scenario needs ------------------------------------------------

CHAT_TOPIC = "eks-remediator-chat"
CHAT_INBOX = "eks-remediator-chat-inbox"
# The fields of an Amazon Q Developer custom notification (src/rules/publish_findings/chat.rs,
# README "publish-findings in detail"): a payload with others is dropped without a word.
CHAT_CONTENT_FIELDS = {"textType", "title", "description", "nextSteps", "keywords"}
CHAT_METADATA_FIELDS = {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}
NOT_AN_ALERT = "eks-remediator: not an alert document"


def chat_topic(ctx):
    """The chat topic (the template's ChatNotificationTopic), made once. Here an SQS queue is
    subscribed to it with raw message delivery, so that each body is the notification exactly
    as published, as Amazon Q Developer reads it. The benchmark sets `chat_topic` in its ctx
    itself: a topic without subscribers, whose fan-out moto would otherwise time."""
    if "chat_topic" not in ctx:
        sns, sqs = ctx["aws"]["sns"], ctx["aws"]["sqs"]
        topic = sns.create_topic(Name=CHAT_TOPIC)["TopicArn"]
        queue_url = sqs.create_queue(QueueName=CHAT_INBOX)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})
        ctx["chat_topic"], ctx["chat_queue"] = topic, queue_url
    return ctx["chat_topic"]


def parse_chat(body):
    """A raw-delivered chat notification: the body is the JSON publish-findings published."""
    message = {"doc": None, "raw": body, "error": None}
    try:
        message["doc"] = json.loads(body)
        if not isinstance(message["doc"], dict):
            message["error"] = "not a JSON object"
    except (json.JSONDecodeError, TypeError) as exc:
        message["error"] = f"not JSON: {exc}"
    return message


def show_chat(messages):
    print(f"CHAT: {len(messages)} message(s) on the SQS queue subscribed to the chat topic "
          f"(raw delivery: what Amazon Q Developer reads)")
    for m in messages:
        if m["doc"] is None:
            print(f"  ({m['error']}) {m['raw']}")
            continue
        print(indent(json.dumps(m["doc"], indent=2)))
    print()


def sns_lambda_event(envelopes):
    """The Lambda event SNS sends a subscribed function for these notifications, each given as
    the envelope the topic's SQS subscription got (the same fields; Lambda spells two of them
    SigningCertUrl and UnsubscribeUrl)."""
    records = []
    for e in envelopes:
        topic = e.get("TopicArn") or ""
        records.append({
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": f"{topic}:{uuid.uuid5(uuid.NAMESPACE_URL, topic)}",
            "Sns": {
                "Type": e.get("Type", "Notification"),
                "MessageId": e.get("MessageId"),
                "TopicArn": topic,
                "Subject": e.get("Subject"),
                "Message": e.get("Message"),
                "Timestamp": e.get("Timestamp"),
                "SignatureVersion": e.get("SignatureVersion", "1"),
                "Signature": e.get("Signature", ""),
                "SigningCertUrl": e.get("SigningCertURL", ""),
                "UnsubscribeUrl": e.get("UnsubscribeURL", ""),
                "MessageAttributes": e.get("MessageAttributes") or {},
            },
        })
    return {"Records": records}


def attributes_text(envelope):
    attrs = (envelope or {}).get("MessageAttributes") or {}
    return " ".join(f"{k}={(v or {}).get('Value')}" for k, v in sorted(attrs.items())) or "none"


def findings_with_id(ctx, finding_id):
    """Security Hub's findings with `finding_id`, and how many findings there are in all
    (GetFindings; moto ignores its filters, so the Id is picked here)."""
    pages = ctx["aws"]["securityhub"].get_paginator("get_findings").paginate(
        Filters={"Id": [{"Value": finding_id, "Comparison": "EQUALS"}]})
    every = [f for page in pages for f in page.get("Findings", [])]
    return [f for f in every if f.get("Id") == finding_id], len(every)


def finding_fields(f):
    """The fields of a finding this scenario shows and checks, flat."""
    resource = (f.get("Resources") or [{}])[0]
    return {
        "Workflow.Status": (f.get("Workflow") or {}).get("Status"),
        "Compliance.Status": (f.get("Compliance") or {}).get("Status"),
        "Severity.Label": (f.get("Severity") or {}).get("Label"),
        "RecordState": f.get("RecordState"),
        "ProductArn": f.get("ProductArn"),
        "GeneratorId": f.get("GeneratorId"),
        "AwsAccountId": f.get("AwsAccountId"),
        "Resources[0]": f"{resource.get('Type')} {resource.get('Id')}",
        "Title": f.get("Title"),
        "Description": f.get("Description"),
        "Recommendation": ((f.get("Remediation") or {}).get("Recommendation") or {}).get("Text"),
        "ProductFields status": (f.get("ProductFields") or {}).get("eks-remediator/status"),
        "FirstObservedAt": f.get("FirstObservedAt"),
        "CreatedAt": f.get("CreatedAt"),
        "UpdatedAt": f.get("UpdatedAt"),
    }


def show_finding(title, finding_id, found, total):
    print(f"{title}: Security Hub (GetFindings), {len(found)} finding(s) with Id "
          f"{finding_id}, {total} in the account and region")
    if not found:
        print("  (none)")
    for f in found:
        for key, value in finding_fields(f).items():
            print(f"  {key:<22}{value}")
    print()


def show_finding_brief(title, finding_id, found, total, note):
    """One line of the finding's state, where the full finding was shown just before."""
    states = "; ".join(f"Workflow {finding_fields(f)['Workflow.Status']}, Compliance "
                       f"{finding_fields(f)['Compliance.Status']}, UpdatedAt {f.get('UpdatedAt')}"
                       for f in found) or "none"
    print(f"{title}: Security Hub (GetFindings), {len(found)} finding(s) with Id {finding_id} "
          f"({total} in the account and region): {states}")
    print(f"  ({note})")
    print()


def show_finding_change(before, after):
    print("FINDING, what changed (the same finding, updated in place):")
    b, a = finding_fields(before[0]) if before else {}, finding_fields(after[0]) if after else {}
    for key in ("Workflow.Status", "Compliance.Status", "ProductFields status", "Description",
                "Recommendation", "CreatedAt", "UpdatedAt"):
        if b.get(key) == a.get(key):
            continue
        if len(f"{b.get(key)}{a.get(key)}") <= 60:
            print(f"  {key:<22}{b.get(key)}  ->  {a.get(key)}")
        else:
            print(f"  {key:<22}{b.get(key)}")
            print(f"  {'':<18}->  {a.get(key)}")
    print("  (AWS Security Hub ignores Workflow in an import that updates a finding, and resolves it")
    print("  itself when Compliance turns PASSED; moto keeps what the import says)")
    print()


class PublishFindings:
    """publish-findings, subscribed to the alert topic: each alert as a Security Hub finding
    (SECURITY_HUB=true) and as an Amazon Q Developer custom notification on the chat topic
    (CHAT_TOPIC_ARN). Its scenario has revoke-open-ingress make the alerts, on a group of its
    own (`seed`): alert-only first (a would-remediate alert: a NEW, FAILED finding), then
    remediate (a remediated alert: the same finding RESOLVED, PASSED); each alert, read from
    the alert topic's SQS subscription, is handed to this function as the SNS notification
    Lambda would get. Last, a notification that is no alert document fails the invocation,
    and nothing of its batch is imported or posted. The benchmark measures it on its sample
    notification (`sample`, a remediated alert) about a group seeded the same way."""
    name = "publish-findings"
    resource_type = "security-group"
    trigger = "the alert topic's SNS notifications"
    sample = EVENTS / name / "notification-remediated.json"
    source = RevokeOpenIngress()
    # The same function as scenarios 1 and 2, under labels of its own (logs, timings).
    source.variant = "for-findings"

    def env(self, ctx):
        return {"SECURITY_HUB": "true", "CHAT_TOPIC_ARN": chat_topic(ctx)}

    def seed(self, ctx, name):
        """A security group as revoke-open-ingress's scenarios seed it (tagged for EKS, tcp/22
        from the world and from 10/8)."""
        return self.source.seed(ctx, name)

    def replacements(self, group):
        return self.source.replacements(group)

    def finding_id(self, ctx, group):
        return (f"eks-remediator/{self.source.name}/{REGION}/{ctx['account']}/"
                f"{self.resource_type}/{group['id']}")

    def run(self, title, mode, what, group, ctx, workdir, verbose):
        """The scenario (instead of run_scenario): returns the record `check` reads."""
        print("=" * 78)
        print(f"{title}: {self.name} on {self.trigger}, SECURITY_HUB=true, CHAT_TOPIC_ARN set")
        print(f"  {what}")
        print(f"  (revoke-open-ingress makes the alerts: on group {group['id']}, in alert-only mode,")
        print("  then in remediate mode; each alert, read back from the alert topic's SQS queue, goes")
        print(f"  to {self.name} as the SNS notification Lambda would get)")
        print("=" * 78)
        r = {"finding_id": self.finding_id(ctx, group), "account": ctx["account"], "steps": []}
        chat_topic(ctx)
        _, r["total_before"] = findings_with_id(ctx, r["finding_id"])
        watch = Watch(self.name, label_of(self, mode), function_env(self, mode, ctx), workdir)
        log(f"starting: {' '.join(watch.argv)}")
        try:
            watch.wait_listening()
            watch.start_function()
            for n, source_mode in enumerate(("alert-only", "remediate"), 1):
                step = {"mode": source_mode}
                step["source"] = run_scenario(
                    f"{title}, step {n}", self.source, source_mode,
                    "revoke-open-ingress " + ("reports it (alert-only)" if n == 1 else "fixes it"),
                    group, ctx, workdir, verbose)
                alerts = step["source"][3]
                envelopes = [a["envelope"] for a in alerts if a.get("envelope")]
                step["envelopes"] = envelopes
                step["doc"] = alerts[0]["doc"] if len(alerts) == 1 else None
                event = sns_lambda_event(envelopes)
                path = workdir / f"event-{group['name']}-{self.name}-{n}.json"
                path.write_text(json.dumps(event), "utf-8")
                print("-" * 78)
                print(f"{title}, step {n}: {self.name} gets that alert")
                print("-" * 78)
                if n == 1:
                    show_finding("BEFORE", r["finding_id"], *findings_with_id(ctx, r["finding_id"]))
                else:
                    show_finding_brief("BEFORE", r["finding_id"], *findings_with_id(ctx, r["finding_id"]),
                                       "as step 1 left it")
                print(f"EVENT: SNS notification of {len(envelopes)} alert(s) from the alert topic, "
                      f"message attributes {attributes_text(envelopes[0] if envelopes else None)}")
                print(f"  Records[0].Sns.Message is the alert's default document, as above ({path.name})")
                print()
                # The function's first invocation also waits for it to start (no warm-up: every
                # notification it takes is imported).
                step["output"], step["error"], step["log"] = self.invoke(
                    watch, path, ctx, f"{source_mode} alert", first=n == 1)
                if step["error"] is not None:
                    print(f"FUNCTION ERROR: {step['error']}")
                    print(indent(watch.function.log_tail()))
                    raise SetupError(f"{title}, step {n}: the invocation of {self.name} failed: "
                                     f"{step['error']}")
                self.show_output(step, verbose)
                step["found"], step["total"] = findings_with_id(ctx, r["finding_id"])
                show_finding("AFTER", r["finding_id"], step["found"], step["total"])
                if n == 2:
                    show_finding_change(r["steps"][0]["found"], step["found"])
                step["chat"] = drain_alerts(ctx["aws"]["sqs"], ctx["chat_queue"], expect=1,
                                            parse=parse_chat)
                show_chat(step["chat"])
                r["steps"].append(step)

            # A batch of two notifications, the first alert again and one that is no alert
            # document: the invocation fails and nothing is imported (the first would have
            # turned the finding back to NEW) or posted.
            n = 3
            first = r["steps"][0]["envelopes"][:1]
            bad = [dict(e, MessageId=str(uuid.uuid4()), Message=NOT_AN_ALERT,
                        Subject="not an alert") for e in first]
            path = workdir / f"event-{group['name']}-{self.name}-{n}.json"
            path.write_text(json.dumps(sns_lambda_event(first + bad)), "utf-8")
            print("-" * 78)
            print(f"{title}, step {n}: {self.name} gets a notification that is no alert document")
            print("-" * 78)
            print(f"EVENT: SNS notification of 2 messages: the would-remediate alert of step 1 again, "
                  f"and {NOT_AN_ALERT!r} ({path.name})")
            print()
            step = {"mode": None}
            step["output"], step["error"], step["log"] = self.invoke(
                watch, path, ctx, "not an alert document", first=False)
            if step["error"] is None:
                self.show_output(step, verbose)
            else:
                print("FUNCTION ERROR (expected: the invocation fails, so Lambda retries it and the "
                      "dead-letter queue keeps it; nothing of the batch is imported):")
                print(indent(invoke_error_text(step["error"].detail)))
                print()
            step["found"], step["total"] = findings_with_id(ctx, r["finding_id"])
            show_finding_brief("AFTER", r["finding_id"], step["found"], step["total"],
                               "unchanged if nothing of the batch was imported: its first message, "
                               "the would-remediate alert, would make it NEW again")
            step["chat"] = drain_alerts(ctx["aws"]["sqs"], ctx["chat_queue"], expect=0,
                                        parse=parse_chat)
            show_chat(step["chat"])
            r["steps"].append(step)
        finally:
            watch.stop()
        return (r,)

    def invoke(self, watch, path, ctx, what, first):
        """Invokes the function on `path`; returns (output, InvokeError or None, its log)."""
        mark = len(watch.function.log_text())
        started = time.monotonic()
        try:
            output, secs = watch.invoke(path, READY_TIMEOUT if first else INVOKE_TIMEOUT,
                                        progress=first)
            error = None
        except InvokeError as exc:
            output, secs, error = None, time.monotonic() - started, exc
        start = ", with its start" if first else ""
        ctx["timings"].append((f"invoke {self.name} ({what}{start})", secs))
        return output, error, watch.function.log_text()[mark:]

    @staticmethod
    def show_output(step, verbose):
        print("FUNCTION OUTPUT (cargo lambda invoke):")
        print(indent(json.dumps(step["output"], indent=2)))
        print()
        if verbose:
            print("FUNCTION LOG:")
            print(indent(step["log"].rstrip() or "(nothing)"))
            print()

    def check(self, c, mode, group, r):
        fid, gid, account = r["finding_id"], group["id"], r["account"]
        for step, (status, workflow, compliance) in zip(
                r["steps"], (("would-remediate", "NEW", "FAILED"), ("remediated", "RESOLVED", "PASSED"))):
            src_mode = step["mode"]
            print(f"  -- revoke-open-ingress, MODE={src_mode}")
            self.source.check(c, src_mode, group, *step["source"])
            doc = step["doc"] or {}
            attrs = {k: (v or {}).get("Value") for k, v in
                     ((step["envelopes"] or [{}])[0].get("MessageAttributes") or {}).items()}
            c.that(attrs.get("status") == status and attrs.get("rule") == self.source.name,
                   f"the alert carries the message attributes status={status} and rule="
                   f"{self.source.name}", repr(attrs))
            print(f"  -- {self.name}, the {status} alert")
            c.that(step["output"] == {"outcomes": []}, "the output is {\"outcomes\": []} (it decides "
                   "nothing: it carries the rules' outcomes on)", json.dumps(step["output"]))
            found = step["found"]
            c.that(len(found) == 1, f"Security Hub has exactly one finding with Id {fid}",
                   f"{len(found)} findings")
            f = found[0] if found else {}
            fields = finding_fields(f) if f else {}
            product = f"arn:aws:securityhub:{REGION}:{account}:product/{account}/default"
            c.that(fields.get("Workflow.Status") == workflow
                   and fields.get("Compliance.Status") == compliance,
                   f"the finding: Workflow {workflow}, Compliance {compliance}",
                   f"Workflow {fields.get('Workflow.Status')}, Compliance "
                   f"{fields.get('Compliance.Status')}")
            c.that(fields.get("ProductArn") == product, f"ProductArn is {product}",
                   repr(fields.get("ProductArn")))
            arn = f"arn:aws:ec2:{REGION}:{account}:security-group/{gid}"
            c.that(fields.get("Resources[0]") == f"AwsEc2SecurityGroup {arn}",
                   f"the resource is AwsEc2SecurityGroup {arn}", repr(fields.get("Resources[0]")))
            c.that(fields.get("GeneratorId") == f"eks-remediator/{self.source.name}"
                   and fields.get("AwsAccountId") == account
                   and fields.get("Severity.Label") == "HIGH"
                   and fields.get("RecordState") == "ACTIVE"
                   and fields.get("ProductFields status") == status,
                   f"GeneratorId eks-remediator/{self.source.name}, AwsAccountId {account}, "
                   f"Severity HIGH, RecordState ACTIVE, ProductFields status {status}",
                   json.dumps(fields))
            c.that(fields.get("Title") == f"{self.source.name}: {doc.get('finding')}",
                   "the title is the rule and the alert's finding", repr(fields.get("Title")))
            if status == "remediated":
                text = fields.get("Recommendation") or ""
                c.that(text.startswith(f"Fixed. To undo: {self.source.undo_prefix}") and gid in text,
                       "the recommendation is the fix's undo", repr(text))
                c.that(step["total"] == r["steps"][0]["total"],
                       "no other finding was added (the fix updated the same one)",
                       f"{r['steps'][0]['total']} findings before, {step['total']} after")
            else:
                c.that(step["total"] == r["total_before"] + 1, "one finding was added",
                       f"{r['total_before']} before, {step['total']} after")
            chat = step["chat"]
            c.that(len(chat) == 1, "one chat notification was published", f"{len(chat)} messages")
            n = chat[0]["doc"] if chat and isinstance(chat[0]["doc"], dict) else {}
            content = n.get("content") if isinstance(n.get("content"), dict) else {}
            meta = n.get("metadata") if isinstance(n.get("metadata"), dict) else {}
            c.that(n.get("version") == "1.0" and n.get("source") == "custom"
                   and content.get("textType") == "client-markdown",
                   "the notification: version 1.0, source custom, textType client-markdown",
                   json.dumps(n)[:300])
            c.that(set(content) <= CHAT_CONTENT_FIELDS and set(meta) <= CHAT_METADATA_FIELDS
                   and {"title", "description"} <= set(content),
                   "content and metadata hold only the documented fields, with a title and a "
                   "description", f"content {sorted(content)}, metadata {sorted(meta)}")
            c.that(meta.get("threadId") == fid, "its threadId is the finding Id",
                   repr(meta.get("threadId")))
            title = content.get("title") or ""
            c.that(status in title and gid in title, f"its title names {status} and {gid}",
                   repr(title))
        bad = r["steps"][2]
        print(f"  -- {self.name}, a batch with a notification that is no alert document")
        detail = bad["error"].detail if bad["error"] is not None else ""
        c.that(bad["error"] is not None and "alert document" in detail,
               "the invocation fails, saying the message is no alert document",
               detail or json.dumps(bad["output"]))
        fields = finding_fields(bad["found"][0]) if len(bad["found"]) == 1 else {}
        c.that(fields.get("Workflow.Status") == "RESOLVED"
               and fields.get("Compliance.Status") == "PASSED"
               and bad["total"] == r["steps"][1]["total"],
               "nothing of the batch was imported (the finding is still RESOLVED, PASSED; no "
               "finding added)", json.dumps(fields))
        c.that(bad["chat"] == [], "nothing was posted to chat",
               "; ".join(m["raw"][:100] for m in bad["chat"]))


# --------------------------------------------------------------------------- scenarios

INGRESS, CLUSTER, NODE_ROLE = RevokeOpenIngress(), EnforceClusterConfig(), DetachNodePolicy()
# enforce-cluster-config: CLUSTER (in FUNCTIONS) goes straight to moto, as the benchmark
# measures it; the scenarios run CLUSTER_FIELDS, the same through the stand-in, which reports
# deletion protection as EKS does, and PROTECTION, deletion protection turned off.
CLUSTER_FIELDS, PROTECTION = EnforceClusterConfig(via_standin=True), EnforceDeletionProtection()
TRAIL, FINDING, ACCESS = RestoreAuditTrail(), NotifyEksFinding(), GuardClusterAccess()
# audit-workloads has two kinds of trigger: its audit log (AUDIT, the one in FUNCTIONS, which
# the benchmark measures) and the CreateLogGroup of a cluster's log group (AUDIT_LOGS).
AUDIT, AUDIT_AGAIN, AUDIT_LOGS = AuditWorkloads(), AuditWorkloads(repeat=True), AuditSubscribe()
NODES = HardenNodes()
# publish-findings: its scenario runs revoke-open-ingress too, for the alerts it hands on.
FINDINGS = PublishFindings()
FUNCTIONS = (INGRESS, CLUSTER, NODE_ROLE, TRAIL, FINDING, ACCESS, AUDIT, NODES, FINDINGS)
SWEEP = "sweep"
SCHEDULED_EVENT = REPO / "fuzz" / "seeds" / "sweep" / "scheduled-event.json"


class Scenario(NamedTuple):
    fn: object       # one of the function classes above
    mode: str        # MODE
    resource: str    # the name of the resource it seeds
    demo: bool       # also run without --check
    what: str        # one line for the newcomer


SCENARIOS = [
    Scenario(INGRESS, "remediate", "demo-nodes", True,
             "a security group of EKS cluster 'demo' opened to the world on tcp/22"),
    Scenario(INGRESS, "alert-only", "demo-nodes-alert-only", False,
             "the same in alert-only mode: reported, not changed"),
    Scenario(CLUSTER_FIELDS, "remediate", "demo-cluster", True,
             "an EKS cluster created with a public endpoint, no control-plane logs and no "
             "deletion protection"),
    Scenario(CLUSTER_FIELDS, "alert-only", "demo-cluster-alert-only", False,
             "the same in alert-only mode: reported, not changed"),
    Scenario(PROTECTION, "remediate", "demo-protected", True,
             "deletion protection turned off on an EKS cluster: turned back on"),
    Scenario(PROTECTION, "alert-only", "demo-protected-alert-only", False,
             "the same in alert-only mode: reported, not changed"),
    Scenario(NODE_ROLE, "remediate", "demo-node-role", True,
             "AdministratorAccess attached to an EKS node role"),
    Scenario(NODE_ROLE, "alert-only", "demo-node-role-alert-only", False,
             "the same in alert-only mode: reported, not changed"),
    Scenario(TRAIL, "remediate", "demo-trail", True,
             "CloudTrail logging stopped on a trail"),
    Scenario(TRAIL, "alert-only", "demo-trail-alert-only", False,
             "the same in alert-only mode: reported, not changed"),
    # This function only alerts (MODE does not change that); the cluster is the event's own.
    Scenario(FINDING, "remediate", PH_CLUSTER, True,
             "a GuardDuty finding: anonymous access granted on an EKS cluster (alert only)"),
    Scenario(ACCESS, "remediate", "demo-access", True,
             "an outsider given cluster-admin, then taken away"),
    Scenario(ACCESS, "alert-only", "demo-access-alert-only", False,
             "the same in alert-only mode: reported, not changed"),
    # MODE governs audit-workloads' subscriptions only: its findings are always alerts.
    Scenario(AUDIT, "remediate", "demo-audit", True,
             "a cluster's audit log: a Deployment applied without probes, cluster-admin bound to "
             "an outsider"),
    # The same cluster (so the same dedupe key): the repeat of the scenario above.
    Scenario(AUDIT_AGAIN, "remediate", "demo-audit", True,
             "the same Deployment applied again, unchanged: already alerted, so no alert"),
    Scenario(AUDIT_LOGS, "remediate", "demo-audit-logs", True,
             "a cluster's log group created: audit-workloads subscribes it to itself"),
    Scenario(AUDIT_LOGS, "alert-only", "demo-audit-logs-alert-only", False,
             "the same in alert-only mode: reported, not subscribed"),
    Scenario(NODES, "remediate", "demo-node", True,
             "an EKS node starts with IMDSv1 allowed: IMDSv2 required, its hop limit kept"),
    Scenario(NODES, "alert-only", "demo-node-alert-only", False,
             "the same in alert-only mode: reported, not changed"),
    # publish-findings has no mode of its own; its scenario runs revoke-open-ingress in both.
    Scenario(FINDINGS, "remediate", "demo-findings", True,
             "one remediation as a Security Hub finding that turns RESOLVED, and as chat "
             "notifications"),
]


def function_env(fn, mode, ctx):
    # moto, or the EKS access stand-in in front of it for a function that needs it.
    port = ctx["standin_port"] if getattr(fn, "via_standin", False) else ctx["moto_port"]
    return {
        "MODE": mode,
        "ALERT_TOPIC_ARN": ctx["topic"],
        **(fn.env(ctx) if hasattr(fn, "env") else fn.settings),
        # Loop prevention: the function's own role (the events' actors are other principals).
        "SELF_ROLE_ARNS": f"arn:aws:iam::{ctx['account']}:role/eks-remediator-{fn.name}",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "RUST_LOG": "info",
    }


def run_scenario(title, fn, mode, what, resource, ctx, workdir, verbose):
    """Runs `fn` on one event about `resource`; returns (before, after, output, alerts)."""
    aws = ctx["aws"]
    print("=" * 78)
    on = f" on {fn.trigger}" if hasattr(fn, "trigger") else ""
    print(f"{title}: {fn.name}{on}, MODE={mode}")
    print(f"  {what}")
    print("=" * 78)
    event_path = workdir / f"event-{resource['name']}-{label_of(fn, mode)}.json"
    event, provenance = make_event(fn, ctx, resource, event_path)

    label = label_of(fn, mode)
    watch = start_function(fn.name, label, function_env(fn, mode, ctx), fn.warmup, workdir)
    try:
        before = fn.state(ctx, resource)
        fn.show("BEFORE", resource, before)
        describe = getattr(fn, "describe_event", describe_event)
        print(f"EVENT: {describe(event, resource)}")
        print(f"  {provenance} ({event_path.name})")
        print()
        log_mark = len(watch.function.log_text())
        try:
            output, secs = watch.invoke(event_path, INVOKE_TIMEOUT)
        except InvokeError as exc:
            print(f"FUNCTION ERROR: {exc}")
            print(indent(watch.function.log_tail()))
            raise SetupError(f"{title}: the invocation failed: {exc}")
        fn_log = watch.function.log_text()[log_mark:]
    finally:
        watch.stop()
    ctx["timings"].append((f"invoke {label}", secs))
    print(f"FUNCTION OUTPUT (cargo lambda invoke, {secs * 1000:.0f} ms round trip):")
    print(indent(json.dumps(output, indent=2)))
    print()
    if verbose:
        print("FUNCTION LOG:")
        print(indent(fn_log.rstrip() or "(nothing)"))
        print()
    after = fn.state(ctx, resource)
    fn.show("AFTER", resource, after)
    alerts = drain_alerts(aws["sqs"], ctx["queue"], expect=getattr(fn, "alerts_expected", 1))
    show_alerts(alerts)
    return before, after, output, alerts


def label_of(fn, mode):
    """The scenario's label in file names and timings: the function (and, for a function
    with several kinds of trigger, which one) and the mode."""
    variant = getattr(fn, "variant", "")
    return f"{fn.name}{'-' + variant if variant else ''}-{mode}"


def make_event(fn, ctx, resource, path):
    """The scenario's event about `resource`, written to `path`, and where it comes from: the
    function's sample with its placeholders replaced, or what the class builds itself."""
    if hasattr(fn, "make_event"):
        return fn.make_event(ctx, resource, path)
    event = build_event(fn.sample, [(PH_ACCOUNT, ctx["account"]), (PH_REGION, REGION),
                                    *fn.replacements(resource)], path)
    return event, f"from {fn.sample.relative_to(REPO)}, placeholders replaced"


def found_but_versions_failed(code, out):
    """The check of a scan of a region with clusters in it: moto has no DescribeClusterVersions,
    so the cluster-versions scan cannot run, which is an `error` row and exit 2 (a report with
    a hole); every other scan ran, and something was found. (ok, what, detail) for Checks.that."""
    failed = [line for line in out.splitlines() if line.split()[:1] == ["error"]]
    found = [line for line in out.splitlines()
             if line.split()[:1] in (["would-remediate"], ["alert"])]
    return (code == 2 and len(failed) == 1 and "cluster-versions" in failed[0] and bool(found),
            "scan exits 2: violations found, and only the cluster-versions scan could not run "
            "(moto has no DescribeClusterVersions)", f"exit {code}\n{out}")


def run_cli(args, env):
    """Runs the `eks-remediator` CLI; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([str(function_binary("eks-remediator")), *args], env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def cli_scenario(ctx, workdir, check):
    """Look before you trust: `scan` the seeded emulator, `replay` an event read-only and then
    with `--apply`, and `scan` again. Returns the failed checks."""
    print("=" * 78)
    print("The CLI: scan, replay an event, scan again")
    print("  a new world-open EKS group; eks-remediator scan lists it (and whatever the scenarios")
    print("  above left in alert-only mode); replay shows what revoke-open-ingress would do,")
    print("  replay --apply does it, and the next scan no longer lists the group")
    print("  (the CLI talks to the EKS access stand-in, so its scan also reads access entries and")
    print("  the deletion protection of the clusters created through it)")
    print("=" * 78)
    group = INGRESS.seed(ctx, "demo-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # The AWS settings of guard-cluster-access (the stand-in's endpoint), and the settings of
    # both functions whose scans could read them.
    env.update({k: v for k, v in function_env(ACCESS, "remediate", ctx).items()
                if k.startswith("AWS_")})
    env.update(INGRESS.settings, **ACCESS.settings)
    env.pop("AWS_LAMBDA_LOG_LEVEL", None)
    env["RUST_LOG"] = "warn"
    c = Checks("CLI")

    def scan(label):
        code, out, err = run_cli(["scan", "--region", REGION], env)
        print(f"$ eks-remediator scan --region {REGION}    # {label}; exit {code}")
        print(indent(out.rstrip()))
        print()
        return code, out

    code, out = scan("before")
    c.that(*found_but_versions_failed(code, out))
    c.that(group["id"] in out, f"scan lists {group['id']}", out)
    for fn, resource in ctx["left_alone"]:
        # The access scan reads the stand-in's access entries; audit-subscriptions the
        # clusters whose audit log is on, and their log groups' filters; nodes the running
        # instances tagged as EKS nodes; clusters judges every cluster as if just created, so
        # the one left with its protection off is listed as a new cluster without it.
        if fn is ACCESS or fn is AUDIT_LOGS or fn is NODES or fn is CLUSTER_FIELDS:
            c.that(resource["id"] in out, f"scan lists {resource['id']} (left in alert-only mode)",
                   out)
        if fn is PROTECTION:
            rows = [line for line in out.splitlines()
                    if resource["id"] in line and "no deletion protection" in line]
            c.that(bool(rows), f"scan lists {resource['id']}: no deletion protection (left in "
                   "alert-only mode)", out)
    event_path = workdir / "event-demo-cli.json"
    build_event(INGRESS.sample, [(PH_ACCOUNT, ctx["account"]), (PH_REGION, REGION),
                                 *INGRESS.replacements(group)], event_path)
    for extra in ([], ["--apply"]):
        code, out, err = run_cli(["replay", str(event_path), *extra], env)
        print(f"$ eks-remediator replay {event_path.name} {' '.join(extra)}    # exit {code}")
        print(indent(out.rstrip() or err.rstrip()))
        print()
        want = "remediated" if extra else "would-remediate"
        c.that(code == 0 and want in out, f"replay {' '.join(extra) or '(read-only)'} says {want}",
               out + err)
    code, out = scan("after replay --apply")
    c.that(group["id"] not in out, f"scan no longer lists {group['id']}", out)
    return c.failures if check else []


def sweep_scenario(ctx, workdir, check):
    """The sweep repairs a missing subscription. In a moto account of its own, so that the
    sweep (MODE=remediate) meets nothing but what is seeded here: an EKS cluster with its audit
    log on and its log group without our filter, a GuardDuty detector and a trail as the sweep
    wants them. `scan` lists the log group, one scheduled event to the `sweep` function puts
    the filter, and `scan` no longer lists it. Returns the failed checks."""
    print("=" * 78)
    print("The sweep: a cluster's audit log not streamed to audit-workloads")
    print("  in an account of its own: an EKS cluster with its audit log on, and its log group")
    print("  without our subscription filter (made before the stack, or the filter removed);")
    print("  eks-remediator scan lists it (audit-subscriptions), the sweep function with")
    print("  MODE=remediate subscribes it, and the next scan no longer lists it")
    print("=" * 78)
    c = Checks("sweep")
    keys = assumed_keys(ctx["aws"]["sts"], SWEEP_ACCOUNT)
    aws = clients(f"http://127.0.0.1:{ctx['moto_port']}", keys)
    account = aws["sts"].get_caller_identity()["Account"]
    _, subnets = seed_network(aws["ec2"])
    topic, queue = seed_alerts(aws["sns"], aws["sqs"])
    own = {"aws": aws, "account": account, "subnets": subnets}
    name = "demo-sweep"
    seed_quiet_cluster(own, name)
    log_group = audit_payload.log_group_name(name)
    aws["logs"].create_log_group(logGroupName=log_group)
    destination = audit_function_arn(own)
    seed_audit_trail(aws, f"{name}-trail")
    log(f"seeded account {account}: cluster {name}, log group {log_group}, detector and trail")

    # Through the stand-in, as the CLI and guard-cluster-access: the sweep's access scan reads
    # access entries, which moto lacks.
    aws_env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ctx['standin_port']}",
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": keys[0],
        "AWS_SECRET_ACCESS_KEY": keys[1],
        "AWS_SESSION_TOKEN": keys[2],
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    cli_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    cli_env.update(aws_env, RUST_LOG="warn")

    def scan(label):
        code, out, err = run_cli(["scan", "--region", REGION], cli_env)
        print(f"$ eks-remediator scan --region {REGION}    # account {account}, {label}; exit {code}")
        print(indent(out.rstrip() or err.rstrip()))
        print()
        return code, out

    def listed(out):
        return [line for line in out.splitlines() if f"log-group {log_group}" in line]

    before = AUDIT_LOGS.state(own, {"log_group": log_group})
    print(f"BEFORE: CloudWatch Logs log group {log_group} (cluster {name}, audit log on), "
          f"subscription filters")
    show_filters(before)
    print()
    code, out = scan("before")
    rows = listed(out)
    c.that(*found_but_versions_failed(code, out))
    c.that(len(rows) == 1 and "would-remediate" in rows[0] and AUDIT.name in rows[0]
           and "not streamed to audit-workloads" in rows[0],
           f"scan lists {log_group}: would-remediate, {AUDIT.name}, not streamed", out)

    fn_env = dict(aws_env, **{
        "MODE": "remediate",
        "ALERT_TOPIC_ARN": topic,
        # As the template sets them for the sweep.
        "AUDIT_WORKLOADS_FUNCTION_ARN": destination,
        "AUDIT_FILTER_PATTERN": audit_filter_pattern(),
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "RUST_LOG": "info",
    })
    event_path = workdir / "event-sweep.json"
    build_event(SCHEDULED_EVENT, [(PH_ACCOUNT, account)], event_path)
    print(f"SWEEP: the {SWEEP} function, MODE=remediate, AUDIT_WORKLOADS_FUNCTION_ARN={destination}")
    print(f"  one scheduled event ({SCHEDULED_EVENT.relative_to(REPO)}, account {account})")
    print()
    watch = Watch(SWEEP, "sweep-remediate", fn_env, workdir)
    log(f"starting: {' '.join(watch.argv)}")
    error = None
    try:
        watch.wait_listening()
        watch.start_function()
        # No warm-up: every scheduled event is a whole sweep. The first invocation also waits
        # for the function to start.
        started = time.monotonic()
        try:
            output, secs = watch.invoke(event_path, READY_TIMEOUT, progress=True)
        except InvokeError as exc:
            output, secs, error = None, time.monotonic() - started, exc
    finally:
        watch.stop()
    # The first invocation includes the function's start (no warm-up: see above).
    ctx["timings"].append(("invoke sweep (remediate, with its start)", secs))
    if error is None:
        print(f"FUNCTION OUTPUT (cargo lambda invoke, {secs * 1000:.0f} ms round trip):")
        print(indent(json.dumps(output, indent=2)))
    else:
        # moto has no DescribeClusterVersions: the version hygiene scan fails, and the sweep
        # fails its invocation once the other scans' outcomes are delivered.
        print("FUNCTION ERROR (expected: moto has no DescribeClusterVersions, so the "
              "cluster-versions scan fails; the other scans' outcomes still count):")
        print(indent(invoke_error_text(error.detail)))
    print()
    c.that(error is None or ("cluster-versions" in error.detail and "1 scan" in error.detail),
           "the sweep answers, or fails only for the cluster-versions scan",
           error.detail if error else "")
    after = AUDIT_LOGS.state(own, {"log_group": log_group})
    print(f"AFTER: CloudWatch Logs log group {log_group}, subscription filters")
    show_filters(after)
    print()
    alerts = drain_alerts(aws["sqs"], queue, expect=1)
    show_alerts(alerts)
    c.that(after == [(AUDIT_FILTER, destination, audit_filter_pattern())],
           f"AFTER: one filter, {AUDIT_FILTER}, to audit-workloads with the template's pattern",
           repr(after))
    mine = [a["doc"] for a in alerts if isinstance(a["doc"], dict)
            and (a["doc"].get("resource") or {}).get("id") == log_group]
    doc = mine[0] if len(mine) == 1 else {}
    action = f"PutSubscriptionFilter {log_group} {AUDIT_FILTER}"
    c.that(len(alerts) == 1 and len(mine) == 1, f"one alert, about {log_group}",
           "; ".join(a["subject"] or a["raw"] for a in alerts))
    c.that(doc.get("rule") == AUDIT.name and doc.get("status") == "remediated"
           and doc.get("actions") == [action],
           f"the alert: rule {AUDIT.name}, status remediated, actions [{action!r}]",
           json.dumps({k: doc.get(k) for k in ("rule", "status", "actions")}))
    c.that(isinstance(doc.get("undo"), str) and doc["undo"].startswith(AUDIT_LOGS.undo_prefix),
           f"the alert's undo starts with '{AUDIT_LOGS.undo_prefix}'", repr(doc.get("undo")))
    code, out = scan("after the sweep")
    c.that(not listed(out), f"scan no longer lists {log_group}", out)
    return c.failures if check else []


def invoke_error_text(detail):
    """cargo lambda invoke's report of a function error, without its own advertisement."""
    lines = detail.splitlines()
    cut = next((i for i, line in enumerate(lines) if "Was this behavior unexpected?" in line), len(lines))
    return "\n".join(lines[:cut]).rstrip()


def seed_audit_trail(aws, name):
    """What the sweep's restore-audit-trail scan wants in an account, so that it finds nothing:
    a GuardDuty detector with EKS audit logs and runtime monitoring, and a trail logging."""
    aws["guardduty"].create_detector(Enable=True, Features=[
        {"Name": "EKS_AUDIT_LOGS", "Status": "ENABLED"},
        {"Name": "RUNTIME_MONITORING", "Status": "ENABLED",
         "AdditionalConfiguration": [{"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"}]}])
    aws["s3"].create_bucket(Bucket=f"{name}-logs")
    aws["cloudtrail"].create_trail(Name=name, S3BucketName=f"{name}-logs", IsMultiRegionTrail=True)
    aws["cloudtrail"].start_logging(Name=name)


def main():
    sys.stdout.reconfigure(line_buffering=True)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="assert the results and also run the alert-only scenarios")
    ap.add_argument("--verbose", "-v", action="store_true", help="print the functions' logs")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, events)")
    ap.add_argument("--only", metavar="PART,...",
                    help="run only these parts: function names, `cli`, `sweep` (default: all)")
    args = ap.parse_args()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_exit)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    for tool in ("cargo",):
        if not shutil.which(tool):
            raise SetupError(f"{tool} not found on PATH")

    workdir = Path(tempfile.mkdtemp(prefix="eks-remediator-e2e-"))
    t0 = time.monotonic()
    failures = []
    try:
        build_functions([fn.name for fn in FUNCTIONS] + [SWEEP, "eks-remediator"])
        moto_port = start_moto(workdir)
        standin_port = start_standin(workdir, moto_port)
        aws = clients(f"http://127.0.0.1:{moto_port}")
        account = aws["sts"].get_caller_identity()["Account"]
        vpc_id, subnets = seed_network(aws["ec2"])
        topic, queue = seed_alerts(aws["sns"], aws["sqs"])
        ctx = {"aws": aws, "account": account, "moto_port": moto_port, "topic": topic,
               "queue": queue, "vpc": vpc_id, "subnets": subnets, "timings": [],
               "standin_port": standin_port,
               "standin_eks": clients(f"http://127.0.0.1:{standin_port}")["eks"],
               "left_alone": []}
        log(f"seeded account {account}: {vpc_id} ({', '.join(subnets)}), topic {topic}")

        # Numbered in the order they run: without --check, only the demo scenarios.
        only = set(args.only.split(",")) if args.only else None
        chosen = [s for s in SCENARIOS if (args.check or s.demo) and (not only or s.fn.name in only)]
        for number, s in enumerate(chosen, 1):
            title, fn = f"Scenario {number}", s.fn
            resource = fn.seed(ctx, s.resource)
            # A function with a scenario of its own (publish-findings) runs it itself.
            result = (fn.run(title, s.mode, s.what, resource, ctx, workdir, args.verbose)
                      if hasattr(fn, "run") else
                      run_scenario(title, fn, s.mode, s.what, resource, ctx, workdir, args.verbose))
            if s.mode == "alert-only":
                ctx["left_alone"].append((fn, resource))
            if args.check:
                c = Checks(f"{title}: {fn.name}, {s.mode}")
                print(f"CHECK ({fn.name}, MODE={s.mode})")
                fn.check(c, s.mode, resource, *result)
                print()
                failures += c.failures
        if not only or "cli" in only:
            failures += cli_scenario(ctx, workdir, args.check)
        if not only or "sweep" in only:
            failures += sweep_scenario(ctx, workdir, args.check)
        timings = ", ".join(f"{name} {secs * 1000:.0f} ms" for name, secs in ctx["timings"])
        log(f"done in {time.monotonic() - t0:.1f}s ({timings})")
    except (SetupError, BotoCoreError, ClientError) as exc:
        print(f"e2e: ERROR: {exc}", file=sys.stderr)
        print(f"e2e: logs in {workdir}", file=sys.stderr)
        args.keep = True
        return 2
    finally:
        Child.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.check:
        if failures:
            print(f"FAILED: {len(failures)} check(s)")
            for f in failures:
                print(f"  - {f}")
            return 1
        print("PASSED: all checks")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SetupError as exc:
        Child.stop_all()
        sys.exit(f"e2e: ERROR: {exc}")
    except KeyboardInterrupt:
        Child.stop_all()
        sys.exit(130)
