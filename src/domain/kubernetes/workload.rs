//! Workloads and what the EKS best practices (reliability and pod security) ask of them:
//! probes, requests and a memory limit, replicas spread over nodes and zones, no privileged
//! or host-namespace pods, and images that name a version.
//!
//! Each finding carries the YAML that fixes it, because the function changes nothing in the
//! cluster: the alert is the fix, and it must be one a person can paste.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{or_default, ObjectMeta};

/// The kinds of workload judged, by their API resource name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Pod,
    Job,
    CronJob,
}

impl WorkloadKind {
    /// The kind behind an audit event's `objectRef.resource`, if it is a workload.
    pub fn from_resource(resource: &str) -> Option<WorkloadKind> {
        Some(match resource {
            "deployments" => WorkloadKind::Deployment,
            "statefulsets" => WorkloadKind::StatefulSet,
            "daemonsets" => WorkloadKind::DaemonSet,
            "pods" => WorkloadKind::Pod,
            "jobs" => WorkloadKind::Job,
            "cronjobs" => WorkloadKind::CronJob,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Pod => "Pod",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
        }
    }

    /// Where the pod spec lives in this kind's manifest, for the fixes' YAML paths.
    fn pod_path(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "spec",
            WorkloadKind::CronJob => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        }
    }

    /// Whether its pods are meant to run until stopped (probes make sense), not to finish.
    fn is_long_running(self) -> bool {
        !matches!(self, WorkloadKind::Job | WorkloadKind::CronJob)
    }

    /// Whether `spec.replicas` says how many copies run (a DaemonSet runs one per node).
    fn has_replicas(self) -> bool {
        matches!(self, WorkloadKind::Deployment | WorkloadKind::StatefulSet)
    }

    /// The `kubectl` name of the resource.
    pub fn resource(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
            WorkloadKind::Pod => "pod",
            WorkloadKind::Job => "job",
            WorkloadKind::CronJob => "cronjob",
        }
    }
}

/// A workload as stored: its metadata, replica count and pod spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub meta: ObjectMeta,
    /// `spec.replicas`, for kinds that have it; the API server fills in 1 when unset.
    pub replicas: Option<i64>,
    pub pod: PodSpec,
}

#[derive(Deserialize)]
#[serde(bound = "S: Deserialize<'de> + Default")]
struct Manifest<S> {
    #[serde(default, deserialize_with = "or_default")]
    metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    spec: S,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ControllerSpec {
    replicas: Option<i64>,
    #[serde(deserialize_with = "or_default")]
    template: PodTemplate,
    #[serde(deserialize_with = "or_default")]
    job_template: JobTemplate,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct PodTemplate {
    #[serde(deserialize_with = "or_default")]
    spec: PodSpec,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct JobTemplate {
    #[serde(deserialize_with = "or_default")]
    spec: JobSpec,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct JobSpec {
    #[serde(deserialize_with = "or_default")]
    template: PodTemplate,
}

/// The parts of a pod spec the checks read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(deserialize_with = "or_default")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "or_default")]
    pub init_containers: Vec<Container>,
    #[serde(deserialize_with = "or_default")]
    pub host_network: bool,
    #[serde(rename = "hostPID", deserialize_with = "or_default")]
    pub host_pid: bool,
    #[serde(rename = "hostIPC", deserialize_with = "or_default")]
    pub host_ipc: bool,
    #[serde(deserialize_with = "or_default")]
    pub volumes: Vec<Volume>,
    #[serde(deserialize_with = "or_default")]
    pub affinity: Affinity,
    #[serde(deserialize_with = "or_default")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    pub readiness_probe: Option<IgnoredAny>,
    pub liveness_probe: Option<IgnoredAny>,
    #[serde(deserialize_with = "or_default")]
    pub resources: Resources,
    #[serde(deserialize_with = "or_default")]
    pub security_context: SecurityContext,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Resources {
    #[serde(deserialize_with = "or_default")]
    pub requests: BTreeMap<String, IgnoredAny>,
    #[serde(deserialize_with = "or_default")]
    pub limits: BTreeMap<String, IgnoredAny>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityContext {
    pub privileged: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    pub host_path: Option<IgnoredAny>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Affinity {
    pub pod_anti_affinity: Option<PodAntiAffinity>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct PodAntiAffinity {
    #[serde(
        rename = "requiredDuringSchedulingIgnoredDuringExecution",
        deserialize_with = "or_default"
    )]
    pub required: Vec<IgnoredAny>,
    #[serde(
        rename = "preferredDuringSchedulingIgnoredDuringExecution",
        deserialize_with = "or_default"
    )]
    pub preferred: Vec<IgnoredAny>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct TopologySpreadConstraint {
    pub topology_key: String,
}

/// The topology keys that spread replicas over failure domains: nodes and zones.
pub const SPREAD_KEYS: &[&str] = &["kubernetes.io/hostname", "topology.kubernetes.io/zone"];

impl Workload {
    /// Reads the stored object of a workload of `kind`.
    pub fn parse(kind: WorkloadKind, json: &str) -> Result<Workload, serde_json::Error> {
        if kind == WorkloadKind::Pod {
            let m: Manifest<PodSpec> = serde_json::from_str(json)?;
            return Ok(Workload {
                kind,
                meta: m.metadata,
                replicas: None,
                pod: m.spec,
            });
        }
        let m: Manifest<ControllerSpec> = serde_json::from_str(json)?;
        let pod = if kind == WorkloadKind::CronJob {
            m.spec.job_template.spec.template.spec
        } else {
            m.spec.template.spec
        };
        Ok(Workload {
            kind,
            meta: m.metadata,
            replicas: if kind.has_replicas() {
                Some(m.spec.replicas.unwrap_or(1))
            } else {
                None
            },
            pod,
        })
    }

    fn is_spread(&self) -> bool {
        let anti = self
            .pod
            .affinity
            .pod_anti_affinity
            .as_ref()
            .is_some_and(|a| !a.required.is_empty() || !a.preferred.is_empty());
        anti || self
            .pod
            .topology_spread_constraints
            .iter()
            .any(|c| SPREAD_KEYS.contains(&c.topology_key.as_str()))
    }

    /// Everything the best practices ask that this workload lacks, in a stable order.
    pub fn findings(&self) -> Vec<Finding> {
        let mut found = Vec::new();
        let long_running = self.kind.is_long_running();
        for c in &self.pod.containers {
            let name = || c.name.clone();
            if long_running && c.readiness_probe.is_none() {
                found.push(Finding::NoReadinessProbe(name()));
            }
            if long_running && c.liveness_probe.is_none() {
                found.push(Finding::NoLivenessProbe(name()));
            }
            if !c.resources.requests.contains_key("cpu") {
                found.push(Finding::NoCpuRequest(name()));
            }
            if !c.resources.requests.contains_key("memory") {
                found.push(Finding::NoMemoryRequest(name()));
            }
            if !c.resources.limits.contains_key("memory") {
                found.push(Finding::NoMemoryLimit(name()));
            }
        }
        match self.replicas {
            Some(1) => found.push(Finding::SingleReplica),
            Some(n) if n > 1 && !self.is_spread() => found.push(Finding::NotSpread(n)),
            _ => {}
        }
        for (flag, field) in [
            (self.pod.host_network, "hostNetwork"),
            (self.pod.host_pid, "hostPID"),
            (self.pod.host_ipc, "hostIPC"),
        ] {
            if flag {
                found.push(Finding::HostNamespace(field));
            }
        }
        for v in &self.pod.volumes {
            if v.host_path.is_some() {
                found.push(Finding::HostPath(v.name.clone()));
            }
        }
        for c in self.pod.init_containers.iter().chain(&self.pod.containers) {
            if c.security_context.privileged == Some(true) {
                found.push(Finding::Privileged(c.name.clone()));
            }
            if c.security_context.allow_privilege_escalation != Some(false) {
                found.push(Finding::PrivilegeEscalation(c.name.clone()));
            }
            if is_mutable_image(&c.image) {
                found.push(Finding::MutableImage {
                    container: c.name.clone(),
                    image: c.image.clone(),
                });
            }
        }
        found
    }
}

/// An image reference that does not pin what runs: no tag (which means `latest`) or `latest`
/// itself. A digest pins it whatever the tag says.
pub fn is_mutable_image(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => true,
        Some((_, tag)) => tag.is_empty() || tag == "latest",
    }
}

/// One thing a workload lacks or should not have.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    NoReadinessProbe(String),
    NoLivenessProbe(String),
    NoCpuRequest(String),
    NoMemoryRequest(String),
    NoMemoryLimit(String),
    /// Replicas, none of them kept apart.
    NotSpread(i64),
    SingleReplica,
    /// `hostNetwork`, `hostPID` or `hostIPC`.
    HostNamespace(&'static str),
    /// A `hostPath` volume, by name.
    HostPath(String),
    Privileged(String),
    PrivilegeEscalation(String),
    MutableImage {
        container: String,
        image: String,
    },
}

impl Finding {
    /// A short stable code, e.g. `no-readiness-probe:web`, for the dedupe key.
    pub fn code(&self) -> String {
        match self {
            Finding::NoReadinessProbe(c) => format!("no-readiness-probe:{c}"),
            Finding::NoLivenessProbe(c) => format!("no-liveness-probe:{c}"),
            Finding::NoCpuRequest(c) => format!("no-cpu-request:{c}"),
            Finding::NoMemoryRequest(c) => format!("no-memory-request:{c}"),
            Finding::NoMemoryLimit(c) => format!("no-memory-limit:{c}"),
            Finding::NotSpread(_) => "not-spread".to_owned(),
            Finding::SingleReplica => "single-replica".to_owned(),
            Finding::HostNamespace(f) => format!("host-namespace:{f}"),
            Finding::HostPath(v) => format!("host-path:{v}"),
            Finding::Privileged(c) => format!("privileged:{c}"),
            Finding::PrivilegeEscalation(c) => format!("privilege-escalation:{c}"),
            Finding::MutableImage { container, image } => {
                format!("mutable-image:{container}:{image}")
            }
        }
    }

    /// What is wrong, in words.
    pub fn describe(&self) -> String {
        match self {
            Finding::NoReadinessProbe(c) => format!("container {c} has no readiness probe"),
            Finding::NoLivenessProbe(c) => format!("container {c} has no liveness probe"),
            Finding::NoCpuRequest(c) => format!("container {c} has no CPU request"),
            Finding::NoMemoryRequest(c) => format!("container {c} has no memory request"),
            Finding::NoMemoryLimit(c) => format!("container {c} has no memory limit"),
            Finding::NotSpread(n) => format!(
                "{n} replicas with neither pod anti-affinity nor a topology spread constraint on nodes or zones"
            ),
            Finding::SingleReplica => "one replica: any node drain or failure stops it".to_owned(),
            Finding::HostNamespace(f) => format!("{f}: true shares the node's namespace"),
            Finding::HostPath(v) => format!("volume {v} mounts a path of the node (hostPath)"),
            Finding::Privileged(c) => format!("container {c} is privileged"),
            Finding::PrivilegeEscalation(c) => {
                format!("container {c} does not set allowPrivilegeEscalation: false")
            }
            Finding::MutableImage { container, image } => {
                format!("container {container} runs {image:?}, which names no version")
            }
        }
    }

    /// The YAML that fixes it, with where it goes in a manifest of `kind`.
    pub fn fix(&self, kind: WorkloadKind) -> String {
        let pod = kind.pod_path();
        let at = |c: &str| format!("{pod}.containers[name={c}]");
        match self {
            Finding::NoReadinessProbe(c) => format!(
                "{}:\n  readinessProbe:\n    httpGet: {{path: /ready, port: 8080}}\n    periodSeconds: 10",
                at(c)
            ),
            Finding::NoLivenessProbe(c) => format!(
                "{}:\n  livenessProbe:\n    httpGet: {{path: /healthz, port: 8080}}\n    periodSeconds: 10\n    failureThreshold: 3",
                at(c)
            ),
            Finding::NoCpuRequest(c) => {
                format!("{}:\n  resources:\n    requests:\n      cpu: 250m", at(c))
            }
            Finding::NoMemoryRequest(c) => {
                format!("{}:\n  resources:\n    requests:\n      memory: 256Mi", at(c))
            }
            Finding::NoMemoryLimit(c) => format!(
                "{}:\n  resources:\n    limits:\n      memory: 256Mi   # the same as the request",
                at(c)
            ),
            Finding::NotSpread(_) => format!(
                "{pod}:\n  topologySpreadConstraints:\n    - maxSkew: 1\n      topologyKey: topology.kubernetes.io/zone\n      whenUnsatisfiable: ScheduleAnyway\n      labelSelector: {{matchLabels: <the pod labels>}}\n    - maxSkew: 1\n      topologyKey: kubernetes.io/hostname\n      whenUnsatisfiable: ScheduleAnyway\n      labelSelector: {{matchLabels: <the pod labels>}}"
            ),
            Finding::SingleReplica => "spec:\n  replicas: 2   # or more, spread over zones".to_owned(),
            Finding::HostNamespace(f) => format!("{pod}:\n  {f}: false   # or remove it"),
            Finding::HostPath(v) => format!(
                "{pod}.volumes[name={v}]:\n  emptyDir: {{}}   # or a persistentVolumeClaim, instead of hostPath"
            ),
            Finding::Privileged(c) => {
                format!("{}:\n  securityContext:\n    privileged: false", at(c))
            }
            Finding::PrivilegeEscalation(c) => format!(
                "{}:\n  securityContext:\n    allowPrivilegeEscalation: false",
                at(c)
            ),
            Finding::MutableImage { container, image } => format!(
                "{}:\n  image: {}:<version>   # or @sha256:<digest>",
                at(container),
                image.rsplit_once(':').filter(|(_, t)| !t.contains('/')).map_or(image.as_str(), |(repo, _)| repo)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(spec: &str) -> Workload {
        let json = format!(
            r#"{{"kind":"Deployment","metadata":{{"name":"web","namespace":"shop"}},"spec":{spec}}}"#
        );
        Workload::parse(WorkloadKind::Deployment, &json).unwrap()
    }

    const GOOD_CONTAINER: &str = r#"{"name":"web","image":"nginx:1.27.3",
        "readinessProbe":{"httpGet":{"path":"/","port":80}},"livenessProbe":{"tcpSocket":{"port":80}},
        "resources":{"requests":{"cpu":"250m","memory":"128Mi"},"limits":{"memory":"128Mi"}},
        "securityContext":{"allowPrivilegeEscalation":false}}"#;

    #[test]
    fn a_workload_with_everything_in_place_has_no_findings() {
        let w = deployment(&format!(
            r#"{{"replicas":3,"template":{{"spec":{{"containers":[{GOOD_CONTAINER}],
            "topologySpreadConstraints":[{{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone"}}]}}}}}}"#
        ));
        assert_eq!(w.findings(), vec![]);
    }

    #[test]
    fn a_bare_deployment_lacks_probes_resources_spread_and_a_pinned_image() {
        let w = deployment(
            r#"{"replicas":3,"template":{"spec":{"containers":[{"name":"web","image":"nginx"}]}}}"#,
        );
        let codes: Vec<String> = w.findings().iter().map(Finding::code).collect();
        assert_eq!(
            codes,
            [
                "no-readiness-probe:web",
                "no-liveness-probe:web",
                "no-cpu-request:web",
                "no-memory-request:web",
                "no-memory-limit:web",
                "not-spread",
                "privilege-escalation:web",
                "mutable-image:web:nginx",
            ]
        );
    }

    #[test]
    fn replicas_one_or_unset_is_a_single_replica_and_zero_is_nothing() {
        let one = deployment(&format!(
            r#"{{"replicas":1,"template":{{"spec":{{"containers":[{GOOD_CONTAINER}]}}}}}}"#
        ));
        assert_eq!(one.findings(), vec![Finding::SingleReplica]);
        let unset = deployment(&format!(
            r#"{{"template":{{"spec":{{"containers":[{GOOD_CONTAINER}]}}}}}}"#
        ));
        assert_eq!(unset.findings(), vec![Finding::SingleReplica]);
        let zero = deployment(&format!(
            r#"{{"replicas":0,"template":{{"spec":{{"containers":[{GOOD_CONTAINER}]}}}}}}"#
        ));
        assert_eq!(zero.findings(), vec![]);
    }

    #[test]
    fn anti_affinity_counts_as_spread_but_a_custom_topology_key_does_not() {
        let anti = deployment(&format!(
            r#"{{"replicas":2,"template":{{"spec":{{"containers":[{GOOD_CONTAINER}],
            "affinity":{{"podAntiAffinity":{{"preferredDuringSchedulingIgnoredDuringExecution":[{{"weight":100}}]}}}}}}}}}}"#
        ));
        assert_eq!(anti.findings(), vec![]);
        let custom = deployment(&format!(
            r#"{{"replicas":2,"template":{{"spec":{{"containers":[{GOOD_CONTAINER}],
            "topologySpreadConstraints":[{{"topologyKey":"example.com/rack"}}]}}}}}}"#
        ));
        assert_eq!(custom.findings(), vec![Finding::NotSpread(2)]);
    }

    #[test]
    fn jobs_need_no_probes_and_cronjobs_are_read_through_their_job_template() {
        let json = r#"{"metadata":{"name":"nightly"},"spec":{"jobTemplate":{"spec":{"template":{"spec":
            {"containers":[{"name":"task","image":"repo/task:2.0","securityContext":{"allowPrivilegeEscalation":false},
            "resources":{"requests":{"cpu":1,"memory":"1Gi"},"limits":{"memory":"1Gi"}}}]}}}}}}"#;
        let cron = Workload::parse(WorkloadKind::CronJob, json).unwrap();
        assert_eq!(cron.pod.containers.len(), 1);
        assert_eq!(cron.replicas, None);
        assert_eq!(cron.findings(), vec![]);
    }

    #[test]
    fn a_privileged_host_pod_is_reported_in_every_respect() {
        let json = r#"{"metadata":{"name":"debug","namespace":"tools"},"spec":{"hostNetwork":true,"hostPID":true,
            "volumes":[{"name":"root","hostPath":{"path":"/"}},{"name":"tmp","emptyDir":{}}],
            "initContainers":null,
            "containers":[{"name":"sh","image":"registry.local:5000/busybox","securityContext":{"privileged":true}}]}}"#;
        let pod = Workload::parse(WorkloadKind::Pod, json).unwrap();
        let found = pod.findings();
        for expected in [
            Finding::HostNamespace("hostNetwork"),
            Finding::HostNamespace("hostPID"),
            Finding::HostPath("root".into()),
            Finding::Privileged("sh".into()),
            Finding::PrivilegeEscalation("sh".into()),
            Finding::MutableImage {
                container: "sh".into(),
                image: "registry.local:5000/busybox".into(),
            },
        ] {
            assert!(found.contains(&expected), "{expected:?} in {found:?}");
        }
        assert!(!found.contains(&Finding::HostPath("tmp".into())));
        assert!(!found.contains(&Finding::HostNamespace("hostIPC")));
        assert!(!found
            .iter()
            .any(|f| matches!(f, Finding::SingleReplica | Finding::NotSpread(_))));
    }

    #[test]
    fn images_pinned_by_tag_or_digest_are_not_mutable() {
        for pinned in [
            "nginx:1.27",
            "registry.local:5000/app:v2",
            "app@sha256:abc",
            "app:latest@sha256:abc",
        ] {
            assert!(!is_mutable_image(pinned), "{pinned}");
        }
        for mutable in [
            "nginx",
            "nginx:latest",
            "registry.local:5000/app",
            "app:",
            "",
        ] {
            assert!(is_mutable_image(mutable), "{mutable}");
        }
    }

    #[test]
    fn fixes_name_the_path_of_the_kind_and_the_image_without_its_tag() {
        let f = Finding::NoReadinessProbe("web".into());
        assert!(f
            .fix(WorkloadKind::Deployment)
            .starts_with("spec.template.spec.containers[name=web]:"));
        assert!(f
            .fix(WorkloadKind::Pod)
            .starts_with("spec.containers[name=web]:"));
        let image = Finding::MutableImage {
            container: "app".into(),
            image: "registry.local:5000/app:latest".into(),
        };
        assert!(
            image
                .fix(WorkloadKind::Job)
                .contains("image: registry.local:5000/app:<version>"),
            "{}",
            image.fix(WorkloadKind::Job)
        );
        let bare = Finding::MutableImage {
            container: "app".into(),
            image: "registry.local:5000/app".into(),
        };
        assert!(bare
            .fix(WorkloadKind::Job)
            .contains("image: registry.local:5000/app:<version>"));
    }

    #[test]
    fn a_manifest_of_the_wrong_shape_is_an_error_not_a_panic() {
        assert!(
            Workload::parse(WorkloadKind::Deployment, r#"{"spec":{"replicas":"three"}}"#).is_err()
        );
        assert!(Workload::parse(WorkloadKind::Pod, r#"{"spec":{"containers":{}}}"#).is_err());
        assert!(Workload::parse(WorkloadKind::Pod, "\"text\"").is_err());
    }
}
