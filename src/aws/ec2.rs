//! EC2 security groups: describe (with tags) and revoke by rule id.

use aws_sdk_ec2::types::{Filter, IpPermission, SecurityGroupRule};
use ipnet::IpNet;

use super::errors::classify;
use super::Aws;
use crate::domain::{
    IngressRule, Protocol, SecurityGroup, SecurityGroupId, SecurityGroupRuleId, Source, Tags,
};
use crate::error::AwsError;

/// The most rules one `DescribeSecurityGroupRules` page holds (`MaxResults`).
pub const RULES_PER_PAGE: i32 = 1000;

/// A `name=values` filter for the describe calls.
pub type GroupFilter<'a> = (&'a str, Vec<String>);

impl Aws {
    /// Describes the groups in `ids` that still exist. A missing group is simply absent from
    /// the answer: the ids go in a `group-id` filter, which never fails on unknown ids,
    /// unlike the `GroupIds` parameter.
    pub async fn describe_security_groups(
        &self,
        ids: &[SecurityGroupId],
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let values = ids.iter().map(|id| id.as_str().to_owned()).collect();
        self.find_security_groups(&[("group-id", values)]).await
    }

    /// Describes the groups matching all `filters` (e.g. `tag:eks:nodegroup-name`); with no
    /// filter, every group of the region, in pages of 1000 (without `MaxResults` EC2 returns
    /// every group in one answer, however many there are).
    pub async fn find_security_groups(
        &self,
        filters: &[GroupFilter<'_>],
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        let resource = describe_filters(filters);
        let mut paginator = self
            .ec2()
            .await
            .describe_security_groups()
            .set_filters(Some(to_filters(filters)))
            .into_paginator();
        if filters.is_empty() {
            paginator = paginator.page_size(1000);
        }
        let mut pages = paginator.send();
        let mut groups = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeSecurityGroups", resource.clone(), e))?;
            groups.extend(page.security_groups().iter().map(group_from_sdk));
        }
        Ok(groups)
    }

    /// The ingress rules, with their ids, of the groups in `ids`.
    pub async fn describe_ingress_rules(
        &self,
        ids: &[SecurityGroupId],
    ) -> Result<Vec<(SecurityGroupId, IngressRule)>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
        let resource = values.join(",");
        let mut pages = self
            .ec2()
            .await
            .describe_security_group_rules()
            .set_filters(Some(to_filters(&[("group-id", values)])))
            .into_paginator()
            .send();
        let mut rules = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| classify("DescribeSecurityGroupRules", resource.clone(), e))?;
            rules.extend(page.security_group_rules().iter().filter_map(rule_from_sdk));
        }
        Ok(rules)
    }

    /// The ingress rules, with their ids, of every group of the region: the whole
    /// `DescribeSecurityGroupRules` listing, unfiltered, in pages of 1000 (its maximum). Its
    /// cost grows with the rules it returns, where a `group-id` filter's grows with the ids in
    /// it too: the sweep's choice when most groups are candidates. (moto answers with every
    /// rule at once, ignoring `MaxResults`; AWS pages.)
    pub async fn describe_all_ingress_rules(
        &self,
    ) -> Result<Vec<(SecurityGroupId, IngressRule)>, AwsError> {
        let mut pages = self
            .ec2()
            .await
            .describe_security_group_rules()
            .into_paginator()
            .page_size(RULES_PER_PAGE)
            .send();
        let mut rules = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeSecurityGroupRules", "*", e))?;
            rules.extend(page.security_group_rules().iter().filter_map(rule_from_sdk));
        }
        Ok(rules)
    }

    /// Revokes exactly the ingress rules `rule_ids` of `group`, by id, so that no other
    /// rule with the same protocol, ports or source can be caught.
    pub async fn revoke_ingress(
        &self,
        group: &SecurityGroupId,
        rule_ids: &[SecurityGroupRuleId],
    ) -> Result<(), AwsError> {
        let ids: Vec<String> = rule_ids.iter().map(|id| id.as_str().to_owned()).collect();
        self.ec2()
            .await
            .revoke_security_group_ingress()
            .group_id(group.as_str())
            .set_security_group_rule_ids(Some(ids))
            .send()
            .await
            .map_err(|e| {
                let ids: Vec<&str> = rule_ids.iter().map(|id| id.as_str()).collect();
                classify(
                    "RevokeSecurityGroupIngress",
                    format!("{group} {}", ids.join(",")),
                    e,
                )
            })?;
        Ok(())
    }
}

fn to_filters(filters: &[GroupFilter<'_>]) -> Vec<Filter> {
    filters
        .iter()
        .map(|(name, values)| {
            Filter::builder()
                .name(*name)
                .set_values(Some(values.clone()))
                .build()
        })
        .collect()
}

fn describe_filters(filters: &[GroupFilter<'_>]) -> String {
    filters
        .iter()
        .map(|(n, v)| format!("{n}={}", v.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn group_from_sdk(group: &aws_sdk_ec2::types::SecurityGroup) -> SecurityGroup {
    SecurityGroup {
        id: group.group_id().unwrap_or_default().to_owned(),
        name: group.group_name().unwrap_or_default().to_owned(),
        description: group.description().unwrap_or_default().to_owned(),
        vpc_id: group.vpc_id().map(str::to_owned),
        owner_id: group.owner_id().map(str::to_owned),
        tags: tags(group.tags()),
        ingress: group
            .ip_permissions()
            .iter()
            .flat_map(rules_of_permission)
            .collect(),
        egress_rules: group
            .ip_permissions_egress()
            .iter()
            .map(|p| rules_of_permission(p).len())
            .sum(),
    }
}

/// One `IpPermission` holds several sources; each becomes its own rule, as EC2 stores them.
fn rules_of_permission(permission: &IpPermission) -> Vec<IngressRule> {
    let base = |source: Source, description: Option<&str>| IngressRule {
        id: None,
        protocol: Protocol::parse(permission.ip_protocol().unwrap_or("-1")),
        from_port: permission.from_port(),
        to_port: permission.to_port(),
        source,
        description: description.map(str::to_owned),
    };
    let mut rules = Vec::new();
    for range in permission.ip_ranges() {
        if let Some(net) = range.cidr_ip().and_then(|c| c.parse::<IpNet>().ok()) {
            rules.push(base(Source::Cidr(net), range.description()));
        }
    }
    for range in permission.ipv6_ranges() {
        if let Some(net) = range.cidr_ipv6().and_then(|c| c.parse::<IpNet>().ok()) {
            rules.push(base(Source::Cidr(net), range.description()));
        }
    }
    for list in permission.prefix_list_ids() {
        if let Some(id) = list.prefix_list_id() {
            rules.push(base(Source::Reference(id.to_owned()), list.description()));
        }
    }
    for pair in permission.user_id_group_pairs() {
        if let Some(id) = pair.group_id() {
            rules.push(base(Source::Reference(id.to_owned()), pair.description()));
        }
    }
    rules
}

fn rule_from_sdk(rule: &SecurityGroupRule) -> Option<(SecurityGroupId, IngressRule)> {
    if rule.is_egress() == Some(true) {
        return None;
    }
    let group = SecurityGroupId::parse(rule.group_id()?)?;
    let source = if let Some(net) = rule.cidr_ipv4().or(rule.cidr_ipv6()) {
        Source::Cidr(net.parse().ok()?)
    } else if let Some(list) = rule.prefix_list_id() {
        Source::Reference(list.to_owned())
    } else {
        Source::Reference(rule.referenced_group_info()?.group_id()?.to_owned())
    };
    let ingress = IngressRule {
        id: rule
            .security_group_rule_id()
            .and_then(SecurityGroupRuleId::parse),
        protocol: Protocol::parse(rule.ip_protocol().unwrap_or("-1")),
        from_port: rule.from_port(),
        to_port: rule.to_port(),
        source,
        description: rule.description().map(str::to_owned),
    };
    Some((group, ingress))
}

/// EC2 tags as our `Tags`; a tag without a key is dropped, one without a value is empty.
pub(super) fn tags<'a>(tags: impl IntoIterator<Item = &'a aws_sdk_ec2::types::Tag>) -> Tags {
    tags.into_iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}
