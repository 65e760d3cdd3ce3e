//! Integration tests of the sweep and the CLI's `scan`: a region of moto's server seeded with
//! one violation of each scanned kind next to safe look-alikes; the scan finds exactly the
//! violations, a remediating sweep fixes them, and a second scan finds nothing.
//!
//! Each test has an account of its own (moto's STS switches accounts), because IAM roles are
//! global in an account and the node-role scan must see exactly the roles its test made.

mod support;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_guardduty::types::{DetectorFeature, DetectorFeatureConfiguration, FeatureStatus};
use eks_remediator::aws::Aws;
use eks_remediator::outcome::{Origin, Status};
use eks_remediator::rules::enforce_cluster_config;
use eks_remediator::settings::DeletionProtection;
use eks_remediator::settings::{Mode, Settings};
use eks_remediator::sweep;
use serde_json::Value;
use support::cluster_extras::ClusterExtras;
use support::proxy::{Canned, Fault, Proxy};
use support::{cluster, role, ssh_group as group, trail};

const WORKER: &str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
const CNI: &str = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const WILDCARD: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*:*","Resource":"*"}]}"#;
const SCOPED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::example-bucket/*"}]}"#;

/// Seeds `aws`'s region; returns the names of what is unsafe, by kind.
struct Seeded {
    open_group: String,
    public_cluster: String,
    old_cluster: String,
    stopped_trail: String,
    detector: String,
    admin_node_role: String,
    inline_node_role: String,
    exempt_node_role: String,
}

const EC2: &str = "ec2.amazonaws.com";

/// A GuardDuty detector, enabled, with EKS audit-log monitoring off (and no runtime
/// monitoring); returns its id.
async fn detector_without_eks_audit_logs(aws: &Aws) -> String {
    aws.guardduty()
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
        .to_owned()
}

async fn seed(aws: &Aws) -> Seeded {
    let vpc = support::vpc(aws, "10.9.0.0/16").await;
    let open_group = group(aws, &vpc, true, "0.0.0.0/0").await;
    group(aws, &vpc, true, "10.0.0.0/8").await;
    group(aws, &vpc, false, "0.0.0.0/0").await; // not an EKS group: out of the default scope
    let public_cluster = cluster(aws, true, CURRENT, true).await;
    cluster(aws, false, CURRENT, true).await;
    // Safe settings, but past the end of support, with a CoreDNS made for an older version.
    let old_cluster = cluster(aws, false, ENDED, true).await;
    let stopped_trail = trail(aws, false, &[]).await;
    trail(aws, true, &[]).await;
    let detector = detector_without_eks_audit_logs(aws).await;
    let admin_node_role = role(aws, EC2, &[WORKER, CNI, ADMIN], &[], None).await;
    let mark = [("eks-remediator:node-role", "true")];
    let inline_node_role = role(aws, EC2, &[], &mark, Some(WILDCARD)).await;
    let exempt = [("eks-remediator:exempt", "true")];
    let exempt_node_role = role(aws, EC2, &[WORKER, ADMIN], &exempt, None).await;
    // Safe look-alikes: a node role with only the baseline and a scoped inline policy; admin
    // roles no node runs with (Lambda's; EC2's without any sign of a node).
    role(aws, EC2, &[WORKER, CNI], &[], Some(SCOPED)).await;
    role(aws, "lambda.amazonaws.com", &[WORKER, ADMIN], &[], None).await;
    role(aws, EC2, &[ADMIN], &[], Some(WILDCARD)).await;
    Seeded {
        open_group,
        public_cluster,
        old_cluster,
        stopped_trail,
        detector,
        admin_node_role,
        inline_node_role,
        exempt_node_role,
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
    let row =
        |rule: &str, id: &str, status: &str| (rule.to_owned(), id.to_owned(), status.to_owned());
    let mut rows = vec![
        row("enforce-cluster-config", &s.public_cluster, status),
        row("restore-audit-trail", &s.detector, status),
        row("restore-audit-trail", &s.stopped_trail, status),
        row("revoke-open-ingress", &s.open_group, status),
        row("detach-node-policy", &s.admin_node_role, status),
        row("detach-node-policy", &s.inline_node_role, status),
        row("detach-node-policy", &s.exempt_node_role, "exempt"),
    ];
    rows.extend(standing_alerts(s));
    rows.sort();
    rows
}

/// What the sweep reports but never changes, whatever the mode: the old cluster's version
/// and CoreDNS, and the detector's runtime monitoring (paid; an account opts in).
fn standing_alerts(s: &Seeded) -> Vec<(String, String, String)> {
    let row = |rule: &str, id: &str| (rule.to_owned(), id.to_owned(), "alert".to_owned());
    vec![
        row("enforce-cluster-config", &s.old_cluster),
        row("enforce-cluster-config", &s.old_cluster),
        row("restore-audit-trail", &s.detector),
    ]
}

/// Kubernetes versions in the recorded answers (`answer_eks_versions`).
const ENDED: &str = "1.29";
const CURRENT: &str = "1.34";
/// The day the tests' sweeps run on (the scheduled event's time).
const SWEEP_TIME: &str = "2026-11-28T06:00:00Z";
const SWEEP_DAY: i64 = 1_795_845_600;

/// moto implements none of EKS's `DescribeClusterVersions`, `DescribeAddon` and
/// `DescribeAddonVersions`: the proxy answers them with responses shaped as EKS's API
/// reference shows, with support dates around `today` (epoch seconds): `ENDED` left extended
/// support 250 days ago, `CURRENT` (the default) is in standard support for 100 more days.
/// `old_cluster` runs CoreDNS v1.8.7, made for Kubernetes 1.21; the other clusters run none
/// as an EKS add-on (404, as EKS answers).
fn answer_eks_versions(proxy: &Proxy, today: i64, old_cluster: Option<&str>) {
    let day = 86_400;
    let versions = serde_json::json!({"clusterVersions": [
        {"clusterVersion": ENDED, "clusterType": "eks", "defaultPlatformVersion": "eks.40",
         "defaultVersion": false, "releaseDate": today - 1000 * day,
         "endOfStandardSupportDate": today - 615 * day, "endOfExtendedSupportDate": today - 250 * day,
         "status": "UNSUPPORTED", "versionStatus": "UNSUPPORTED", "kubernetesPatchVersion": "1.29.15"},
        {"clusterVersion": CURRENT, "clusterType": "eks", "defaultPlatformVersion": "eks.8",
         "defaultVersion": true, "releaseDate": today - 300 * day,
         "endOfStandardSupportDate": today + 100 * day, "endOfExtendedSupportDate": today + 465 * day,
         "status": "STANDARD_SUPPORT", "versionStatus": "STANDARD_SUPPORT", "kubernetesPatchVersion": "1.34.2"}
    ]});
    let always = usize::MAX;
    proxy.inject(Fault {
        path_suffix: "/cluster-versions".into(),
        body_contains: None,
        times: always,
        answer: support::proxy::ok_json(versions),
    });
    if let Some(old) = old_cluster {
        proxy.inject(Fault {
            path_suffix: format!("/clusters/{old}/addons/coredns"),
            body_contains: None,
            times: always,
            answer: support::proxy::ok_json(serde_json::json!({"addon": {
                "addonName": "coredns", "clusterName": old, "status": "ACTIVE",
                "addonVersion": "v1.8.7-eksbuild.3", "health": {"issues": []},
                "addonArn": format!("arn:aws:eks:eu-north-1:123456789012:addon/{old}/coredns/a2c4d5e6-0000-4000-8000-000000000001"),
                "createdAt": today - 900 * day, "modifiedAt": today - 900 * day, "tags": {}}})),
        });
    }
    proxy.inject(Fault {
        path_suffix: "/addons/coredns".into(),
        body_contains: None,
        times: always,
        answer: support::proxy::addon_not_found("coredns"),
    });
    let compatible = |k8s: &str, default: bool| serde_json::json!({"clusterVersion": k8s, "platformVersions": ["*"], "defaultVersion": default});
    proxy.inject(Fault {
        path_suffix: "/addons/supported-versions".into(),
        body_contains: None,
        times: always,
        answer: support::proxy::ok_json(serde_json::json!({"addons": [{
        "addonName": "coredns", "type": "networking", "owner": "aws",
        "addonVersions": [
            {"addonVersion": "v1.11.1-eksbuild.9", "architecture": ["amd64", "arm64"],
             "compatibilities": [compatible(ENDED, true)], "requiresConfiguration": false},
            {"addonVersion": "v1.12.4-eksbuild.1", "architecture": ["amd64", "arm64"],
             "compatibilities": [compatible(CURRENT, true)], "requiresConfiguration": false},
            {"addonVersion": "v1.8.7-eksbuild.3", "architecture": ["amd64", "arm64"],
             "compatibilities": [compatible("1.21", false)], "requiresConfiguration": false}
        ]}]})),
    });
}

/// A proxy in front of moto that answers EKS's version calls (see `answer_eks_versions`),
/// and a context that goes through it with `keys` in `region`.
async fn through_proxy(
    keys: &support::Keys,
    region: &str,
    today: i64,
    old_cluster: Option<&str>,
) -> (Proxy, Aws) {
    let proxy = Proxy::start(support::moto_url()).await;
    answer_eks_versions(&proxy, today, old_cluster);
    let aws = Aws::with_config(support::sdk_config_with(&proxy.url, region, keys));
    (proxy, aws)
}

/// One sweep run, its AWS calls recorded and checked against the sweep's role.
async fn run(aws: &Aws, settings: &Settings, origin: &Origin) -> sweep::Report {
    support::granted_as(
        "sweep",
        sweep::IAM_ACTIONS,
        sweep::run(aws, settings, origin, None, |_| ()),
    )
    .await
}

#[tokio::test]
async fn a_scan_finds_exactly_the_violations_and_a_sweep_fixes_them() {
    let (region, account) = ("eu-north-1", "100000000001");
    let (keys, config) = support::in_account(region, account).await;
    let direct = Aws::with_config(config);
    let seeded = seed(&direct).await;
    let (_proxy, aws) = through_proxy(&keys, region, SWEEP_DAY, Some(&seeded.old_cluster)).await;
    let origin = sweep::origin(account, region, "test", SWEEP_TIME);
    let read_only = Settings::default();
    assert_eq!(read_only.mode, Mode::AlertOnly);

    let first = run(&aws, &read_only, &origin).await;
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(found(&first), expected(&seeded, "would-remediate"));
    assert!(first.has_violations());
    let admin = first
        .outcomes
        .iter()
        .find(|o| o.resource.id == seeded.admin_node_role)
        .unwrap();
    assert!(
        admin.finding.contains("AdministratorAccess"),
        "{}",
        admin.finding
    );
    assert_eq!(
        admin.resource.arn.as_deref(),
        Some(format!("arn:aws:iam::{account}:role/{}", seeded.admin_node_role).as_str())
    );

    // Alert-only changed nothing: the same scan again finds the same.
    let again = run(&aws, &read_only, &origin).await;
    assert_eq!(found(&again), expected(&seeded, "would-remediate"));

    let remediate = Settings {
        mode: Mode::Remediate,
        ..Settings::default()
    };
    let fixed = run(&aws, &remediate, &origin).await;
    assert_eq!(found(&fixed), expected(&seeded, "remediated"));

    // Exactly the unsafe policies went; the baseline and the exempt role's stayed.
    let iam = aws.iam().await;
    let mut kept = aws
        .attached_role_policies(&seeded.admin_node_role)
        .await
        .unwrap();
    kept.sort();
    assert_eq!(kept, [WORKER, CNI]);
    let mut kept = aws
        .attached_role_policies(&seeded.exempt_node_role)
        .await
        .unwrap();
    kept.sort();
    assert_eq!(kept, [ADMIN, WORKER]);
    let inline = iam
        .list_role_policies()
        .role_name(&seeded.inline_node_role)
        .send()
        .await
        .unwrap();
    assert!(inline.policy_names().is_empty());

    // What is left: the exempt role, and the version alerts (never changed automatically).
    let after = run(&aws, &read_only, &origin).await;
    let mut left = standing_alerts(&seeded);
    left.extend(
        expected(&seeded, "remediated")
            .into_iter()
            .filter(|(_, _, status)| status == "exempt"),
    );
    left.sort();
    assert_eq!(found(&after), left);
    let notes: Vec<&str> = after
        .outcomes
        .iter()
        .filter(|o| o.resource.id == seeded.old_cluster)
        .map(|o| o.finding.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|f| f.contains("Kubernetes 1.29, past the end of its support (2026-03-23)")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|f| f.contains("CoreDNS add-on v1.8.7-eksbuild.3")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn the_cli_scan_reports_as_a_table_or_json_and_exits_1_on_violations() {
    let (region, account) = ("ca-central-1", "100000000002");
    let (keys, config) = support::in_account(region, account).await;
    let aws = Aws::with_config(config);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let proxy = Proxy::start(support::moto_url()).await;
    let run = |url: String, json: bool| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_eks-remediator"));
        command.arg("scan").args(["--region", region]);
        if json {
            command.arg("--json");
        }
        command
            .env("AWS_ENDPOINT_URL", url)
            .env("AWS_ACCESS_KEY_ID", &keys.id)
            .env("AWS_SECRET_ACCESS_KEY", &keys.secret)
            .env("AWS_SESSION_TOKEN", &keys.token)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("MODE", "remediate")
            .env_remove("ALERT_TOPIC_ARN");
        // Awaited, not blocked on: the proxy runs on this test's runtime.
        async move { command.output().await.unwrap() }
    };
    // An empty region has no detector and no trail: that alone is worth exit 1.
    let empty_proxy = Proxy::start(support::moto_url()).await;
    answer_eks_versions(&empty_proxy, now, None);
    let empty = run(empty_proxy.url.clone(), false).await;
    assert_eq!(empty.status.code(), Some(1));
    let text = String::from_utf8_lossy(&empty.stdout);
    assert!(text.contains("no GuardDuty detector"), "{text}");
    assert!(text.contains("0 scan(s) failed"), "{text}");
    let seeded = seed(&aws).await;
    answer_eks_versions(&proxy, now, Some(&seeded.old_cluster));

    let table = run(proxy.url.clone(), false).await;
    assert_eq!(table.status.code(), Some(1));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("STATUS"), "{text}");
    for name in [
        &seeded.open_group,
        &seeded.public_cluster,
        &seeded.admin_node_role,
    ] {
        assert!(text.contains(name.as_str()), "{name} in {text}");
    }
    // Progress on stderr, a line per scan: the region's, and the account's IAM.
    let progress = String::from_utf8_lossy(&table.stderr);
    for what in [region, "IAM"] {
        assert!(
            progress.contains(&format!("scanned {account} {what} (")),
            "{progress}"
        );
    }

    let json = run(proxy.url.clone(), true).await;
    assert_eq!(json.status.code(), Some(1));
    let rows: Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 10, "{rows:?}");
    for row in rows {
        let status = row["status"].as_str().unwrap();
        assert!(
            ["would-remediate", "exempt", "alert"].contains(&status),
            "read-only whatever MODE says: {row}"
        );
        for key in ["rule", "resource", "finding", "actions"] {
            assert!(row.get(key).is_some(), "{key} in {row}");
        }
        assert!(row["resource"]["type"].is_string() && row["resource"]["id"].is_string());
    }
    // The account comes from STS: the ARNs name it.
    let role_row = rows
        .iter()
        .find(|r| r["resource"]["id"] == seeded.admin_node_role.as_str())
        .unwrap();
    assert_eq!(
        role_row["resource"]["arn"],
        format!("arn:aws:iam::{account}:role/{}", seeded.admin_node_role)
    );
    // Read-only: the scan changed nothing.
    let (_p, through) = through_proxy(&keys, region, now, Some(&seeded.old_cluster)).await;
    let still = sweep::run(
        &through,
        &Settings::default(),
        &sweep::origin(account, region, "t", ""),
        None,
        |_| (),
    )
    .await;
    assert_eq!(still.outcomes.len(), 10);
}

#[tokio::test]
async fn the_sweep_function_alerts_each_violation_or_one_digest() {
    let (region, account) = ("ap-northeast-3", "100000000003");
    let (keys, config) = support::in_account(region, account).await;
    let seeded = seed(&Aws::with_config(config.clone())).await;
    let (_proxy, aws) = through_proxy(&keys, region, SWEEP_DAY, Some(&seeded.old_cluster)).await;
    let w = support::World::in_account(config, region, account).await;
    let scheduled = serde_json::json!({"version": "0", "id": "sweep-run-1",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": account,
        "time": SWEEP_TIME, "region": region,
        "resources": [format!("arn:aws:events:{region}:{account}:rule/sweep")], "detail": {}});
    let alert_only = Settings {
        mode: Mode::AlertOnly,
        ..w.settings()
    };

    // Nine violations, at most ten alerts: one alert each; the exempt role is not news.
    let summary = support::granted_as(
        "sweep",
        sweep::IAM_ACTIONS,
        sweep::handle(&aws, &alert_only, scheduled.clone()),
    )
    .await
    .unwrap();
    let outcomes = serde_json::to_value(&summary).unwrap()["outcomes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(outcomes, 10);
    let alerts = w.alerts().await;
    let mut alerted: Vec<String> = alerts
        .iter()
        .map(|a| a["resource"]["id"].as_str().unwrap().to_owned())
        .collect();
    alerted.sort();
    let mut violations: Vec<String> = expected(&seeded, "would-remediate")
        .into_iter()
        .filter(|(_, _, status)| status != "exempt")
        .map(|(_, id, _)| id)
        .collect();
    violations.sort();
    assert_eq!(alerted, violations);
    assert!(alerts
        .iter()
        .all(|a| a["status"] == "would-remediate" || a["status"] == "alert"));

    // Past SWEEP_DIGEST_OVER: one digest listing each violation.
    let digest_settings = Settings {
        sweep_digest_over: 2,
        ..alert_only.clone()
    };
    sweep::handle(&aws, &digest_settings, scheduled.clone())
        .await
        .unwrap();
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["resource"]["type"], "account");
    assert_eq!(alerts[0]["resource"]["id"], account);
    let note = alerts[0]["note"].as_str().unwrap();
    assert_eq!(note.lines().count(), 9, "{note}");
    assert!(!note.contains(&seeded.exempt_node_role), "{note}");

    assert!(
        sweep::handle(&aws, &Settings::default(), serde_json::json!([1]))
            .await
            .is_err()
    );

    // Straight to moto, which lacks EKS's version APIs: that scan fails, the invocation
    // fails (the function's error alarm), and every other violation is still alerted.
    let direct = Aws::with_config(config_for_scans(support::moto_url(), region, &keys));
    let failed = sweep::handle(&direct, &alert_only, scheduled.clone()).await;
    let error = failed.unwrap_err();
    assert_eq!(error.error_type(), "ScanError");
    assert!(error.to_string().contains("cluster-versions"), "{error}");
    assert_eq!(
        w.alerts().await.len(),
        7,
        "9 violations less the two version alerts"
    );
}

/// An SDK config with the scans' retry policy (8 attempts), its first backoff shortened from
/// 1 s to 20 ms so that four throttles in a row cost the test milliseconds, not seconds.
fn config_for_scans(url: &str, region: &str, keys: &support::Keys) -> aws_config::SdkConfig {
    let plain = support::sdk_config_with(url, region, keys);
    plain
        .into_builder()
        .retry_config(
            eks_remediator::aws::scan_retries()
                .with_initial_backoff(std::time::Duration::from_millis(20)),
        )
        .build()
}

/// EC2's answer when its request rate is exceeded (query protocol, HTTP 503).
fn request_limit_exceeded() -> Canned {
    Canned {
        status: 503,
        headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
        body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>d2a1b0c9-0000-4000-8000-000000000503</RequestID></Response>".into(),
    }
}

/// IAM's answer when throttled (query protocol, HTTP 400).
fn iam_throttling() -> Canned {
    Canned {
        status: 400,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>5e3c2b1a-0000-4000-8000-000000000400</RequestId></ErrorResponse>".into(),
    }
}

#[tokio::test]
async fn scans_back_off_and_finish_when_aws_throttles() {
    let (region, account) = ("eu-south-1", "100000000005");
    let (keys, config) = support::in_account(region, account).await;
    let direct = Aws::with_config(config);
    let vpc = support::vpc(&direct, "10.7.0.0/16").await;
    let open = group(&direct, &vpc, true, "0.0.0.0/0").await;
    let admin = role(&direct, EC2, &[WORKER, ADMIN], &[], None).await;
    let proxy = Proxy::start(support::moto_url()).await;
    answer_eks_versions(&proxy, SWEEP_DAY, None);
    // Four throttles in a row on the listing of groups (more than an event's 3 attempts), two
    // on the listing of roles.
    proxy.inject(Fault {
        path_suffix: "/".into(),
        body_contains: Some("Action=DescribeSecurityGroups".into()),
        times: 4,
        answer: request_limit_exceeded(),
    });
    proxy.inject(Fault {
        path_suffix: "/".into(),
        body_contains: Some("Action=ListRoles".into()),
        times: 2,
        answer: iam_throttling(),
    });
    let aws = Aws::with_config(config_for_scans(&proxy.url, region, &keys));
    let report = run(
        &aws,
        &Settings::default(),
        &sweep::origin(account, region, "t", SWEEP_TIME),
    )
    .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let found: Vec<&str> = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::WouldRemediate)
        .map(|o| o.resource.id.as_str())
        .collect();
    assert!(
        found.contains(&open.as_str()) && found.contains(&admin.as_str()),
        "{found:?}"
    );
    let tries = |action: &str| {
        proxy
            .requests("/")
            .iter()
            .filter(|r| r.body.contains(&format!("Action={action}&")))
            .count()
    };
    assert_eq!(
        tries("DescribeSecurityGroups"),
        5,
        "4 throttled, then answered"
    );
    assert_eq!(tries("ListRoles"), 3, "2 throttled, then answered");
}

/// moto's answer to `DescribeSecurityGroups` for one group, as one page of a longer listing
/// when `next` is given.
async fn page_of(keys: &support::Keys, region: &str, group: &str, next: Option<&str>) -> Canned {
    let body = support::query(
        &keys.id,
        region,
        "ec2",
        &format!("Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1={group}"),
    )
    .await;
    assert!(body.contains(group), "{body}");
    let body = match next {
        Some(token) => body.replace(
            "</DescribeSecurityGroupsResponse>",
            &format!("<nextToken>{token}</nextToken></DescribeSecurityGroupsResponse>"),
        ),
        None => body,
    };
    Canned {
        status: 200,
        headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
        body,
    }
}

#[tokio::test]
async fn scans_follow_every_page_of_roles_and_groups() {
    let (region, account) = ("eu-west-3", "100000000004");
    let (keys, config) = support::in_account(region, account).await;
    let direct = Aws::with_config(config);
    // More than one page of roles (IAM pages hold 100): most are EC2-trusted roles without
    // any sign of a node; three node roles carry AdministratorAccess.
    let mut unsafe_roles = Vec::new();
    for i in 0..106 {
        if i % 40 == 0 {
            unsafe_roles.push(role(&direct, EC2, &[WORKER, ADMIN], &[], None).await);
        } else {
            role(&direct, EC2, &[], &[], None).await;
        }
    }
    unsafe_roles.sort();
    // Two open EKS groups, which the proxy serves as two pages of DescribeSecurityGroups.
    // (moto ignores MaxResults and answers every group at once; AWS pages by 1000.)
    let vpc = support::vpc(&direct, "10.8.0.0/16").await;
    let first = group(&direct, &vpc, true, "0.0.0.0/0").await;
    let second = group(&direct, &vpc, true, "0.0.0.0/0").await;
    let proxy = Proxy::start(support::moto_url()).await;
    answer_eks_versions(&proxy, SWEEP_DAY, None);
    proxy.inject(Fault {
        path_suffix: "/".into(),
        body_contains: Some("NextToken=page-2".into()),
        times: 1,
        answer: page_of(&keys, region, &second, None).await,
    });
    proxy.inject(Fault {
        path_suffix: "/".into(),
        body_contains: Some("Action=DescribeSecurityGroups".into()),
        times: 1,
        answer: page_of(&keys, region, &first, Some("page-2")).await,
    });
    let aws = Aws::with_config(support::sdk_config_with(&proxy.url, region, &keys));
    let report = run(
        &aws,
        &Settings::default(),
        &sweep::origin(account, region, "t", ""),
    )
    .await;

    let listed = proxy.requests("/");
    let bodies = |action: &str| -> Vec<String> {
        listed
            .iter()
            .filter(|r| r.body.contains(&format!("Action={action}&")))
            .map(|r| r.body.clone())
            .collect()
    };
    let list_roles = bodies("ListRoles");
    assert_eq!(list_roles.len(), 2, "{list_roles:?}");
    assert!(list_roles[1].contains("Marker="), "{}", list_roles[1]);
    let pages = bodies("DescribeSecurityGroups");
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[0].contains("MaxResults=1000"), "{}", pages[0]);
    assert!(pages[1].contains("NextToken=page-2"), "{}", pages[1]);

    let ids = |rule: &str| -> Vec<String> {
        let mut ids: Vec<String> = report
            .outcomes
            .iter()
            .filter(|o| o.rule == rule && o.status == Status::WouldRemediate)
            .map(|o| o.resource.id.clone())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids("detach-node-policy"), unsafe_roles);
    let mut groups = vec![first, second];
    groups.sort();
    assert_eq!(ids("revoke-open-ingress"), groups);
}

/// The restore scan reads each detector once: that one `GetDetector` answers both what to
/// switch back on and whether runtime monitoring is off.
#[tokio::test]
async fn the_restore_scan_reads_each_detector_once() {
    let (region, account) = ("ap-southeast-4", "100000000006");
    let (_keys, config) = support::in_account(region, account).await;
    let aws = Aws::with_config(config);
    let detector = detector_without_eks_audit_logs(&aws).await;
    let origin = sweep::origin(account, region, "test", SWEEP_TIME);

    let (outcomes, calls) = eks_remediator::aws::calls::record_calls(
        eks_remediator::rules::restore_audit_trail::scan(&aws, &Settings::default(), &origin),
    )
    .await;

    let reads = calls.iter().filter(|c| *c == "guardduty:GetDetector");
    assert_eq!(reads.count(), 1, "{calls:?}");
    let about_detector: Vec<(Status, String)> = outcomes
        .unwrap()
        .into_iter()
        .filter(|o| o.resource.id == detector)
        .map(|o| (o.status, o.finding))
        .collect();
    assert_eq!(about_detector.len(), 2, "{about_detector:?}");
    assert_eq!(about_detector[0].0, Status::WouldRemediate);
    assert!(
        about_detector[0].1.contains("EKS_AUDIT_LOGS"),
        "{about_detector:?}"
    );
    assert_eq!(about_detector[1].0, Status::Alert);
    assert!(about_detector[1].1.contains("runtime monitoring is off"));
}

/// A group with tcp/22 open to the world and tcp/443 from 10.0.0.0/8, untagged (the bench's
/// shape); returns its id.
async fn open_and_private(aws: &Aws, vpc: &str) -> String {
    let id = group(aws, vpc, false, "0.0.0.0/0").await;
    aws.ec2()
        .await
        .authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    id
}

/// The ingress of `group` now, as `protocol/port cidr` lines.
async fn ingress_of(aws: &Aws, group: &str) -> Vec<String> {
    let id = eks_remediator::domain::SecurityGroupId::parse(group).unwrap();
    let groups = aws.describe_security_groups(&[id]).await.unwrap();
    groups[0]
        .ingress
        .iter()
        .map(|r| format!("{:?}/{:?} {:?}", r.protocol, r.from_port, r.source))
        .collect()
}

#[tokio::test]
async fn a_remediating_sweep_of_many_open_groups_reads_every_rule_once_and_outlasts_throttling() {
    let (region, account) = ("us-west-1", "100000000007");
    let (keys, config) = support::in_account(region, account).await;
    let direct = Aws::with_config(config);
    let vpc = support::vpc(&direct, "10.6.0.0/16").await;
    let mut open = Vec::new();
    for _ in 0..30 {
        open.push(open_and_private(&direct, &vpc).await);
    }
    let proxy = Proxy::start(support::moto_url()).await;
    answer_eks_versions(&proxy, SWEEP_DAY, None);
    // EC2 refuses 12 revocations: more than a window's worth. With the SDK's own retries off,
    // each reaches the sweep, which narrows its window, backs off and tries again.
    proxy.inject(Fault {
        path_suffix: "/".into(),
        body_contains: Some("Action=RevokeSecurityGroupIngress".into()),
        times: 12,
        answer: request_limit_exceeded(),
    });
    let no_sdk_retries = support::sdk_config_with(&proxy.url, region, &keys)
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let aws = Aws::with_config(no_sdk_retries);
    let settings = Settings {
        mode: Mode::Remediate,
        ingress_scope: eks_remediator::settings::IngressScope::All,
        ..Settings::default()
    };
    let report = run(
        &aws,
        &settings,
        &sweep::origin(account, region, "t", SWEEP_TIME),
    )
    .await;

    let mut remediated: Vec<&str> = report
        .outcomes
        .iter()
        .filter(|o| o.rule == "revoke-open-ingress")
        .map(|o| {
            assert_eq!(o.status, Status::Remediated, "{o:?}");
            assert_eq!(o.actions.len(), 1, "only the world-open rule: {o:?}");
            o.resource.id.as_str()
        })
        .collect();
    remediated.sort();
    open.sort();
    assert_eq!(remediated, open);
    for group in &open {
        assert_eq!(
            ingress_of(&direct, group).await,
            ["Tcp/Some(443) Cidr(10.0.0.0/8)"],
            "the private rule stays"
        );
    }
    // Every group's rules came from one unfiltered listing, not a filter of 30 ids.
    let rule_reads: Vec<_> = proxy
        .requests("/")
        .into_iter()
        .filter(|r| r.body.contains("Action=DescribeSecurityGroupRules&"))
        .collect();
    assert_eq!(rule_reads.len(), 1);
    assert!(
        !rule_reads[0].body.contains("Filter"),
        "{}",
        rule_reads[0].body
    );
    // 12 refused, then each of the 30 once.
    let revokes = proxy
        .requests("/")
        .iter()
        .filter(|r| r.body.contains("Action=RevokeSecurityGroupIngress&"))
        .count();
    assert_eq!(revokes, 30 + 12);
}

#[tokio::test]
async fn a_sweep_whose_time_for_fixes_is_over_starts_none_and_says_so() {
    let (region, account) = ("sa-east-1", "100000000008");
    let (_keys, config) = support::in_account(region, account).await;
    let aws = Aws::with_config(config);
    let vpc = support::vpc(&aws, "10.5.0.0/16").await;
    let open = open_and_private(&aws, &vpc).await;
    let settings = Settings {
        mode: Mode::Remediate,
        ingress_scope: eks_remediator::settings::IngressScope::All,
        ..Settings::default()
    };
    let over = tokio::time::Instant::now();
    let report = support::granted_as(
        "sweep",
        sweep::IAM_ACTIONS,
        sweep::run(
            &aws,
            &settings,
            &sweep::origin(account, region, "t", SWEEP_TIME),
            Some(over),
            |_| (),
        ),
    )
    .await;
    let outcome = report
        .outcomes
        .iter()
        .find(|o| o.resource.id == open)
        .expect("the open group is reported");
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        outcome.undo, None,
        "nothing was changed, so nothing to undo"
    );
    assert!(
        outcome
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("next sweep"),
        "{outcome:?}"
    );
    assert_eq!(
        ingress_of(&aws, &open).await.len(),
        2,
        "both rules still stand"
    );
}

/// A proxy in front of moto with the stand-in for the cluster fields moto lacks
/// (`deletionProtection`, `upgradePolicy`: `support::cluster_extras`), and a context through
/// it with `keys` in `region`. Clusters created through it get EKS's defaults for both
/// (unprotected, `EXTENDED`).
async fn with_cluster_extras(
    keys: &support::Keys,
    region: &str,
) -> (Proxy, std::sync::Arc<ClusterExtras>, Aws) {
    let proxy = Proxy::start(support::moto_url()).await;
    let extras = ClusterExtras::install(&proxy);
    let aws = Aws::with_config(support::sdk_config_with(&proxy.url, region, keys));
    (proxy, extras, aws)
}

/// What a scan reported, resolved (safe) clusters left out as the sweep's report leaves them.
fn reported(outcomes: &[eks_remediator::outcome::Outcome]) -> Vec<(String, Status)> {
    outcomes
        .iter()
        .filter(|o| o.status != Status::Resolved)
        .map(|o| (o.resource.id.clone(), o.status))
        .collect()
}

#[tokio::test]
async fn an_existing_cluster_without_deletion_protection_is_reported_or_protected_with_enforce() {
    let (region, account) = ("me-south-1", "100000000031");
    let (keys, _) = support::in_account(region, account).await;
    let (_proxy, extras, aws) = with_cluster_extras(&keys, region).await;
    // Both safe otherwise (private, logged, encrypted); one never protected, one protected.
    let unprotected = cluster(&aws, false, CURRENT, true).await;
    let protected = cluster(&aws, false, CURRENT, true).await;
    extras.cluster(&protected, true, "EXTENDED");
    let origin = sweep::origin(account, region, "test", SWEEP_TIME);
    let scan = |settings: Settings| {
        let (aws, origin) = (&aws, &origin);
        async move {
            support::granted_as(
                "sweep",
                sweep::IAM_ACTIONS,
                enforce_cluster_config::scan(aws, &settings, origin),
            )
            .await
            .unwrap()
        }
    };

    // DELETION_PROTECTION=alert (the default): reported, whatever the mode.
    for mode in [Mode::AlertOnly, Mode::Remediate] {
        let outcomes = scan(Settings {
            mode,
            ..Settings::default()
        })
        .await;
        assert_eq!(reported(&outcomes), [(unprotected.clone(), Status::Alert)]);
        let o = &outcomes
            .iter()
            .find(|o| o.resource.id == unprotected)
            .unwrap();
        assert_eq!(o.finding, "no deletion protection");
        assert!(o.actions.is_empty());
        let note = o.note.as_deref().unwrap_or_default();
        assert!(
            note.contains(&format!(
                "aws eks update-cluster-config --region {region} --name '{unprotected}' --deletion-protection"
            )),
            "{note}"
        );
    }
    assert!(!extras.get(&unprotected).unwrap().deletion_protection);

    // DELETION_PROTECTION=enforce: alert-only says what it would do; remediate turns it on.
    let enforce = |mode| Settings {
        mode,
        deletion_protection: DeletionProtection::Enforce,
        ..Settings::default()
    };
    let outcomes = scan(enforce(Mode::AlertOnly)).await;
    assert_eq!(
        reported(&outcomes),
        [(unprotected.clone(), Status::WouldRemediate)]
    );
    assert!(!extras.get(&unprotected).unwrap().deletion_protection);
    let outcomes = scan(enforce(Mode::Remediate)).await;
    assert_eq!(
        reported(&outcomes),
        [(unprotected.clone(), Status::Remediated)]
    );
    assert_eq!(
        outcomes
            .iter()
            .find(|o| o.resource.id == unprotected)
            .unwrap()
            .actions,
        [format!(
            "UpdateClusterConfig {unprotected} deletionProtection=true"
        )]
    );
    assert!(extras.get(&unprotected).unwrap().deletion_protection);
    assert!(reported(&scan(enforce(Mode::Remediate)).await).is_empty());
}

#[tokio::test]
async fn a_version_near_the_end_of_standard_support_is_warned_of_with_what_its_upgrade_policy_does()
{
    let (region, account) = ("af-south-1", "100000000032");
    let (keys, _) = support::in_account(region, account).await;
    let (proxy, extras, aws) = with_cluster_extras(&keys, region).await;
    // CURRENT leaves standard support 100 days after the day given: 30 days after the sweep.
    answer_eks_versions(&proxy, SWEEP_DAY - 70 * 86_400, None);
    let extended = cluster(&aws, false, CURRENT, true).await;
    let standard = cluster(&aws, false, CURRENT, true).await;
    extras.cluster(&standard, false, "STANDARD");
    let origin = sweep::origin(account, region, "test", SWEEP_TIME);
    let scan = |days: u32| {
        let (aws, origin) = (&aws, &origin);
        async move {
            let settings = Settings {
                support_warning_days: days,
                ..Settings::default()
            };
            support::granted_as(
                "sweep",
                sweep::IAM_ACTIONS,
                enforce_cluster_config::scan_versions(aws, &settings, origin),
            )
            .await
            .unwrap()
        }
    };

    let outcomes = scan(60).await;
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    for o in &outcomes {
        assert_eq!(o.status, Status::Alert);
        assert_eq!(
            o.finding,
            format!(
                "cluster {} runs Kubernetes {CURRENT}, whose standard support ends on 2026-12-28, in 30 days",
                o.resource.id
            )
        );
        let note = o.note.as_deref().unwrap();
        assert!(
            note.contains(&format!(
                "aws eks update-cluster-version --name {} --kubernetes-version 1.35",
                o.resource.id
            )),
            "{note}"
        );
    }
    let note = |name: &str| {
        outcomes
            .iter()
            .find(|o| o.resource.id == name)
            .and_then(|o| o.note.clone())
            .unwrap()
    };
    // EKS's default policy: extended support, and what it costs.
    let on_extended = note(&extended);
    assert!(
        on_extended.starts_with("Its upgrade policy is EXTENDED, so on that day it enters extended support. Extended support costs $0.60 per cluster-hour instead of $0.10: $0.50 more, about $365 a month."),
        "{on_extended}"
    );
    // STANDARD: EKS upgrades it itself.
    let on_standard = note(&standard);
    assert!(
        on_standard.contains("EKS upgrades the control plane to 1.35 automatically"),
        "{on_standard}"
    );
    assert!(!on_standard.contains("$0.60"), "{on_standard}");

    // Outside a shorter warning window, or with no early warning at all: nothing yet.
    assert!(scan(29).await.is_empty());
    assert!(scan(0).await.is_empty());
}
