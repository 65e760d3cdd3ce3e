//! The updates of `enforce-cluster-config`: what each one says in an alert, the command that
//! undoes it, and the call that makes it.

use serde_json::json;

use super::detect::Fix;
use crate::aws::Aws;
use crate::domain::cluster::join_log_types;
use crate::domain::shell_quote;
use crate::error::AwsError;

impl Fix {
    /// The API call, as the alert lists it.
    pub fn action(&self, cluster: &str) -> String {
        match self {
            Fix::Endpoint { to, .. } if to.public => format!(
                "UpdateClusterConfig {cluster} resourcesVpcConfig publicAccessCidrs={}",
                to.public_cidrs.join(",")
            ),
            Fix::Endpoint { to, .. } => format!(
                "UpdateClusterConfig {cluster} resourcesVpcConfig endpointPublicAccess=false,endpointPrivateAccess={}",
                to.private
            ),
            Fix::Logging { enable } => format!(
                "UpdateClusterConfig {cluster} logging enable {}",
                join_log_types(enable)
            ),
            Fix::DeletionProtection => {
                format!("UpdateClusterConfig {cluster} deletionProtection=true")
            }
            Fix::Encrypt { key_arn } => {
                format!("AssociateEncryptionConfig {cluster} secrets with {key_arn}")
            }
        }
    }

    /// An AWS CLI command that restores what this update changed; `None` for encryption,
    /// which EKS cannot remove.
    pub fn undo(&self, cluster: &str, region: &str) -> Option<String> {
        let command = |option: &str, value: serde_json::Value| {
            format!(
                "aws eks update-cluster-config --region {region} --name {} {option} {}",
                shell_quote(cluster),
                shell_quote(&value.to_string())
            )
        };
        match self {
            Fix::Endpoint { from, .. } => Some(command(
                "--resources-vpc-config",
                json!({
                    "endpointPublicAccess": from.public,
                    "endpointPrivateAccess": from.private,
                    "publicAccessCidrs": from.public_cidrs,
                }),
            )),
            Fix::Logging { enable } => Some(command(
                "--logging",
                json!({"clusterLogging": [{
                    "types": enable.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                    "enabled": false,
                }]}),
            )),
            // The CLI's boolean flag (docs.aws.amazon.com/eks/latest/userguide/deletion-protection.html).
            Fix::DeletionProtection => Some(format!(
                "aws eks update-cluster-config --region {region} --name {} --no-deletion-protection",
                shell_quote(cluster)
            )),
            Fix::Encrypt { .. } => None,
        }
    }

    /// Makes the update.
    pub async fn apply(&self, aws: &Aws, cluster: &str) -> Result<(), AwsError> {
        match self {
            Fix::Endpoint { to, .. } => aws.update_endpoint_access(cluster, to).await,
            Fix::Logging { enable } => aws.enable_logging(cluster, enable).await,
            Fix::DeletionProtection => aws.enable_deletion_protection(cluster).await,
            Fix::Encrypt { key_arn } => aws.associate_secrets_encryption(cluster, key_arn).await,
        }
        .map(|_update_id| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EndpointAccess, LogType};
    use std::collections::BTreeSet;

    #[test]
    fn undo_restores_the_previous_endpoint_exactly() {
        let fix = Fix::Endpoint {
            from: EndpointAccess::default(),
            to: EndpointAccess {
                public: false,
                private: true,
                public_cidrs: Vec::new(),
            },
        };
        assert_eq!(
            fix.action("prod"),
            "UpdateClusterConfig prod resourcesVpcConfig endpointPublicAccess=false,endpointPrivateAccess=true"
        );
        assert_eq!(
            fix.undo("prod", "eu-west-1").unwrap(),
            "aws eks update-cluster-config --region eu-west-1 --name 'prod' --resources-vpc-config \
             '{\"endpointPrivateAccess\":false,\"endpointPublicAccess\":true,\"publicAccessCidrs\":[\"0.0.0.0/0\"]}'"
        );
    }

    #[test]
    fn undo_of_logging_disables_only_what_was_enabled() {
        let fix = Fix::Logging {
            enable: BTreeSet::from([LogType::Audit, LogType::ControllerManager]),
        };
        assert_eq!(
            fix.action("prod"),
            "UpdateClusterConfig prod logging enable audit,controllerManager"
        );
        let undo = fix.undo("prod", "us-east-1").unwrap();
        assert!(
            undo.ends_with(
                "--logging '{\"clusterLogging\":[{\"enabled\":false,\"types\":[\"audit\",\"controllerManager\"]}]}'"
            ),
            "{undo}"
        );
        let encrypt = Fix::Encrypt {
            key_arn: "arn:aws:kms:us-east-1:1:key/k".into(),
        };
        assert_eq!(encrypt.undo("prod", "us-east-1"), None);
    }

    #[test]
    fn undo_of_deletion_protection_turns_it_off_again() {
        let fix = Fix::DeletionProtection;
        assert_eq!(
            fix.action("prod"),
            "UpdateClusterConfig prod deletionProtection=true"
        );
        assert_eq!(
            fix.undo("prod", "eu-west-1").unwrap(),
            "aws eks update-cluster-config --region eu-west-1 --name 'prod' --no-deletion-protection"
        );
    }
}
