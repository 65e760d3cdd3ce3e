//! The one change `harden-nodes` makes (a node's metadata options), with its undo, and the
//! commands its alerts give for what it leaves to people: a launch template version that
//! requires IMDSv2, and a node group moved to private subnets in several zones.

use serde_json::json;

use crate::aws::Aws;
use crate::domain::node::MetadataOptions;
use crate::domain::shell_quote;
use crate::error::AwsError;
use crate::rules::decision::Fix;

/// A node's metadata options, from what they were to what makes them safe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub instance: String,
    pub region: String,
    pub from: MetadataOptions,
    pub to: MetadataOptions,
}

impl Fix for Metadata {
    fn action(&self) -> String {
        format!(
            "ModifyInstanceMetadataOptions {} HttpTokens={} HttpPutResponseHopLimit={}",
            self.instance,
            self.to.tokens_label(),
            self.to.hop_limit.unwrap_or(1)
        )
    }

    fn undo(&self) -> String {
        format!(
            "aws ec2 modify-instance-metadata-options --region {} --instance-id {} \
             --http-tokens {} --http-put-response-hop-limit {}",
            self.region,
            self.instance,
            self.from.http_tokens.as_deref().unwrap_or("optional"),
            self.from.hop_limit.unwrap_or(1)
        )
    }

    async fn apply(&self, aws: &Aws) -> Result<(), AwsError> {
        aws.set_metadata_options(&self.instance, &self.to).await
    }
}

/// The command that makes a safe new version of a launch template from `source_version`:
/// only its metadata options differ. Rolling it out replaces nodes, so it is the node
/// group's owner who runs it, then points the node group at the new version.
pub fn template_fix_command(
    region: &str,
    template_id: &str,
    source_version: i64,
    to: &MetadataOptions,
) -> String {
    let mut options = json!({
        "HttpTokens": to.tokens_label(),
        "HttpPutResponseHopLimit": to.hop_limit.unwrap_or(1),
        "HttpEndpoint": to.http_endpoint.as_deref().unwrap_or("enabled"),
    });
    if let Some(ipv6) = &to.http_protocol_ipv6 {
        options["HttpProtocolIpv6"] = json!(ipv6);
    }
    if let Some(tags) = &to.instance_metadata_tags {
        options["InstanceMetadataTags"] = json!(tags);
    }
    format!(
        "aws ec2 create-launch-template-version --region {region} --launch-template-id \
         {template_id} --source-version {source_version} --launch-template-data {}",
        shell_quote(&json!({ "MetadataOptions": options }).to_string())
    )
}

/// How to roll a node group onto a fixed launch template version.
pub fn nodegroup_rollout_command(
    region: &str,
    cluster: &str,
    nodegroup: &str,
    template_id: &str,
) -> String {
    format!(
        "aws eks update-nodegroup-version --region {region} --cluster-name {} --nodegroup-name \
         {} --launch-template id={template_id},version=<the new version>",
        shell_quote(cluster),
        shell_quote(nodegroup)
    )
}

/// What to do about a node group in one zone or in public subnets: EKS cannot move a node
/// group to other subnets, so it is replaced.
pub const NODEGROUP_SUBNET_FIX: &str = "A node group's subnets cannot be changed: create a \
     replacement with private subnets (no MapPublicIpOnLaunch, default route through a NAT \
     gateway) in at least two Availability Zones (aws eks create-nodegroup --subnets \
     <subnet-a> <subnet-b> ...), cordon and drain the old nodes, then delete the old node group";

#[cfg(test)]
mod tests {
    use super::*;

    fn options(tokens: &str, hop: i32) -> MetadataOptions {
        MetadataOptions {
            http_tokens: Some(tokens.into()),
            hop_limit: Some(hop),
            http_endpoint: Some("enabled".into()),
            ..MetadataOptions::default()
        }
    }

    #[test]
    fn undo_restores_the_previous_tokens_and_hop_limit() {
        let fix = Metadata {
            instance: "i-0abc".into(),
            region: "eu-west-1".into(),
            from: options("optional", 2),
            to: options("required", 1),
        };
        assert_eq!(
            fix.action(),
            "ModifyInstanceMetadataOptions i-0abc HttpTokens=required HttpPutResponseHopLimit=1"
        );
        assert_eq!(
            fix.undo(),
            "aws ec2 modify-instance-metadata-options --region eu-west-1 --instance-id i-0abc \
             --http-tokens optional --http-put-response-hop-limit 2"
        );
    }

    #[test]
    fn the_template_command_names_every_metadata_option() {
        let command = template_fix_command("us-east-1", "lt-0123", 3, &options("required", 2));
        assert_eq!(
            command,
            "aws ec2 create-launch-template-version --region us-east-1 --launch-template-id \
             lt-0123 --source-version 3 --launch-template-data \
             '{\"MetadataOptions\":{\"HttpEndpoint\":\"enabled\",\"HttpPutResponseHopLimit\":2,\"HttpTokens\":\"required\"}}'"
        );
    }
}
