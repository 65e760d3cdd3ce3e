//! EKS nodes as `harden-nodes` judges them: an instance's metadata options, the tags that
//! make an instance a node, launch templates and the subnets node groups run in.
//!
//! Every pod on a node can reach the instance metadata service unless IMDSv2 is required and
//! the hop limit keeps the token's answer from crossing into the pod's network namespace, and
//! through it the node role's credentials (EKS best practices, "Restrict access to the
//! instance profile assigned to the worker node").

use std::collections::BTreeSet;

use super::Tags;

/// The most hops any pod needs: one from the node to the container's network namespace and
/// back (AWS: "In a container environment, we recommend setting the hop limit to 2").
pub const CONTAINER_HOP_LIMIT: i32 = 2;

/// An instance's or a launch template's metadata options (EC2 `InstanceMetadataOptions`).
/// A field that is `None` was not set: on an instance EC2 always reports them, in a launch
/// template they fall back to the AMI's and the account's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataOptions {
    /// `required` (IMDSv2 only) or `optional` (IMDSv1 too).
    pub http_tokens: Option<String>,
    pub hop_limit: Option<i32>,
    /// `enabled` or `disabled`: with the endpoint off there is no metadata to steal.
    pub http_endpoint: Option<String>,
    pub http_protocol_ipv6: Option<String>,
    pub instance_metadata_tags: Option<String>,
}

impl MetadataOptions {
    /// Whether only IMDSv2 is answered.
    pub fn tokens_required(&self) -> bool {
        self.http_tokens
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("required"))
    }

    /// Whether the metadata endpoint is switched off (then nothing can be read from it).
    pub fn endpoint_disabled(&self) -> bool {
        self.http_endpoint
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("disabled"))
    }

    /// `HttpTokens` as people read it, `not set` when it is not.
    pub fn tokens_label(&self) -> &str {
        self.http_tokens.as_deref().unwrap_or("not set")
    }
}

/// An EC2 instance, with what `harden-nodes` reads of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    /// `running`, `pending`, `terminated`, ...
    pub state: Option<String>,
    pub tags: Tags,
    pub metadata: MetadataOptions,
}

impl Instance {
    /// Whether the instance is on its way out or gone: nothing to harden.
    pub fn is_gone(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("shutting-down" | "terminated" | "stopping" | "stopped")
        )
    }
}

/// What makes an instance (or a launch template) an EKS node's: the tags EKS, its managed
/// node groups and Karpenter put on them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSign {
    pub cluster: Option<String>,
    pub nodegroup: Option<String>,
    /// Karpenter's node pool.
    pub nodepool: Option<String>,
}

impl NodeSign {
    /// The instance's place, for findings: `cluster prod, node group ng-1`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.cluster {
            parts.push(format!("cluster {c}"));
        }
        if let Some(n) = &self.nodegroup {
            parts.push(format!("node group {n}"));
        }
        if let Some(p) = &self.nodepool {
            parts.push(format!("Karpenter node pool {p}"));
        }
        if parts.is_empty() {
            "an EKS node".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// Tags whose value names the cluster.
const CLUSTER_NAME_TAGS: &[&str] = &[
    "eks:cluster-name",
    "aws:eks:cluster-name",
    "eks:eks-cluster-name",
    "karpenter.k8s.aws/cluster",
];
/// The tag whose key names the cluster (`kubernetes.io/cluster/<name>`: `owned` or `shared`).
const CLUSTER_KEY_PREFIX: &str = "kubernetes.io/cluster/";
const NODEGROUP_TAG: &str = "eks:nodegroup-name";
const NODEPOOL_TAG: &str = "karpenter.sh/nodepool";

/// Why `tags` belong to an EKS node, or `None` when they do not.
pub fn node_sign(tags: &Tags) -> Option<NodeSign> {
    let named = |key: &str| tags.get(key).filter(|v| !v.is_empty()).cloned();
    let cluster = CLUSTER_NAME_TAGS.iter().find_map(|k| named(k)).or_else(|| {
        tags.keys()
            .find_map(|k| k.strip_prefix(CLUSTER_KEY_PREFIX))
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
    });
    let sign = NodeSign {
        cluster,
        nodegroup: named(NODEGROUP_TAG),
        nodepool: named(NODEPOOL_TAG),
    };
    (sign != NodeSign::default()).then_some(sign)
}

/// A launch template, as `DescribeLaunchTemplates` gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaunchTemplate {
    pub id: String,
    pub name: Option<String>,
    pub default_version: Option<i64>,
    pub latest_version: Option<i64>,
    pub tags: Tags,
}

/// One version of a launch template, with what `harden-nodes` reads of its data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaunchTemplateVersion {
    pub template_id: String,
    pub template_name: Option<String>,
    pub version: i64,
    /// `None` when the version sets no metadata options at all.
    pub metadata: Option<MetadataOptions>,
    /// The tags it gives the instances it launches.
    pub instance_tags: Tags,
}

/// A launch template as a node group names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaunchTemplateRef {
    pub id: Option<String>,
    pub name: Option<String>,
    /// A version number, `$Default` or `$Latest`; `None`: the default version.
    pub version: Option<String>,
}

/// A subnet, with what decides whether nodes in it are reachable from the internet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub availability_zone: Option<String>,
    /// Instances launched here get a public IPv4 address.
    pub map_public_ip: bool,
    /// The internet gateway its route table sends `0.0.0.0/0` or `::/0` to, if any.
    pub internet_gateway: Option<String>,
}

/// The Availability Zones of `subnets`, each once.
pub fn zones(subnets: &[Subnet]) -> BTreeSet<&str> {
    subnets
        .iter()
        .filter_map(|s| s.availability_zone.as_deref())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn managed_node_group_karpenter_and_self_managed_nodes_are_recognised() {
        let managed = node_sign(&tags(&[
            ("eks:cluster-name", "prod"),
            ("eks:nodegroup-name", "ng-1"),
        ]))
        .unwrap();
        assert_eq!(managed.describe(), "cluster prod, node group ng-1");
        let karpenter = node_sign(&tags(&[
            ("karpenter.sh/nodepool", "default"),
            ("kubernetes.io/cluster/prod", "owned"),
        ]))
        .unwrap();
        assert_eq!(karpenter.cluster.as_deref(), Some("prod"));
        assert_eq!(karpenter.nodepool.as_deref(), Some("default"));
        let self_managed = node_sign(&tags(&[("kubernetes.io/cluster/dev", "shared")])).unwrap();
        assert_eq!(self_managed.describe(), "cluster dev");
    }

    #[test]
    fn other_instances_are_not_nodes() {
        assert_eq!(node_sign(&tags(&[("Name", "bastion")])), None);
        assert_eq!(node_sign(&tags(&[("eks:cluster-name", "")])), None);
        assert_eq!(
            node_sign(&tags(&[("kubernetes.io/cluster/", "owned")])),
            None
        );
        assert_eq!(node_sign(&Tags::new()), None);
    }

    #[test]
    fn tokens_and_endpoint_are_read_in_any_case() {
        let m = MetadataOptions {
            http_tokens: Some("Required".into()),
            http_endpoint: Some("DISABLED".into()),
            ..MetadataOptions::default()
        };
        assert!(m.tokens_required() && m.endpoint_disabled());
        assert!(!MetadataOptions::default().tokens_required());
        assert_eq!(MetadataOptions::default().tokens_label(), "not set");
    }
}
