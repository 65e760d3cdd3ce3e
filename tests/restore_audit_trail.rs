//! Integration tests of `restore-audit-trail`: the real SDK against moto's server (GuardDuty
//! detectors, CloudTrail trails), through the recording proxy where the request itself is the
//! point, with events from `events/restore-audit-trail/`.
//!
//! moto differs from AWS here, and the tests check AWS's documented behaviour:
//! - `UpdateDetector` with `features` (or `dataSources`) replaces moto's whole list (object)
//!   where AWS updates only the named features, so the tests check the *request* names only
//!   what was switched off, and read moto's state only for those;
//! - a region holds many moto detectors where AWS allows one, so the deletion tests run in
//!   regions of their own.

mod support;

use aws_sdk_guardduty::types::{
    DataSourceConfigurations, DetectorAdditionalConfiguration, DetectorFeature,
    DetectorFeatureConfiguration, FeatureAdditionalConfiguration, FeatureStatus,
    KubernetesAuditLogsConfiguration, KubernetesConfiguration,
};
use eks_remediator::aws::Aws;
use eks_remediator::outcome::Status;
use eks_remediator::rules::restore_audit_trail::RULE as RULE_INFO;
use eks_remediator::rules::restore_audit_trail::{handle, outcomes};
use eks_remediator::settings::{Mode, Settings};
use serde_json::{json, Value};
use support::proxy::Proxy;
use support::{event, trail, World};

const RULE: &str = "restore-audit-trail";
const DETECTOR: &str = "0123456789abcdef0123456789abcdef";
const TRAIL: &str = "example-trail";

async fn run(aws: &Aws, settings: &Settings, event: Value) -> Value {
    support::summary(&RULE_INFO, handle(aws, settings, event)).await
}

fn statuses(summary: &Value) -> Vec<String> {
    summary["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect()
}

fn feature(name: &str, on: bool, extra: &[(&str, bool)]) -> DetectorFeatureConfiguration {
    let status = |on: bool| {
        if on {
            FeatureStatus::Enabled
        } else {
            FeatureStatus::Disabled
        }
    };
    let mut f = DetectorFeatureConfiguration::builder()
        .name(DetectorFeature::from(name))
        .status(status(on));
    for (n, on) in extra {
        f = f.additional_configuration(
            DetectorAdditionalConfiguration::builder()
                .name(FeatureAdditionalConfiguration::from(*n))
                .status(status(*on))
                .build(),
        );
    }
    f.build()
}

/// A detector in `aws`'s region with `features`, `enabled`, optional old-form audit logs
/// and tags; returns its id.
async fn detector(
    aws: &Aws,
    enabled: bool,
    features: Vec<DetectorFeatureConfiguration>,
    audit_logs: Option<bool>,
    tags: &[(&str, &str)],
) -> String {
    let mut request = aws
        .guardduty()
        .await
        .create_detector()
        .enable(enabled)
        .set_features(Some(features));
    if let Some(on) = audit_logs {
        #[allow(deprecated)]
        let sources = DataSourceConfigurations::builder()
            .kubernetes(
                KubernetesConfiguration::builder()
                    .audit_logs(
                        KubernetesAuditLogsConfiguration::builder()
                            .enable(on)
                            .build(),
                    )
                    .build(),
            )
            .build();
        #[allow(deprecated)]
        {
            request = request.data_sources(sources);
        }
    }
    for (k, v) in tags {
        request = request.tags(*k, *v);
    }
    request
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_owned()
}

/// `(enabled, feature statuses "NAME=ENABLED" and "NAME/EXTRA=DISABLED", old-form audit logs)`.
#[allow(deprecated)]
async fn detector_state(aws: &Aws, id: &str) -> (bool, Vec<String>, bool) {
    let out = aws
        .guardduty()
        .await
        .get_detector()
        .detector_id(id)
        .send()
        .await
        .unwrap();
    let mut features = Vec::new();
    for f in out.features() {
        let name = f.name().map(|n| n.as_str()).unwrap_or("");
        features.push(format!(
            "{name}={}",
            f.status().map(|s| s.as_str()).unwrap_or("")
        ));
        for a in f.additional_configuration() {
            features.push(format!(
                "{name}/{}={}",
                a.name().map(|n| n.as_str()).unwrap_or(""),
                a.status().map(|s| s.as_str()).unwrap_or("")
            ));
        }
    }
    let audit = out
        .data_sources()
        .and_then(|d| d.kubernetes())
        .and_then(|k| k.audit_logs())
        .and_then(|a| a.status())
        .map(|s| s.as_str() == "ENABLED")
        .unwrap_or(false);
    (
        out.status().map(|s| s.as_str()) == Some("ENABLED"),
        features,
        audit,
    )
}

async fn logging(w: &World, name: &str) -> bool {
    w.aws
        .cloudtrail()
        .await
        .get_trail_status()
        .name(name)
        .send()
        .await
        .unwrap()
        .is_logging()
        == Some(true)
}

fn sample(file: &str, detector: &str, trail: &str) -> Value {
    event(RULE, file, &[(DETECTOR, detector), (TRAIL, trail)])
}

#[tokio::test]
async fn a_disabled_detector_is_enabled_again() {
    let w = World::new().await;
    let id = detector(
        &w.aws,
        false,
        vec![feature("EKS_AUDIT_LOGS", true, &[])],
        None,
        &[],
    )
    .await;

    let summary = run(
        &w.aws,
        &w.settings(),
        sample("update-detector-disable.json", &id, ""),
    )
    .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(detector_state(&w.aws, &id).await.0);
    let a = &w.alerts().await[0];
    assert_eq!(a["rule"], RULE);
    assert_eq!(a["resource"]["type"], "guardduty-detector");
    assert_eq!(
        a["resource"]["arn"],
        format!("arn:aws:guardduty:us-east-1:123456789012:detector/{id}")
    );
    assert_eq!(
        a["finding"],
        "GuardDuty EKS protection switched off: detector disabled"
    );
    assert_eq!(
        a["actions"],
        json!([format!("UpdateDetector {id} enable=true")])
    );
    assert_eq!(
        a["undo"],
        format!("aws guardduty update-detector --detector-id '{id}' --no-enable")
    );
}

#[tokio::test]
async fn switched_off_features_are_switched_on_and_nothing_else_is_sent() {
    let w = World::new().await;
    let proxy = Proxy::start(support::moto_url()).await;
    let through = Aws::with_config(support::sdk_config_at(&proxy.url));
    let id = detector(
        &w.aws,
        true,
        vec![
            feature("EKS_AUDIT_LOGS", false, &[]),
            feature(
                "RUNTIME_MONITORING",
                true,
                &[("EKS_ADDON_MANAGEMENT", false)],
            ),
            feature("S3_DATA_EVENTS", false, &[]),
        ],
        None,
        &[],
    )
    .await;

    let summary = run(
        &through,
        &w.settings(),
        sample("update-detector-features-off.json", &id, ""),
    )
    .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    let updates: Vec<Value> = proxy
        .requests(&format!("/detector/{id}"))
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.json())
        .collect();
    assert_eq!(
        updates,
        [json!({"features": [
            {"name": "EKS_AUDIT_LOGS", "status": "ENABLED"},
            {"name": "RUNTIME_MONITORING", "additionalConfiguration": [
                {"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}]}]})],
        "only what was switched off; S3_DATA_EVENTS stays as it is"
    );
    let (_, features, _) = detector_state(&w.aws, &id).await;
    assert!(
        features.contains(&"EKS_AUDIT_LOGS=ENABLED".to_owned()),
        "{features:?}"
    );
    assert!(features.contains(&"RUNTIME_MONITORING/EKS_ADDON_MANAGEMENT=ENABLED".to_owned()));
}

#[tokio::test]
async fn the_old_data_source_form_is_switched_on_in_the_same_form() {
    let w = World::new().await;
    let id = detector(&w.aws, true, vec![], Some(false), &[]).await;

    let summary = run(
        &w.aws,
        &w.settings(),
        sample("update-detector-datasources-off.json", &id, ""),
    )
    .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(
        detector_state(&w.aws, &id).await.2,
        "audit logs enabled again"
    );
    let a = &w.alerts().await[0];
    assert!(a["undo"].as_str().unwrap().contains("--data-sources"));
}

#[tokio::test]
async fn harmless_updates_and_already_restored_detectors_change_nothing() {
    let w = World::new().await;
    let id = detector(
        &w.aws,
        true,
        vec![feature("EKS_AUDIT_LOGS", true, &[])],
        None,
        &[],
    )
    .await;
    let harmless = run(
        &w.aws,
        &w.settings(),
        sample("update-detector-harmless.json", &id, ""),
    )
    .await;
    assert_eq!(harmless, json!({"outcomes": []}));
    let already = run(
        &w.aws,
        &w.settings(),
        sample("update-detector-disable.json", &id, ""),
    )
    .await;
    assert_eq!(statuses(&already), ["resolved"]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn an_exempt_detector_and_alert_only_mode_change_nothing() {
    let w = World::new().await;
    let exempt = detector(
        &w.aws,
        false,
        vec![],
        None,
        &[("eks-remediator:exempt", "true")],
    )
    .await;
    let summary = run(
        &w.aws,
        &w.settings(),
        sample("update-detector-disable.json", &exempt, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["exempt"]);
    assert!(!detector_state(&w.aws, &exempt).await.0);

    let watched = detector(&w.aws, false, vec![], None, &[]).await;
    let alert_only = Settings {
        mode: Mode::AlertOnly,
        ..w.settings()
    };
    let summary = run(
        &w.aws,
        &alert_only,
        sample("update-detector-disable.json", &watched, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert!(!detector_state(&w.aws, &watched).await.0);
    let got: Vec<String> = w
        .alerts()
        .await
        .iter()
        .map(|a| a["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, ["exempt", "would-remediate"]);
}

#[tokio::test]
async fn a_deleted_detector_is_alerted_or_recreated_when_opted_in() {
    let w = World::new().await;
    // Regions of their own; the alert topic lives in us-east-1, so the outcomes are read
    // from the handler (the alert document is rendered from them).
    let alone = Aws::with_config(support::sdk_config_in("ap-southeast-2"));
    let settings = Settings {
        alert_topic_arn: None,
        ..w.settings()
    };
    let got = outcomes(
        &alone,
        &settings,
        sample("delete-detector.json", DETECTOR, ""),
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].status, Status::Alert);
    assert!(got[0].note.as_deref().unwrap().starts_with("URGENT"));
    assert!(
        alone.list_detectors().await.unwrap().is_empty(),
        "nothing recreated by default"
    );

    let elsewhere = Aws::with_config(support::sdk_config_in("sa-east-1"));
    let recreate = Settings {
        recreate_detector: true,
        ..settings
    };
    let summary = run(
        &elsewhere,
        &recreate,
        sample("delete-detector.json", DETECTOR, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    let ids = elsewhere.list_detectors().await.unwrap();
    assert_eq!(ids.len(), 1);
    let (enabled, features, _) = detector_state(&elsewhere, &ids[0]).await;
    assert!(enabled && features.contains(&"EKS_AUDIT_LOGS=ENABLED".to_owned()));

    // A detector exists again: nothing to do.
    let again = run(
        &elsewhere,
        &recreate,
        sample("delete-detector.json", DETECTOR, ""),
    )
    .await;
    assert_eq!(statuses(&again), ["resolved"]);
}

#[tokio::test]
async fn a_stopped_trail_logs_again_whether_named_by_name_or_arn() {
    let w = World::new().await;
    for file in ["stop-logging-by-name.json", "stop-logging-by-arn.json"] {
        let name = trail(&w.aws, false, &[]).await;
        let summary = run(&w.aws, &w.settings(), sample(file, "", &name)).await;
        assert_eq!(statuses(&summary), ["remediated"], "{file}");
        assert!(logging(&w, &name).await, "{file}");
        let a = &w.alerts().await[0];
        assert_eq!(a["resource"]["type"], "cloudtrail-trail");
        assert_eq!(a["resource"]["id"], name.as_str());
        assert_eq!(a["actions"], json!([format!("StartLogging {name}")]));
        assert_eq!(
            a["undo"],
            format!("aws cloudtrail stop-logging --name '{name}'")
        );
    }
}

#[tokio::test]
async fn exempt_and_alert_only_trails_stay_stopped_and_a_logging_trail_is_resolved() {
    let w = World::new().await;
    let exempt = trail(&w.aws, false, &[("eks-remediator:exempt", "true")]).await;
    let summary = run(
        &w.aws,
        &w.settings(),
        sample("stop-logging-by-name.json", "", &exempt),
    )
    .await;
    assert_eq!(statuses(&summary), ["exempt"]);
    assert!(!logging(&w, &exempt).await);

    let watched = trail(&w.aws, false, &[]).await;
    let alert_only = Settings {
        mode: Mode::AlertOnly,
        ..w.settings()
    };
    let summary = run(
        &w.aws,
        &alert_only,
        sample("stop-logging-by-name.json", "", &watched),
    )
    .await;
    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert!(!logging(&w, &watched).await);

    let running = trail(&w.aws, true, &[]).await;
    let summary = run(
        &w.aws,
        &w.settings(),
        sample("stop-logging-by-name.json", "", &running),
    )
    .await;
    assert_eq!(statuses(&summary), ["resolved"]);
    assert_eq!(w.alerts().await.len(), 2);
}

#[tokio::test]
async fn deleted_narrowed_and_read_only_trails_are_alerted_only() {
    let w = World::new().await;
    let deleted = run(
        &w.aws,
        &w.settings(),
        sample("delete-trail.json", "", "gone-trail"),
    )
    .await;
    assert_eq!(statuses(&deleted), ["alert"]);

    let name = trail(&w.aws, true, &[]).await;
    w.aws
        .cloudtrail()
        .await
        .put_event_selectors()
        .trail_name(&name)
        .event_selectors(
            aws_sdk_cloudtrail::types::EventSelector::builder()
                .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::ReadOnly)
                .include_management_events(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let selectors = run(
        &w.aws,
        &w.settings(),
        sample("put-event-selectors-no-writes.json", "", &name),
    )
    .await;
    assert_eq!(statuses(&selectors), ["alert"]);
    let narrowed = run(
        &w.aws,
        &w.settings(),
        sample("update-trail-single-region.json", "", &name),
    )
    .await;
    assert_eq!(statuses(&narrowed), ["alert"]);
    assert!(logging(&w, &name).await, "nothing changed");

    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 3);
    assert!(alerts[0]["note"].as_str().unwrap().starts_with("URGENT"));
    let note = alerts[1]["note"].as_str().unwrap();
    assert!(
        note.contains("before:") && note.contains("after: ReadWriteType=ReadOnly"),
        "{note}"
    );
    assert!(alerts[2]["finding"]
        .as_str()
        .unwrap()
        .contains("includeGlobalServiceEvents=false"));
    assert!(alerts.iter().all(|a| a["actions"] == json!([])));
}

#[tokio::test]
async fn own_calls_failed_calls_and_foreign_events_are_ignored() {
    let w = World::new().await;
    let name = trail(&w.aws, false, &[]).await;
    let mut own = sample("stop-logging-by-name.json", "", &name);
    own["detail"]["userIdentity"] = json!({"type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/eks-remediator-RevokeOpenIngressRole-X1/fn"});
    assert_eq!(
        run(&w.aws, &w.settings(), own).await,
        json!({"outcomes": []})
    );
    let mut failed = sample("stop-logging-by-name.json", "", &name);
    failed["detail"]["errorCode"] = json!("AccessDenied");
    assert_eq!(
        run(&w.aws, &w.settings(), failed).await,
        json!({"outcomes": []})
    );
    let foreign = run(
        &w.aws,
        &w.settings(),
        sample("not-for-me-create-trail.json", "", &name),
    )
    .await;
    assert_eq!(foreign, json!({"outcomes": []}));
    let mut nameless = sample("stop-logging-by-name.json", "", &name);
    nameless["detail"]["requestParameters"] = json!({});
    assert!(handle(&w.aws, &w.settings(), nameless).await.is_err());
    assert!(!logging(&w, &name).await);
    assert!(w.alerts().await.is_empty());
}
