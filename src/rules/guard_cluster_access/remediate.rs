//! The changes `guard-cluster-access` makes: what each says in an alert, the command that
//! undoes it, and the call that makes it. Each removes exactly one grant; the access entry
//! that holds an admin policy keeps its other policies.

use crate::aws::Aws;
use crate::domain::access::{AccessEntry, AccessScope};
use crate::domain::shell_quote;
use crate::error::AwsError;
use crate::rules::decision::Fix;

/// One change to a cluster's access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Take one access policy from one principal's access entry.
    Disassociate {
        cluster: String,
        principal: String,
        policy_arn: String,
        /// The scope it had, for the undo.
        scope: AccessScope,
    },
    /// Delete an access entry that gives node identity to a principal that is no node.
    DeleteEntry { cluster: String, entry: AccessEntry },
}

impl Fix for Change {
    fn action(&self) -> String {
        match self {
            Change::Disassociate {
                cluster,
                principal,
                policy_arn,
                ..
            } => format!("DisassociateAccessPolicy {cluster} {principal} {policy_arn}"),
            Change::DeleteEntry { cluster, entry } => {
                format!("DeleteAccessEntry {cluster} {}", entry.principal_arn)
            }
        }
    }

    fn undo(&self) -> String {
        match self {
            Change::Disassociate {
                cluster,
                principal,
                policy_arn,
                scope,
            } => format!(
                "aws eks associate-access-policy --cluster-name {} --principal-arn {} --policy-arn {} --access-scope {}",
                shell_quote(cluster),
                shell_quote(principal),
                shell_quote(policy_arn),
                shell_quote(&scope.cli_argument())
            ),
            Change::DeleteEntry { cluster, entry } => {
                let mut command = format!(
                    "aws eks create-access-entry --cluster-name {} --principal-arn {} --type {}",
                    shell_quote(cluster),
                    shell_quote(&entry.principal_arn),
                    shell_quote(&entry.kind)
                );
                // EKS fills in a node entry's user name and groups itself and refuses them
                // in the request for node types, so only a STANDARD entry names them.
                if entry.kind == "STANDARD" {
                    if let Some(user) = &entry.username {
                        command.push_str(&format!(" --username {}", shell_quote(user)));
                    }
                    if !entry.groups.is_empty() {
                        command.push_str(&format!(
                            " --kubernetes-groups {}",
                            entry
                                .groups
                                .iter()
                                .map(|g| shell_quote(g))
                                .collect::<Vec<_>>()
                                .join(" ")
                        ));
                    }
                }
                command
            }
        }
    }

    async fn apply(&self, aws: &Aws) -> Result<(), AwsError> {
        match self {
            Change::Disassociate {
                cluster,
                principal,
                policy_arn,
                ..
            } => {
                aws.disassociate_access_policy(cluster, principal, policy_arn)
                    .await
            }
            Change::DeleteEntry { cluster, entry } => {
                aws.delete_access_entry(cluster, &entry.principal_arn).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_restores_the_same_policy_and_scope() {
        let change = Change::Disassociate {
            cluster: "prod".into(),
            principal: "arn:aws:iam::123456789012:role/contractor".into(),
            policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy".into(),
            scope: AccessScope::Namespaces(vec!["kube-system".into(), "default".into()]),
        };
        assert_eq!(
            change.undo(),
            "aws eks associate-access-policy --cluster-name 'prod' --principal-arn \
             'arn:aws:iam::123456789012:role/contractor' --policy-arn \
             'arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy' --access-scope \
             'type=namespace,namespaces=kube-system,default'"
        );
        assert_eq!(
            change.action(),
            "DisassociateAccessPolicy prod arn:aws:iam::123456789012:role/contractor arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"
        );
    }

    #[test]
    fn undo_of_a_deleted_node_entry_names_only_its_type() {
        let change = Change::DeleteEntry {
            cluster: "prod".into(),
            entry: AccessEntry {
                principal_arn: "arn:aws:iam::123456789012:role/ci-runner".into(),
                kind: "EC2_LINUX".into(),
                username: Some("system:node:{{EC2PrivateDNSName}}".into()),
                groups: vec![],
            },
        };
        assert_eq!(
            change.undo(),
            "aws eks create-access-entry --cluster-name 'prod' --principal-arn \
             'arn:aws:iam::123456789012:role/ci-runner' --type 'EC2_LINUX'"
        );
    }
}
