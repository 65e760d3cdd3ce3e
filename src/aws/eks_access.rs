//! EKS cluster access: access entries and their access policies, Pod Identity associations,
//! and the add-ons that tell whether a cluster can give pods their own IAM role.

use aws_sdk_eks::types::AccessScope as SdkAccessScope;

use super::errors::classify;
use super::Aws;
use crate::domain::access::{AccessEntry, AccessPolicyAssociation, AccessScope, PodIdentity};
use crate::error::{AwsError, AwsErrorKind};

impl Aws {
    /// The principal ARNs of every access entry of `cluster`, every page.
    pub async fn access_entries(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .eks()
            .await
            .list_access_entries()
            .cluster_name(cluster)
            .into_paginator()
            .send();
        let mut principals = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListAccessEntries", cluster, e))?;
            principals.extend(page.access_entries().iter().cloned());
        }
        Ok(principals)
    }

    /// One access entry: its type, user name and Kubernetes groups.
    pub async fn access_entry(
        &self,
        cluster: &str,
        principal: &str,
    ) -> Result<AccessEntry, AwsError> {
        let resource = format!("{cluster}/{principal}");
        let output = self
            .eks()
            .await
            .describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .map_err(|e| classify("DescribeAccessEntry", resource.as_str(), e))?;
        let Some(entry) = output.access_entry() else {
            return Err(AwsError {
                operation: "DescribeAccessEntry",
                resource,
                kind: AwsErrorKind::NotFound,
                code: "EmptyResponse".to_owned(),
                message: "the response holds no access entry".to_owned(),
            });
        };
        Ok(AccessEntry {
            principal_arn: entry.principal_arn().unwrap_or(principal).to_owned(),
            kind: entry.r#type().unwrap_or("STANDARD").to_owned(),
            username: entry.username().map(str::to_owned),
            groups: entry.kubernetes_groups().to_vec(),
        })
    }

    /// The access policies associated with `principal`'s access entry, every page.
    pub async fn associated_access_policies(
        &self,
        cluster: &str,
        principal: &str,
    ) -> Result<Vec<AccessPolicyAssociation>, AwsError> {
        let mut pages = self
            .eks()
            .await
            .list_associated_access_policies()
            .cluster_name(cluster)
            .principal_arn(principal)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                classify(
                    "ListAssociatedAccessPolicies",
                    format!("{cluster}/{principal}"),
                    e,
                )
            })?;
            found.extend(page.associated_access_policies().iter().filter_map(|p| {
                Some(AccessPolicyAssociation {
                    policy_arn: p.policy_arn()?.to_owned(),
                    scope: scope_of(p.access_scope())?,
                })
            }));
        }
        Ok(found)
    }

    /// Removes one access policy from `principal`'s access entry; the entry and its other
    /// policies stay.
    pub async fn disassociate_access_policy(
        &self,
        cluster: &str,
        principal: &str,
        policy_arn: &str,
    ) -> Result<(), AwsError> {
        self.eks()
            .await
            .disassociate_access_policy()
            .cluster_name(cluster)
            .principal_arn(principal)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                classify(
                    "DisassociateAccessPolicy",
                    format!("{cluster}/{principal}"),
                    e,
                )
            })
    }

    /// Deletes `principal`'s access entry (and with it the access it gives).
    pub async fn delete_access_entry(
        &self,
        cluster: &str,
        principal: &str,
    ) -> Result<(), AwsError> {
        self.eks()
            .await
            .delete_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("DeleteAccessEntry", format!("{cluster}/{principal}"), e))
    }

    /// One Pod Identity association, with its role.
    pub async fn pod_identity(&self, cluster: &str, id: &str) -> Result<PodIdentity, AwsError> {
        let resource = format!("{cluster}/{id}");
        let output = self
            .eks()
            .await
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id)
            .send()
            .await
            .map_err(|e| classify("DescribePodIdentityAssociation", resource.as_str(), e))?;
        let association = output.association();
        let field = |f: Option<&str>| f.unwrap_or_default().to_owned();
        match association.and_then(|a| a.role_arn()) {
            Some(role_arn) => Ok(PodIdentity {
                id: id.to_owned(),
                namespace: field(association.and_then(|a| a.namespace())),
                service_account: field(association.and_then(|a| a.service_account())),
                role_arn: role_arn.to_owned(),
            }),
            None => Err(AwsError {
                operation: "DescribePodIdentityAssociation",
                resource,
                kind: AwsErrorKind::NotFound,
                code: "EmptyResponse".to_owned(),
                message: "the response holds no association role".to_owned(),
            }),
        }
    }

    /// The ids of every Pod Identity association of `cluster`, every page.
    pub async fn pod_identity_ids(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .eks()
            .await
            .list_pod_identity_associations()
            .cluster_name(cluster)
            .into_paginator()
            .send();
        let mut ids = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListPodIdentityAssociations", cluster, e))?;
            ids.extend(
                page.associations()
                    .iter()
                    .filter_map(|a| a.association_id())
                    .map(str::to_owned),
            );
        }
        Ok(ids)
    }

    /// The names of the add-ons installed on `cluster`, every page.
    pub async fn addons(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .eks()
            .await
            .list_addons()
            .cluster_name(cluster)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListAddons", cluster, e))?;
            names.extend(page.addons().iter().cloned());
        }
        Ok(names)
    }
}

fn scope_of(scope: Option<&SdkAccessScope>) -> Option<AccessScope> {
    let scope = scope?;
    AccessScope::from_parts(scope.r#type()?.as_str(), scope.namespaces().to_vec())
}
