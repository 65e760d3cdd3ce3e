//! The changes `detach-node-policy` makes: what each says in an alert, the command that undoes
//! it, and the call that makes it.

use serde_json::json;

use crate::aws::Aws;
use crate::domain::shell_quote;
use crate::error::AwsError;
use crate::rules::decision::Fix;

/// The inline policy that revokes a role's older sessions, under the name the IAM console uses
/// for the same thing, so people recognise it.
pub const REVOKE_POLICY_NAME: &str = "AWSRevokeOlderSessions";

/// One change to a node role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Detach {
        role: String,
        policy_arn: String,
    },
    /// `document` is the policy's current text, decoded, so the undo restores it verbatim.
    DeleteInline {
        role: String,
        policy_name: String,
        document: String,
    },
    /// Deny every action to sessions issued before `before` (ISO 8601).
    RevokeSessions {
        role: String,
        before: String,
    },
}

impl Fix for Change {
    fn action(&self) -> String {
        match self {
            Change::Detach { role, policy_arn } => format!("DetachRolePolicy {role} {policy_arn}"),
            Change::DeleteInline {
                role, policy_name, ..
            } => format!("DeleteRolePolicy {role} {policy_name}"),
            Change::RevokeSessions { role, before } => format!(
                "PutRolePolicy {role} {REVOKE_POLICY_NAME} (deny sessions issued before {before})"
            ),
        }
    }

    fn undo(&self) -> String {
        match self {
            Change::Detach { role, policy_arn } => format!(
                "aws iam attach-role-policy --role-name {} --policy-arn {}",
                shell_quote(role),
                shell_quote(policy_arn)
            ),
            Change::DeleteInline {
                role,
                policy_name,
                document,
            } => format!(
                "aws iam put-role-policy --role-name {} --policy-name {} --policy-document {}",
                shell_quote(role),
                shell_quote(policy_name),
                shell_quote(document)
            ),
            Change::RevokeSessions { role, .. } => format!(
                "aws iam delete-role-policy --role-name {} --policy-name {REVOKE_POLICY_NAME}",
                shell_quote(role)
            ),
        }
    }

    async fn apply(&self, aws: &Aws) -> Result<(), AwsError> {
        match self {
            Change::Detach { role, policy_arn } => aws.detach_role_policy(role, policy_arn).await,
            Change::DeleteInline {
                role, policy_name, ..
            } => aws.delete_role_policy(role, policy_name).await,
            Change::RevokeSessions { role, before } => {
                aws.put_role_policy(role, REVOKE_POLICY_NAME, &revoke_document(before))
                    .await
            }
        }
    }
}

/// The deny-older-sessions document: every session whose token was issued before `before`
/// loses all access; new instance credentials, issued after, are unaffected.
pub fn revoke_document(before: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RevokeOlderSessions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": before}},
        }],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::PolicyDocument;

    #[test]
    fn undo_restores_exactly_what_was_removed() {
        let detach = Change::Detach {
            role: "nodes".into(),
            policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        };
        assert_eq!(
            detach.undo(),
            "aws iam attach-role-policy --role-name 'nodes' --policy-arn 'arn:aws:iam::aws:policy/AdministratorAccess'"
        );
        let document = "{\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Sid\": \"it's\"}]\n}";
        let delete = Change::DeleteInline {
            role: "nodes".into(),
            policy_name: "debug".into(),
            document: document.into(),
        };
        assert_eq!(delete.action(), "DeleteRolePolicy nodes debug");
        assert!(delete
            .undo()
            .ends_with(&format!("--policy-document {}", shell_quote(document))));
    }

    #[test]
    fn the_revocation_denies_everything_to_older_tokens_only() {
        let doc = revoke_document("2026-11-28T15:00:00Z");
        let parsed = PolicyDocument::parse(&doc).unwrap();
        assert!(parsed.over_broad().is_empty(), "a deny is not over-broad");
        assert!(doc.contains("\"aws:TokenIssueTime\":\"2026-11-28T15:00:00Z\""));
    }
}
