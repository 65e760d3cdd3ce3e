//! Triggers of `revoke-open-ingress`, parsed leniently from CloudTrail and GuardDuty.
//!
//! `AuthorizeSecurityGroupIngress` comes in three request shapes (nested `ipPermissions`,
//! the CLI's flat `cidrIp`, and `ipProtocol: "-1"` without ports) and, since July 2021, with
//! the new rules and their ids in `responseElements.securityGroupRuleSet`
//! (reference-events/SOURCES.md, note 2). `ModifySecurityGroupRules` is logged in PascalCase
//! with a single rule collapsed into an object (note 3).

use serde::Deserialize;
use serde_json::Value;

use crate::domain::{IngressRule, Protocol, SecurityGroupId, SecurityGroupRuleId, Source, Tags};
use crate::error::EventError;
use crate::intake::{ApiCall, Finding, Incoming};
use crate::lenient;

/// The GuardDuty finding types this rule acts on, with the port each attacks by default.
pub const FINDING_TYPES: &[(&str, Option<u16>)] = &[
    ("UnauthorizedAccess:EC2/SSHBruteForce", Some(22)),
    ("UnauthorizedAccess:EC2/RDPBruteForce", Some(3389)),
    ("Recon:EC2/PortProbeUnprotectedPort", None),
];

/// What happened, in the terms this rule needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// New rules were added to `group`. `rules` carry ids when the response listed them;
    /// otherwise they are the requested permissions, or empty when the request could not
    /// be read, in which case every world-open rule of the group is a candidate.
    Authorize {
        group: SecurityGroupId,
        rules: Vec<IngressRule>,
    },
    /// Existing rules of `group` were rewritten; each carries its id.
    Modify {
        group: SecurityGroupId,
        rules: Vec<IngressRule>,
    },
    /// A managed node group was created with SSH/RDP access and no source groups, so EKS
    /// opens its remote-access group to 0.0.0.0/0.
    RemoteAccess { cluster: String, nodegroup: String },
    /// GuardDuty saw an attack or probe on an instance.
    Attack {
        kind: String,
        instance: Option<String>,
        groups: Vec<SecurityGroupId>,
        ports: Vec<u16>,
        instance_tags: Tags,
    },
    /// The sweep: every group observed, with every world-open rule it has now.
    Sweep,
}

/// Who made an API call, as far as recognising Kubernetes controllers goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    pub user_agent: Option<String>,
    pub invoked_by: Option<String>,
}

impl Caller {
    pub fn of(call: &ApiCall) -> Caller {
        Caller {
            user_agent: call.record.user_agent.clone(),
            invoked_by: call
                .record
                .user_identity
                .as_ref()
                .and_then(|a| a.invoked_by.clone()),
        }
    }
}

/// The trigger in `incoming`, or `None` when this rule has nothing to do with it.
pub fn trigger(incoming: &Incoming) -> Result<Option<Trigger>, EventError> {
    match incoming {
        Incoming::ApiCall(call) if call.record.event_source == "ec2.amazonaws.com" => {
            if call.name_is("AuthorizeSecurityGroupIngress") {
                authorize(call).map(Some)
            } else if call.name_is("ModifySecurityGroupRules") {
                modify(call).map(Some)
            } else {
                Ok(None)
            }
        }
        Incoming::ApiCall(call)
            if call.record.event_source == "eks.amazonaws.com"
                && call.name_is("CreateNodegroup") =>
        {
            create_nodegroup(call)
        }
        Incoming::Finding(finding) => Ok(attack(finding)),
        _ => Ok(None),
    }
}

fn malformed(reason: impl Into<String>) -> EventError {
    EventError::Detail {
        kind: "revoke-open-ingress trigger",
        reason: reason.into(),
    }
}

fn from_value<T: serde::de::DeserializeOwned + Default>(value: &Value) -> Result<T, EventError> {
    match value {
        Value::Null => Ok(T::default()),
        Value::Object(_) => {
            serde_json::from_value(value.clone()).map_err(|e| malformed(e.to_string()))
        }
        _ => Err(malformed("parameters are not an object")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizeRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    group_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    ip_permissions: Vec<Permission>,
    /// The flat form of `aws ec2 authorize-security-group-ingress --cidr`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    ip_protocol: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    from_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    to_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cidr_ip: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Permission {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    ip_protocol: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    from_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    to_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient::list")]
    ip_ranges: Vec<Range>,
    #[serde(default, deserialize_with = "lenient::list")]
    ipv6_ranges: Vec<Range>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Range {
    #[serde(default, alias = "cidrIpv6", deserialize_with = "lenient::opt_string")]
    cidr_ip: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizeResponse {
    #[serde(default, deserialize_with = "lenient::list")]
    security_group_rule_set: Vec<ResponseRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseRule {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    security_group_rule_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    group_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    is_egress: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    ip_protocol: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    from_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    to_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cidr_ipv4: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cidr_ipv6: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    prefix_list_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description: Option<String>,
}

/// A rule from CloudTrail's loosely typed fields: an absent protocol means `-1`, and ports
/// that do not fit EC2's `i32` are treated as absent (all ports).
fn logged_rule(
    id: Option<SecurityGroupRuleId>,
    protocol: Option<&str>,
    (from, to): (Option<i64>, Option<i64>),
    source: Source,
    description: Option<String>,
) -> IngressRule {
    let port = |p: Option<i64>| p.and_then(|p| i32::try_from(p).ok());
    IngressRule {
        id,
        protocol: Protocol::parse(protocol.unwrap_or("-1")),
        from_port: port(from),
        to_port: port(to),
        source,
        description,
    }
}

/// A CIDR source, or `None` when the text is not one (a group or prefix-list source).
fn cidr(text: Option<&str>) -> Option<Source> {
    text.and_then(|t| t.trim().parse().ok()).map(Source::Cidr)
}

fn authorize(call: &ApiCall) -> Result<Trigger, EventError> {
    let request: AuthorizeRequest = from_value(&call.record.request_parameters)?;
    let response: AuthorizeResponse = from_value(&call.record.response_elements)?;

    let from_response: Vec<IngressRule> = response
        .security_group_rule_set
        .iter()
        .filter(|r| r.is_egress != Some(true))
        .filter_map(|r| {
            let source = cidr(r.cidr_ipv4.as_deref().or(r.cidr_ipv6.as_deref()))
                .or_else(|| r.prefix_list_id.clone().map(Source::Reference))?;
            Some(logged_rule(
                r.security_group_rule_id
                    .as_deref()
                    .and_then(SecurityGroupRuleId::parse),
                r.ip_protocol.as_deref(),
                (r.from_port, r.to_port),
                source,
                r.description.clone(),
            ))
        })
        .collect();

    let group = request
        .group_id
        .as_deref()
        .or_else(|| {
            response
                .security_group_rule_set
                .iter()
                .find_map(|r| r.group_id.as_deref())
        })
        .and_then(SecurityGroupId::parse)
        .ok_or_else(|| malformed("AuthorizeSecurityGroupIngress names no security group id"))?;

    if !from_response.is_empty() {
        return Ok(Trigger::Authorize {
            group,
            rules: from_response,
        });
    }

    let mut rules = Vec::new();
    for p in &request.ip_permissions {
        for range in p.ip_ranges.iter().chain(&p.ipv6_ranges) {
            if let Some(source) = cidr(range.cidr_ip.as_deref()) {
                rules.push(logged_rule(
                    None,
                    p.ip_protocol.as_deref(),
                    (p.from_port, p.to_port),
                    source,
                    range.description.clone(),
                ));
            }
        }
    }
    if let Some(source) = cidr(request.cidr_ip.as_deref()) {
        rules.push(logged_rule(
            None,
            request.ip_protocol.as_deref(),
            (request.from_port, request.to_port),
            source,
            None,
        ));
    }
    Ok(Trigger::Authorize { group, rules })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ModifyRequest {
    #[serde(default, alias = "groupId", deserialize_with = "lenient::opt_string")]
    group_id: Option<String>,
    #[serde(
        default,
        alias = "securityGroupRule",
        deserialize_with = "lenient::list"
    )]
    security_group_rule: Vec<ModifyItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ModifyItem {
    #[serde(
        default,
        alias = "securityGroupRuleId",
        deserialize_with = "lenient::opt_string"
    )]
    security_group_rule_id: Option<String>,
    #[serde(
        default,
        alias = "securityGroupRule",
        deserialize_with = "lenient::opt_object"
    )]
    security_group_rule: Option<RuleRequest>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuleRequest {
    #[serde(
        default,
        alias = "ipProtocol",
        deserialize_with = "lenient::opt_string"
    )]
    ip_protocol: Option<String>,
    #[serde(default, alias = "fromPort", deserialize_with = "lenient::opt_i64")]
    from_port: Option<i64>,
    #[serde(default, alias = "toPort", deserialize_with = "lenient::opt_i64")]
    to_port: Option<i64>,
    #[serde(default, alias = "cidrIpv4", deserialize_with = "lenient::opt_string")]
    cidr_ipv4: Option<String>,
    #[serde(default, alias = "cidrIpv6", deserialize_with = "lenient::opt_string")]
    cidr_ipv6: Option<String>,
    #[serde(
        default,
        alias = "description",
        deserialize_with = "lenient::opt_string"
    )]
    description: Option<String>,
}

fn modify(call: &ApiCall) -> Result<Trigger, EventError> {
    let params = &call.record.request_parameters;
    let inner = params
        .get("ModifySecurityGroupRulesRequest")
        .or_else(|| params.get("modifySecurityGroupRulesRequest"))
        .unwrap_or(params);
    let request: ModifyRequest = from_value(inner)?;
    let group = request
        .group_id
        .as_deref()
        .and_then(SecurityGroupId::parse)
        .ok_or_else(|| malformed("ModifySecurityGroupRules names no security group id"))?;
    let rules = request
        .security_group_rule
        .iter()
        .filter_map(|item| {
            let spec = item.security_group_rule.as_ref()?;
            let id = SecurityGroupRuleId::parse(item.security_group_rule_id.as_deref()?)?;
            let source = cidr(spec.cidr_ipv4.as_deref().or(spec.cidr_ipv6.as_deref()))?;
            Some(logged_rule(
                Some(id),
                spec.ip_protocol.as_deref(),
                (spec.from_port, spec.to_port),
                source,
                spec.description.clone(),
            ))
        })
        .collect();
    Ok(Trigger::Modify { group, rules })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateNodegroupRequest {
    /// The cluster, from the request path `/clusters/{name}/node-groups`.
    #[serde(
        default,
        alias = "clusterName",
        deserialize_with = "lenient::opt_string"
    )]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    nodegroup_name: Option<String>,
    #[serde(default)]
    remote_access: Value,
}

fn create_nodegroup(call: &ApiCall) -> Result<Option<Trigger>, EventError> {
    let request: CreateNodegroupRequest = from_value(&call.record.request_parameters)?;
    let Some(remote) = request.remote_access.as_object() else {
        return Ok(None);
    };
    let has_sources = remote
        .get("sourceSecurityGroups")
        .cloned()
        .map(lenient::list_from_value::<Value>)
        .and_then(Result::ok)
        .is_some_and(|groups| !groups.is_empty());
    if has_sources {
        return Ok(None);
    }
    let response_cluster = call
        .record
        .response_elements
        .pointer("/nodegroup/clusterName")
        .and_then(Value::as_str);
    let cluster = request.name.as_deref().or(response_cluster);
    match (cluster, request.nodegroup_name) {
        (Some(cluster), Some(nodegroup)) => Ok(Some(Trigger::RemoteAccess {
            cluster: cluster.to_owned(),
            nodegroup,
        })),
        _ => Err(malformed("CreateNodegroup names no cluster or node group")),
    }
}

fn attack(finding: &Finding) -> Option<Trigger> {
    let (kind, default_port) = FINDING_TYPES.iter().find(|(t, _)| finding.kind() == *t)?;
    let action = finding
        .detail
        .service
        .as_ref()
        .and_then(|s| s.action.as_ref());
    let direction = action
        .and_then(|a| a.network_connection_action.as_ref())
        .and_then(|c| c.connection_direction.as_deref());
    // An OUTBOUND brute force means this instance is the attacker: closing its ingress would
    // not help, and GuardDuty's advice is to investigate the instance instead.
    if direction.is_some_and(|d| !d.eq_ignore_ascii_case("INBOUND")) {
        return None;
    }
    let mut ports = finding.local_ports();
    if ports.is_empty() {
        ports.extend(*default_port);
    }
    Some(Trigger::Attack {
        kind: (*kind).to_owned(),
        instance: finding.instance_id().map(str::to_owned),
        groups: finding
            .security_group_ids()
            .iter()
            .filter_map(|id| SecurityGroupId::parse(id))
            .collect(),
        ports,
        instance_tags: finding.instance_tags(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::parse;

    /// Parses `events/revoke-open-ingress/<file>` and compares a one-line rendering of its
    /// trigger with `expected` (`none` when the event is not a trigger).
    fn check(file: &str, expected: &str) {
        let path = format!(
            "{}/events/revoke-open-ingress/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let incoming = parse(serde_json::from_str(&text).unwrap()).unwrap();
        let rules = |rules: &[IngressRule]| {
            rules
                .iter()
                .map(|r| {
                    let id = r.id.as_ref().map(|i| i.as_str()).unwrap_or("-");
                    format!("{id} {} {}", r.access_text(), r.source)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let got = match trigger(&incoming).unwrap() {
            None => "none".to_owned(),
            Some(Trigger::Authorize { group, rules: r }) => {
                format!("authorize {group}: {}", rules(&r))
            }
            Some(Trigger::Modify { group, rules: r }) => format!("modify {group}: {}", rules(&r)),
            Some(Trigger::RemoteAccess { cluster, nodegroup }) => {
                format!("remote-access {cluster}/{nodegroup}")
            }
            Some(Trigger::Attack {
                kind,
                groups,
                ports,
                ..
            }) => {
                let groups: Vec<&str> = groups.iter().map(|g| g.as_str()).collect();
                format!("attack {kind} on {} ports {ports:?}", groups.join(","))
            }
            Some(Trigger::Sweep) => "sweep".to_owned(),
        };
        assert_eq!(got, expected, "{file}");
    }

    #[test]
    fn sample_events_give_their_triggers() {
        let sg = "sg-0123456789abcdef0";
        check(
            "authorize-ipv4-open-ssh.json",
            &format!("authorize {sg}: sgr-0aaaaaaaaaaaaaaa1 tcp/22 0.0.0.0/0, sgr-0aaaaaaaaaaaaaaa2 tcp/22 10.0.0.0/8"),
        );
        check(
            "authorize-ipv6-open.json",
            &format!("authorize {sg}: sgr-0aaaaaaaaaaaaaaa1 tcp/443-8443 ::/0"),
        );
        check(
            "authorize-all-traffic.json",
            &format!("authorize {sg}: sgr-0aaaaaaaaaaaaaaa1 all traffic 0.0.0.0/0"),
        );
        check(
            "authorize-cli-flat.json",
            &format!("authorize {sg}: sgr-0aaaaaaaaaaaaaaa1 tcp/3389 0.0.0.0/0"),
        );
        check(
            "authorize-no-rule-ids.json",
            &format!("authorize {sg}: - tcp/22 0.0.0.0/0"),
        );
        check(
            "modify-rules-open-rdp.json",
            &format!("modify {sg}: sgr-0aaaaaaaaaaaaaaa1 tcp/3389 0.0.0.0/0"),
        );
        check(
            "create-nodegroup-remote-access.json",
            "remote-access prod/ng-ssh",
        );
        check(
            "guardduty-ssh-bruteforce.json",
            &format!("attack UnauthorizedAccess:EC2/SSHBruteForce on {sg} ports [22]"),
        );
        check(
            "guardduty-rdp-bruteforce.json",
            &format!("attack UnauthorizedAccess:EC2/RDPBruteForce on {sg} ports [3389]"),
        );
        check(
            "guardduty-portprobe.json",
            &format!("attack Recon:EC2/PortProbeUnprotectedPort on {sg} ports [22, 5432]"),
        );
        check("not-for-me-createsecuritygroup.json", "none");
    }
}
