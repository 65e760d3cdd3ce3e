//! The trigger of `notify-eks-finding`: a GuardDuty finding about EKS, with the context a
//! responder needs first, read leniently from the finding's `detail`.
//!
//! EKS findings put the cluster in `resource.eksClusterDetails`, the workload and the
//! Kubernetes user in `resource.kubernetesDetails`, the API call and its origin in
//! `service.action.kubernetesApiCallAction`, and runtime activity in `service.runtimeDetails`.
//! Any of these may be missing or `null` (a runtime finding has no Kubernetes user), and
//! retired finding types still arrive, so nothing but the type is required.

use serde_json::Value;

use crate::error::EventError;
use crate::intake::{Finding, Incoming};
use crate::lenient;

/// The finding, as far as a responder needs it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EksFinding {
    pub kind: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub severity: f64,
    /// `service.count`: how many times GuardDuty saw it; more than 1 is a repeat update.
    pub count: i64,
    pub cluster: Option<String>,
    pub cluster_arn: Option<String>,
    pub namespace: Option<String>,
    /// `type/name`, e.g. `pods/web-7d4b9c`.
    pub workload: Option<String>,
    pub images: Vec<String>,
    pub user: Option<String>,
    pub groups: Vec<String>,
    pub remote_ip: Option<String>,
    pub organization: Option<String>,
    /// `verb requestUri` of the Kubernetes API call.
    pub api_call: Option<String>,
    /// The process a runtime finding saw.
    pub process: Option<String>,
    /// The node, for runtime findings.
    pub instance: Option<String>,
}

/// Whether a finding is about EKS: its resource is a cluster, or its type is a Kubernetes,
/// runtime or EKS attack-sequence finding.
pub fn is_eks(kind: &str, resource_type: Option<&str>) -> bool {
    resource_type == Some("EKSCluster")
        || kind.contains(":Kubernetes/")
        || kind.contains(":Runtime/")
        || kind.starts_with("AttackSequence:EKS/")
}

/// The finding in `incoming`, if it is an EKS finding.
pub fn trigger(incoming: &Incoming) -> Result<Option<EksFinding>, EventError> {
    let Incoming::Finding(finding) = incoming else {
        return Ok(None);
    };
    let resource_type = finding
        .detail
        .resource
        .as_ref()
        .and_then(|r| r.resource_type.as_deref());
    if !is_eks(finding.kind(), resource_type) {
        return Ok(None);
    }
    Ok(Some(read(finding)))
}

fn read(finding: &Finding) -> EksFinding {
    let raw = &finding.raw;
    let at = |pointer: &str| text(raw.pointer(pointer));
    let k8s = "/resource/kubernetesDetails";
    let workload = format!("{k8s}/kubernetesWorkloadDetails");
    let call = "/service/action/kubernetesApiCallAction";
    let org = |field: &str| at(&format!("{call}/remoteIpDetails/organization/{field}"));
    let images = lenient::values(raw.pointer(&format!("{workload}/containers")))
        .iter()
        .filter_map(|c| text(c.get("image")))
        .collect();
    let organization = org("asnOrg")
        .or_else(|| org("org"))
        .or_else(|| org("isp"))
        .map(|name| match org("asn") {
            Some(asn) => format!("{name} (AS{asn})"),
            None => name,
        });
    let api_call = match (
        at(&format!("{call}/verb")),
        at(&format!("{call}/requestUri")),
    ) {
        (Some(verb), Some(uri)) => Some(format!("{verb} {uri}")),
        (verb, uri) => verb.or(uri),
    };
    let process = at("/service/runtimeDetails/process/executablePath")
        .or_else(|| at("/service/runtimeDetails/process/name"));
    EksFinding {
        kind: finding.kind().to_owned(),
        id: finding.detail.id.clone(),
        title: at("/title"),
        severity: finding.severity(),
        count: raw
            .pointer("/service/count")
            .and_then(|c| {
                c.as_i64()
                    .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(1),
        cluster: at("/resource/eksClusterDetails/name"),
        cluster_arn: at("/resource/eksClusterDetails/arn"),
        namespace: at(&format!("{workload}/namespace")),
        workload: at(&format!("{workload}/name")).map(|name| {
            match at(&format!("{workload}/type")) {
                Some(kind) => format!("{kind}/{name}"),
                None => name,
            }
        }),
        images,
        user: at(&format!("{k8s}/kubernetesUserDetails/username")),
        groups: lenient::values(raw.pointer(&format!("{k8s}/kubernetesUserDetails/groups")))
            .iter()
            .filter_map(|g| text(Some(g)))
            .collect(),
        remote_ip: at(&format!("{call}/remoteIpDetails/ipAddressV4"))
            .or_else(|| {
                lenient::values(raw.pointer(&format!("{call}/sourceIps")))
                    .first()
                    .and_then(|ip| text(Some(ip)))
            })
            .or_else(|| {
                lenient::values(raw.pointer(&format!("{call}/sourceIPs")))
                    .first()
                    .and_then(|ip| text(Some(ip)))
            }),
        organization,
        api_call,
        process,
        instance: finding.instance_id().map(str::to_owned),
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::parse;
    use serde_json::json;

    fn finding(detail: Value) -> Option<EksFinding> {
        let event = json!({"detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": "123456789012", "region": "us-east-1", "detail": detail});
        trigger(&parse(event).unwrap()).unwrap()
    }

    #[test]
    fn eks_findings_are_recognised_by_resource_or_type() {
        for (kind, resource) in [
            ("Policy:Kubernetes/AnonymousAccessGranted", "EKSCluster"),
            ("Execution:Runtime/ReverseShell", "Instance"),
            ("AttackSequence:EKS/CompromisedCluster", "EKSCluster"),
            ("Discovery:S3/SomethingNew", "EKSCluster"),
        ] {
            assert!(
                finding(json!({"type": kind, "resource": {"resourceType": resource}})).is_some(),
                "{kind}"
            );
        }
        assert!(finding(json!({"type": "Backdoor:EC2/C&CActivity.B!DNS",
            "resource": {"resourceType": "Instance"}}))
        .is_none());
    }

    #[test]
    fn the_responder_context_is_read_and_nulls_are_fine() {
        let f = finding(json!({"type": "PrivilegeEscalation:Kubernetes/PrivilegedContainer",
            "id": "abc", "severity": 5, "title": "Privileged container",
            "resource": {"resourceType": "EKSCluster",
                "eksClusterDetails": {"name": "prod", "arn": "arn:aws:eks:us-east-1:1:cluster/prod"},
                "kubernetesDetails": {
                    "kubernetesUserDetails": {"username": "dev", "groups": ["system:authenticated"]},
                    "kubernetesWorkloadDetails": {"name": "web", "type": "pods", "namespace": "shop",
                        "containers": [{"image": "repo/web:1"}, {"image": null}]}}},
            "service": {"count": "3", "action": {"kubernetesApiCallAction": {
                "verb": "create", "requestUri": "/api/v1/namespaces/shop/pods",
                "remoteIpDetails": {"ipAddressV4": "203.0.113.10",
                    "organization": {"asn": 64496, "asnOrg": "Example Networks"}}}}}}))
        .unwrap();
        assert_eq!(f.cluster.as_deref(), Some("prod"));
        assert_eq!(f.workload.as_deref(), Some("pods/web"));
        assert_eq!(f.namespace.as_deref(), Some("shop"));
        assert_eq!(f.images, ["repo/web:1"]);
        assert_eq!(f.groups, ["system:authenticated"]);
        assert_eq!(
            f.organization.as_deref(),
            Some("Example Networks (AS64496)")
        );
        assert_eq!(
            f.api_call.as_deref(),
            Some("create /api/v1/namespaces/shop/pods")
        );
        assert_eq!(f.count, 3);

        let bare = finding(json!({"type": "Execution:Runtime/NewBinaryExecuted",
            "resource": {"kubernetesDetails": null, "eksClusterDetails": "oops"},
            "service": {"count": null}}))
        .unwrap();
        assert_eq!(bare.cluster, None);
        assert_eq!(bare.user, None);
        assert_eq!(bare.count, 1);
    }
}
