//! revoke-open-ingress: intake, guards and trigger on any bytes; then, for a trigger worth a
//! look, the decision against the state the event describes (its group holding its rules,
//! beside a private, an allow-listed and a world-open SSH rule), which must choose only
//! world-open rules on ports outside the allow-list.
#![no_main]

use eks_remediator::domain::{
    IngressRule, Protocol, SecurityGroup, SecurityGroupId, SecurityGroupRuleId, Source, Tags,
};
use eks_remediator::intake::Incoming;
use eks_remediator::rules::revoke_open_ingress::detect::{self, Disposition, Observed};
use eks_remediator::rules::revoke_open_ingress::event::{self, Caller, Trigger};
use eks_remediator::runtime;
use eks_remediator_fuzz::{as_event, SETTINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(value) = as_event(data) else { return };
    let Ok(Some((incoming, trigger, _))) = runtime::triggered(value, &SETTINGS, event::trigger)
    else {
        return;
    };
    if !detect::worth_a_look(&trigger, &SETTINGS) {
        return;
    }
    let caller = match &incoming {
        Incoming::ApiCall(call) => Some(Caller::of(call)),
        _ => None,
    };
    let observed = as_the_event_left_it(&trigger);
    for verdict in detect::decide(&trigger, &observed, &SETTINGS, caller.as_ref()) {
        if verdict.disposition == Disposition::Revoke {
            for (_, rule) in &verdict.rules {
                assert!(
                    detect::is_offending(rule, &SETTINGS.allowed_ingress_ports),
                    "would revoke a rule that is not world-open on a port outside the allow-list: {rule:?}"
                );
            }
        }
    }
});

/// The groups the trigger names, tagged as EKS's, each holding the trigger's rules (with ids)
/// and three fixed ones.
fn as_the_event_left_it(trigger: &Trigger) -> Observed {
    let (ids, asked): (Vec<SecurityGroupId>, &[IngressRule]) = match trigger {
        Trigger::Authorize { group, rules } | Trigger::Modify { group, rules } => {
            (vec![group.clone()], rules)
        }
        Trigger::Attack { groups, .. } => (groups.clone(), &[]),
        Trigger::RemoteAccess { .. } | Trigger::Sweep => (
            SecurityGroupId::parse("sg-0fuzz").into_iter().collect(),
            &[],
        ),
    };
    let fixed = [("10.0.0.0/8", 22), ("0.0.0.0/0", 443), ("0.0.0.0/0", 22)]
        .into_iter()
        .filter_map(|(cidr, port)| {
            Some(IngressRule {
                id: None,
                protocol: Protocol::Tcp,
                from_port: Some(port),
                to_port: Some(port),
                source: Source::Cidr(cidr.parse().ok()?),
                description: None,
            })
        })
        .collect::<Vec<_>>();
    let mut observed = Observed {
        groups: Vec::new(),
        rules: Some(Vec::new()),
    };
    for id in ids {
        let ingress: Vec<IngressRule> = asked.iter().chain(fixed.iter()).cloned().collect();
        for (n, rule) in ingress.iter().enumerate() {
            let rule_id = rule
                .id
                .clone()
                .or_else(|| SecurityGroupRuleId::parse(&format!("sgr-0fuzz{n}")));
            if let (Some(rules), Some(rule_id)) = (observed.rules.as_mut(), rule_id) {
                rules.push((
                    id.clone(),
                    IngressRule {
                        id: Some(rule_id),
                        ..rule.clone()
                    },
                ));
            }
        }
        observed.groups.push(SecurityGroup {
            id: id.as_str().to_owned(),
            tags: Tags::from([("aws:eks:cluster-name".to_owned(), "fuzz".to_owned())]),
            ingress: ingress
                .into_iter()
                .map(|rule| IngressRule { id: None, ..rule })
                .collect(),
            ..SecurityGroup::default()
        });
    }
    observed
}
