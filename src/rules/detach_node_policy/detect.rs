//! Pure decisions of `detach-node-policy`: which policies are never touched, which AWS managed
//! policies are admin-level by name, what makes a role a node role, and whether a document is
//! over-broad.

use crate::aws::eks::NodegroupRole;
use crate::aws::iam::RoleSummary;
use crate::domain::policy::{trusted_services, PolicyDocument};
use crate::domain::Tags;
use crate::settings::Settings;

/// AWS managed policies a node needs (EKS best practices); never detached.
pub const BASELINE: &[&str] = &[
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKSWorkerNodeMinimalPolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
    "CloudWatchAgentServerPolicy",
];

/// AWS managed policies whose reach is admin-level or service-wide over a sensitive service,
/// detached from node roles by name, without reading their documents. Other AWS managed
/// policies are judged by their documents like customer-managed ones.
pub const ADMIN_LEVEL: &[&str] = &[
    "AdministratorAccess",
    "PowerUserAccess",
    "IAMFullAccess",
    "AWSOrganizationsFullAccess",
    "AmazonEC2FullAccess",
    "AmazonVPCFullAccess",
    "AmazonS3FullAccess",
    "AmazonDynamoDBFullAccess",
    "AmazonRDSFullAccess",
    "AWSLambda_FullAccess",
    "AmazonSSMFullAccess",
    "SecretsManagerReadWrite",
    "AWSKeyManagementServicePowerUser",
    "AWSCloudFormationFullAccess",
    "AWSCloudTrail_FullAccess",
    "AmazonGuardDutyFullAccess",
    "AmazonEC2ContainerRegistryFullAccess",
    "AmazonEC2ContainerRegistryPowerUser",
    "AmazonEKSClusterPolicy",
];

/// AWS managed policies that only node roles carry.
pub const WORKER_NODE_POLICIES: &[&str] = &[
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKSWorkerNodeMinimalPolicy",
];

/// Tag keys that mark a role as a node role: eksctl's, EKS's, and ours (value `true`) for
/// roles nothing else identifies, such as Karpenter's.
pub const NODE_ROLE_TAGS: &[&str] = &["alpha.eksctl.io/nodegroup-name", "eks:nodegroup-name"];
pub const NODE_ROLE_MARK: &str = "eks-remediator:node-role";

/// The name of an AWS managed policy (`arn:<partition>:iam::aws:policy/<path>/<name>`).
pub fn aws_managed_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let path = rest.strip_prefix("iam::aws:policy/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// Whether a managed policy is never touched: an EKS baseline policy or allow-listed.
pub fn is_protected(arn: &str, settings: &Settings) -> bool {
    settings.node_policy_allowlist.iter().any(|a| a == arn)
        || aws_managed_name(arn).is_some_and(|n| BASELINE.contains(&n))
}

/// Whether `arn` is an AWS managed policy of [`ADMIN_LEVEL`].
pub fn is_admin_level(arn: &str) -> bool {
    aws_managed_name(arn).is_some_and(|n| ADMIN_LEVEL.contains(&n))
}

/// Why a role counts as a node role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeSign {
    /// It carries an AWS managed worker-node policy.
    WorkerPolicy(String),
    /// It is tagged as one.
    Tag(String),
    /// EKS managed node groups in this region run with it.
    Nodegroups(Vec<NodegroupRole>),
}

impl NodeSign {
    pub fn describe(&self) -> String {
        match self {
            NodeSign::WorkerPolicy(name) => format!("it carries {name}"),
            NodeSign::Tag(key) => format!("it is tagged {key}"),
            NodeSign::Nodegroups(groups) => {
                format!("node groups {} run with it", nodegroups(groups))
            }
        }
    }
}

/// `cluster/nodegroup, ...`.
pub fn nodegroups(groups: &[NodegroupRole]) -> String {
    groups
        .iter()
        .map(|g| format!("{}/{}", g.cluster, g.nodegroup))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The signs that cost no extra call: attached worker-node policies and tags.
pub fn cheap_node_sign(attached: &[String], tags: &Tags) -> Option<NodeSign> {
    if let Some(name) = attached
        .iter()
        .filter_map(|arn| aws_managed_name(arn))
        .find(|n| WORKER_NODE_POLICIES.contains(n))
    {
        return Some(NodeSign::WorkerPolicy(name.to_owned()));
    }
    if tags
        .get(NODE_ROLE_MARK)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        return Some(NodeSign::Tag(format!("{NODE_ROLE_MARK}=true")));
    }
    NODE_ROLE_TAGS
        .iter()
        .find(|k| tags.contains_key(**k))
        .map(|k| NodeSign::Tag((*k).to_owned()))
}

/// The node groups among `all` that run with `role` (compared by role name, the last part of
/// the ARN, as role names are unique in an account whatever their path).
pub fn nodegroups_of(role: &str, all: &[NodegroupRole]) -> Vec<NodegroupRole> {
    all.iter()
        .filter(|g| g.role_arn.rsplit('/').next() == Some(role))
        .cloned()
        .collect()
}

/// Services whose machines run with a node role: EC2 (managed, self-managed and Karpenter
/// nodes), and SSM hybrid activations or IAM Roles Anywhere (EKS Hybrid Nodes).
pub const NODE_SERVICES: &[&str] = &[
    "ec2.amazonaws.com",
    "ec2.amazonaws.com.cn",
    "ssm.amazonaws.com",
    "rolesanywhere.amazonaws.com",
];

/// Whether the sweep reads a role at all: a node group runs with it, or its trust policy lets
/// one of [`NODE_SERVICES`] assume it. Service-linked roles are AWS's and cannot be edited.
/// An unreadable trust policy is read rather than missed. This spares two IAM calls for each
/// of the account's other roles (IAM's request rate is shared by the whole account).
pub fn could_be_node_role(role: &RoleSummary, nodegroups: &[NodegroupRole]) -> bool {
    if role.path.starts_with("/aws-service-role/") {
        return false;
    }
    if !nodegroups_of(&role.name, nodegroups).is_empty() {
        return true;
    }
    match role.trust.as_deref().map(trusted_services) {
        Some(Ok(services)) => services.iter().any(|s| NODE_SERVICES.contains(&s.as_str())),
        _ => true,
    }
}

/// What a policy document grants, as far as this rule cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    Safe,
    /// Each over-broad statement and why.
    OverBroad(Vec<String>),
    /// The document could not be read; a person must look.
    Unreadable(String),
}

pub fn judge(document: &str) -> Judgement {
    match PolicyDocument::parse(document) {
        Err(e) => Judgement::Unreadable(e.to_string()),
        Ok(doc) => {
            let broad = doc.over_broad();
            if broad.is_empty() {
                Judgement::Safe
            } else {
                Judgement::OverBroad(broad.iter().map(ToString::to_string).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, path: &str, trust: Option<&str>) -> RoleSummary {
        RoleSummary {
            name: name.to_owned(),
            path: path.to_owned(),
            trust: trust.map(str::to_owned),
        }
    }

    #[test]
    fn the_sweep_reads_only_roles_a_node_could_run_with() {
        let trust = |service: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
            )
        };
        let none: &[NodegroupRole] = &[];
        for service in [
            "ec2.amazonaws.com",
            "ssm.amazonaws.com",
            "rolesanywhere.amazonaws.com",
        ] {
            assert!(could_be_node_role(
                &summary("r", "/", Some(&trust(service))),
                none
            ));
        }
        assert!(!could_be_node_role(
            &summary("r", "/", Some(&trust("lambda.amazonaws.com"))),
            none
        ));
        assert!(!could_be_node_role(
            &summary(
                "AWSServiceRoleForAmazonEKSNodegroup",
                "/aws-service-role/eks-nodegroup.amazonaws.com/",
                Some(&trust("ec2.amazonaws.com"))
            ),
            none
        ));
        // Unreadable trust: read rather than missed.
        assert!(could_be_node_role(&summary("r", "/", Some("%zz")), none));
        assert!(could_be_node_role(&summary("r", "/", None), none));
        // A node group's role counts whatever its trust policy says.
        let groups = [NodegroupRole {
            cluster: "prod".into(),
            nodegroup: "ng".into(),
            role_arn: "arn:aws:iam::123456789012:role/nodes/r".into(),
        }];
        assert!(could_be_node_role(
            &summary("r", "/nodes/", Some(&trust("lambda.amazonaws.com"))),
            &groups
        ));
    }

    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

    #[test]
    fn managed_names_and_lists() {
        assert_eq!(aws_managed_name(ADMIN), Some("AdministratorAccess"));
        assert_eq!(
            aws_managed_name("arn:aws-us-gov:iam::aws:policy/job-function/ViewOnlyAccess"),
            Some("ViewOnlyAccess")
        );
        assert_eq!(
            aws_managed_name("arn:aws:iam::123456789012:policy/AdministratorAccess"),
            None,
            "a customer policy named like an AWS one is not AWS managed"
        );
        assert!(is_admin_level(ADMIN));
        assert!(!is_admin_level(
            "arn:aws:iam::123456789012:policy/AdministratorAccess"
        ));
        let s = Settings {
            node_policy_allowlist: vec!["arn:aws:iam::123456789012:policy/team-extra".into()],
            ..Settings::default()
        };
        assert!(is_protected(
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            &s
        ));
        assert!(is_protected(
            "arn:aws:iam::123456789012:policy/team-extra",
            &s
        ));
        assert!(!is_protected(ADMIN, &s));
        for name in BASELINE {
            assert!(!ADMIN_LEVEL.contains(name), "{name} in both lists");
        }
    }

    #[test]
    fn node_roles_are_recognised_by_policy_tag_or_node_group() {
        let worker = vec!["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy".to_owned()];
        assert_eq!(
            cheap_node_sign(&worker, &Tags::new()),
            Some(NodeSign::WorkerPolicy("AmazonEKSWorkerNodePolicy".into()))
        );
        let tagged = Tags::from([(
            "alpha.eksctl.io/nodegroup-name".to_owned(),
            "ng-1".to_owned(),
        )]);
        assert!(matches!(
            cheap_node_sign(&[], &tagged),
            Some(NodeSign::Tag(_))
        ));
        let marked_false = Tags::from([(NODE_ROLE_MARK.to_owned(), "false".to_owned())]);
        assert_eq!(cheap_node_sign(&[], &marked_false), None);
        let groups = vec![
            NodegroupRole {
                cluster: "prod".into(),
                nodegroup: "ng-1".into(),
                role_arn: "arn:aws:iam::1:role/path/nodes".into(),
            },
            NodegroupRole {
                cluster: "prod".into(),
                nodegroup: "ng-2".into(),
                role_arn: "arn:aws:iam::1:role/other-nodes".into(),
            },
        ];
        assert_eq!(nodegroups_of("nodes", &groups), groups[..1]);
        assert!(nodegroups_of("node", &groups).is_empty());
    }

    #[test]
    fn documents_are_judged() {
        assert_eq!(
            judge(r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#),
            Judgement::Safe
        );
        assert!(matches!(
            judge(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
            Judgement::OverBroad(r) if r.len() == 1
        ));
        assert!(matches!(judge("{"), Judgement::Unreadable(_)));
    }
}
