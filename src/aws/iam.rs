//! IAM: what is attached to a role, its tags, policy documents, and detaching or deleting
//! one policy.
//!
//! IAM returns policy documents URL-encoded (RFC 3986); they are passed on as returned, and
//! `domain::policy` decodes them.

use super::errors::classify;
use super::Aws;
use crate::domain::Tags;
use crate::error::{AwsError, AwsErrorKind};

impl Aws {
    /// The ARNs of the managed policies attached to `role`, every page.
    pub async fn attached_role_policies(&self, role: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .iam()
            .await
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut arns = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListAttachedRolePolicies", role, e))?;
            arns.extend(
                page.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn())
                    .map(str::to_owned),
            );
        }
        Ok(arns)
    }

    /// The role's tags, every page.
    pub async fn role_tags(&self, role: &str) -> Result<Tags, AwsError> {
        let mut pages = self
            .iam()
            .await
            .list_role_tags()
            .role_name(role)
            .into_paginator()
            .send();
        let mut tags = Tags::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListRoleTags", role, e))?;
            tags.extend(
                page.tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned())),
            );
        }
        Ok(tags)
    }

    /// The default version's document of a managed policy (`GetPolicy`, `GetPolicyVersion`).
    pub async fn managed_policy_document(&self, arn: &str) -> Result<String, AwsError> {
        let policy = self
            .iam()
            .await
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| classify("GetPolicy", arn, e))?;
        let version = policy
            .policy()
            .and_then(|p| p.default_version_id())
            .ok_or_else(|| empty("GetPolicy", arn, "no default version"))?;
        let out = self
            .iam()
            .await
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| classify("GetPolicyVersion", arn, e))?;
        out.policy_version()
            .and_then(|v| v.document())
            .map(str::to_owned)
            .ok_or_else(|| empty("GetPolicyVersion", arn, "no document"))
    }

    /// The document of the inline policy `name` of `role`.
    pub async fn role_policy_document(&self, role: &str, name: &str) -> Result<String, AwsError> {
        let out = self
            .iam()
            .await
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| classify("GetRolePolicy", format!("{role}/{name}"), e))?;
        Ok(out.policy_document().to_owned())
    }

    pub async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), AwsError> {
        self.iam()
            .await
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| classify("DetachRolePolicy", format!("{role} {arn}"), e))?;
        Ok(())
    }

    pub async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), AwsError> {
        self.iam()
            .await
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| classify("DeleteRolePolicy", format!("{role}/{name}"), e))?;
        Ok(())
    }

    pub async fn put_role_policy(
        &self,
        role: &str,
        name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        self.iam()
            .await
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map_err(|e| classify("PutRolePolicy", format!("{role}/{name}"), e))?;
        Ok(())
    }
}

/// A role as `GetRole` gives it: its trust policy and tags, in one call.
#[derive(Clone, Debug)]
pub struct RoleTrust {
    /// The trust policy, URL-encoded as IAM returns it.
    pub trust: Option<String>,
    pub tags: Tags,
}

impl Aws {
    /// The role's trust policy and tags (`GetRole`).
    pub async fn role_trust(&self, role: &str) -> Result<RoleTrust, AwsError> {
        let output = self
            .iam()
            .await
            .get_role()
            .role_name(role)
            .send()
            .await
            .map_err(|e| classify("GetRole", role, e))?;
        let Some(found) = output.role() else {
            return Err(empty("GetRole", role, "the response holds no role"));
        };
        Ok(RoleTrust {
            trust: found.assume_role_policy_document().map(str::to_owned),
            tags: found
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        })
    }

    /// The ARNs of the account's IAM OIDC identity providers.
    pub async fn oidc_providers(&self) -> Result<Vec<String>, AwsError> {
        let output = self
            .iam()
            .await
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| classify("ListOpenIDConnectProviders", "*", e))?;
        Ok(output
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .map(str::to_owned)
            .collect())
    }
}

/// A role as `ListRoles` shows it: enough to tell, without more calls, whether it could be
/// a node role at all.
#[derive(Clone, Debug)]
pub struct RoleSummary {
    pub name: String,
    pub path: String,
    /// The trust policy, URL-encoded as IAM returns it.
    pub trust: Option<String>,
}

impl Aws {
    /// Every role of the account, every page.
    pub async fn list_roles(&self) -> Result<Vec<RoleSummary>, AwsError> {
        let mut pages = self.iam().await.list_roles().into_paginator().send();
        let mut roles = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListRoles", "*", e))?;
            roles.extend(page.roles().iter().map(|r| RoleSummary {
                name: r.role_name().to_owned(),
                path: r.path().to_owned(),
                trust: r.assume_role_policy_document().map(str::to_owned),
            }));
        }
        Ok(roles)
    }

    /// The names of the role's inline policies, every page.
    pub async fn role_inline_policies(&self, role: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .iam()
            .await
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListRolePolicies", role, e))?;
            names.extend(page.policy_names().iter().cloned());
        }
        Ok(names)
    }
}

fn empty(operation: &'static str, resource: &str, what: &str) -> AwsError {
    AwsError {
        operation,
        resource: resource.to_owned(),
        kind: AwsErrorKind::Other,
        code: "EmptyResponse".to_owned(),
        message: what.to_owned(),
    }
}
