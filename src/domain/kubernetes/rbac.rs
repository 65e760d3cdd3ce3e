//! RBAC bindings and roles, and which grants the EKS best practices forbid: cluster-admin
//! (or any role that allows every verb on every resource) held by someone outside the
//! allow-list, and anything but discovery granted to anonymous or to every authenticated user.

use serde::Deserialize;

use super::{or_default, ObjectMeta};
use crate::domain::access::glob;

/// The built-in role that allows everything everywhere.
pub const CLUSTER_ADMIN: &str = "cluster-admin";

/// The group every request with a client certificate of `system:masters` is in: bound to
/// cluster-admin by Kubernetes itself, and not something a binding can give or take away.
pub const MASTERS_GROUP: &str = "system:masters";

/// Subjects that stand for "anyone": the anonymous user, and the groups of every request that
/// is not authenticated and of every one that is.
pub const PUBLIC_SUBJECTS: &[&str] = &[
    "system:anonymous",
    "system:unauthenticated",
    "system:authenticated",
];

/// The built-in roles Kubernetes itself binds to `system:authenticated` (and the first to
/// `system:unauthenticated`): API discovery, version and self-review, nothing else.
pub const DISCOVERY_ROLES: &[&str] = &[
    "system:public-info-viewer",
    "system:discovery",
    "system:basic-user",
];

/// The built-in user-facing roles, whose rules the API server keeps aggregated from other
/// ClusterRoles (and puts back when edited): none allows every verb on every resource, so a
/// binding to one needs no look-up of what the role allows.
pub const AGGREGATED_ROLES: &[&str] = &["admin", "edit", "view"];

/// A ClusterRoleBinding or RoleBinding.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Binding {
    #[serde(deserialize_with = "or_default")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "or_default")]
    pub subjects: Vec<Subject>,
    #[serde(deserialize_with = "or_default")]
    pub role_ref: RoleRef,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RoleRef {
    /// `ClusterRole` or `Role`.
    pub kind: String,
    pub name: String,
}

/// A ClusterRole: its rules decide whether it is as good as cluster-admin.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ClusterRole {
    #[serde(deserialize_with = "or_default")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "or_default")]
    pub rules: Vec<PolicyRule>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(deserialize_with = "or_default")]
    pub verbs: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub resources: Vec<String>,
}

impl ClusterRole {
    /// Whether some rule allows every verb on every resource (of its API groups): the rules
    /// of cluster-admin, by another name.
    pub fn is_wildcard(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.verbs.iter().any(|v| v == "*") && r.resources.iter().any(|res| res == "*"))
    }
}

impl Subject {
    /// The name the API server authenticates this subject as: a user's or group's name, and
    /// `system:serviceaccount:<namespace>:<name>` for a service account (whose namespace
    /// defaults to the binding's).
    pub fn identity(&self, binding_namespace: &str) -> String {
        if self.kind == "ServiceAccount" {
            let ns = if self.namespace.is_empty() {
                binding_namespace
            } else {
                &self.namespace
            };
            format!("system:serviceaccount:{ns}:{}", self.name)
        } else {
            self.name.clone()
        }
    }

    /// `User alice`, `Group dev`, `ServiceAccount shop/deployer`: for alerts.
    pub fn describe(&self, binding_namespace: &str) -> String {
        if self.kind == "ServiceAccount" {
            let ns = if self.namespace.is_empty() {
                binding_namespace
            } else {
                &self.namespace
            };
            format!("ServiceAccount {ns}/{}", self.name)
        } else {
            format!("{} {}", self.kind, self.name)
        }
    }
}

/// One entry of `K8S_ADMIN_SUBJECTS`: a Kubernetes user, group or service account
/// (`system:serviceaccount:<namespace>:<name>`) by the name the API server gives it; `*`
/// stands for any run of characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectPattern(String);

impl SubjectPattern {
    pub fn parse(text: &str) -> Result<SubjectPattern, String> {
        let text = text.trim();
        if text.is_empty() || text.chars().all(|c| c == '*') {
            return Err("a pattern must name someone; `*` alone would allow everyone".into());
        }
        Ok(SubjectPattern(text.to_owned()))
    }

    pub fn matches(&self, identity: &str) -> bool {
        glob(&self.0, identity)
    }
}

impl std::fmt::Display for SubjectPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong with a binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindingFinding {
    /// An all-powerful role bound to subjects outside `K8S_ADMIN_SUBJECTS`.
    Admin { role: String, subjects: Vec<String> },
    /// A role other than discovery bound to anonymous or to every (un)authenticated user.
    Public { role: String, subjects: Vec<String> },
}

impl BindingFinding {
    pub fn describe(&self) -> String {
        match self {
            BindingFinding::Admin { role, subjects } => {
                format!("{role} granted to {}", subjects.join(", "))
            }
            BindingFinding::Public { role, subjects } => {
                format!("{role} granted to {}", subjects.join(", "))
            }
        }
    }
}

/// Judges a binding. `wildcard_role` says whether the ClusterRole it names is known to allow
/// everything (cluster-admin always does).
pub fn binding_findings(
    binding: &Binding,
    wildcard_role: bool,
    allowed: &[SubjectPattern],
) -> Vec<BindingFinding> {
    let ns = binding.metadata.namespace.as_str();
    let role = &binding.role_ref;
    let role_name = format!("{} {}", role.kind, role.name);
    let mut found = Vec::new();
    let is_cluster_role = role.kind == "ClusterRole";
    if is_cluster_role && (role.name == CLUSTER_ADMIN || wildcard_role) {
        let outsiders: Vec<String> = binding
            .subjects
            .iter()
            .filter(|s| !(s.kind == "Group" && s.name == MASTERS_GROUP))
            .filter(|s| {
                let who = s.identity(ns);
                !allowed.iter().any(|p| p.matches(&who))
            })
            .map(|s| s.describe(ns))
            .collect();
        if !outsiders.is_empty() {
            found.push(BindingFinding::Admin {
                role: role_name.clone(),
                subjects: outsiders,
            });
        }
    }
    if !(is_cluster_role && DISCOVERY_ROLES.contains(&role.name.as_str())) {
        let public: Vec<String> = binding
            .subjects
            .iter()
            .filter(|s| s.kind != "ServiceAccount" && PUBLIC_SUBJECTS.contains(&s.name.as_str()))
            .map(|s| s.describe(ns))
            .collect();
        if !public.is_empty() {
            found.push(BindingFinding::Public {
                role: role_name,
                subjects: public,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(json: &str) -> Binding {
        serde_json::from_str(json).unwrap()
    }

    fn allow(names: &[&str]) -> Vec<SubjectPattern> {
        names
            .iter()
            .map(|n| SubjectPattern::parse(n).unwrap())
            .collect()
    }

    #[test]
    fn cluster_admin_to_an_outsider_is_found_and_allow_listed_subjects_are_not() {
        let b = binding(
            r#"{"metadata":{"name":"contractor-admin"},"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},
            "subjects":[{"kind":"User","name":"contractor@example.com"},{"kind":"Group","name":"platform-admins"},
                        {"kind":"Group","name":"system:masters"}]}"#,
        );
        let found = binding_findings(&b, false, &allow(&["platform-*"]));
        assert_eq!(
            found,
            vec![BindingFinding::Admin {
                role: "ClusterRole cluster-admin".into(),
                subjects: vec!["User contractor@example.com".into()]
            }]
        );
        assert_eq!(
            binding_findings(&b, false, &allow(&["platform-*", "contractor@example.com"])),
            vec![]
        );
    }

    #[test]
    fn a_wildcard_cluster_role_counts_as_admin_but_a_namespaced_role_of_that_name_does_not() {
        let b = binding(
            r#"{"metadata":{"name":"ops"},"roleRef":{"kind":"ClusterRole","name":"super-operator"},
            "subjects":[{"kind":"User","name":"ops-bot"}]}"#,
        );
        assert_eq!(binding_findings(&b, false, &[]), vec![]);
        assert_eq!(binding_findings(&b, true, &[]).len(), 1);
        let role = binding(
            r#"{"metadata":{"name":"x","namespace":"shop"},"roleRef":{"kind":"Role","name":"cluster-admin"},
            "subjects":[{"kind":"User","name":"ops-bot"}]}"#,
        );
        assert_eq!(binding_findings(&role, true, &[]), vec![]);
    }

    #[test]
    fn a_role_binding_to_cluster_admin_names_the_service_account_by_its_namespace() {
        let b = binding(
            r#"{"metadata":{"name":"deployer-admin","namespace":"shop"},"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},
            "subjects":[{"kind":"ServiceAccount","name":"deployer"}]}"#,
        );
        assert_eq!(
            binding_findings(&b, false, &[]),
            vec![BindingFinding::Admin {
                role: "ClusterRole cluster-admin".into(),
                subjects: vec!["ServiceAccount shop/deployer".into()]
            }]
        );
        assert_eq!(
            binding_findings(&b, false, &allow(&["system:serviceaccount:shop:deployer"])),
            vec![]
        );
    }

    #[test]
    fn anonymous_bindings_are_found_except_to_the_discovery_roles() {
        let b = binding(
            r#"{"metadata":{"name":"anon-view"},"roleRef":{"kind":"ClusterRole","name":"view"},
            "subjects":[{"kind":"Group","name":"system:unauthenticated"},{"kind":"User","name":"system:anonymous"},
                        {"kind":"User","name":"alice"}]}"#,
        );
        assert_eq!(
            binding_findings(&b, false, &[]),
            vec![BindingFinding::Public {
                role: "ClusterRole view".into(),
                subjects: vec![
                    "Group system:unauthenticated".into(),
                    "User system:anonymous".into()
                ]
            }]
        );
        let discovery = binding(
            r#"{"metadata":{"name":"system:public-info-viewer"},"roleRef":{"kind":"ClusterRole","name":"system:public-info-viewer"},
            "subjects":[{"kind":"Group","name":"system:authenticated"},{"kind":"Group","name":"system:unauthenticated"}]}"#,
        );
        assert_eq!(binding_findings(&discovery, false, &[]), vec![]);
        let admin_to_all = binding(
            r#"{"metadata":{"name":"oops"},"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},
            "subjects":[{"kind":"Group","name":"system:authenticated"}]}"#,
        );
        assert_eq!(binding_findings(&admin_to_all, false, &[]).len(), 2);
    }

    #[test]
    fn wildcard_roles_need_every_verb_on_every_resource() {
        let role = |rules: &str| -> ClusterRole {
            serde_json::from_str(&format!(r#"{{"metadata":{{"name":"r"}},"rules":{rules}}}"#))
                .unwrap()
        };
        assert!(role(r#"[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]"#).is_wildcard());
        assert!(
            !role(r#"[{"apiGroups":["*"],"resources":["*"],"verbs":["get","list"]}]"#)
                .is_wildcard()
        );
        assert!(!role(r#"[{"apiGroups":[""],"resources":["pods"],"verbs":["*"]}]"#).is_wildcard());
        assert!(!role(r#"[{"nonResourceURLs":["*"],"verbs":["*"]}]"#).is_wildcard());
        assert!(!role("null").is_wildcard());
    }

    #[test]
    fn a_pattern_must_name_someone() {
        assert!(SubjectPattern::parse("*").is_err());
        assert!(SubjectPattern::parse(" ").is_err());
        assert!(SubjectPattern::parse("system:serviceaccount:argocd:*")
            .unwrap()
            .matches("system:serviceaccount:argocd:argocd-server"));
    }
}
