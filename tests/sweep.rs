//! Integration tests of the sweep and the CLI's `scan`: a region of moto's server seeded with
//! one violation of each scanned kind next to a safe look-alike; the scan finds exactly the
//! violations, a remediating sweep fixes them, and a second scan finds nothing.

mod support;

use std::process::Command;

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, Tag, TagSpecification};
use aws_sdk_eks::types::{
    EncryptionConfig, LogSetup, LogType, Logging, Provider, VpcConfigRequest,
};
use aws_sdk_guardduty::types::{DetectorFeature, DetectorFeatureConfiguration, FeatureStatus};
use eks_remediator::aws::Aws;
use eks_remediator::outcome::Status;
use eks_remediator::settings::{Mode, Settings};
use eks_remediator::sweep;
use serde_json::Value;
use support::{bucket, unique};

/// Seeds `aws`'s region; returns the names of what is unsafe, by kind.
struct Seeded {
    open_group: String,
    public_cluster: String,
    stopped_trail: String,
    detector: String,
}

async fn group(aws: &Aws, vpc: &str, eks: bool, cidr: &str) -> String {
    let ec2 = aws.ec2().await;
    let mut request = ec2
        .create_security_group()
        .group_name(unique("sweep-sg"))
        .description("sweep test")
        .vpc_id(vpc);
    if eks {
        request = request.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(
                    Tag::builder()
                        .key("aws:eks:cluster-name")
                        .value("prod")
                        .build(),
                )
                .build(),
        );
    }
    let id = request.send().await.unwrap().group_id().unwrap().to_owned();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    id
}

/// A cluster with all logs and secrets encryption, public (unsafe) or private (safe).
async fn cluster(aws: &Aws, public: bool) -> String {
    let name = unique("sweep-cluster");
    #[allow(deprecated)]
    let encryption = EncryptionConfig::builder()
        .resources("secrets")
        .provider(
            Provider::builder()
                .key_arn(
                    "arn:aws:kms:eu-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                )
                .build(),
        )
        .build();
    aws.eks()
        .await
        .create_cluster()
        .encryption_config(encryption)
        .name(&name)
        .role_arn("arn:aws:iam::123456789012:role/eks-cluster-role")
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .subnet_ids("subnet-0123456789abcdef0")
                .endpoint_public_access(public)
                .endpoint_private_access(!public)
                .public_access_cidrs("0.0.0.0/0")
                .build(),
        )
        .logging(
            Logging::builder()
                .cluster_logging(
                    LogSetup::builder()
                        .set_types(Some(
                            [
                                "api",
                                "audit",
                                "authenticator",
                                "controllerManager",
                                "scheduler",
                            ]
                            .map(LogType::from)
                            .to_vec(),
                        ))
                        .enabled(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    name
}

async fn trail(aws: &Aws, logging: bool) -> String {
    let name = unique("sweep-trail");
    let logs = unique("sweep-logs");
    bucket(&logs).await;
    let ct = aws.cloudtrail().await;
    ct.create_trail()
        .name(&name)
        .s3_bucket_name(&logs)
        .send()
        .await
        .unwrap();
    if logging {
        ct.start_logging().name(&name).send().await.unwrap();
    }
    name
}

async fn seed(aws: &Aws) -> Seeded {
    let vpc = aws
        .ec2()
        .await
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let open_group = group(aws, &vpc, true, "0.0.0.0/0").await;
    group(aws, &vpc, true, "10.0.0.0/8").await;
    group(aws, &vpc, false, "0.0.0.0/0").await; // not an EKS group: out of the default scope
    let public_cluster = cluster(aws, true).await;
    cluster(aws, false).await;
    let stopped_trail = trail(aws, false).await;
    trail(aws, true).await;
    let detector = aws
        .guardduty()
        .await
        .create_detector()
        .enable(true)
        .features(
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::EksAuditLogs)
                .status(FeatureStatus::Disabled)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_owned();
    Seeded {
        open_group,
        public_cluster,
        stopped_trail,
        detector,
    }
}

/// `(rule, resource id, status)` of each outcome, sorted.
fn found(report: &sweep::Report) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = report
        .outcomes
        .iter()
        .map(|o| {
            (
                o.rule.to_owned(),
                o.resource.id.clone(),
                o.status.as_str().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn expected(s: &Seeded, status: &str) -> Vec<(String, String, String)> {
    let mut rows = vec![
        (
            "enforce-cluster-config".to_owned(),
            s.public_cluster.clone(),
            status.to_owned(),
        ),
        (
            "restore-audit-trail".to_owned(),
            s.detector.clone(),
            status.to_owned(),
        ),
        (
            "restore-audit-trail".to_owned(),
            s.stopped_trail.clone(),
            status.to_owned(),
        ),
        (
            "revoke-open-ingress".to_owned(),
            s.open_group.clone(),
            status.to_owned(),
        ),
    ];
    rows.sort();
    rows
}

#[tokio::test]
async fn a_scan_finds_exactly_the_violations_and_a_sweep_fixes_them() {
    let aws = Aws::with_config(support::sdk_config_in("eu-north-1").await);
    let seeded = seed(&aws).await;
    let origin = sweep::origin("123456789012", "eu-north-1", "test", "now");
    let read_only = Settings::default();
    assert_eq!(read_only.mode, Mode::AlertOnly);

    let first = sweep::run(&aws, &read_only, &origin, |_| ()).await;
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(found(&first), expected(&seeded, "would-remediate"));
    assert!(first.has_violations());

    // Alert-only changed nothing: the same scan again finds the same.
    let again = sweep::run(&aws, &read_only, &origin, |_| ()).await;
    assert_eq!(found(&again), expected(&seeded, "would-remediate"));

    let remediate = Settings {
        mode: Mode::Remediate,
        ..Settings::default()
    };
    let fixed = sweep::run(&aws, &remediate, &origin, |_| ()).await;
    assert_eq!(found(&fixed), expected(&seeded, "remediated"));
    assert!(fixed
        .outcomes
        .iter()
        .all(|o| o.status == Status::Remediated));

    let after = sweep::run(&aws, &read_only, &origin, |_| ()).await;
    assert_eq!(found(&after), Vec::<(String, String, String)>::new());
    assert!(!after.has_violations());
    assert!(sweep::table(&after).contains("no violations found"));
}

#[tokio::test]
async fn the_cli_scan_reports_as_a_table_or_json_and_exits_1_on_violations() {
    let region = "ca-central-1";
    let aws = Aws::with_config(support::sdk_config_in(region).await);
    let run = |json: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_eks-remediator"));
        command.arg("scan").args(["--region", region]);
        if json {
            command.arg("--json");
        }
        command
            .env("AWS_ENDPOINT_URL", support::moto_url())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("MODE", "remediate")
            .env_remove("ALERT_TOPIC_ARN")
            .output()
            .unwrap()
    };
    // An empty region has no detector and no trail: that alone is worth exit 1.
    let empty = run(false);
    assert_eq!(empty.status.code(), Some(1));
    let seeded = seed(&aws).await;

    let table = run(false);
    assert_eq!(table.status.code(), Some(1));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("STATUS"), "{text}");
    assert!(
        text.contains(&seeded.open_group) && text.contains(&seeded.public_cluster),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&table.stderr).contains("scanning: revoke-open-ingress"));

    let json = run(true);
    assert_eq!(json.status.code(), Some(1));
    let rows: Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    for row in rows {
        assert_eq!(
            row["status"], "would-remediate",
            "read-only whatever MODE says"
        );
        for key in ["rule", "resource", "finding", "actions"] {
            assert!(row.get(key).is_some(), "{key} in {row}");
        }
        assert!(row["resource"]["type"].is_string() && row["resource"]["id"].is_string());
    }
    // Read-only: the scan changed nothing.
    let still = sweep::run(
        &aws,
        &Settings::default(),
        &sweep::origin("", region, "t", ""),
        |_| (),
    )
    .await;
    assert_eq!(still.outcomes.len(), 4);
}

#[tokio::test]
async fn the_sweep_function_alerts_each_violation_or_one_digest() {
    let region = "ap-northeast-3";
    let aws = Aws::with_config(support::sdk_config_in(region).await);
    let _seeded = seed(&aws).await;
    let w = support::World::new().await;
    let scheduled = serde_json::json!({"version": "0", "id": "sweep-run-1",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-11-28T06:00:00Z", "region": region,
        "resources": ["arn:aws:events:ap-northeast-3:123456789012:rule/sweep"], "detail": {}});
    // The alert topic lives in us-east-1; the sweep publishes there from its own client.
    let digest_settings = Settings {
        sweep_digest_over: 2,
        ..w.settings()
    };
    let publisher = Aws::with_config(support::sdk_config_in(region).await);
    let summary = sweep::handle(
        &publisher,
        &Settings {
            mode: Mode::AlertOnly,
            ..digest_settings
        },
        scheduled.clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::to_value(&summary).unwrap()["outcomes"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert!(
        sweep::handle(&aws, &Settings::default(), serde_json::json!([1]))
            .await
            .is_err()
    );
    let report = sweep::run(
        &aws,
        &Settings::default(),
        &sweep::origin("1", region, "t", ""),
        |_| (),
    )
    .await;
    let digest = sweep::digest(&report, &sweep::origin("123456789012", region, "t", ""));
    assert_eq!(digest.finding, "the sweep found 4 violation(s)");
    assert_eq!(digest.note.as_deref().unwrap().lines().count(), 4);
    assert_eq!(digest.resource.kind, "account");
}
