//! Integration tests of `notify-eks-finding`: findings from `events/notify-eks-finding/` and the
//! published reference samples, alerts published through the real SDK to moto's SNS and read
//! back through SQS.

mod support;

use eks_remediator::rules::notify_eks_finding::handle;
use eks_remediator::rules::notify_eks_finding::RULE as RULE_INFO;
use eks_remediator::settings::Settings;
use serde_json::{json, Value};
use support::{event, reference_event, World};

const RULE: &str = "notify-eks-finding";

async fn run(w: &World, settings: &Settings, event: Value) -> Value {
    support::summary(&RULE_INFO, handle(&w.aws, settings, event)).await
}

fn sample(file: &str) -> Value {
    event(RULE, file, &[])
}

/// The one alert `event` gives, with its note split into lines.
async fn one_alert(w: &World, event: Value) -> (Value, Vec<String>) {
    let summary = run(w, &w.settings(), event).await;
    assert_eq!(summary["outcomes"][0]["status"], "alert", "{summary}");
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let note = alerts[0]["note"]
        .as_str()
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (alerts[0].clone(), note)
}

fn line<'a>(note: &'a [String], name: &str) -> &'a str {
    note.iter()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {note:?}"))
}

#[tokio::test]
async fn anonymous_access_granted_names_the_user_origin_and_the_binding_to_remove() {
    let w = World::new().await;
    let (a, note) = one_alert(&w, sample("policy-anonymous-access-granted.json")).await;
    assert_eq!(a["rule"], RULE);
    assert_eq!(a["status"], "alert");
    assert_eq!(a["resource"]["type"], "eks-cluster");
    assert_eq!(a["resource"]["id"], "example-cluster");
    assert_eq!(
        a["resource"]["arn"],
        "arn:aws:eks:us-east-1:123456789012:cluster/example-cluster"
    );
    assert!(a["finding"]
        .as_str()
        .unwrap()
        .starts_with("High Policy:Kubernetes/AnonymousAccessGranted: "));
    assert_eq!(a["actions"], json!([]));
    assert_eq!(line(&note, "Severity"), "High (8)");
    assert!(line(&note, "Kubernetes user").starts_with("kubernetes-admin (groups system:masters"));
    assert!(line(&note, "Remote IP").starts_with("203.0.113.10, "));
    assert!(line(&note, "Console").contains("fId=5ac4e1b2d3f6a7980b1c2d3e4f5a6b7c"));
    assert!(line(&note, "First steps").contains("system:anonymous"));
    assert!(a["_subject"]
        .as_str()
        .unwrap()
        .starts_with("[eks-remediator] alert eks-cluster example-cluster"));
}

#[tokio::test]
async fn each_family_gets_its_context_and_first_steps() {
    let w = World::new().await;
    let (_, note) = one_alert(&w, sample("credential-access-secrets.json")).await;
    assert_eq!(line(&note, "Severity"), "Medium (5)");
    assert!(line(&note, "First steps").contains("Rotate the secrets named in the request"));

    let (_, note) = one_alert(&w, sample("privileged-container.json")).await;
    assert_eq!(line(&note, "Namespace"), "shop");
    assert_eq!(
        line(&note, "Image"),
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.4.2"
    );
    assert!(line(&note, "First steps").contains("Pod Security"));

    // A runtime finding: no Kubernetes user, a process and a node instead.
    let (_, note) = one_alert(&w, sample("runtime-reverse-shell.json")).await;
    assert!(
        !note.iter().any(|l| l.starts_with("Kubernetes user:")),
        "{note:?}"
    );
    assert!(line(&note, "Process").contains("bash"));
    assert!(line(&note, "First steps").contains("cordon the node"));

    let (a, note) = one_alert(&w, sample("attack-sequence-eks.json")).await;
    assert!(a["finding"]
        .as_str()
        .unwrap()
        .starts_with("Critical AttackSequence:EKS/"));
    assert!(line(&note, "First steps").contains("active incident"));
}

#[tokio::test]
async fn published_samples_in_both_casings_are_alerted() {
    let w = World::new().await;
    let (a, note) = one_alert(
        &w,
        reference_event("guardduty-finding-eks-successfulanonymousaccess-sample-elastic.bare.json"),
    )
    .await;
    assert!(a["finding"]
        .as_str()
        .unwrap()
        .contains("Persistence:Kubernetes/SuccessfulAnonymousAccess"));
    assert_eq!(
        line(&note, "Kubernetes user"),
        "system:anonymous (groups system:unauthenticated)"
    );

    let (a, note) = one_alert(
        &w,
        reference_event("guardduty-finding-eks-privilegedcontainer.getfindings-cli.json"),
    )
    .await;
    assert!(a["finding"]
        .as_str()
        .unwrap()
        .contains("PrivilegeEscalation:Kubernetes/PrivilegedContainer"));
    assert!(!line(&note, "Image").is_empty());
}

#[tokio::test]
async fn low_findings_and_repeats_below_high_are_only_logged() {
    let w = World::new().await;
    let strict = Settings {
        min_severity: 9.0,
        ..w.settings()
    };
    assert_eq!(
        run(&w, &strict, sample("privileged-container.json")).await,
        json!({"outcomes": []})
    );

    // The same Medium finding seen again: logged.
    assert_eq!(
        run(&w, &w.settings(), sample("repeat-update-medium.json")).await,
        json!({"outcomes": []})
    );
    // A High finding seen again: alerted, saying it is a repeat.
    let mut repeat_high = sample("policy-anonymous-access-granted.json");
    repeat_high["detail"]["service"]["count"] = json!(4);
    let (_, note) = one_alert(&w, repeat_high).await;
    assert_eq!(line(&note, "Seen"), "4 times (a repeat update)");
}

#[tokio::test]
async fn foreign_and_malformed_findings_never_panic() {
    let w = World::new().await;
    assert_eq!(
        run(&w, &w.settings(), sample("not-for-me-ec2-finding.json")).await,
        json!({"outcomes": []})
    );
    let mut odd = sample("runtime-reverse-shell.json");
    odd["detail"]["resource"]["kubernetesDetails"] = json!("not an object");
    odd["detail"]["service"] = json!({"count": "many", "runtimeDetails": [1, 2]});
    odd["detail"]["severity"] = json!("8.0");
    let summary = run(&w, &w.settings(), odd).await;
    assert_eq!(summary["outcomes"][0]["status"], "alert");
    let mut broken = sample("runtime-reverse-shell.json");
    broken["detail"] = json!(["not", "a", "finding"]);
    assert!(handle(&w.aws, &w.settings(), broken).await.is_err());
    let mut untyped = sample("runtime-reverse-shell.json");
    untyped["detail"].as_object_mut().unwrap().remove("type");
    assert!(handle(&w.aws, &w.settings(), untyped).await.is_err());
    assert_eq!(w.alerts().await.len(), 1);
}
