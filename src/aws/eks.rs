//! EKS node groups: where EKS put a node group's remote-access security group.

use super::errors::classify;
use super::Aws;
use crate::error::AwsError;

/// What remediation needs to know about a managed node group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nodegroup {
    pub status: Option<String>,
    /// The group EKS creates for `remoteAccess` without source security groups. It may be
    /// absent while the node group is still `CREATING`.
    pub remote_access_security_group: Option<String>,
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
        let nodegroup = output.nodegroup();
        Ok(Nodegroup {
            status: nodegroup
                .and_then(|n| n.status())
                .map(|s| s.as_str().to_owned()),
            remote_access_security_group: nodegroup
                .and_then(|n| n.resources())
                .and_then(|r| r.remote_access_security_group())
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
        })
    }
}
