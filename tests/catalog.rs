//! Catalog tests: every rule in `eks_remediator::catalog::RULES` has its binary, its
//! template function and least-privilege role, a sample event per trigger that belongs to it
//! and to no other rule, and a README row; and every module says why it exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use eks_remediator::catalog::RULES;
use eks_remediator::intake::parse;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect()
}

fn snake(name: &str) -> String {
    name.replace('-', "_")
}

/// The lines of a top-level resource of template.yaml, from `  Name:` to the next resource.
fn resource<'a>(template: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("  {name}:");
    let mut lines = template.lines().skip_while(|l| l.trim_end() != header);
    let Some(first) = lines.next() else {
        panic!("template.yaml has no resource {name}")
    };
    std::iter::once(first)
        .chain(lines.take_while(|l| l.is_empty() || l.starts_with("   ") || l.starts_with("  #")))
        .collect()
}

/// Actions every function needs for its plumbing, not for its rule: the alert key, the
/// dead-letter and retry queues, the SQS event source mapping, and Lambda's own trust.
const PLUMBING: &[&str] = &[
    "kms:GenerateDataKey",
    "kms:Decrypt",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sts:AssumeRole",
];

/// The `service:Action` words of a template role, plumbing aside.
fn granted<'a>(template: &'a str, role: &str) -> BTreeSet<&'a str> {
    resource(template, role)
        .iter()
        .flat_map(|l| l.split([' ', '[', ']', ',']))
        .filter(|w| {
            let mut parts = w.split(':');
            matches!((parts.next(), parts.next(), parts.next()), (Some(s), Some(a), None)
                if !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && a.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        })
        .filter(|a| !PLUMBING.contains(a))
        .collect()
}

/// Declared actions, plumbing aside.
fn actions(declared: &'static [&'static str]) -> BTreeSet<&'static str> {
    declared
        .iter()
        .copied()
        .filter(|a| !PLUMBING.contains(a))
        .collect()
}

#[test]
fn the_sweep_role_grants_exactly_the_sweeps_actions() {
    let template = read("template.yaml");
    assert_eq!(
        granted(&template, "SweepRole"),
        actions(eks_remediator::sweep::IAM_ACTIONS)
    );
}

/// The services a function warms up before its first event, sorted.
fn warmed(clients: &[eks_remediator::aws::warm_up::Warm]) -> Vec<&'static str> {
    let mut services: Vec<&str> = clients.iter().map(|c| c.service).collect();
    services.sort_unstable();
    services
}

#[test]
fn every_function_warms_up_exactly_the_clients_of_its_actions() {
    use eks_remediator::aws::warm_up::services_with_clients;
    for rule in RULES {
        assert_eq!(
            warmed(rule.warm_up),
            services_with_clients(rule.iam_actions),
            "{}",
            rule.name
        );
    }
    assert_eq!(
        warmed(eks_remediator::sweep::WARM_UP),
        services_with_clients(eks_remediator::sweep::IAM_ACTIONS),
        "sweep"
    );
}

#[test]
fn every_rule_has_a_thin_binary_named_after_it() {
    for rule in RULES {
        let manifest = read(format!("functions/{}/Cargo.toml", rule.name));
        assert!(
            manifest.contains(&format!("name = \"{}\"", rule.name)),
            "{}",
            rule.name
        );
        let main = read(format!("functions/{}/src/main.rs", rule.name));
        assert!(
            main.contains(&format!("rules::{}", snake(rule.name))),
            "{} main wires its rule",
            rule.name
        );
        for logic in ["match ", "if ", "serde_json::from"] {
            assert!(
                !main.contains(logic),
                "functions/{}/src/main.rs holds logic: {logic}",
                rule.name
            );
        }
    }
}

#[test]
fn every_rule_has_a_template_function_and_a_role_with_exactly_its_actions() {
    let template = read("template.yaml");
    for rule in RULES {
        let function = resource(&template, &format!("{}Function", pascal(rule.name)));
        assert!(
            function
                .iter()
                .any(|l| l.trim() == format!("Binary: {}", rule.name)),
            "{}",
            rule.name
        );
        assert_eq!(
            granted(&template, &format!("{}Role", pascal(rule.name))),
            actions(rule.iam_actions),
            "{}Role grants exactly the rule's actions",
            pascal(rule.name)
        );
        let globals: Vec<&str> = template
            .lines()
            .skip_while(|l| *l != "Globals:")
            .take_while(|l| *l != "Resources:")
            .collect();
        for setting in rule.settings {
            let sets = |l: &&str| l.trim_start().starts_with(&format!("{setting}:"));
            assert!(
                function.iter().any(sets) || globals.iter().any(sets),
                "{}Function sets {setting}",
                pascal(rule.name)
            );
        }
    }
}

#[test]
fn every_trigger_has_a_sample_event_that_belongs_to_its_rule_or_shares_its_name() {
    for rule in RULES {
        let dir = root().join("events").join(rule.name);
        let mut names_seen = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            // A CloudWatch Logs delivery reaches audit-workloads by subscription, not EventBridge.
            if eks_remediator::intake::audit_log::is_delivery(&event) {
                assert_eq!(rule.name, "audit-workloads", "{file}");
                continue;
            }
            // An SNS notification of the alert topic reaches publish-findings by subscription.
            if eks_remediator::rules::publish_findings::event::is_notification(&event) {
                assert_eq!(rule.name, "publish-findings", "{file}");
                continue;
            }
            let incoming = parse(event.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
            let owners: Vec<&str> = RULES
                .iter()
                .filter(|r| (r.is_trigger)(&incoming))
                .map(|r| r.name)
                .collect();
            if file.starts_with("not-for-me-") {
                assert!(
                    !owners.contains(&rule.name),
                    "{file} must not trigger {}",
                    rule.name
                );
                continue;
            }
            // A CloudTrail call's name, a GuardDuty finding's type, an instance's new state.
            let name = event["detail"]["eventName"]
                .as_str()
                .or(event["detail"]["type"].as_str())
                .or(event["detail"]["state"].as_str())
                .unwrap();
            // Another rule may own the same event only when it lists the same name: a shared
            // trigger, such as CreateCluster (enforce-cluster-config, guard-cluster-access).
            assert!(
                owners.contains(&rule.name),
                "{file} must trigger {}",
                rule.name
            );
            for other in owners.iter().filter(|o| **o != rule.name) {
                let info = RULES.iter().find(|r| r.name == *other).unwrap();
                assert!(
                    info.triggers.iter().any(|t| t.names.contains(&name)),
                    "{file} also triggers {other}, which does not list {name}"
                );
            }
            names_seen.insert(name.to_owned());
        }
        for trigger in rule.triggers {
            for name in trigger.names {
                assert!(
                    names_seen.iter().any(|seen| wildcard(name, seen)),
                    "events/{}/ has no sample for {name}",
                    rule.name
                );
            }
        }
    }
}

/// EventBridge's `wildcard` matching: `*` stands for any run of characters.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[test]
fn wildcards_match_as_eventbridge_does() {
    assert!(wildcard(
        "*:Kubernetes/*",
        "Policy:Kubernetes/AnonymousAccessGranted"
    ));
    assert!(wildcard(
        "AttackSequence:EKS/*",
        "AttackSequence:EKS/CompromisedCluster"
    ));
    assert!(!wildcard("*:Runtime/*", "Backdoor:EC2/C&CActivity.B!DNS"));
    assert!(wildcard("StopLogging", "StopLogging"));
    assert!(!wildcard("StopLogging", "StopLoggingX"));
}

#[test]
fn every_rule_has_a_readme_row() {
    let readme = read("README.md");
    for rule in RULES {
        assert!(
            readme.contains(&format!("| `{}` |", rule.name)),
            "README catalog row for {}",
            rule.name
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_opens_with_a_doc_comment_saying_why() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    for entry in std::fs::read_dir(root().join("functions")).unwrap() {
        rust_files(&entry.unwrap().path().join("src"), &mut files);
    }
    assert!(files.len() > 20);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(
            first.starts_with("//!"),
            "{} must open with a //! comment",
            file.display()
        );
    }
}
