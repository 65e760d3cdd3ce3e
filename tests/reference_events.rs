//! Every published reference sample in `tests/fixtures/reference-events/` (see its
//! SOURCES.md) parses, wrapped in an envelope where it is a bare record, and the samples the
//! rules act on yield the triggers their quirks imply.

mod support;

use eks_remediator::intake::{parse, Incoming};
use eks_remediator::rules::enforce_cluster_config::{detect, event as cluster_event};
use eks_remediator::rules::revoke_open_ingress::event::{trigger, Trigger};
use eks_remediator::settings::Settings;
use support::{reference_event, reference_events_dir};

fn trigger_of(name: &str) -> Option<Trigger> {
    let incoming = parse(reference_event(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    trigger(&incoming).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `proto ports cidr` of each rule.
fn rules(trigger: &Trigger) -> Vec<String> {
    let rules = match trigger {
        Trigger::Authorize { rules, .. } | Trigger::Modify { rules, .. } => rules,
        other => panic!("not a rule trigger: {other:?}"),
    };
    rules
        .iter()
        .map(|r| format!("{} {}", r.access_text(), r.source))
        .collect()
}

#[test]
fn every_reference_sample_parses() {
    let mut count = 0;
    for entry in std::fs::read_dir(reference_events_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        let incoming = parse(reference_event(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!matches!(incoming, Incoming::Other { .. }), "{name}");
        // Every rule's trigger parser accepts every sample without error.
        trigger(&incoming).unwrap_or_else(|e| panic!("{name}: {e}"));
        count += 1;
    }
    assert_eq!(count, 23);
}

#[test]
fn authorize_samples_give_their_rules() {
    let t = trigger_of("ec2-authorize-sg-ingress-multi-open-csirt.cloudtrail.json").unwrap();
    assert_eq!(
        rules(&t),
        [
            "tcp/22 open to 0.0.0.0/0",
            "all traffic open to 0.0.0.0/0",
            "tcp/389 open to 0.0.0.0/0",
            "tcp/3389 open to 0.0.0.0/0"
        ]
        .map(|s| s.replace(" open to ", " "))
    );
    // The CLI's flat form, with an anonymised /0.
    let t = trigger_of("ec2-authorize-sg-ingress-port22-stratus.cloudtrail.json").unwrap();
    assert_eq!(rules(&t), ["tcp/22 208.236.235.254/0"]);
    let t = trigger_of("ec2-authorize-sg-ingress-restricted-cidr-elastic.cloudtrail.json").unwrap();
    assert_eq!(rules(&t), ["tcp/22 203.0.113.0/24"]);
    let t = trigger_of("ec2-authorize-sg-ingress-ipv4-open.eventbridge.json").unwrap();
    assert_eq!(rules(&t), ["tcp all ports 0.0.0.0/0"]);
}

#[test]
fn modify_sample_gives_the_single_collapsed_rule() {
    let t = trigger_of("ec2-modifysecuritygrouprules-open-rdp.cloudtrail.json").unwrap();
    assert_eq!(rules(&t), ["tcp/3389 0.0.0.0/0"]);
    let Trigger::Modify { rules, .. } = t else {
        unreachable!()
    };
    assert!(rules[0].id.is_some());
}

#[test]
fn guardduty_samples_give_attacked_ports() {
    let Some(Trigger::Attack { ports, groups, .. }) =
        trigger_of("guardduty-finding-ec2-sshbruteforce-sample.partial-envelope.json")
    else {
        panic!("ssh brute force is a trigger");
    };
    assert_eq!(ports, [22]);
    assert!(groups.iter().all(|g| g.as_str().starts_with("sg-")));
    // A real PortProbe logged as NETWORK_CONNECTION, without portProbeAction.
    let Some(Trigger::Attack { ports, groups, .. }) =
        trigger_of("guardduty-finding-ec2-portprobe-real-sumologic.bare.json")
    else {
        panic!("port probe is a trigger");
    };
    assert!(
        !ports.is_empty() && !groups.is_empty(),
        "{ports:?} {groups:?}"
    );
    assert!(trigger_of("guardduty-finding-ec2-c2dns-sample-custodian.eventbridge.json").is_none());
    assert!(
        trigger_of("guardduty-finding-eks-successfulanonymousaccess-sample-elastic.bare.json")
            .is_none()
    );
}

#[test]
fn guardduty_samples_name_their_cluster_and_access_key() {
    let finding = |name: &str| match parse(reference_event(name)).unwrap() {
        Incoming::Finding(f) => f,
        other => panic!("{name} is not a finding: {other:?}"),
    };
    let tor = finding("guardduty-finding-iam-toripcaller-sample-custodian.eventbridge.json");
    let key = tor.access_key().expect("access key details");
    assert!(key.access_key_id.as_deref().is_some_and(|k| !k.is_empty()));
    assert!(key.user_name.is_some());
    let eks = finding("guardduty-finding-eks-successfulanonymousaccess-sample-elastic.bare.json");
    assert!(eks
        .cluster()
        .and_then(|c| c.name.as_deref())
        .is_some_and(|n| !n.is_empty()));
    assert!(eks.severity() > 0.0);
    let cli = finding("guardduty-finding-eks-privilegedcontainer.getfindings-cli.json");
    assert!(cli
        .cluster()
        .and_then(|c| c.arn.as_deref())
        .is_some_and(|a| a.starts_with("arn:aws:eks:")));
}

#[test]
fn other_samples_are_not_this_rules_triggers() {
    for name in [
        "ec2-createsecuritygroup.eventbridge.json",
        "eks-createcluster-awsdocs.cloudtrail.json",
        "iam-putrolepolicy.eventbridge.json",
        "cloudtrail-stoplogging-csirt.cloudtrail.json",
    ] {
        assert!(trigger_of(name).is_none(), "{name}");
    }
}

/// The trigger `enforce-cluster-config` reads from a reference sample.
fn cluster_trigger_of(name: &str) -> Option<cluster_event::Trigger> {
    let incoming = parse(reference_event(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    cluster_event::trigger(&incoming).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn eks_samples_give_cluster_triggers_with_their_quirks() {
    let settings = Settings::default();

    // 2024 console record: `name`, public to 0.0.0.0/0, the two console logging entries.
    let console =
        cluster_trigger_of("eks-createcluster-public-endpoint-logging-disabled.cloudtrail.json")
            .expect("a trigger");
    assert_eq!(console.kind, cluster_event::Kind::Create);
    assert_eq!(
        console.cluster, "amazon-eks",
        "the request name, not the response's"
    );
    let logging = console.asked.logging.clone().unwrap();
    assert!(
        logging.enabled.is_empty(),
        "an enabled entry with no types enables nothing"
    );
    assert_eq!(logging.disabled.len(), 5);
    assert!(console.asked.endpoint.as_ref().unwrap().created().public);
    assert!(detect::worth_a_look(&console, &settings));

    // 2018 docs record: `clusterName`, no endpoint or logging fields (AWS defaults: public).
    let legacy =
        cluster_trigger_of("eks-createcluster-awsdocs.cloudtrail.json").expect("a trigger");
    assert_eq!(legacy.cluster, "test");
    assert!(legacy.asked.endpoint.as_ref().unwrap().created().public);
    assert!(detect::worth_a_look(&legacy, &settings));

    // An update that makes the endpoint private: a trigger, but nothing to look at.
    let private = cluster_trigger_of("eks-updateclusterconfig-endpoint-private.cloudtrail.json")
        .expect("a trigger");
    assert_eq!(private.kind, cluster_event::Kind::Update);
    assert_eq!(private.cluster, "amazon-eks");
    assert!(!detect::worth_a_look(&private, &settings));

    assert!(cluster_trigger_of("ec2-authorize-sg-ingress-ipv4-open.eventbridge.json").is_none());
}
