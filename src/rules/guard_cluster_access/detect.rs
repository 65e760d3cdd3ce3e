//! Pure decisions of `guard-cluster-access`: which events need no look at all, whether an
//! admin grant is still in place, whether a principal given node identity is a node role,
//! and which of a Pod Identity role's policies are over-broad.

use super::event::Trigger;
use crate::aws::eks::NodegroupRole;
use crate::domain::access::{
    is_allowed, AccessPolicyAssociation, AccessScope, Principal, PrincipalKind, NODE_ENTRY_TYPES,
};
use crate::domain::policy::trusted_services;
use crate::domain::trust::loose_trusts;
use crate::domain::Tags;
use crate::rules::detach_node_policy::detect::{
    aws_managed_name, cheap_node_sign, nodegroups, nodegroups_of, NodeSign,
};
use crate::settings::Settings;

/// The authentication mode that cannot be audited from the AWS API (the aws-auth ConfigMap).
pub const CONFIG_MAP: &str = "CONFIG_MAP";

/// Why the event needs no AWS call at all, when the event alone tells. `creator` is the
/// caller's principal (for `CreateCluster`, who becomes the bootstrap admin).
pub fn needs_no_look(
    trigger: &Trigger,
    creator: Option<&str>,
    settings: &Settings,
) -> Option<&'static str> {
    let allowed = |arn: &str| is_allowed(arn, &settings.cluster_admin_principals);
    match trigger {
        Trigger::Associate {
            principal,
            policy_arn,
            scope,
            ..
        } => {
            let association = AccessPolicyAssociation {
                policy_arn: policy_arn.clone(),
                scope: scope.clone(),
            };
            if !association.is_admin_grant() {
                Some("not an admin access policy over the cluster or kube-system")
            } else if allowed(principal) {
                Some("the principal is in CLUSTER_ADMIN_PRINCIPALS")
            } else {
                None
            }
        }
        Trigger::CreateEntry { kind, .. } if !NODE_ENTRY_TYPES.contains(&kind.as_str()) => {
            Some("not a node access entry")
        }
        Trigger::CreateCluster {
            bootstrap_admin,
            authentication_mode,
            ..
        } if authentication_mode != CONFIG_MAP
            && (!bootstrap_admin || creator.is_some_and(allowed)) =>
        {
            Some("access entries are on and the creator holds no unlisted admin access")
        }
        Trigger::Trust {
            document: Some(document),
            ..
        } if loose_trusts(document).is_ok_and(|loose| loose.is_empty()) => {
            Some("the trust policy trusts no EKS OIDC provider loosely")
        }
        _ => None,
    }
}

/// The state of an admin grant now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// The policy is no longer associated.
    Gone,
    /// Associated, but its scope was narrowed since: no longer admin.
    Narrowed(AccessScope),
    /// Still an admin grant, with this scope.
    Admin(AccessScope),
}

/// Finds `policy_arn` among a principal's current associations.
pub fn current_grant(associated: &[AccessPolicyAssociation], policy_arn: &str) -> Grant {
    match associated.iter().find(|a| a.policy_arn == policy_arn) {
        None => Grant::Gone,
        Some(a) if a.is_admin_grant() => Grant::Admin(a.scope.clone()),
        Some(a) => Grant::Narrowed(a.scope.clone()),
    }
}

/// AWS managed policies that only Fargate pod execution roles carry.
pub const FARGATE_POLICIES: &[&str] = &["AmazonEKSFargatePodExecutionRolePolicy"];
/// The service that assumes Fargate pod execution roles.
pub const FARGATE_SERVICE: &str = "eks-fargate-pods.amazonaws.com";

/// What is known about a principal given node identity, when it is a role.
pub struct RoleFacts<'a> {
    pub attached: &'a [String],
    pub tags: &'a Tags,
    /// The trust policy, as IAM returns it.
    pub trust: Option<&'a str>,
    /// The region's managed node groups and their roles.
    pub nodegroups: &'a [NodegroupRole],
}

/// Why `principal` may hold an access entry of type `kind` (a node type): it is a node role
/// by detach-node-policy's signs (worker-node policy, node-role tag, a node group runs with
/// it), or, for Fargate, a pod execution role. `None`: it is no node, and the entry gives a
/// person or a workload the identity of every node.
pub fn node_role_sign(
    kind: &str,
    principal: &Principal,
    role: Option<RoleFacts<'_>>,
) -> Option<String> {
    if principal.kind != PrincipalKind::Role {
        return None;
    }
    let role = role?;
    if kind == "FARGATE_LINUX" {
        let policy = role
            .attached
            .iter()
            .filter_map(|arn| aws_managed_name(arn))
            .find(|n| FARGATE_POLICIES.contains(n));
        if let Some(name) = policy {
            return Some(format!("it carries {name}"));
        }
        let trusted = role
            .trust
            .and_then(|t| trusted_services(t).ok())
            .is_some_and(|s| s.iter().any(|s| s == FARGATE_SERVICE));
        return trusted.then(|| format!("{FARGATE_SERVICE} may assume it"));
    }
    if let Some(sign) = cheap_node_sign(role.attached, role.tags) {
        return Some(sign.describe());
    }
    let groups = nodegroups_of(&principal.name, role.nodegroups);
    (!groups.is_empty()).then(|| NodeSign::Nodegroups(groups).describe())
}

/// `cluster/nodegroup, ...` of the node groups that run with `role`, for alerts.
pub fn nodegroups_with(role: &str, all: &[NodegroupRole]) -> String {
    nodegroups(&nodegroups_of(role, all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::PrincipalPattern;

    const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

    fn settings() -> Settings {
        Settings {
            cluster_admin_principals: vec![PrincipalPattern::parse(
                "arn:aws:iam::123456789012:role/platform-*",
            )
            .unwrap()],
            ..Settings::default()
        }
    }

    fn associate(principal: &str, policy: &str, scope: AccessScope) -> Trigger {
        Trigger::Associate {
            cluster: "c".into(),
            principal: principal.into(),
            policy_arn: policy.into(),
            scope,
        }
    }

    #[test]
    fn only_admin_grants_to_unlisted_principals_are_looked_at() {
        let s = settings();
        let outsider = "arn:aws:iam::123456789012:role/contractor";
        assert_eq!(
            needs_no_look(&associate(outsider, ADMIN, AccessScope::Cluster), None, &s),
            None
        );
        assert!(needs_no_look(
            &associate(
                "arn:aws:iam::123456789012:role/platform-admins",
                ADMIN,
                AccessScope::Cluster
            ),
            None,
            &s
        )
        .is_some());
        let view = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
        assert!(
            needs_no_look(&associate(outsider, view, AccessScope::Cluster), None, &s).is_some()
        );
    }

    #[test]
    fn clusters_are_looked_at_for_config_map_or_an_unlisted_bootstrap_admin() {
        let s = settings();
        let cluster = |bootstrap_admin: bool, mode: &str| Trigger::CreateCluster {
            cluster: "c".into(),
            bootstrap_admin,
            authentication_mode: mode.into(),
        };
        let alice = Some("arn:aws:iam::123456789012:role/alice");
        let platform = Some("arn:aws:iam::123456789012:role/platform-ci");
        assert_eq!(needs_no_look(&cluster(true, "API"), alice, &s), None);
        assert!(needs_no_look(&cluster(true, "API"), platform, &s).is_some());
        assert!(needs_no_look(&cluster(false, "API_AND_CONFIG_MAP"), alice, &s).is_some());
        assert_eq!(
            needs_no_look(&cluster(false, "CONFIG_MAP"), platform, &s),
            None
        );
    }

    #[test]
    fn the_current_grant_is_found_by_policy() {
        let a = |scope| AccessPolicyAssociation {
            policy_arn: ADMIN.into(),
            scope,
        };
        assert_eq!(current_grant(&[], ADMIN), Grant::Gone);
        assert_eq!(
            current_grant(&[a(AccessScope::Cluster)], ADMIN),
            Grant::Admin(AccessScope::Cluster)
        );
        let narrow = AccessScope::Namespaces(vec!["team-a".into()]);
        assert_eq!(
            current_grant(&[a(narrow.clone())], ADMIN),
            Grant::Narrowed(narrow)
        );
    }

    #[test]
    fn node_identity_needs_a_node_sign() {
        let role = Principal::parse("arn:aws:iam::123456789012:role/ci-runner").unwrap();
        let tags = Tags::new();
        let facts = |attached: &'static [String], trust| RoleFacts {
            attached,
            tags: &tags,
            trust,
            nodegroups: &[],
        };
        assert_eq!(
            node_role_sign("EC2_LINUX", &role, Some(facts(&[], None))),
            None
        );
        let worker: &'static [String] = Box::leak(Box::new([
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy".to_owned(),
        ]));
        assert!(node_role_sign("EC2_LINUX", &role, Some(facts(worker, None))).is_some());
        let fargate_trust = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert!(node_role_sign(
            "FARGATE_LINUX",
            &role,
            Some(facts(&[], Some(fargate_trust)))
        )
        .is_some());
        assert_eq!(
            node_role_sign("FARGATE_LINUX", &role, Some(facts(worker, None))),
            None
        );
        let user = Principal::parse("arn:aws:iam::123456789012:user/bob").unwrap();
        assert_eq!(
            node_role_sign("EC2_LINUX", &user, Some(facts(worker, None))),
            None
        );
        let groups = [NodegroupRole {
            cluster: "c".into(),
            nodegroup: "ng".into(),
            role_arn: "arn:aws:iam::123456789012:role/ci-runner".into(),
        }];
        let by_group = RoleFacts {
            attached: &[],
            tags: &tags,
            trust: None,
            nodegroups: &groups,
        };
        assert!(
            node_role_sign("EC2_LINUX", &role, Some(by_group)).is_some_and(|s| s.contains("c/ng"))
        );
    }
}
