//! Pure decisions of `revoke-open-ingress`: which rules are world-open, which groups are in
//! scope, which rules Kubernetes made, and what to do with each group. Never calls AWS.

use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv6Net};

use super::event::{Caller, Trigger};
use crate::domain::{
    IngressRule, Protocol, SecurityGroup, SecurityGroupId, SecurityGroupRuleId, Source, Tags,
};
use crate::guard::is_exempt;
use crate::settings::{IngressScope, Settings};

/// Prefixes shorter than this cover public address space whatever the address: no private
/// IPv4 range is larger than a /8 (10.0.0.0/8), so a `/0` to `/7` below the multicast range
/// always reaches the internet.
pub const WORLD_PREFIX_BELOW: u8 = 8;

/// Where internet hosts live: IPv4 below multicast (`224.0.0.0/4` and the reserved
/// `240.0.0.0/4` are never a host's address), and IPv6 global unicast (`2000::/3`, the only
/// space handed out for the internet).
const IPV4_UNICAST_END: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 0);
const IPV6_GLOBAL_UNICAST: Ipv6Addr = Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0);
const IPV6_GLOBAL_UNICAST_PREFIX: u8 = 3;

/// Whether `source` admits (a large part of) the internet: `0.0.0.0/0`, `::/0`, or any CIDR
/// with a prefix shorter than /8 that reaches public unicast space (DESIGN.md's "any public
/// CIDR with prefix < /8").
///
/// So `8000::/1`, `fc00::/7` (unique-local) or `224.0.0.0/3` (multicast and reserved) are
/// not world-open: no internet host has an address in them, and revoking them would change
/// a rule that is not unsafe.
pub fn is_world_open(source: &Source) -> bool {
    let Source::Cidr(net) = source else {
        return false;
    };
    if net.prefix_len() >= WORLD_PREFIX_BELOW {
        return false;
    }
    match net.trunc() {
        IpNet::V4(v4) => v4.network() < IPV4_UNICAST_END,
        IpNet::V6(v6) => Ipv6Net::new(IPV6_GLOBAL_UNICAST, IPV6_GLOBAL_UNICAST_PREFIX)
            .is_ok_and(|global| global.contains(&v6) || v6.contains(&global)),
    }
}

/// Whether `rule` opens a port that is not allow-listed to the world.
///
/// ICMP has no ports and is left alone (path-MTU discovery needs it); `-1` and protocols
/// without ports open everything and can never be allow-listed by port.
pub fn is_offending(rule: &IngressRule, allowed_ports: &BTreeSet<u16>) -> bool {
    if !is_world_open(&rule.source) {
        return false;
    }
    match (&rule.protocol, rule.ports()) {
        (_, None) => false,
        (Protocol::Tcp | Protocol::Udp, Some(range)) => {
            !range.ports().all(|p| allowed_ports.contains(&p))
        }
        (_, Some(_)) => true,
    }
}

/// Tag keys and group-name prefixes that mark a group as EKS's: the cluster security group
/// (`aws:eks:cluster-name`, `eks-cluster-sg-*`), managed node group and remote-access groups
/// (`eks:cluster-name`, `eks:nodegroup-name`, `eks-remoteAccess-*`), groups tagged for a
/// cluster by eksctl, Karpenter or Kubernetes (`kubernetes.io/cluster/<name>`,
/// `karpenter.sh/discovery`) and groups of the AWS Load Balancer Controller.
const EKS_TAG_KEYS: &[&str] = &[
    "aws:eks:cluster-name",
    "eks:cluster-name",
    "eks:nodegroup-name",
    "alpha.eksctl.io/cluster-name",
    "karpenter.sh/discovery",
    "elbv2.k8s.aws/cluster",
];
const EKS_TAG_PREFIXES: &[&str] = &["kubernetes.io/cluster/"];
const EKS_GROUP_NAME_PREFIXES: &[&str] = &["eks-cluster-sg-", "eks-remoteAccess-"];

/// Whether `tags` mark an EKS resource (a group or a node instance).
pub fn has_eks_tags(tags: &Tags) -> bool {
    tags.keys().any(|k| {
        EKS_TAG_KEYS.contains(&k.as_str()) || EKS_TAG_PREFIXES.iter().any(|p| k.starts_with(p))
    })
}

/// Whether `group` belongs to EKS.
pub fn is_eks_group(group: &SecurityGroup) -> bool {
    has_eks_tags(&group.tags)
        || EKS_GROUP_NAME_PREFIXES
            .iter()
            .any(|p| group.name.starts_with(p))
}

/// Tags and descriptions that Kubernetes controllers put on the groups and rules they make
/// for `Service type=LoadBalancer`: the AWS Load Balancer Controller tags its groups
/// (`elbv2.k8s.aws/cluster`, `service.k8s.aws/stack`, `ingress.k8s.aws/stack`), the in-tree
/// cloud provider names its ELB groups "Security group for Kubernetes ELB ..." and describes
/// NLB client rules on node groups as `kubernetes.io/rule/nlb/...`.
const K8S_GROUP_TAG_KEYS: &[&str] = &[
    "elbv2.k8s.aws/cluster",
    "service.k8s.aws/stack",
    "ingress.k8s.aws/stack",
];
const K8S_GROUP_DESCRIPTION_PREFIX: &str = "Security group for Kubernetes ELB";
const K8S_RULE_DESCRIPTION_PREFIX: &str = "kubernetes.io/rule/nlb/";
/// User agents of those controllers: the in-tree provider sends `kubernetes/v1.x ...`,
/// the AWS Load Balancer Controller `elbv2.k8s.aws/...` or `aws-load-balancer-controller`.
const K8S_USER_AGENT_MARKERS: &[&str] = &[
    "kubernetes/",
    "elbv2.k8s.aws",
    "aws-load-balancer-controller",
];

/// Whether a world-open rule was made by a Kubernetes controller for a public Service.
///
/// Marks on the group or rule alone are not enough when the caller is known: a person could
/// copy a description to shield a rule. So an API call must also come from a controller
/// (its user agent); a finding carries no caller and is judged by the marks.
pub fn is_kubernetes_managed(
    group: &SecurityGroup,
    rule: &IngressRule,
    caller: Option<&Caller>,
) -> bool {
    let marked = K8S_GROUP_TAG_KEYS
        .iter()
        .any(|k| group.tags.contains_key(*k))
        || group.description.starts_with(K8S_GROUP_DESCRIPTION_PREFIX)
        || rule
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with(K8S_RULE_DESCRIPTION_PREFIX));
    let by_controller = match caller {
        None => true,
        Some(c) => {
            c.invoked_by.as_deref() == Some("eks.amazonaws.com")
                || c.user_agent
                    .as_deref()
                    .is_some_and(|ua| K8S_USER_AGENT_MARKERS.iter().any(|m| ua.contains(m)))
        }
    };
    marked && by_controller
}

/// What was observed in the account for a trigger.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The groups involved that still exist, with tags and current rules (no rule ids).
    pub groups: Vec<SecurityGroup>,
    /// Current ingress rules with ids, when they were read (`DescribeSecurityGroupRules`).
    pub rules: Option<Vec<(SecurityGroupId, IngressRule)>>,
}

/// What to do with a group's offending rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Revoke,
    Exempt,
    /// Made by Kubernetes for a public Service: alert, never revoke.
    KubernetesManaged,
    /// The offending rules (or the group) are already gone.
    Resolved,
}

/// The decision for one group.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub group: SecurityGroupId,
    pub state: Option<SecurityGroup>,
    pub disposition: Disposition,
    /// The offending rules this verdict covers; for `Resolved`, the rules that were named.
    pub rules: Vec<(SecurityGroupRuleId, IngressRule)>,
    /// Offending rules named by the event that have no id yet (only for `Resolved`).
    pub unnamed: Vec<IngressRule>,
}

/// Decides what to do for `trigger`, given what was `observed`.
pub fn decide(
    trigger: &Trigger,
    observed: &Observed,
    settings: &Settings,
    caller: Option<&Caller>,
) -> Vec<Verdict> {
    let allowed = &settings.allowed_ingress_ports;
    // Indexed once: a sweep judges every group of a region, and looking each one's state and
    // rules up in the lists was quadratic (3 million comparisons for 1000 groups).
    let mut states: HashMap<&str, &SecurityGroup> = HashMap::new();
    for group in &observed.groups {
        states.entry(group.id.as_str()).or_insert(group);
    }
    let mut rules_of: HashMap<&SecurityGroupId, Vec<&IngressRule>> = HashMap::new();
    for (group, rule) in observed.rules.iter().flatten() {
        rules_of.entry(group).or_default().push(rule);
    }
    let mut verdicts = Vec::new();
    for group_id in candidate_groups(trigger, observed) {
        let state = states.get(group_id.as_str()).copied();
        let current = |group: &SecurityGroupId| -> Vec<(SecurityGroupRuleId, IngressRule)> {
            rules_of
                .get(group)
                .into_iter()
                .flatten()
                .filter(|r| is_offending(r, allowed))
                .filter_map(|r| Some((r.id.clone()?, (*r).clone())))
                .collect()
        };
        let (named, present): (Vec<IngressRule>, Vec<(SecurityGroupRuleId, IngressRule)>) =
            match trigger {
                Trigger::Authorize { rules, .. } | Trigger::Modify { rules, .. }
                    if !rules.is_empty() =>
                {
                    let named: Vec<IngressRule> = rules
                        .iter()
                        .filter(|r| is_offending(r, allowed))
                        .cloned()
                        .collect();
                    let present = named
                        .iter()
                        .filter_map(|r| {
                            still_present(r, state, observed.rules.as_deref(), &group_id)
                        })
                        .collect();
                    (named, present)
                }
                Trigger::Modify { .. } => (Vec::new(), Vec::new()),
                Trigger::Attack { ports, .. } => {
                    let hit = current(&group_id)
                        .into_iter()
                        .filter(|(_, r)| {
                            r.ports()
                                .is_some_and(|range| ports.iter().any(|p| range.contains(*p)))
                        })
                        .collect();
                    (Vec::new(), hit)
                }
                _ => (Vec::new(), current(&group_id)),
            };
        if named.is_empty() && present.is_empty() {
            continue;
        }
        let Some(group) = state else {
            verdicts.push(resolved(group_id, None, named));
            continue;
        };
        if !in_scope(trigger, group, settings.ingress_scope) {
            continue;
        }
        if present.is_empty() {
            verdicts.push(resolved(group_id, Some(group.clone()), named));
            continue;
        }
        let exempt = is_exempt(&group.tags, &settings.exempt_tag_key)
            || matches!(trigger, Trigger::Attack { instance_tags, .. } if is_exempt(instance_tags, &settings.exempt_tag_key));
        if exempt {
            verdicts.push(verdict(&group_id, group, Disposition::Exempt, present));
            continue;
        }
        let (managed, revoke): (Vec<_>, Vec<_>) = present
            .into_iter()
            .partition(|(_, r)| is_kubernetes_managed(group, r, caller));
        if !revoke.is_empty() {
            verdicts.push(verdict(&group_id, group, Disposition::Revoke, revoke));
        }
        if !managed.is_empty() {
            verdicts.push(verdict(
                &group_id,
                group,
                Disposition::KubernetesManaged,
                managed,
            ));
        }
    }
    verdicts
}

fn verdict(
    id: &SecurityGroupId,
    group: &SecurityGroup,
    disposition: Disposition,
    rules: Vec<(SecurityGroupRuleId, IngressRule)>,
) -> Verdict {
    Verdict {
        group: id.clone(),
        state: Some(group.clone()),
        disposition,
        rules,
        unnamed: Vec::new(),
    }
}

fn resolved(
    group: SecurityGroupId,
    state: Option<SecurityGroup>,
    named: Vec<IngressRule>,
) -> Verdict {
    let (rules, unnamed): (Vec<_>, Vec<_>) = named.into_iter().partition(|r| r.id.is_some());
    let rules = rules
        .into_iter()
        .filter_map(|r| Some((r.id.clone()?, r)))
        .collect();
    Verdict {
        group,
        state,
        disposition: Disposition::Resolved,
        rules,
        unnamed,
    }
}

fn candidate_groups(trigger: &Trigger, observed: &Observed) -> Vec<SecurityGroupId> {
    match trigger {
        Trigger::Authorize { group, .. } | Trigger::Modify { group, .. } => vec![group.clone()],
        Trigger::Attack { groups, .. } => groups.clone(),
        Trigger::RemoteAccess { .. } | Trigger::Sweep => observed
            .groups
            .iter()
            .filter_map(|g| SecurityGroupId::parse(&g.id))
            .collect(),
    }
}

fn in_scope(trigger: &Trigger, group: &SecurityGroup, scope: IngressScope) -> bool {
    match (scope, trigger) {
        (IngressScope::All, _) | (_, Trigger::RemoteAccess { .. }) => true,
        (IngressScope::Eks, Trigger::Attack { instance_tags, .. }) => {
            has_eks_tags(instance_tags) || is_eks_group(group)
        }
        (IngressScope::Eks, _) => is_eks_group(group),
    }
}

/// The id of `rule` if the group still grants exactly that access: an event's rule that has
/// since been narrowed or removed must not be revoked on the strength of an old event.
fn still_present(
    rule: &IngressRule,
    state: Option<&SecurityGroup>,
    current: Option<&[(SecurityGroupId, IngressRule)]>,
    group: &SecurityGroupId,
) -> Option<(SecurityGroupRuleId, IngressRule)> {
    if let Some(current) = current {
        let found = current.iter().find(|(g, r)| {
            g == group && r.same_access(rule) && (rule.id.is_none() || r.id == rule.id)
        })?;
        return Some((found.1.id.clone()?, merge(rule, &found.1)));
    }
    let id = rule.id.clone()?;
    let live = state?.ingress.iter().find(|r| r.same_access(rule))?;
    Some((id, merge(rule, live)))
}

/// The event's rule with the live description, which is what an undo must restore.
fn merge(rule: &IngressRule, live: &IngressRule) -> IngressRule {
    IngressRule {
        id: live.id.clone().or_else(|| rule.id.clone()),
        description: live.description.clone(),
        ..rule.clone()
    }
}

/// `tcp/22 open to 0.0.0.0/0; all traffic open to ::/0`.
pub fn describe(rules: &[(SecurityGroupRuleId, IngressRule)], unnamed: &[IngressRule]) -> String {
    rules
        .iter()
        .map(|(_, r)| r)
        .chain(unnamed)
        .map(|r| format!("{} open to {}", r.access_text(), r.source))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether the trigger can involve a world-open rule at all. An event that lists only safe
/// rules needs no AWS call: the cheapest remediation is the one never looked up.
pub fn worth_a_look(trigger: &Trigger, settings: &Settings) -> bool {
    match trigger {
        Trigger::Authorize { rules, .. } if !rules.is_empty() => rules
            .iter()
            .any(|r| is_offending(r, &settings.allowed_ingress_ports)),
        Trigger::Modify { rules, .. } => rules
            .iter()
            .any(|r| is_offending(r, &settings.allowed_ingress_ports)),
        Trigger::Attack { groups, ports, .. } => !groups.is_empty() && !ports.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Protocol;

    fn rule(protocol: &str, ports: Option<(i32, i32)>, cidr: &str) -> IngressRule {
        IngressRule {
            id: SecurityGroupRuleId::parse("sgr-1"),
            protocol: Protocol::parse(protocol),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            source: Source::Cidr(cidr.parse().unwrap()),
            description: None,
        }
    }

    #[test]
    fn world_open_cidrs() {
        for (cidr, open) in [
            ("0.0.0.0/0", true),
            ("::/0", true),
            ("1.2.3.4/7", true),
            ("10.0.0.0/7", true),
            ("10.0.0.0/8", false),
            ("203.0.113.0/24", false),
            ("2000::/3", true),
            ("8000::/1", false),
            ("4000::/2", false),
            ("::/2", true),
            ("224.0.0.0/3", false),
            ("240.0.0.0/4", false),
            ("192.0.0.0/2", true),
            ("fc00::/7", false),
            ("fd00::/8", false),
            ("2001:db8::/32", false),
        ] {
            assert_eq!(
                is_world_open(&Source::Cidr(cidr.parse().unwrap())),
                open,
                "{cidr}"
            );
        }
        assert!(!is_world_open(&Source::Reference("sg-1".into())));
        assert!(!is_world_open(&Source::Reference("pl-1".into())));
    }

    #[test]
    fn offending_rules_respect_allowed_ports_and_protocols() {
        let allowed = BTreeSet::from([80, 443, 53]);
        for (r, offending) in [
            (rule("tcp", Some((443, 443)), "0.0.0.0/0"), false),
            (rule("tcp", Some((80, 443)), "0.0.0.0/0"), true),
            (rule("tcp", Some((22, 22)), "0.0.0.0/0"), true),
            (rule("udp", Some((53, 53)), "::/0"), false),
            (rule("tcp", Some((22, 22)), "10.0.0.0/8"), false),
            (rule("-1", None, "0.0.0.0/0"), true),
            (rule("tcp", Some((-1, -1)), "0.0.0.0/0"), true),
            (rule("icmp", Some((8, -1)), "0.0.0.0/0"), false),
            (rule("icmpv6", Some((-1, -1)), "::/0"), false),
            (rule("50", None, "0.0.0.0/0"), true),
        ] {
            assert_eq!(is_offending(&r, &allowed), offending, "{r:?}");
        }
    }

    #[test]
    fn kubernetes_marks_count_only_from_a_controller() {
        let group = SecurityGroup {
            description: "Security group for Kubernetes ELB a1b2 (default/web)".into(),
            ..Default::default()
        };
        let r = rule("tcp", Some((80, 80)), "0.0.0.0/0");
        let controller = Caller {
            user_agent: Some("kubernetes/v1.31.2 aws-sdk-go/1.55".into()),
            invoked_by: None,
        };
        let person = Caller {
            user_agent: Some("console.amazonaws.com".into()),
            invoked_by: None,
        };
        assert!(is_kubernetes_managed(&group, &r, Some(&controller)));
        assert!(is_kubernetes_managed(&group, &r, None));
        assert!(!is_kubernetes_managed(&group, &r, Some(&person)));
        let plain = SecurityGroup::default();
        assert!(!is_kubernetes_managed(&plain, &r, Some(&controller)));
        let mut nlb = rule("tcp", Some((30080, 30080)), "0.0.0.0/0");
        nlb.description = Some("kubernetes.io/rule/nlb/client=a1b2".into());
        assert!(is_kubernetes_managed(&plain, &nlb, Some(&controller)));
    }

    #[test]
    fn a_rule_narrowed_since_the_event_is_resolved_not_revoked() {
        let group_id = SecurityGroupId::parse("sg-1").unwrap();
        let trigger = Trigger::Authorize {
            group: group_id.clone(),
            rules: vec![rule("tcp", Some((22, 22)), "0.0.0.0/0")],
        };
        let group = SecurityGroup {
            id: "sg-1".into(),
            tags: Tags::from([("aws:eks:cluster-name".to_owned(), "prod".to_owned())]),
            ingress: vec![IngressRule {
                id: None,
                ..rule("tcp", Some((22, 22)), "10.0.0.0/8")
            }],
            ..Default::default()
        };
        let observed = Observed {
            groups: vec![group.clone()],
            rules: None,
        };
        let verdicts = decide(&trigger, &observed, &Settings::default(), None);
        assert_eq!(verdicts.len(), 1);
        assert_eq!(verdicts[0].disposition, Disposition::Resolved);

        let open = SecurityGroup {
            ingress: vec![IngressRule {
                id: None,
                ..rule("tcp", Some((22, 22)), "0.0.0.0/0")
            }],
            ..group
        };
        let verdicts = decide(
            &trigger,
            &Observed {
                groups: vec![open],
                rules: None,
            },
            &Settings::default(),
            None,
        );
        assert_eq!(verdicts[0].disposition, Disposition::Revoke);
        assert_eq!(verdicts[0].rules[0].0.as_str(), "sgr-1");
    }
}
