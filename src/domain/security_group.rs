//! Security groups and their ingress rules, with the port and protocol arithmetic that real
//! rules need (`-1` means every protocol and port; ICMP has types, not ports).

use std::fmt;

use ipnet::IpNet;
use serde_json::json;

use super::Tags;

/// A security group id (`sg-...`). Only the prefix is checked: anonymised reference events
/// carry non-hex ids, and AWS, not us, is the judge of an id's validity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecurityGroupId(String);

impl SecurityGroupId {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() > 3 && text.starts_with("sg-")).then(|| SecurityGroupId(text.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecurityGroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A security group rule id (`sgr-...`): what a revoke takes, so that exactly one rule goes,
/// never a neighbour that happens to share protocol and ports.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecurityGroupRuleId(String);

impl SecurityGroupRuleId {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() > 4 && text.starts_with("sgr-")).then(|| SecurityGroupRuleId(text.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecurityGroupRuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IP protocol as EC2 names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `-1`: every protocol on every port.
    All,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// Any other protocol number; EC2 opens it on all "ports".
    Other(String),
}

impl Protocol {
    /// Accepts names and numbers in any case: `tcp`, `6`, `-1`, `all`.
    pub fn parse(text: &str) -> Protocol {
        match text.trim().to_ascii_lowercase().as_str() {
            "-1" | "all" | "" => Protocol::All,
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            "icmp" | "1" => Protocol::Icmp,
            "icmpv6" | "58" => Protocol::Icmpv6,
            other => Protocol::Other(other.to_owned()),
        }
    }

    /// The value EC2 expects in `IpProtocol`.
    pub fn as_aws(&self) -> &str {
        match self {
            Protocol::All => "-1",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Icmpv6 => "icmpv6",
            Protocol::Other(n) => n,
        }
    }
}

/// An inclusive range of ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange {
        from: 0,
        to: u16::MAX,
    };

    pub fn contains(&self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }

    pub fn ports(&self) -> impl Iterator<Item = u16> {
        self.from..=self.to
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PortRange::ALL {
            f.write_str("all ports")
        } else if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

/// Where a rule admits traffic from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Cidr(IpNet),
    /// A security group or prefix list reference: never "the world" by itself.
    Reference(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Cidr(net) => write!(f, "{net}"),
            Source::Reference(r) => f.write_str(r),
        }
    }
}

/// One ingress rule: one protocol, one port range, one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressRule {
    pub id: Option<SecurityGroupRuleId>,
    pub protocol: Protocol,
    /// EC2's `FromPort`/`ToPort`; `-1` or absent for "all", ICMP type and code for ICMP.
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub source: Source,
    pub description: Option<String>,
}

impl IngressRule {
    /// The ports the rule opens: all for `-1` and protocols without ports, none for ICMP.
    pub fn ports(&self) -> Option<PortRange> {
        match self.protocol {
            Protocol::Icmp | Protocol::Icmpv6 => None,
            Protocol::All | Protocol::Other(_) => Some(PortRange::ALL),
            Protocol::Tcp | Protocol::Udp => {
                let port = |p: Option<i32>| p.and_then(|p| u16::try_from(p).ok());
                match (port(self.from_port), port(self.to_port)) {
                    (Some(from), Some(to)) if from <= to => Some(PortRange { from, to }),
                    _ => Some(PortRange::ALL),
                }
            }
        }
    }

    /// Whether `other` grants the same access (protocol, ports, source), ignoring ids and
    /// descriptions; used to confirm that a rule named in an event still exists unchanged.
    pub fn same_access(&self, other: &IngressRule) -> bool {
        let source_eq = match (&self.source, &other.source) {
            (Source::Cidr(a), Source::Cidr(b)) => a.trunc() == b.trunc(),
            (a, b) => a == b,
        };
        self.protocol == other.protocol && self.ports() == other.ports() && source_eq
    }

    /// `tcp/22`, `all traffic`, `udp/1000-2000`.
    pub fn access_text(&self) -> String {
        match (&self.protocol, self.ports()) {
            (Protocol::All, _) => "all traffic".to_owned(),
            (p, Some(range)) if range == PortRange::ALL => format!("{} all ports", p.as_aws()),
            (p, Some(range)) => format!("{}/{range}", p.as_aws()),
            (p, None) => p.as_aws().to_owned(),
        }
    }

    /// The rule as one EC2 `IpPermission`, in the JSON the AWS CLI takes, so that an undo
    /// command restores exactly what was revoked, description included.
    pub fn ip_permission_json(&self) -> serde_json::Value {
        let mut permission = json!({ "IpProtocol": self.protocol.as_aws() });
        if self.protocol != Protocol::All {
            if let (Some(from), Some(to)) = (self.from_port, self.to_port) {
                permission["FromPort"] = json!(from);
                permission["ToPort"] = json!(to);
            }
        }
        let mut range = serde_json::Map::new();
        let (list, key) = match &self.source {
            Source::Cidr(IpNet::V4(net)) => ("IpRanges", ("CidrIp", net.to_string())),
            Source::Cidr(IpNet::V6(net)) => ("Ipv6Ranges", ("CidrIpv6", net.to_string())),
            Source::Reference(r) if r.starts_with("pl-") => {
                ("PrefixListIds", ("PrefixListId", r.clone()))
            }
            Source::Reference(r) => ("UserIdGroupPairs", ("GroupId", r.clone())),
        };
        range.insert(key.0.to_owned(), json!(key.1));
        if let Some(description) = &self.description {
            range.insert("Description".to_owned(), json!(description));
        }
        permission[list] = json!([range]);
        permission
    }
}

/// A security group as observed now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub tags: Tags,
    /// Current ingress rules. Rule ids are present only when read with
    /// `DescribeSecurityGroupRules`; `DescribeSecurityGroups` does not return them.
    pub ingress: Vec<IngressRule>,
    /// How many egress rules it has: never judged, but an unfiltered read of every rule
    /// returns them too, and the sweep counts what that read would cost.
    pub egress_rules: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(protocol: &str, from: Option<i32>, to: Option<i32>, cidr: &str) -> IngressRule {
        IngressRule {
            id: None,
            protocol: Protocol::parse(protocol),
            from_port: from,
            to_port: to,
            source: Source::Cidr(cidr.parse().unwrap()),
            description: None,
        }
    }

    #[test]
    fn ports_follow_ec2_semantics() {
        assert_eq!(
            rule("tcp", Some(22), Some(22), "0.0.0.0/0").ports(),
            Some(PortRange { from: 22, to: 22 })
        );
        assert_eq!(
            rule("-1", None, None, "0.0.0.0/0").ports(),
            Some(PortRange::ALL)
        );
        assert_eq!(
            rule("6", Some(-1), Some(-1), "0.0.0.0/0").ports(),
            Some(PortRange::ALL)
        );
        assert_eq!(rule("icmp", Some(8), Some(0), "0.0.0.0/0").ports(), None);
        assert_eq!(
            rule("50", None, None, "0.0.0.0/0").ports(),
            Some(PortRange::ALL)
        );
    }

    #[test]
    fn same_access_ignores_host_bits_and_protocol_spelling() {
        let a = rule("tcp", Some(22), Some(22), "208.236.235.254/0");
        let b = rule("6", Some(22), Some(22), "0.0.0.0/0");
        assert!(a.same_access(&b));
        assert!(!a.same_access(&rule("tcp", Some(22), Some(23), "0.0.0.0/0")));
        assert!(!a.same_access(&rule("tcp", Some(22), Some(22), "10.0.0.0/8")));
    }

    #[test]
    fn ip_permission_restores_description_and_family() {
        let mut r = rule("tcp", Some(443), Some(8443), "::/0");
        r.description = Some("it's public".into());
        let json = r.ip_permission_json();
        assert_eq!(json["Ipv6Ranges"][0]["CidrIpv6"], "::/0");
        assert_eq!(json["Ipv6Ranges"][0]["Description"], "it's public");
        assert_eq!(json["FromPort"], 443);
        let all = rule("-1", Some(-1), Some(-1), "0.0.0.0/0").ip_permission_json();
        assert!(all.get("FromPort").is_none());
        assert_eq!(all["IpRanges"][0]["CidrIp"], "0.0.0.0/0");
    }

    #[test]
    fn ids_need_their_prefix() {
        assert!(SecurityGroupId::parse("sg-b15kasfs").is_some());
        assert!(SecurityGroupId::parse("sgr-1").is_none());
        assert!(SecurityGroupId::parse("vpc-1").is_none());
        assert!(SecurityGroupRuleId::parse("sgr-0c609eafsa2af10ea").is_some());
        assert!(SecurityGroupRuleId::parse("sg-1").is_none());
        assert!(SecurityGroupRuleId::parse("sgr-").is_none());
    }
}
