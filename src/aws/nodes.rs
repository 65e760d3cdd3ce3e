//! EC2 as `harden-nodes` reads and changes it: instances and their metadata options, launch
//! templates and their versions, and subnets with the routes that make them public.

use aws_sdk_ec2::types::{
    Filter, HttpTokensState, InstanceMetadataEndpointState, InstanceMetadataProtocolState,
    InstanceMetadataTagsState,
};

use super::ec2::tags;
use super::errors::classify;
use super::Aws;
use crate::domain::node::{
    Instance, LaunchTemplate, LaunchTemplateVersion, MetadataOptions, Subnet,
};
use crate::error::{AwsError, AwsErrorKind};

/// The most instances one `DescribeInstances` page holds.
const INSTANCES_PER_PAGE: i32 = 1000;

impl Aws {
    /// One instance, with its tags and metadata options. Not found: an error that
    /// [`AwsError::is_not_found`] recognises (EC2's `InvalidInstanceID.NotFound`, or an answer
    /// without the instance).
    pub async fn describe_instance(&self, id: &str) -> Result<Instance, AwsError> {
        let output = self
            .ec2()
            .await
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| classify("DescribeInstances", id, e))?;
        output
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(id))
            .map(instance_from_sdk)
            .ok_or_else(|| AwsError {
                operation: "DescribeInstances",
                resource: id.to_owned(),
                kind: AwsErrorKind::NotFound,
                code: "EmptyResponse".to_owned(),
                message: "the response holds no such instance".to_owned(),
            })
    }

    /// Every running instance of the region, in pages of 1000: the sweep judges their tags
    /// itself, since EC2 cannot filter on a tag key's prefix (`kubernetes.io/cluster/*`).
    pub async fn running_instances(&self) -> Result<Vec<Instance>, AwsError> {
        let mut pages = self
            .ec2()
            .await
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("running")
                    .build(),
            )
            .into_paginator()
            .page_size(INSTANCES_PER_PAGE)
            .send();
        let mut instances = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeInstances", "running", e))?;
            instances.extend(
                page.reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .map(instance_from_sdk),
            );
        }
        Ok(instances)
    }

    /// Sets an instance's metadata options to `to`, every option named: EC2 keeps the options
    /// a call leaves out, but moto resets them (the hop limit drops to 1), and naming them all
    /// makes the call say exactly what the instance ends with.
    pub async fn set_metadata_options(
        &self,
        instance: &str,
        to: &MetadataOptions,
    ) -> Result<(), AwsError> {
        let mut call = self
            .ec2()
            .await
            .modify_instance_metadata_options()
            .instance_id(instance)
            .set_http_tokens(to.http_tokens.as_deref().map(HttpTokensState::from))
            .set_http_put_response_hop_limit(to.hop_limit)
            .set_http_endpoint(
                to.http_endpoint
                    .as_deref()
                    .map(InstanceMetadataEndpointState::from),
            );
        if let Some(ipv6) = &to.http_protocol_ipv6 {
            call = call.http_protocol_ipv6(InstanceMetadataProtocolState::from(ipv6.as_str()));
        }
        if let Some(tags) = &to.instance_metadata_tags {
            call = call.instance_metadata_tags(InstanceMetadataTagsState::from(tags.as_str()));
        }
        call.send()
            .await
            .map_err(|e| classify("ModifyInstanceMetadataOptions", instance, e))?;
        Ok(())
    }

    /// A launch template by id (`lt-...`) or else by name, with its tags and version numbers.
    pub async fn describe_launch_template(
        &self,
        id: Option<&str>,
        name: Option<&str>,
    ) -> Result<LaunchTemplate, AwsError> {
        let resource = id.or(name).unwrap_or_default().to_owned();
        let mut call = self.ec2().await.describe_launch_templates();
        call = match (id, name) {
            (Some(id), _) => call.launch_template_ids(id),
            (None, Some(name)) => call.launch_template_names(name),
            (None, None) => return Err(not_found("DescribeLaunchTemplates", resource)),
        };
        let output = call
            .send()
            .await
            .map_err(|e| classify("DescribeLaunchTemplates", resource.clone(), e))?;
        let Some(template) = output.launch_templates().first() else {
            return Err(not_found("DescribeLaunchTemplates", resource));
        };
        Ok(LaunchTemplate {
            id: template.launch_template_id().unwrap_or_default().to_owned(),
            name: template.launch_template_name().map(str::to_owned),
            default_version: template.default_version_number(),
            latest_version: template.latest_version_number(),
            tags: tags(template.tags()),
        })
    }

    /// One version of a launch template: `version` is a number, `$Default` or `$Latest`.
    pub async fn launch_template_version(
        &self,
        template_id: &str,
        version: &str,
    ) -> Result<LaunchTemplateVersion, AwsError> {
        let resource = format!("{template_id} version {version}");
        let output = self
            .ec2()
            .await
            .describe_launch_template_versions()
            .launch_template_id(template_id)
            .versions(version)
            .send()
            .await
            .map_err(|e| classify("DescribeLaunchTemplateVersions", resource.clone(), e))?;
        let Some(found) = output.launch_template_versions().first() else {
            return Err(not_found("DescribeLaunchTemplateVersions", resource));
        };
        let data = found.launch_template_data();
        let metadata = data
            .and_then(|d| d.metadata_options())
            .map(|m| MetadataOptions {
                http_tokens: m.http_tokens().map(|t| t.as_str().to_owned()),
                hop_limit: m.http_put_response_hop_limit(),
                http_endpoint: m.http_endpoint().map(|e| e.as_str().to_owned()),
                http_protocol_ipv6: m.http_protocol_ipv6().map(|p| p.as_str().to_owned()),
                instance_metadata_tags: m.instance_metadata_tags().map(|t| t.as_str().to_owned()),
            });
        let instance_tags = data
            .map(|d| d.tag_specifications())
            .unwrap_or_default()
            .iter()
            .filter(|s| s.resource_type().is_none_or(|r| r.as_str() == "instance"))
            .flat_map(|s| s.tags());
        let instance_tags = tags(instance_tags);
        Ok(LaunchTemplateVersion {
            template_id: found.launch_template_id().unwrap_or(template_id).to_owned(),
            template_name: found.launch_template_name().map(str::to_owned),
            version: found.version_number().unwrap_or_default(),
            metadata,
            instance_tags,
        })
    }

    /// The subnets of `ids` that exist, each with its zone, whether it gives public IPs, and
    /// the internet gateway its route table (its own, else its VPC's main one) sends the
    /// default route to. Three calls however many subnets: the subnets, the route tables
    /// associated with them, and the main tables of their VPCs. The ids go in filters, which
    /// never fail on an unknown id, unlike `SubnetIds`.
    pub async fn subnets(&self, ids: &[String]) -> Result<Vec<Subnet>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ec2 = self.ec2().await;
        let resource = ids.join(",");
        let found = ec2
            .describe_subnets()
            .filters(filter("subnet-id", ids))
            .send()
            .await
            .map_err(|e| classify("DescribeSubnets", resource.clone(), e))?;
        let mut vpcs: Vec<String> = found
            .subnets()
            .iter()
            .filter_map(|s| s.vpc_id().map(str::to_owned))
            .collect();
        vpcs.sort();
        vpcs.dedup();
        let associated = ec2
            .describe_route_tables()
            .filters(filter("association.subnet-id", ids))
            .send()
            .await
            .map_err(|e| classify("DescribeRouteTables", resource.clone(), e))?;
        let main = if vpcs.is_empty() {
            Vec::new()
        } else {
            ec2.describe_route_tables()
                .filters(filter("vpc-id", &vpcs))
                .filters(filter("association.main", &["true".to_owned()]))
                .send()
                .await
                .map_err(|e| classify("DescribeRouteTables", vpcs.join(","), e))?
                .route_tables()
                .to_vec()
        };
        let subnets = found
            .subnets()
            .iter()
            .filter_map(|s| {
                let id = s.subnet_id()?;
                let own = associated
                    .route_tables()
                    .iter()
                    .find(|t| t.associations().iter().any(|a| a.subnet_id() == Some(id)));
                let table = own.or_else(|| {
                    main.iter()
                        .find(|t| t.vpc_id().is_some() && t.vpc_id() == s.vpc_id())
                });
                Some(Subnet {
                    id: id.to_owned(),
                    availability_zone: s.availability_zone().map(str::to_owned),
                    map_public_ip: s.map_public_ip_on_launch().unwrap_or(false),
                    internet_gateway: table.and_then(default_route_gateway),
                })
            })
            .collect();
        Ok(subnets)
    }
}

/// The internet gateway (`igw-...`) a route table sends all traffic (`0.0.0.0/0` or `::/0`) to.
fn default_route_gateway(table: &aws_sdk_ec2::types::RouteTable) -> Option<String> {
    table
        .routes()
        .iter()
        .filter(|r| {
            r.destination_cidr_block() == Some("0.0.0.0/0")
                || r.destination_ipv6_cidr_block() == Some("::/0")
        })
        .filter(|r| r.state().is_none_or(|s| s.as_str() == "active"))
        .find_map(|r| r.gateway_id().filter(|g| g.starts_with("igw-")))
        .map(str::to_owned)
}

fn instance_from_sdk(instance: &aws_sdk_ec2::types::Instance) -> Instance {
    let metadata = instance
        .metadata_options()
        .map(|m| MetadataOptions {
            http_tokens: m.http_tokens().map(|t| t.as_str().to_owned()),
            hop_limit: m.http_put_response_hop_limit(),
            http_endpoint: m.http_endpoint().map(|e| e.as_str().to_owned()),
            http_protocol_ipv6: m.http_protocol_ipv6().map(|p| p.as_str().to_owned()),
            instance_metadata_tags: m.instance_metadata_tags().map(|t| t.as_str().to_owned()),
        })
        .unwrap_or_default();
    Instance {
        id: instance.instance_id().unwrap_or_default().to_owned(),
        state: instance
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_owned()),
        tags: tags(instance.tags()),
        metadata,
    }
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

fn not_found(operation: &'static str, resource: String) -> AwsError {
    AwsError {
        operation,
        resource,
        kind: AwsErrorKind::NotFound,
        code: "EmptyResponse".to_owned(),
        message: "the response holds nothing".to_owned(),
    }
}
