//! The `kube-system/aws-auth` ConfigMap: the older way EKS maps IAM roles and users to
//! Kubernetes users and groups. Its `mapRoles` and `mapUsers` are YAML documents held in
//! strings; an entry that puts a principal in `system:masters` makes it cluster-admin in a
//! way no RBAC binding shows and no access entry lists.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::rbac::MASTERS_GROUP;
use super::{or_default, ObjectMeta};
use crate::domain::access::{is_allowed, PrincipalPattern};

/// The ConfigMap's name and namespace.
pub const NAME: &str = "aws-auth";
pub const NAMESPACE: &str = "kube-system";

/// A ConfigMap: only its data is read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ConfigMap {
    #[serde(deserialize_with = "or_default")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "or_default")]
    pub data: BTreeMap<String, String>,
}

/// One entry of `mapRoles` or `mapUsers`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
struct Mapping {
    rolearn: String,
    userarn: String,
    username: String,
    #[serde(deserialize_with = "or_default")]
    groups: Vec<String>,
}

/// An IAM principal mapped into `system:masters`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MastersMapping {
    /// `mapRoles` or `mapUsers`.
    pub list: &'static str,
    pub arn: String,
    pub username: String,
}

/// The entries that make a principal outside `allowed` a member of `system:masters`. An
/// unreadable list is an error naming it: aws-iam-authenticator cannot read it either.
pub fn outsider_masters(
    config: &ConfigMap,
    allowed: &[PrincipalPattern],
) -> Result<Vec<MastersMapping>, String> {
    let mut found = Vec::new();
    for list in ["mapRoles", "mapUsers"] {
        let Some(text) = config.data.get(list).filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        let entries: Vec<Mapping> = serde_yaml_ng::from_str::<Option<Vec<Mapping>>>(text)
            .map_err(|e| format!("{list} is not a YAML list of mappings: {e}"))?
            .unwrap_or_default();
        for m in entries {
            let arn = if m.rolearn.is_empty() {
                m.userarn
            } else {
                m.rolearn
            };
            if m.groups.iter().any(|g| g == MASTERS_GROUP) && !is_allowed(&arn, allowed) {
                found.push(MastersMapping {
                    list,
                    arn,
                    username: m.username,
                });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(map_roles: &str, map_users: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta::default(),
            data: BTreeMap::from([
                ("mapRoles".to_owned(), map_roles.to_owned()),
                ("mapUsers".to_owned(), map_users.to_owned()),
            ]),
        }
    }

    const ROLES: &str = "- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: arn:aws:iam::123456789012:role/eks-node\n  username: system:node:{{EC2PrivateDNSName}}\n- rolearn: arn:aws:iam::123456789012:role/contractor\n  username: contractor\n  groups:\n    - system:masters\n- rolearn: arn:aws:iam::123456789012:role/platform-admin\n  username: admin\n  groups: [system:masters]\n";

    #[test]
    fn masters_outside_the_allow_list_are_found_in_both_lists() {
        let allowed =
            vec![PrincipalPattern::parse("arn:aws:iam::123456789012:role/platform-*").unwrap()];
        let users = r#"[{"userarn": "arn:aws:iam::123456789012:user/alice", "username": "alice", "groups": ["system:masters"]}]"#;
        let found = outsider_masters(&config(ROLES, users), &allowed).unwrap();
        assert_eq!(
            found,
            vec![
                MastersMapping {
                    list: "mapRoles",
                    arn: "arn:aws:iam::123456789012:role/contractor".into(),
                    username: "contractor".into()
                },
                MastersMapping {
                    list: "mapUsers",
                    arn: "arn:aws:iam::123456789012:user/alice".into(),
                    username: "alice".into()
                },
            ]
        );
    }

    #[test]
    fn node_mappings_and_empty_lists_are_fine_and_bad_yaml_is_an_error() {
        let nodes = "- rolearn: arn:aws:iam::123456789012:role/eks-node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n";
        assert_eq!(outsider_masters(&config(nodes, ""), &[]).unwrap(), vec![]);
        assert_eq!(outsider_masters(&config("", "  \n"), &[]).unwrap(), vec![]);
        assert_eq!(
            outsider_masters(&ConfigMap::default(), &[]).unwrap(),
            vec![]
        );
        let err = outsider_masters(&config("- rolearn: [unclosed", ""), &[]).unwrap_err();
        assert!(err.starts_with("mapRoles"), "{err}");
    }
}
