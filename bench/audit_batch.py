#!/usr/bin/env python3
"""Measures audit-workloads on one 1 MiB compressed batch of a cluster's audit log, against
DESIGN.md's budget for it: "one 1 MiB compressed log batch: <= 100 ms CPU, <= 32 MiB".

The batch is what CloudWatch Logs delivers through the subscription filter: one DATA_MESSAGE
of the cluster's audit stream, gzipped and base64-encoded (scripts/audit_payload.py), grown
until the gzip data is 1 MiB (1,048,576 bytes, within BENCH_AUDIT_SLACK bytes, 4 KiB by
default). Its log events are the sample audit events of events/audit-workloads/audit-log/,
each with names, uids, audit ID, user session and time of its own, in a mix meant to be a
busy cluster's writes after the filter:
  - workloads with everything in place (Deployments applied by kubectl, updated by Helm,
    created by Argo CD; StatefulSets, DaemonSets, Jobs, CronJobs, bare Pods: the samples with
    probes, requests, a memory limit, spread, pinned images and safe pod settings added),
    some written again (rollouts: judged once, as last written);
  - what the filter passes but the function skips: patches logged at the Request level (no
    stored object), workloads in kube-system (IGNORED_NAMESPACES), exempt workloads;
  - RBAC: operators' narrow ClusterRoles with their bindings (each ClusterRole write is
    remembered in DEDUPE_TABLE), RoleBindings of `edit`/`view` to teams, cluster-admin for
    K8S_ADMIN_SUBJECTS, aws-auth updates mapping nodes only;
  - and, in the realistic batch only, BENCH_AUDIT_ALERTS (50) distinct workloads from the
    samples without probes, requests or safe settings (Deployments, StatefulSets, DaemonSets,
    Jobs, CronJobs, Pods) spread through the batch, plus three RBAC findings (cluster-admin to
    an outsider, a binding to system:unauthenticated/system:anonymous, aws-auth putting
    outsiders into system:masters), which alert on every delivery.
Every log event is checked against the template's filter pattern (scripts/filter_pattern.py).

Cases, each BENCH_RUNS (5) times in a fresh process of the release binary under a Runtime API
of measure.py's, against moto's server, with DEDUPE_TABLE (alerts to a topic without
subscribers, as measure.py):
  judge-only  nothing to alert and no AWS call: the safe batch with safe workload writes in
              place of the ClusterRoles (and their bindings) that cost a DynamoDB call:
              decoding and judging alone, the cost the budget is about;
  no-alerts   the safe batch (the realistic one with its bad workloads and RBAC findings
              replaced by safe writes): judging, plus a DeleteItem per ClusterRole written
              (remembered as not all-powerful), one after the other;
  repeat      the realistic batch delivered a second time in the same process (the first
              delivery alerted; measured: the second): every workload already alerted, so one
              conditional PutItem each (refused) and no alert; the RBAC findings alert again;
  first       the realistic batch delivered the first time, as the process's first event:
              BENCH_AUDIT_ALERTS workloads alerted (a PutItem and a Publish each, eight at a
              time) and the three RBAC findings.
Measured for the event: CPU (all threads' run time from /proc/<pid>/task/*/schedstat, as
measure.py; and utime+stime from /proc/<pid>/stat, in clock ticks), wall time from the event
handed out to the response posted, peak memory (VmHWM, the process's whole life: Lambda's
memory limit is about that), the requests moto logged, and the outcomes. Medians of the runs.
Writes bench/out/audit.json and prints a table beside the budget. Not a pass/fail test.

    bench/run            (builds the release binaries, then runs this among the others)
    cargo build --release -p audit-workloads && python bench/audit_batch.py
    BENCH_RUNS=3 BENCH_AUDIT_ALERTS=50 python bench/audit_batch.py
"""

import base64
import collections
import copy
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "scripts"))
import measure  # noqa: E402  (RuntimeApi, spawn, stop, cpu_ms, memory, moto_requests, ...)
from measure import e2e  # noqa: E402  (moto, audit-workloads' table, settings and samples)
import audit_payload  # noqa: E402
import filter_pattern  # noqa: E402

FUNCTION = e2e.AUDIT.name
RUNS = measure.RUNS
TARGET = 1 << 20                      # gzip bytes of the batch
SLACK = int(os.environ.get("BENCH_AUDIT_SLACK", "4096"))
ALERTS = int(os.environ.get("BENCH_AUDIT_ALERTS", "50"))
BUDGETS = {"cpu_ms": 100, "peak_memory_mib": 32}
# A key Kubernetes accepts for a label (the default EXEMPT_TAG_KEY, eks-remediator:exempt,
# has a `:`, which label and annotation keys may not have).
EXEMPT_KEY = "eks-remediator/exempt"
CLOCK_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
BASE_TIME = 1_765_000_000.0           # the batch's first event, epoch seconds
POOL = 5_000                          # writes generated to choose the batch from (2,100 make 1 MiB)
COLUMNS = ("log_events", "gzip_kib", "json_mib", "cpu_ms", "utime_stime_ms", "wall_ms",
           "peak_memory_mib", "aws_calls", "alerts")
SAMPLES = {p.name: json.loads(p.read_text("utf-8")) for p in sorted(e2e.AUDIT_SAMPLES.glob("*.json"))}
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
APPS = ("web", "api", "cart", "search", "ledger", "billing", "auth", "media", "queue", "report",
        "feed", "mail", "geo", "price", "stock", "ads", "chat", "cms", "etl", "ml")


# --------------------------------------------------------------------------- the batch

def pod_spec(obj, resource):
    spec = obj["spec"]
    if resource == "pods":
        return spec
    if resource == "cronjobs":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec["template"]["spec"]


def pinned(image, rng):
    """The image with a version tag instead of none, `latest` or a digest."""
    base = image.split("@", 1)[0]
    head, _, last = base.rpartition("/")
    last = last.split(":", 1)[0]
    name = f"{head}/{last}" if head else last
    return f"{name}:{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"


def make_safe(obj, resource, name, rng):
    """Adds what the best practices ask to a stored workload: probes (long-running kinds),
    requests and a memory limit, spread, two or more replicas, pinned images, no privilege,
    no host namespaces or paths."""
    if not isinstance(obj, dict) or "spec" not in obj:
        return
    try:
        spec = pod_spec(obj, resource)
    except (KeyError, TypeError):
        return  # a patch's request: only the patch
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        spec.pop(flag, None)
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            volume.pop("hostPath")
            volume["emptyDir"] = {}
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        c["image"] = pinned(c.get("image") or "busybox", rng)
        context = c.get("securityContext") or {}
        context.pop("privileged", None)
        context["allowPrivilegeEscalation"] = False
        c["securityContext"] = context
    for c in spec.get("containers") or []:
        if resource not in ("jobs", "cronjobs"):
            c.setdefault("readinessProbe", {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10})
            c.setdefault("livenessProbe", {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10})
        resources = c.get("resources") or {}
        requests = resources.get("requests") or {}
        requests.setdefault("cpu", f"{rng.choice((50, 100, 250, 500))}m")
        requests.setdefault("memory", f"{rng.choice((64, 128, 256, 512))}Mi")
        limits = resources.get("limits") or {}
        limits.setdefault("memory", requests["memory"])
        c["resources"] = dict(resources, requests=requests, limits=limits)
    if resource in ("deployments", "statefulsets"):
        if (obj["spec"].get("replicas") or 0) < 2:
            obj["spec"]["replicas"] = rng.choice((2, 3, 4, 6))
        spec["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": name}}}]


def set_labels(obj, resource, name):
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("labels"), dict):
        meta["labels"]["app"] = name
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    selector = spec.get("selector")
    if isinstance(selector, dict) and isinstance(selector.get("matchLabels"), dict):
        selector["matchLabels"] = {"app": name}
    template = spec.get("template")
    if isinstance(template, dict):
        tmeta = template.get("metadata")
        if isinstance(tmeta, dict):
            tmeta["labels"] = dict(tmeta.get("labels") or {}, app=name)


class Batch:
    """Log events of one cluster's audit stream, as the API server writes them (compact
    JSON), each a sample made into a write of its own."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.n = 0
        self.kind_of = {}  # audit ID -> what the event was made as

    def _uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def event(self, sample, kind, namespace=None, name=None):
        """A copy of `sample` as a new write: `namespace`/`name` (when given), a new audit
        ID, uid and resource version, a session of its own, the next timestamps."""
        e = copy.deepcopy(SAMPLES[sample])
        self.n += 1
        e["auditID"] = self._uuid()
        self.kind_of[e["auditID"]] = kind
        at = BASE_TIME + self.n * 0.004
        e["requestReceivedTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at * 1e6) % 1_000_000:06d}Z"
        done = at + 0.012
        e["stageTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(done)) + f".{int(done * 1e6) % 1_000_000:06d}Z"
        user = e["user"]
        if user["username"].startswith("arn:aws:sts::"):
            person = self.rng.choice(PEOPLE)
            user["username"] = user["username"].rsplit("/", 1)[0] + "/" + person
            extra = user.get("extra") or {}
            if extra.get("arn"):
                extra["arn"] = [user["username"]]
            if extra.get("sessionName"):
                extra["sessionName"] = [person]
        ref = e["objectRef"]
        old_ns, old_name = ref.get("namespace"), ref.get("name")
        if namespace is not None and old_ns is not None:
            ref["namespace"] = namespace
            e["requestURI"] = e["requestURI"].replace(f"/namespaces/{old_ns}/", f"/namespaces/{namespace}/")
        if name is not None:
            ref["name"] = name
            if old_name:
                uri, sep, query = e["requestURI"].partition("?")
                if uri.endswith(f"/{old_name}"):
                    uri = uri[: -len(old_name)] + name
                e["requestURI"] = uri + sep + query
        for key in ("requestObject", "responseObject"):
            obj = e.get(key)
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
                continue
            meta = obj["metadata"]
            if name is not None and "name" in meta:
                meta["name"] = name
            if namespace is not None and "namespace" in meta:
                meta["namespace"] = namespace
            if key == "responseObject":
                if "uid" in meta:
                    meta["uid"] = self._uuid()
                if "resourceVersion" in meta:
                    meta["resourceVersion"] = str(48_300_000 + self.n)
            if name is not None:
                set_labels(obj, ref.get("resource"), name)
        return e

    # Workloads ---------------------------------------------------------------------------

    GOOD = (  # (sample, weight): the samples made safe
        ("deployment-helm-update-good.json", 30), ("deployment-apply-no-probes.json", 10),
        ("deployment-argocd-create.json", 6), ("statefulset-one-replica.json", 6),
        ("daemonset-create.json", 3), ("job-create.json", 10), ("cronjob-create.json", 3),
        ("pod-privileged-create.json", 8))
    BAD = ("deployment-apply-no-probes.json", "deployment-argocd-create.json",
           "statefulset-one-replica.json", "pod-privileged-create.json", "job-create.json",
           "cronjob-create.json", "daemonset-create.json")

    def workload(self, sample, kind, namespace, name, safe):
        e = self.event(sample, kind, namespace, name)
        if safe:
            resource = e["objectRef"]["resource"]
            for key in ("requestObject", "responseObject"):
                make_safe(e.get(key), resource, name, self.rng)
        return e

    def good(self, written):
        """A safe workload write; one in eight writes again one written before (a rollout)."""
        if written and self.rng.random() < 0.125:
            sample, namespace, name = self.rng.choice(written)
        else:
            sample = self.rng.choices([s for s, _ in self.GOOD], [w for _, w in self.GOOD])[0]
            namespace = f"team-{self.rng.randrange(40)}"
            name = f"{self.rng.choice(APPS)}-{self.n}"
            written.append((sample, namespace, name))
        return self.workload(sample, "workload, safe", namespace, name, safe=True)

    def bad(self, i):
        sample = self.BAD[i % len(self.BAD)]
        return self.workload(sample, "workload with findings", f"team-{i % 40}",
                             f"{self.rng.choice(APPS)}-unsafe-{i}", safe=False)

    # Skipped by the function although the filter passes them -----------------------------

    def request_level(self):
        return self.event("deployment-patch-request-level.json", "skipped: Request level (no stored object)",
                          f"team-{self.rng.randrange(40)}", f"{self.rng.choice(APPS)}-{self.n}")

    def ignored_namespace(self):
        return self.event("deployment-apply-no-probes.json", "skipped: kube-system (IGNORED_NAMESPACES)",
                          "kube-system", f"debug-{self.n}")

    def exempt(self):
        e = self.event(self.rng.choice(self.BAD), "skipped: exempt workload",
                       f"team-{self.rng.randrange(40)}", f"legacy-{self.n}")
        for key in ("requestObject", "responseObject"):
            meta = (e.get(key) or {}).get("metadata")
            if isinstance(meta, dict):
                meta["labels"] = dict(meta.get("labels") or {}, **{EXEMPT_KEY: "true"})
        return e

    # RBAC and aws-auth -------------------------------------------------------------------

    def operator(self):
        """An operator's install: a narrow ClusterRole, then its binding to the operator's
        service account (judged with the role just written: no look-up)."""
        role, ns = f"operator-{self.n}", f"operator-{self.n}"
        r = self.event("clusterrole-wildcard.json", "RBAC: narrow ClusterRole", name=role)
        rules = [{"apiGroups": ["", "apps"], "resources": ["pods", "deployments", "configmaps"],
                  "verbs": ["get", "list", "watch", "update", "patch"]}]
        for key in ("requestObject", "responseObject"):
            r[key]["rules"] = rules
        b = self.event("clusterrolebinding-wildcard-role.json", "RBAC: binding to that ClusterRole",
                       name=f"{role}-binding")
        for key in ("requestObject", "responseObject"):
            b[key]["roleRef"]["name"] = role
            b[key]["subjects"] = [{"kind": "ServiceAccount", "name": "operator", "namespace": ns}]
        return [r, b]

    def team_binding(self):
        """A RoleBinding of the built-in `edit` or `view` to a team's group (its ClusterRole is
        looked up in DEDUPE_TABLE: not cluster-admin, not a discovery role)."""
        team = self.rng.randrange(40)
        e = self.event("rolebinding-cluster-admin.json", "RBAC: RoleBinding of edit/view to a team",
                       f"team-{team}", f"team-{team}-{self.n}")
        role = self.rng.choice(("edit", "view"))
        for key in ("requestObject", "responseObject"):
            e[key]["roleRef"]["name"] = role
            e[key]["subjects"] = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": f"team-{team}"}]
        return e

    def admin_binding(self, outsider=False):
        e = self.event("clusterrolebinding-cluster-admin-outsider.json",
                       "RBAC finding: cluster-admin to an outsider" if outsider
                       else "RBAC: cluster-admin to K8S_ADMIN_SUBJECTS", name=f"admins-{self.n}")
        if not outsider:
            for key in ("requestObject", "responseObject"):
                e[key]["subjects"] = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                                       "name": e2e.K8S_ADMIN_SUBJECTS}]
        return e

    def aws_auth(self, masters=False):
        e = self.event("configmap-aws-auth-masters.json",
                       "aws-auth finding: outsiders in system:masters" if masters
                       else "aws-auth: nodes only")
        if not masters:
            for key in ("requestObject", "responseObject"):
                data = e[key]["data"]
                data["mapRoles"] = data["mapRoles"].split("\n- groups:\n  - system:masters")[0] + "\n"
                data.pop("mapUsers", None)
        return e

    def anonymous(self):
        return self.event("clusterrolebinding-anonymous.json",
                          "RBAC finding: bound to system:unauthenticated", name=f"anonymous-{self.n}")

    FILLERS = (("good", 76), ("request_level", 8), ("ignored_namespace", 4), ("exempt", 3),
               ("operator", 1), ("team_binding", 2), ("admin_binding", 0.5), ("aws_auth", 0.2))

    def fillers(self, count):
        """`count` writes with nothing to alert, in the mix of FILLERS."""
        out, written = [], []
        names, weights = zip(*self.FILLERS)
        while len(out) < count:
            kind = self.rng.choices(names, weights)[0]
            made = self.good(written) if kind == "good" else getattr(self, kind)()
            out.extend(made if isinstance(made, list) else [made])
        return out[:count]


def interleave(fillers, specials):
    """`specials` spread evenly through `fillers`, in order."""
    out, step = list(fillers), max(1, len(fillers) // (len(specials) + 1))
    for i, e in enumerate(specials):
        out.insert(min(len(out), (i + 1) * step + i), e)
    return out


# Writes that cost an AWS call although they alert nothing: a ClusterRole is remembered in
# DEDUPE_TABLE (PutItem, or DeleteItem when it does not allow everything); its binding is
# judged with it when both are in the batch, and would look it up (GetItem) without it.
# (Bindings of cluster-admin, the discovery roles and the aggregated admin/edit/view need no
# look-up.)
COSTLY = ("RBAC: narrow ClusterRole", "RBAC: binding to that ClusterRole")


def batches(seed=7):
    """{quiet, safe, realistic}: lists of log events of the same mix, each with as many writes
    as make its gzip TARGET bytes (within SLACK); and the kind of each audit ID. `realistic`
    has ALERTS bad workloads and three RBAC findings spread through it where `safe` has safe
    writes; `quiet` is `safe` with safe workload writes in place of the writes that cost an
    AWS call (COSTLY)."""
    b = Batch(seed)
    specials = [b.bad(i) for i in range(ALERTS)]
    specials += [b.admin_binding(outsider=True), b.anonymous(), b.aws_auth(masters=True)]
    pool = b.fillers(POOL)
    safe_specials = b.fillers(len(specials))
    spare = [b.good([]) for _ in range(POOL // 10)]  # the quiet batch's stand-ins

    def quiet(n):
        stand_ins = iter(spare)
        return [next(stand_ins) if b.kind_of[e["auditID"]] in COSTLY else e
                for e in interleave(pool[:n], safe_specials)]

    made = {
        "quiet": quiet,
        "safe": lambda n: interleave(pool[:n], safe_specials),
        "realistic": lambda n: interleave(pool[:n], specials),
    }
    start = None
    out = {}
    for name, make in made.items():
        n = fit(make, start or 1000)
        start, out[name] = n, make(n)
    return out, b.kind_of


def fit(make, n):
    """The number of fillers whose batch `make(n)` is TARGET gzip bytes, within SLACK (or the
    largest one under TARGET): steps by the size ratio, then bisects."""
    lo = hi = None
    for _ in range(40):
        if n >= POOL:
            sys.exit(f"audit_batch: {POOL} generated writes make less than {TARGET} gzip bytes: raise POOL")
        size = len(gzip_of(make(n), "size-probe"))
        if abs(size - TARGET) <= SLACK:
            return n
        if size < TARGET:
            lo = n if lo is None else max(lo, n)
        else:
            hi = n if hi is None else min(hi, n)
        if lo is not None and hi is not None:
            if hi - lo <= 1:
                return lo
            n = (lo + hi) // 2
        else:
            step = int(n * TARGET / size) - n
            n = max(1, n + (step or (1 if size < TARGET else -1)))
    return lo or n


def document(events, cluster):
    return audit_payload.build_document(events, cluster=cluster, account=audit_payload.DEFAULT_ACCOUNT)


def gzip_of(events, cluster):
    raw = json.dumps(document(events, cluster), separators=(",", ":"), ensure_ascii=False).encode()
    return gzip.compress(raw, mtime=0)


def payload(events, cluster, account):
    """The subscription payload (audit_payload.encode_payload's), and its sizes: the gzip
    data, the JSON document inside it, and the base64 text Lambda receives."""
    doc = audit_payload.build_document(events, cluster=cluster, account=account)
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    encoded = audit_payload.encode_payload(doc)
    data = encoded["awslogs"]["data"]
    return encoded, {"gzip_bytes": len(base64.b64decode(data)), "json_bytes": len(raw),
                     "base64_bytes": len(data)}


def check_filter(events):
    """Every log event passes the template's subscription filter (CloudWatch Logs would not
    deliver it otherwise)."""
    compiled = filter_pattern.compile(e2e.audit_filter_pattern())
    dropped = [e["auditID"] for e in events
               if not compiled.matches(audit_payload.serialize_audit_event(e))]
    if dropped:
        sys.exit(f"audit_batch: {len(dropped)} generated event(s) would not pass the filter, e.g. {dropped[:3]}")


# --------------------------------------------------------------------------- measuring

def utime_stime_ms(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_MS


def measure_case(case, events, sizes, ctx, workdir, binary, deliveries):
    """RUNS processes; each gets `deliveries` copies of the batch (a cluster of its own per
    run), the last one measured."""
    moto_log, runs = workdir / "moto.log", []
    env = e2e.function_env(e2e.AUDIT, "remediate", ctx)
    env["EXEMPT_TAG_KEY"] = EXEMPT_KEY
    for run in range(RUNS):
        event, _ = payload(events, f"bench-batch-{case}-{run}", ctx["account"])
        api = measure.RuntimeApi(FUNCTION)
        proc = measure.spawn(binary, FUNCTION, env, api)
        try:
            api.polled.wait(timeout=30)
            for i in range(deliveries - 1):
                api.invoke(f"{case}-{run}-before-{i}", event, timeout=300)
            calls_before = measure.moto_requests(moto_log)
            cpu_before, ticks_before = measure.cpu_ms(proc.pid), utime_stime_ms(proc.pid)
            wall, kind, out = api.invoke(f"{case}-{run}", event, timeout=300)
            cpu, ticks = measure.cpu_ms(proc.pid) - cpu_before, utime_stime_ms(proc.pid) - ticks_before
            calls = measure.moto_requests(moto_log) - calls_before
            if kind != "response":
                raise RuntimeError(f"{case}: the function failed: {out}")
            statuses = [o["status"] for o in out.get("outcomes", [])]
            runs.append({
                "log_events": len(events),
                "gzip_kib": sizes["gzip_bytes"] / 1024,
                "json_mib": sizes["json_bytes"] / 1024 / 1024,
                "cpu_ms": cpu,
                "utime_stime_ms": ticks,
                "wall_ms": wall,
                **measure.memory(proc.pid),
                "aws_calls": calls,
                "alerts": statuses.count("alert"),
                "outcomes": len(statuses),
            })
        finally:
            measure.stop(proc)
            api.server.shutdown()
    return runs


CASES = (
    ("judge-only", "nothing to alert, no AWS call", "quiet", 1),
    ("no-alerts", "nothing to alert, ClusterRoles kept", "safe", 1),
    ("repeat", "2nd delivery: all already alerted", "realistic", 2),
    ("first", f"1st delivery: {ALERTS} workloads alerted", "realistic", 1),
)


def table(results):
    head = f"{'case':<52}" + "".join(f"{c:>16}" for c in COLUMNS)
    budget = f"{'budget (DESIGN.md)':<52}" + "".join(
        f"{({'gzip_kib': 1024} | BUDGETS).get(c, ''):>16}" for c in COLUMNS)
    lines, over = [head, budget], []
    for case, r in results.items():
        cells = []
        for c in COLUMNS:
            value, limit = r["summary"][c], BUDGETS.get(c)
            mark = " OVER" if limit is not None and value > limit else ""
            if mark:
                over.append(f"{case} {c} {value:.2f} > {limit}")
            cells.append(f"{value:.2f}{mark}" if isinstance(value, float) else f"{value}{mark}")
        lines.append(f"{case + ' (' + r['what'] + ')':<52}" + "".join(f"{cell:>16}" for cell in cells))
    return "\n".join(lines), over


def main():
    binary = measure.release_binary(FUNCTION)
    e2e.log(f"building the batch: sample audit events until the gzip data is {TARGET:,} bytes")
    batches_by_name, kind_of = batches()
    check_filter([e for events in batches_by_name.values() for e in events])
    kinds = {name: dict(collections.Counter(kind_of[e["auditID"]] for e in events).most_common())
             for name, events in batches_by_name.items()}
    workdir = Path(tempfile.mkdtemp(prefix="eks-remediator-bench-audit-"))
    results, composition = {}, {}
    try:
        moto_port = e2e.start_moto(workdir)
        aws = e2e.clients(f"http://127.0.0.1:{moto_port}")
        topic = aws["sns"].create_topic(Name="eks-remediator-bench")["TopicArn"]
        ctx = {"aws": aws, "account": aws["sts"].get_caller_identity()["Account"],
               "moto_port": moto_port, "topic": topic}
        for name, events in batches_by_name.items():
            _, sizes = payload(events, "bench-batch", ctx["account"])
            composition[name] = sizes | {"log_events": len(events)}
        for case, what, batch, deliveries in CASES:
            e2e.log(f"measuring {case} ({what}; {RUNS} runs)")
            events = batches_by_name[batch]
            runs = measure_case(case, events, composition[batch], ctx, workdir, binary, deliveries)
            summary = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            results[case] = {"what": what, "batch": batch, "deliveries": deliveries,
                             "summary": summary, "runs": runs}
    finally:
        e2e.Child.stop_all()
    print(f"audit-workloads, release build: one subscription batch of {TARGET:,} gzip bytes, "
          f"{RUNS} runs per case (medians; cpu and wall in ms, sizes in KiB/MiB)")
    text, over = table(results)
    print(text)
    print(f"cpu_ms: run time of all threads during the event (schedstat, ns); utime_stime_ms: "
          f"the same from /proc/<pid>/stat, in {CLOCK_TICK_MS:.0f} ms ticks; peak memory: VmHWM "
          f"of the process (start-up included)")
    for name, sizes in composition.items():
        print(f"{name} batch: {sizes['log_events']} log events, {sizes['gzip_bytes']:,} bytes of gzip "
              f"({sizes['base64_bytes']:,} in base64), {sizes['json_bytes']:,} bytes of JSON: "
              + ", ".join(f"{n} {k}" for k, n in kinds[name].items()))
    for line in over:
        print(f"OVER BUDGET: {line}")
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": commit, "runs": RUNS,
            "cpus": os.cpu_count(), "budgets": BUDGETS, "target_gzip_bytes": TARGET,
            "alerted_workloads": ALERTS, "batches": composition, "generated": kinds}
    (out / "audit.json").write_text(json.dumps({"meta": meta, "cases": results}, indent=2))


if __name__ == "__main__":
    main()
