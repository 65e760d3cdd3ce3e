//! EKS: node groups (their remote-access security group, node role, subnets and launch
//! template) and clusters (endpoint access, control-plane logging, secrets encryption,
//! deletion protection).

use std::collections::BTreeSet;

use aws_sdk_eks::types::{
    EncryptionConfig, LogSetup, LogType as SdkLogType, Logging, Provider, VpcConfigRequest,
};

use super::errors::classify;
use super::Aws;
use crate::domain::node::LaunchTemplateRef;
use crate::domain::versions::{AddonVersion, Day, VersionSupport};
use crate::domain::{Cluster, EndpointAccess, LogType, Tags};
use crate::error::{AwsError, AwsErrorKind};

/// A managed node group, as `DescribeNodegroup` gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nodegroup {
    pub cluster: String,
    pub name: String,
    pub status: Option<String>,
    /// The group EKS creates for `remoteAccess` without source security groups. It may be
    /// absent while the node group is still `CREATING`.
    pub remote_access_security_group: Option<String>,
    /// The IAM role its nodes run with.
    pub role_arn: Option<String>,
    pub subnets: Vec<String>,
    pub launch_template: Option<LaunchTemplateRef>,
    pub tags: Tags,
}

impl Aws {
    pub async fn describe_nodegroup(
        &self,
        cluster: &str,
        nodegroup: &str,
    ) -> Result<Nodegroup, AwsError> {
        let output = self
            .eks()
            .await
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(nodegroup)
            .send()
            .await
            .map_err(|e| classify("DescribeNodegroup", format!("{cluster}/{nodegroup}"), e))?;
        let Some(found) = output.nodegroup() else {
            return Err(AwsError {
                operation: "DescribeNodegroup",
                resource: format!("{cluster}/{nodegroup}"),
                kind: AwsErrorKind::NotFound,
                code: "EmptyResponse".to_owned(),
                message: "the response holds no node group".to_owned(),
            });
        };
        Ok(Nodegroup {
            cluster: cluster.to_owned(),
            name: nodegroup.to_owned(),
            status: found.status().map(|s| s.as_str().to_owned()),
            remote_access_security_group: found
                .resources()
                .and_then(|r| r.remote_access_security_group())
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            role_arn: found.node_role().map(str::to_owned),
            subnets: found.subnets().to_vec(),
            launch_template: found.launch_template().map(|t| LaunchTemplateRef {
                id: t.id().map(str::to_owned),
                name: t.name().map(str::to_owned),
                version: t.version().map(str::to_owned),
            }),
            tags: found
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
    }
}

impl Aws {
    /// The cluster's endpoint access, logging, encryption, status and tags, in one call
    /// (`DescribeCluster` returns the tags, so no `ListTagsForResource` is needed).
    pub async fn describe_cluster(&self, name: &str) -> Result<Cluster, AwsError> {
        let output = self
            .eks()
            .await
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| classify("DescribeCluster", name, e))?;
        let Some(cluster) = output.cluster() else {
            return Err(AwsError {
                operation: "DescribeCluster",
                resource: name.to_owned(),
                kind: AwsErrorKind::NotFound,
                code: "EmptyResponse".to_owned(),
                message: "the response holds no cluster".to_owned(),
            });
        };
        let endpoint = match cluster.resources_vpc_config() {
            Some(vpc) => EndpointAccess {
                public: vpc.endpoint_public_access(),
                private: vpc.endpoint_private_access(),
                public_cidrs: vpc.public_access_cidrs().to_vec(),
            },
            None => EndpointAccess::default(),
        };
        let logging = cluster
            .logging()
            .map(|l| l.cluster_logging())
            .unwrap_or_default()
            .iter()
            .filter(|setup| setup.enabled() == Some(true))
            .flat_map(|setup| setup.types())
            .filter_map(|t| LogType::parse(t.as_str()))
            .collect();
        Ok(Cluster {
            name: cluster.name().unwrap_or(name).to_owned(),
            arn: cluster.arn().map(str::to_owned),
            status: cluster.status().map(|s| s.as_str().to_owned()),
            tags: cluster
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            endpoint,
            logging,
            secrets_encrypted: cluster.encryption_config().iter().any(|c| {
                c.provider()
                    .and_then(|p| p.key_arn())
                    .is_some_and(|k| !k.is_empty())
            }),
            version: cluster.version().map(str::to_owned),
            support_type: cluster
                .upgrade_policy()
                .and_then(|p| p.support_type())
                .map(|t| t.as_str().to_owned()),
            authentication_mode: cluster
                .access_config()
                .and_then(|a| a.authentication_mode())
                .map(|m| m.as_str().to_owned()),
            deletion_protection: cluster.deletion_protection(),
            oidc_issuer: cluster
                .identity()
                .and_then(|i| i.oidc())
                .and_then(|o| o.issuer())
                .map(str::to_owned),
        })
    }

    /// Every Kubernetes version EKS knows, supported or not, with its support dates
    /// (`DescribeClusterVersions` with `includeAll`), every page.
    pub async fn cluster_versions(&self) -> Result<Vec<VersionSupport>, AwsError> {
        let mut pages = self
            .eks()
            .await
            .describe_cluster_versions()
            .include_all(true)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeClusterVersions", "*", e))?;
            versions.extend(page.cluster_versions().iter().filter_map(|v| {
                Some(VersionSupport {
                    version: v.cluster_version()?.to_owned(),
                    default: v.default_version(),
                    end_of_standard: v.end_of_standard_support_date().map(day),
                    end_of_extended: v.end_of_extended_support_date().map(day),
                    status: v.status().map(|s| s.as_str().to_owned()),
                })
            }));
        }
        Ok(versions)
    }

    /// The version of add-on `addon` on `cluster`; `None` when it is not installed as an
    /// EKS add-on (self-managed, or absent).
    pub async fn addon_version(
        &self,
        cluster: &str,
        addon: &str,
    ) -> Result<Option<String>, AwsError> {
        match self
            .eks()
            .await
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(addon)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .addon()
                .and_then(|a| a.addon_version())
                .map(str::to_owned)),
            Err(e) => match classify("DescribeAddon", format!("{cluster}/{addon}"), e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// The versions of add-on `addon` compatible with Kubernetes `kubernetes`, every page.
    pub async fn compatible_addon_versions(
        &self,
        addon: &str,
        kubernetes: &str,
    ) -> Result<Vec<AddonVersion>, AwsError> {
        let mut pages = self
            .eks()
            .await
            .describe_addon_versions()
            .addon_name(addon)
            .kubernetes_version(kubernetes)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeAddonVersions", addon, e))?;
            for info in page.addons().iter().flat_map(|a| a.addon_versions()) {
                let Some(version) = info.addon_version() else {
                    continue;
                };
                let mut fits = info
                    .compatibilities()
                    .iter()
                    .filter(|c| c.cluster_version() == Some(kubernetes))
                    .peekable();
                if fits.peek().is_some() {
                    versions.push(AddonVersion {
                        version: version.to_owned(),
                        default: fits.any(|c| c.default_version()),
                    });
                }
            }
        }
        Ok(versions)
    }

    /// Sets who can reach the API endpoint. Only the endpoint fields are sent: AWS merges
    /// them into the cluster's VPC config and keeps its subnets and security groups.
    /// Returns the EKS update id, when the response has one.
    pub async fn update_endpoint_access(
        &self,
        name: &str,
        access: &EndpointAccess,
    ) -> Result<Option<String>, AwsError> {
        let mut vpc = VpcConfigRequest::builder()
            .endpoint_public_access(access.public)
            .endpoint_private_access(access.private);
        if access.public {
            vpc = vpc.set_public_access_cidrs(Some(access.public_cidrs.clone()));
        }
        let output = self
            .eks()
            .await
            .update_cluster_config()
            .name(name)
            .resources_vpc_config(vpc.build())
            .send()
            .await
            .map_err(|e| classify("UpdateClusterConfig", name, e))?;
        Ok(output.update().and_then(|u| u.id()).map(str::to_owned))
    }

    /// Switches on the given control-plane log types. EKS changes only the types named, so
    /// the ones already on stay on.
    pub async fn enable_logging(
        &self,
        name: &str,
        types: &BTreeSet<LogType>,
    ) -> Result<Option<String>, AwsError> {
        let setup = LogSetup::builder()
            .set_types(Some(
                types.iter().map(|t| SdkLogType::from(t.as_str())).collect(),
            ))
            .enabled(true)
            .build();
        let output = self
            .eks()
            .await
            .update_cluster_config()
            .name(name)
            .logging(Logging::builder().cluster_logging(setup).build())
            .send()
            .await
            .map_err(|e| classify("UpdateClusterConfig", name, e))?;
        Ok(output.update().and_then(|u| u.id()).map(str::to_owned))
    }

    /// Turns deletion protection on. It is its own kind of update (`DeletionProtectionUpdate`),
    /// so it is sent alone; EKS accepts it only while the cluster is `ACTIVE`
    /// (<https://docs.aws.amazon.com/eks/latest/userguide/deletion-protection.html>).
    pub async fn enable_deletion_protection(&self, name: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .eks()
            .await
            .update_cluster_config()
            .name(name)
            .deletion_protection(true)
            .send()
            .await
            .map_err(|e| classify("UpdateClusterConfig", name, e))?;
        Ok(output.update().and_then(|u| u.id()).map(str::to_owned))
    }

    /// Envelope-encrypts the cluster's Kubernetes secrets with `key_arn`. EKS cannot undo this.
    ///
    /// The SDK marks `resources` deprecated (EKS now encrypts all API data with an AWS-owned
    /// key by default), but the API still documents `secrets` as the value that selects a
    /// customer-managed key for secrets, so it is sent.
    #[allow(deprecated)]
    pub async fn associate_secrets_encryption(
        &self,
        name: &str,
        key_arn: &str,
    ) -> Result<Option<String>, AwsError> {
        let config = EncryptionConfig::builder()
            .resources("secrets")
            .provider(Provider::builder().key_arn(key_arn).build())
            .build();
        let output = self
            .eks()
            .await
            .associate_encryption_config()
            .cluster_name(name)
            .encryption_config(config)
            .send()
            .await
            .map_err(|e| classify("AssociateEncryptionConfig", name, e))?;
        Ok(output.update().and_then(|u| u.id()).map(str::to_owned))
    }
}

/// A managed node group and the IAM role its nodes run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodegroupRole {
    pub cluster: String,
    pub nodegroup: String,
    pub role_arn: String,
}

impl Aws {
    /// The names of every cluster in the region, every page.
    pub async fn list_clusters(&self) -> Result<Vec<String>, AwsError> {
        let eks = self.eks().await;
        let mut clusters = Vec::new();
        let mut token = None;
        loop {
            let out = eks
                .list_clusters()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListClusters", "*", e))?;
            clusters.extend(out.clusters().iter().cloned());
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(clusters);
            }
        }
    }

    /// Every managed node group of every cluster in the region, with its node role. Costs one
    /// call per cluster and per node group, so callers ask only when cheaper signs failed.
    pub async fn nodegroup_roles(&self) -> Result<Vec<NodegroupRole>, AwsError> {
        Ok(self
            .nodegroups()
            .await?
            .into_iter()
            .filter_map(|n| {
                Some(NodegroupRole {
                    role_arn: n.role_arn?,
                    cluster: n.cluster,
                    nodegroup: n.name,
                })
            })
            .collect())
    }

    /// Every managed node group of every cluster in the region, described: one call per
    /// cluster and per node group. One deleted meanwhile is left out.
    pub async fn nodegroups(&self) -> Result<Vec<Nodegroup>, AwsError> {
        let eks = self.eks().await;
        let clusters = self.list_clusters().await?;
        let mut nodegroups = Vec::new();
        for cluster in clusters {
            let mut names = Vec::new();
            let mut token = None;
            loop {
                let out = match eks
                    .list_nodegroups()
                    .cluster_name(&cluster)
                    .set_next_token(token)
                    .send()
                    .await
                {
                    Ok(out) => out,
                    // Deleted between the two calls.
                    Err(e) => match classify("ListNodegroups", cluster.as_str(), e) {
                        e if e.is_not_found() => break,
                        e => return Err(e),
                    },
                };
                names.extend(out.nodegroups().iter().cloned());
                token = out.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            for nodegroup in names {
                match self.describe_nodegroup(&cluster, &nodegroup).await {
                    Ok(found) => nodegroups.push(found),
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(nodegroups)
    }
}

/// A timestamp from EKS as a [`Day`].
fn day(at: &aws_sdk_eks::primitives::DateTime) -> Day {
    Day::from_epoch_seconds(at.secs())
}
