//! Who can administer a cluster: IAM principals and the patterns that allow-list them, EKS
//! access entries and the access policies associated with them, and Pod Identity
//! associations.
//!
//! Principals are compared by account, kind and name, never by path: an assumed-role session
//! (`arn:aws:sts::<account>:assumed-role/<name>/<session>`) does not carry its role's path, and
//! role and user names are unique in an account whatever their path.

use std::fmt;

/// An IAM role or user, as access entries and CloudTrail name them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub partition: String,
    pub account: String,
    pub kind: PrincipalKind,
    /// The name, without path (for a session, the role's name).
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    Role,
    User,
}

impl PrincipalKind {
    fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Role => "role",
            PrincipalKind::User => "user",
        }
    }
}

impl Principal {
    /// Reads `arn:<partition>:iam::<account>:role/<path/><name>`, the same for `user/`, and
    /// `arn:<partition>:sts::<account>:assumed-role/<name>/<session>` (the role behind it).
    /// `None` for anything else (a federated user, the root, a service).
    pub fn parse(arn: &str) -> Option<Principal> {
        let mut parts = arn.trim().splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(rest)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (kind, name) = match service {
            "iam" => {
                let (kind, path_and_name) = rest.split_once('/')?;
                let kind = match kind {
                    "role" => PrincipalKind::Role,
                    "user" => PrincipalKind::User,
                    _ => return None,
                };
                (kind, path_and_name.rsplit('/').next()?)
            }
            "sts" => {
                let role_and_session = rest.strip_prefix("assumed-role/")?;
                (PrincipalKind::Role, role_and_session.split('/').next()?)
            }
            _ => return None,
        };
        if partition.is_empty() || account.is_empty() || name.is_empty() {
            return None;
        }
        Some(Principal {
            partition: partition.to_owned(),
            account: account.to_owned(),
            kind,
            name: name.to_owned(),
        })
    }

    /// The IAM ARN without path: what `describe` shows and undo commands name when the path
    /// is not known.
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:iam::{}:{}/{}",
            self.partition,
            self.account,
            self.kind.as_str(),
            self.name
        )
    }
}

/// One entry of `CLUSTER_ADMIN_PRINCIPALS`: an IAM role or user ARN whose name may hold `*`
/// (any run of characters), such as `arn:aws:iam::123456789012:role/platform-*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalPattern {
    text: String,
    principal: Principal,
}

impl PrincipalPattern {
    /// Reads a pattern; `Err` says why it is not one. Wildcards are allowed only in the name,
    /// so a pattern can never reach into another account or kind.
    pub fn parse(text: &str) -> Result<PrincipalPattern, String> {
        let text = text.trim();
        let principal = Principal::parse(text)
            .filter(|_| text.split(':').nth(2) == Some("iam"))
            .ok_or("expected an IAM role or user ARN, such as arn:aws:iam::123456789012:role/platform-*")?;
        let before_name = &text[..text.len() - principal.name.len()];
        if before_name.contains('*') || principal.account.contains('*') {
            return Err("`*` is allowed only in the role or user name".into());
        }
        Ok(PrincipalPattern {
            text: text.to_owned(),
            principal,
        })
    }

    /// Whether `principal` is one this pattern allows.
    pub fn matches(&self, principal: &Principal) -> bool {
        let p = &self.principal;
        p.partition == principal.partition
            && p.account == principal.account
            && p.kind == principal.kind
            && glob(&p.name, &principal.name)
    }
}

impl fmt::Display for PrincipalPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters (IAM names
/// are case-sensitive in ARNs, so is this).
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let mut pieces = pattern.split('*');
    let Some(first) = pieces.next() else {
        return false;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether `principal` (an ARN) is allowed by any of `patterns`. An ARN that names no IAM
/// role or user is not.
pub fn is_allowed(principal: &str, patterns: &[PrincipalPattern]) -> bool {
    Principal::parse(principal).is_some_and(|p| patterns.iter().any(|pattern| pattern.matches(&p)))
}

/// EKS access policies that make their holder an administrator: full control of the cluster,
/// or of its namespaces (including the right to edit RBAC there).
pub const ADMIN_ACCESS_POLICIES: &[&str] = &["AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy"];

/// The namespace whose administration is administration of the cluster: its service accounts
/// and secrets run the control-plane add-ons.
pub const SYSTEM_NAMESPACE: &str = "kube-system";

/// The name of an EKS access policy (`arn:<partition>:eks::aws:cluster-access-policy/<name>`).
pub fn access_policy_name(arn: &str) -> Option<&str> {
    let rest = arn.trim().strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    rest.strip_prefix("eks::aws:cluster-access-policy/")
        .filter(|n| !n.is_empty() && !n.contains('/'))
}

/// Where an access policy applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessScope {
    Cluster,
    Namespaces(Vec<String>),
}

impl AccessScope {
    /// From the API's `{"type": "cluster" | "namespace", "namespaces": [...]}`; `None` for an
    /// unknown type.
    pub fn from_parts(kind: &str, namespaces: Vec<String>) -> Option<AccessScope> {
        match kind {
            "cluster" => Some(AccessScope::Cluster),
            "namespace" => Some(AccessScope::Namespaces(namespaces)),
            _ => None,
        }
    }

    /// The `--access-scope` argument of the AWS CLI that gives this scope.
    pub fn cli_argument(&self) -> String {
        match self {
            AccessScope::Cluster => "type=cluster".to_owned(),
            AccessScope::Namespaces(ns) => format!("type=namespace,namespaces={}", ns.join(",")),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            AccessScope::Cluster => "the whole cluster".to_owned(),
            AccessScope::Namespaces(ns) => format!("namespaces {}", ns.join(", ")),
        }
    }
}

/// An access policy associated with an access entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPolicyAssociation {
    pub policy_arn: String,
    pub scope: AccessScope,
}

impl AccessPolicyAssociation {
    /// Whether this association makes its principal a cluster administrator: an admin access
    /// policy over the whole cluster, or over namespaces that include `kube-system`.
    pub fn is_admin_grant(&self) -> bool {
        let admin = access_policy_name(&self.policy_arn)
            .is_some_and(|n| ADMIN_ACCESS_POLICIES.contains(&n));
        admin
            && match &self.scope {
                AccessScope::Cluster => true,
                AccessScope::Namespaces(ns) => ns.iter().any(|n| n == SYSTEM_NAMESPACE),
            }
    }
}

/// Access entry types that give their principal the identity of a node (or of Fargate's pod
/// runner): the Kubernetes groups `system:nodes` and `system:bootstrappers`, which may read
/// every pod's secrets on their nodes. `EC2` is EKS Auto Mode's node type, `HYPERPOD_LINUX`
/// SageMaker HyperPod's.
pub const NODE_ENTRY_TYPES: &[&str] = &[
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "HYBRID_LINUX",
    "EC2",
    "HYPERPOD_LINUX",
];

/// An access entry, as `DescribeAccessEntry` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    pub principal_arn: String,
    /// `STANDARD`, or one of [`NODE_ENTRY_TYPES`].
    pub kind: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
}

/// A Pod Identity association: a service account that runs with an IAM role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodIdentity {
    pub id: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> PrincipalPattern {
        PrincipalPattern::parse(text).unwrap()
    }

    #[test]
    fn principals_are_read_from_roles_users_and_sessions_without_their_path() {
        let role = Principal::parse("arn:aws:iam::123456789012:role/teams/platform-admin").unwrap();
        assert_eq!(role.kind, PrincipalKind::Role);
        assert_eq!(role.name, "platform-admin");
        assert_eq!(role.arn(), "arn:aws:iam::123456789012:role/platform-admin");
        let session =
            Principal::parse("arn:aws:sts::123456789012:assumed-role/platform-admin/alice")
                .unwrap();
        assert_eq!(session, role);
        let user = Principal::parse("arn:aws-cn:iam::123456789012:user/bob").unwrap();
        assert_eq!(
            (user.kind, user.partition.as_str()),
            (PrincipalKind::User, "aws-cn")
        );
        for other in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws:iam:::role/x",
            "arn:aws:iam::123456789012:role/",
            "platform-admin",
            "",
        ] {
            assert_eq!(Principal::parse(other), None, "{other}");
        }
    }

    #[test]
    fn patterns_match_by_name_with_wildcards_within_one_account_and_kind() {
        let platform = pattern("arn:aws:iam::123456789012:role/platform-*");
        let matches = |arn: &str| platform.matches(&Principal::parse(arn).unwrap());
        assert!(matches("arn:aws:iam::123456789012:role/platform-admin"));
        assert!(matches("arn:aws:iam::123456789012:role/ops/platform-"));
        assert!(matches(
            "arn:aws:sts::123456789012:assumed-role/platform-ci/job-7"
        ));
        assert!(!matches("arn:aws:iam::123456789012:role/contractor"));
        assert!(!matches("arn:aws:iam::123456789012:role/my-platform-admin"));
        assert!(!matches("arn:aws:iam::210987654321:role/platform-admin"));
        assert!(!matches("arn:aws:iam::123456789012:user/platform-admin"));
        assert!(!matches("arn:aws-cn:iam::123456789012:role/platform-admin"));

        let exact = pattern("arn:aws:iam::123456789012:user/bob");
        assert!(exact.matches(&Principal::parse("arn:aws:iam::123456789012:user/bob").unwrap()));
        assert!(!exact.matches(&Principal::parse("arn:aws:iam::123456789012:user/bobby").unwrap()));
    }

    #[test]
    fn glob_handles_several_and_adjacent_wildcards() {
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(glob("a*b*c", "abc"));
        assert!(!glob("a*b*c", "acb"));
        assert!(glob("*", ""));
        assert!(glob("**x", "x"));
        assert!(!glob("ab*ba", "aba"), "the ends must not overlap");
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }

    #[test]
    fn wildcards_outside_the_name_or_other_arns_are_refused() {
        for bad in [
            "arn:aws:iam::*:role/admin",
            "arn:aws:iam::123456789012:role/*/admin",
            "arn:aws:sts::123456789012:assumed-role/admin/x",
            "arn:aws:iam::123456789012:root",
            "admin",
        ] {
            assert!(PrincipalPattern::parse(bad).is_err(), "{bad}");
        }
        assert!(PrincipalPattern::parse(" arn:aws:iam::123456789012:role/* ").is_ok());
    }

    #[test]
    fn admin_grants_are_admin_policies_over_the_cluster_or_kube_system() {
        let grant = |policy: &str, scope: AccessScope| {
            AccessPolicyAssociation {
                policy_arn: format!("arn:aws:eks::aws:cluster-access-policy/{policy}"),
                scope,
            }
            .is_admin_grant()
        };
        let ns =
            |names: &[&str]| AccessScope::Namespaces(names.iter().map(|n| n.to_string()).collect());
        assert!(grant("AmazonEKSClusterAdminPolicy", AccessScope::Cluster));
        assert!(grant("AmazonEKSAdminPolicy", AccessScope::Cluster));
        assert!(grant(
            "AmazonEKSAdminPolicy",
            ns(&["default", "kube-system"])
        ));
        assert!(!grant("AmazonEKSAdminPolicy", ns(&["team-a"])));
        assert!(!grant("AmazonEKSViewPolicy", AccessScope::Cluster));
        assert!(!grant("AmazonEKSEditPolicy", ns(&["kube-system"])));
        assert!(!AccessPolicyAssociation {
            policy_arn: "arn:aws:iam::aws:policy/AmazonEKSClusterAdminPolicy".into(),
            scope: AccessScope::Cluster,
        }
        .is_admin_grant());
    }

    #[test]
    fn scopes_read_and_print_as_the_cli_takes_them() {
        assert_eq!(
            AccessScope::from_parts("cluster", vec![]),
            Some(AccessScope::Cluster)
        );
        let ns = AccessScope::from_parts("namespace", vec!["a".into(), "b".into()]).unwrap();
        assert_eq!(ns.cli_argument(), "type=namespace,namespaces=a,b");
        assert_eq!(AccessScope::Cluster.cli_argument(), "type=cluster");
        assert_eq!(AccessScope::from_parts("global", vec![]), None);
    }
}
