//! Pure decisions of `harden-nodes`: what is unsafe about a node's metadata options and what
//! options fix it, what is unsafe about a launch template version, and about the subnets a
//! node group runs in.

use crate::domain::node::{zones, MetadataOptions, Subnet, CONTAINER_HOP_LIMIT};

/// What to do about a running node's metadata options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeVerdict {
    /// Nothing unsafe: why.
    Safe(&'static str),
    /// Report only (a hop limit beyond what containers need, with no `NODE_IMDS_HOP_LIMIT`).
    Report { problems: Vec<String>, note: String },
    /// Set these options.
    Fix {
        problems: Vec<String>,
        to: MetadataOptions,
        /// What was left as it is, and why.
        note: Option<String>,
    },
}

/// Judges a node's metadata options. IMDSv1 is always fixed (`HttpTokens=required`); the hop
/// limit is lowered to `hop_setting` when one is set, and otherwise only reported: above
/// [`CONTAINER_HOP_LIMIT`] it serves nothing, and at 2 it is what pods that still read the
/// node's credentials need, which only the cluster's owner can rule out. `node` names the
/// instance (`--region R --instance-id I`) in the commands the notes give.
pub fn judge_node(current: &MetadataOptions, hop_setting: Option<u8>, node: &str) -> NodeVerdict {
    if current.endpoint_disabled() {
        return NodeVerdict::Safe("the instance metadata endpoint is off");
    }
    let mut problems = Vec::new();
    let mut to = current.clone();
    if !current.tokens_required() {
        problems.push(format!(
            "instance metadata answers IMDSv1 (HttpTokens={})",
            current.tokens_label()
        ));
        to.http_tokens = Some("required".to_owned());
    }
    let hop = current.hop_limit.unwrap_or(1);
    let mut note = None;
    match hop_setting.map(i32::from) {
        Some(limit) if hop > limit => {
            problems.push(format!(
                "hop limit {hop} is above NODE_IMDS_HOP_LIMIT={limit}"
            ));
            to.hop_limit = Some(limit);
        }
        Some(_) => {}
        None if hop > CONTAINER_HOP_LIMIT => {
            let why = format!(
                "Hop limit {hop}: metadata answers cross {hop} network hops, where a container \
                 needs at most {CONTAINER_HOP_LIMIT}"
            );
            if problems.is_empty() {
                return NodeVerdict::Report {
                    problems: vec![why],
                    note: hop_note(node),
                };
            }
            note = Some(format!("{why}; left as it is. {}", hop_note(node)));
        }
        None if hop > 1 && !problems.is_empty() => {
            note = Some(format!(
                "Hop limit {hop} left as it is: pods on this node can still get an IMDSv2 token \
                 and the node role's credentials. {}",
                hop_note(node)
            ));
        }
        None => {}
    }
    if problems.is_empty() {
        return NodeVerdict::Safe("IMDSv2 is required and the hop limit is within bounds");
    }
    if to.hop_limit.is_none() {
        // EC2 always reports the hop limit; name it in the call so nothing else changes it.
        to.hop_limit = Some(hop);
    }
    if to.hop_limit == Some(1) {
        // IMDSv1 answers any number of hops; IMDSv2 with one hop stops at the node.
        let cut_off = "With IMDSv2 and hop limit 1, pods off the host network can no longer \
                       reach instance metadata: give those that need AWS access a role of their \
                       own with EKS Pod Identity or IRSA";
        note = Some(match note {
            Some(n) => format!("{n}. {cut_off}"),
            None => cut_off.to_owned(),
        });
    }
    NodeVerdict::Fix { problems, to, note }
}

fn hop_note(node: &str) -> String {
    format!(
        "To lower it, set NODE_IMDS_HOP_LIMIT=1 (no pod may use the node's role; give pods their \
         own with EKS Pod Identity or IRSA) or 2 (containers may), or run: aws ec2 \
         modify-instance-metadata-options {node} --http-tokens required \
         --http-put-response-hop-limit 1"
    )
}

/// What is unsafe about a launch template version's metadata options, if anything: IMDSv1
/// allowed (or not required, so that the AMI's or the account's default decides), and a hop
/// limit above `NODE_IMDS_HOP_LIMIT` (or above what containers need, when it is unset).
pub fn judge_template(metadata: Option<&MetadataOptions>, hop_setting: Option<u8>) -> Vec<String> {
    let none = MetadataOptions::default();
    let metadata = metadata.unwrap_or(&none);
    if metadata.endpoint_disabled() {
        return Vec::new();
    }
    let mut problems = Vec::new();
    if !metadata.tokens_required() {
        problems.push(match metadata.http_tokens.as_deref() {
            None => "does not require IMDSv2 (HttpTokens not set: the AMI's or the account's \
                     default decides, and IMDSv1 unless one of them says otherwise)"
                .to_owned(),
            Some(tokens) => format!("allows IMDSv1 (HttpTokens={tokens})"),
        });
    }
    let limit = hop_setting.map_or(CONTAINER_HOP_LIMIT, i32::from);
    if let Some(hop) = metadata.hop_limit.filter(|hop| *hop > limit) {
        problems.push(match hop_setting {
            Some(_) => format!("hop limit {hop} is above NODE_IMDS_HOP_LIMIT={limit}"),
            None => format!("hop limit {hop}, where a container needs at most {limit}"),
        });
    }
    problems
}

/// The metadata options a fixed launch template version should carry: its own, with IMDSv2
/// required and the hop limit brought within bounds. A new version's `MetadataOptions`
/// replace the source's whole structure, so every option is named.
pub fn fixed_template_options(
    metadata: Option<&MetadataOptions>,
    hop_setting: Option<u8>,
) -> MetadataOptions {
    let mut to = metadata.cloned().unwrap_or_default();
    to.http_tokens = Some("required".to_owned());
    let limit = hop_setting.map_or(CONTAINER_HOP_LIMIT, i32::from);
    to.hop_limit = Some(to.hop_limit.map_or(limit, |hop| hop.min(limit)));
    to.http_endpoint.get_or_insert_with(|| "enabled".to_owned());
    to
}

/// What is unsafe about where a node group's nodes run: every subnet in one Availability
/// Zone, and subnets that are public (they give nodes public IP addresses, or send the
/// default route to an internet gateway).
pub fn judge_subnets(subnets: &[Subnet]) -> Vec<String> {
    let mut problems = Vec::new();
    let zones = zones(subnets);
    if zones.len() == 1 {
        let zone = zones.iter().next().copied().unwrap_or_default();
        problems.push(format!(
            "all its subnets are in one Availability Zone ({zone}): an outage of that zone \
             stops every node"
        ));
    }
    let public_ip: Vec<&str> = subnets
        .iter()
        .filter(|s| s.map_public_ip)
        .map(|s| s.id.as_str())
        .collect();
    if !public_ip.is_empty() {
        problems.push(format!(
            "{} give{} nodes public IP addresses (MapPublicIpOnLaunch)",
            public_ip.join(", "),
            if public_ip.len() == 1 { "s" } else { "" }
        ));
    }
    let routed: Vec<String> = subnets
        .iter()
        .filter_map(|s| Some(format!("{} to {}", s.id, s.internet_gateway.as_deref()?)))
        .collect();
    if !routed.is_empty() {
        problems.push(format!(
            "public subnets: the default route goes to an internet gateway ({})",
            routed.join(", ")
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "--region us-east-1 --instance-id i-0abc";

    fn options(tokens: &str, hop: i32) -> MetadataOptions {
        MetadataOptions {
            http_tokens: Some(tokens.into()),
            hop_limit: Some(hop),
            http_endpoint: Some("enabled".into()),
            http_protocol_ipv6: Some("disabled".into()),
            instance_metadata_tags: Some("disabled".into()),
        }
    }

    #[test]
    fn imdsv1_is_fixed_and_the_hop_limit_only_reported_without_a_setting() {
        let NodeVerdict::Fix { problems, to, note } =
            judge_node(&options("optional", 2), None, NODE)
        else {
            panic!("not a fix")
        };
        assert_eq!(
            problems,
            ["instance metadata answers IMDSv1 (HttpTokens=optional)"]
        );
        assert_eq!(to, options("required", 2));
        let note = note.unwrap();
        assert!(note.starts_with("Hop limit 2 left as it is"), "{note}");
        assert!(
            note.ends_with(&format!(
                "modify-instance-metadata-options {NODE} --http-tokens required \
                 --http-put-response-hop-limit 1"
            )),
            "{note}"
        );
    }

    #[test]
    fn a_hop_limit_setting_lowers_the_limit_even_with_imdsv2() {
        let NodeVerdict::Fix { problems, to, note } =
            judge_node(&options("required", 2), Some(1), NODE)
        else {
            panic!("not a fix")
        };
        assert_eq!(problems, ["hop limit 2 is above NODE_IMDS_HOP_LIMIT=1"]);
        assert_eq!(to, options("required", 1));
        assert!(note.unwrap().contains("Pod Identity or IRSA"));
        assert!(matches!(
            judge_node(&options("required", 1), Some(2), NODE),
            NodeVerdict::Safe(_)
        ));
    }

    #[test]
    fn a_safe_or_disabled_endpoint_needs_nothing() {
        assert!(matches!(
            judge_node(&options("required", 2), None, NODE),
            NodeVerdict::Safe(_)
        ));
        let off = MetadataOptions {
            http_endpoint: Some("disabled".into()),
            ..options("optional", 64)
        };
        assert!(matches!(
            judge_node(&off, Some(1), NODE),
            NodeVerdict::Safe(_)
        ));
    }

    #[test]
    fn a_hop_limit_beyond_containers_is_reported_without_a_setting() {
        let NodeVerdict::Report { problems, .. } = judge_node(&options("required", 5), None, NODE)
        else {
            panic!("not a report")
        };
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("Hop limit 5"));
    }

    #[test]
    fn templates_must_require_imdsv2_and_keep_the_hop_limit_in_bounds() {
        assert!(judge_template(Some(&options("required", 2)), None).is_empty());
        assert_eq!(
            judge_template(Some(&options("required", 2)), Some(1)),
            ["hop limit 2 is above NODE_IMDS_HOP_LIMIT=1"]
        );
        assert_eq!(
            judge_template(Some(&options("optional", 1)), None),
            ["allows IMDSv1 (HttpTokens=optional)"]
        );
        let unset = judge_template(None, None);
        assert_eq!(unset.len(), 1);
        assert!(unset[0].contains("HttpTokens not set"));
        let fixed = fixed_template_options(Some(&options("optional", 3)), None);
        assert_eq!(fixed, options("required", 2));
        let from_nothing = fixed_template_options(None, Some(1));
        assert_eq!(from_nothing.hop_limit, Some(1));
        assert_eq!(from_nothing.http_endpoint.as_deref(), Some("enabled"));
    }

    fn subnet(id: &str, zone: &str, public_ip: bool, igw: Option<&str>) -> Subnet {
        Subnet {
            id: id.into(),
            availability_zone: Some(zone.into()),
            map_public_ip: public_ip,
            internet_gateway: igw.map(str::to_owned),
        }
    }

    #[test]
    fn three_private_zones_are_fine_and_one_zone_or_public_subnets_are_not() {
        let spread = [
            subnet("subnet-a", "us-east-1a", false, None),
            subnet("subnet-b", "us-east-1b", false, None),
            subnet("subnet-c", "us-east-1c", false, None),
        ];
        assert!(judge_subnets(&spread).is_empty());
        let one_zone = [
            subnet("subnet-a", "us-east-1a", false, None),
            subnet("subnet-b", "us-east-1a", false, None),
        ];
        assert_eq!(
            judge_subnets(&one_zone),
            ["all its subnets are in one Availability Zone (us-east-1a): an outage of that zone stops every node"]
        );
        let public = [
            subnet("subnet-a", "us-east-1a", true, Some("igw-1")),
            subnet("subnet-b", "us-east-1b", false, None),
        ];
        assert_eq!(
            judge_subnets(&public),
            [
                "subnet-a gives nodes public IP addresses (MapPublicIpOnLaunch)",
                "public subnets: the default route goes to an internet gateway (subnet-a to igw-1)"
            ]
        );
        assert!(judge_subnets(&[]).is_empty());
    }
}
