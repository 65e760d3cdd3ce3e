//! Integration tests of `enforce-cluster-config`: the real SDK against moto's server, through a
//! recording proxy that can answer like a busy EKS (409 `ResourceInUseException`), with events
//! from `events/enforce-cluster-config/`, and state, alerts and queues read back from moto.
//!
//! moto differs from AWS here, and the tests check AWS's documented behaviour:
//! - `UpdateClusterConfig` replaces `resourcesVpcConfig` and `logging` wholesale where AWS
//!   merges them, so the tests check the *request* carries only what must change (AWS keeps
//!   the rest), and read moto's state only for the fields that were sent;
//! - its updates finish at once and never return 409, hence the proxy;
//! - it does not implement `AssociateEncryptionConfig`, so the proxy answers that call in
//!   AWS's documented shape and the test checks the request;
//! - it has no `deletionProtection` or `upgradePolicy`: a stand-in on the proxy
//!   (`support::cluster_extras`) keeps both for the clusters created through the proxy, adds
//!   them to moto's `DescribeCluster` answers, and answers the `UpdateClusterConfig` calls
//!   that carry them. Clusters seeded straight in moto have neither field, as an older EKS
//!   answer would, and are not judged on deletion protection.

mod support;

use aws_sdk_eks::operation::delete_cluster::DeleteClusterError;
use aws_sdk_eks::operation::update_cluster_config::UpdateClusterConfigError;
use aws_sdk_eks::types::{
    EncryptionConfig, LogSetup, LogType, Logging, Provider, SupportType, UpgradePolicyRequest,
    VpcConfigRequest,
};
use eks_remediator::aws::Aws;
use eks_remediator::error::HandlerError;
use eks_remediator::rules::enforce_cluster_config::handle;
use eks_remediator::rules::enforce_cluster_config::RULE as RULE_INFO;
use eks_remediator::settings::{DeletionProtection, Mode, Settings};
use serde_json::{json, Value};
use std::sync::Arc;
use support::cluster_extras::ClusterExtras;
use support::proxy::{ok_json, resource_in_use, Fault, Proxy};
use support::{event, unique, World};

const RULE: &str = "enforce-cluster-config";
const PLACEHOLDER: &str = "example-cluster";
const ALL_LOGS: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// A world whose function talks to moto through a recording, fault-injecting proxy; seeding
/// and assertions go to moto directly, so the proxy sees only the function's calls.
///
/// The proxy also holds the stand-in for `deletionProtection` and `upgradePolicy`
/// (`extras`), which only knows the clusters created through the proxy ([`Lab::seed`]).
struct Lab {
    w: World,
    proxy: Proxy,
    aws: Aws,
    extras: Arc<ClusterExtras>,
}

impl Lab {
    async fn new() -> Lab {
        let w = World::new().await;
        let proxy = Proxy::start(support::moto_url()).await;
        let extras = ClusterExtras::install(&proxy);
        let aws = Aws::with_config(support::sdk_config_at(&proxy.url));
        Lab {
            w,
            proxy,
            aws,
            extras,
        }
    }

    /// A cluster created through the proxy, so that the stand-in records its deletion
    /// protection and upgrade policy as EKS would; the proxy forgets the request.
    async fn seed(&self, spec: &Spec<'_>) -> String {
        let name = seed_on(self.aws.eks().await, spec).await;
        self.proxy.forget();
        name
    }

    /// `UpdateClusterConfig` as someone else makes it (the event's actor), through the proxy
    /// and its stand-in; the proxy forgets the request. Returns the update's type.
    async fn someone_updates(
        &self,
        name: &str,
        deletion_protection: Option<bool>,
        support_type: Option<&str>,
    ) -> String {
        let out = self
            .aws
            .eks()
            .await
            .update_cluster_config()
            .name(name)
            .set_deletion_protection(deletion_protection)
            .set_upgrade_policy(support_type.map(|t| {
                UpgradePolicyRequest::builder()
                    .support_type(SupportType::from(t))
                    .build()
            }))
            .send()
            .await
            .unwrap();
        self.proxy.forget();
        out.update().unwrap().r#type().unwrap().as_str().to_owned()
    }

    /// `(deletionProtection, upgradePolicy.supportType)` as `DescribeCluster` answers through
    /// the proxy and its stand-in; the proxy forgets the request.
    async fn extras_of(&self, name: &str) -> (Option<bool>, Option<String>) {
        let out = self
            .aws
            .eks()
            .await
            .describe_cluster()
            .name(name)
            .send()
            .await
            .unwrap();
        self.proxy.forget();
        let c = out.cluster().unwrap();
        (
            c.deletion_protection(),
            c.upgrade_policy()
                .and_then(|p| p.support_type())
                .map(|t| t.as_str().to_owned()),
        )
    }

    async fn run(&self, settings: &Settings, event: Value) -> Value {
        support::summary(&RULE_INFO, handle(&self.aws, settings, event)).await
    }

    /// The bodies of the function's `UpdateClusterConfig` calls, in order, without the
    /// idempotency token the SDK adds.
    fn updates(&self, cluster: &str) -> Vec<Value> {
        self.proxy
            .requests(&format!("/clusters/{cluster}/update-config"))
            .iter()
            .map(|r| {
                let mut body = r.json();
                if let Some(fields) = body.as_object_mut() {
                    fields.remove("clientRequestToken");
                }
                body
            })
            .collect()
    }

    fn describes(&self, cluster: &str) -> usize {
        self.proxy
            .requests(&format!("/clusters/{cluster}"))
            .into_iter()
            .filter(|r| r.method == "GET")
            .count()
    }

    fn busy(&self, cluster: &str, times: usize, body_contains: Option<&str>) {
        self.proxy.inject(Fault {
            path_suffix: format!("/clusters/{cluster}/update-config"),
            body_contains: body_contains.map(str::to_owned),
            times,
            answer: resource_in_use(cluster),
        });
    }
}

/// A cluster as seeded in moto.
struct Spec<'a> {
    public: bool,
    private: bool,
    cidrs: &'a [&'a str],
    logs: &'a [&'a str],
    key: Option<&'a str>,
    tags: &'a [(&'a str, &'a str)],
    /// Sent only when set; only the stand-in keeps it ([`Lab::seed`]).
    deletion_protection: Option<bool>,
    /// `upgradePolicy.supportType`, sent only when set; only the stand-in keeps it.
    support_type: Option<&'a str>,
}

const PUBLIC_UNLOGGED: Spec<'static> = Spec {
    public: true,
    private: false,
    cidrs: &["0.0.0.0/0"],
    logs: &[],
    key: Some(KEY),
    tags: &[],
    deletion_protection: None,
    support_type: None,
};

const PUBLIC_LOGGED: Spec<'static> = Spec {
    logs: &ALL_LOGS,
    ..PUBLIC_UNLOGGED
};

const SAFE: Spec<'static> = Spec {
    public: false,
    private: true,
    ..PUBLIC_LOGGED
};

/// A cluster made straight in moto: the proxy and its stand-in never see it.
async fn seed(w: &World, spec: &Spec<'_>) -> String {
    seed_on(w.aws.eks().await, spec).await
}

async fn seed_on(eks: &aws_sdk_eks::Client, spec: &Spec<'_>) -> String {
    let name = unique("cluster");
    let vpc = VpcConfigRequest::builder()
        .subnet_ids("subnet-0123456789abcdef0")
        .subnet_ids("subnet-0123456789abcdef1")
        .endpoint_public_access(spec.public)
        .endpoint_private_access(spec.private)
        .set_public_access_cidrs(Some(spec.cidrs.iter().map(|c| c.to_string()).collect()))
        .build();
    let mut request = eks
        .create_cluster()
        .name(&name)
        .set_deletion_protection(spec.deletion_protection)
        .set_upgrade_policy(spec.support_type.map(|t| {
            UpgradePolicyRequest::builder()
                .support_type(SupportType::from(t))
                .build()
        }))
        .role_arn("arn:aws:iam::123456789012:role/eks-cluster-role")
        .resources_vpc_config(vpc)
        .logging(
            Logging::builder()
                .cluster_logging(
                    LogSetup::builder()
                        .set_types(Some(spec.logs.iter().map(|t| LogType::from(*t)).collect()))
                        .enabled(true)
                        .build(),
                )
                .build(),
        );
    if let Some(key) = spec.key {
        #[allow(deprecated)]
        let config = EncryptionConfig::builder()
            .resources("secrets")
            .provider(Provider::builder().key_arn(key).build())
            .build();
        request = request.encryption_config(config);
    }
    for (k, v) in spec.tags {
        request = request.tags(*k, *v);
    }
    request.send().await.unwrap();
    name
}

/// `(public, private, public CIDRs, enabled log types)` as moto reports them.
async fn state(w: &World, name: &str) -> (bool, bool, Vec<String>, Vec<String>) {
    let out = w
        .aws
        .eks()
        .await
        .describe_cluster()
        .name(name)
        .send()
        .await
        .unwrap();
    let c = out.cluster().unwrap();
    let vpc = c.resources_vpc_config().unwrap();
    let mut logs: Vec<String> = c
        .logging()
        .map(|l| l.cluster_logging())
        .unwrap_or_default()
        .iter()
        .filter(|s| s.enabled() == Some(true))
        .flat_map(|s| s.types())
        .map(|t| t.as_str().to_owned())
        .collect();
    logs.sort();
    (
        vpc.endpoint_public_access(),
        vpc.endpoint_private_access(),
        vpc.public_access_cidrs().to_vec(),
        logs,
    )
}

fn statuses(summary: &Value) -> Vec<String> {
    summary["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect()
}

fn sample(file: &str, cluster: &str) -> Value {
    event(RULE, file, &[(PLACEHOLDER, cluster)])
}

/// A queue in moto; returns its URL.
async fn queue(w: &World, prefix: &str) -> String {
    w.sqs
        .create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

/// Settings with a retry queue and a dead-letter queue, no delay, and `attempts` attempts.
async fn with_retries(w: &World, attempts: u32) -> (Settings, String, String) {
    let retry = queue(w, "retry").await;
    let dead = queue(w, "dead").await;
    let settings = Settings {
        retry_queue_url: Some(retry.clone()),
        dead_letter_queue_url: Some(dead.clone()),
        retry_delay_seconds: 0,
        retry_max_attempts: attempts,
        ..w.settings()
    };
    (settings, retry, dead)
}

/// Takes every message off `queue`, as the SQS event source mapping would, and returns them
/// as one SQS batch event (or `None` when the queue is empty).
async fn drain(w: &World, queue: &str) -> Option<Value> {
    let out = w
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    for m in out.messages() {
        records.push(json!({
            "messageId": m.message_id().unwrap(),
            "receiptHandle": m.receipt_handle().unwrap(),
            "body": m.body().unwrap(),
            "attributes": {},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:retry",
            "awsRegion": "us-east-1",
        }));
        w.sqs
            .delete_message()
            .queue_url(queue)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    (!records.is_empty()).then(|| json!({ "Records": records }))
}

#[tokio::test]
async fn public_endpoint_is_made_private_in_one_call_that_keeps_the_vpc_config() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_LOGGED).await;

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("update-endpoint-public.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    let updates = lab.updates(&name);
    assert_eq!(updates.len(), 1);
    // AWS merges resourcesVpcConfig: sending only the endpoint fields keeps subnets and
    // security groups (moto would drop them, as it replaces the object).
    assert_eq!(
        updates[0],
        json!({"resourcesVpcConfig": {"endpointPublicAccess": false, "endpointPrivateAccess": true}})
    );
    let (public, private, _, _) = state(&lab.w, &name).await;
    assert!(!public && private);

    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["rule"], RULE);
    assert_eq!(a["status"], "remediated");
    assert_eq!(a["resource"]["type"], "eks-cluster");
    assert_eq!(a["resource"]["id"], name.as_str());
    assert_eq!(
        a["resource"]["arn"],
        format!("arn:aws:eks:us-east-1:123456789012:cluster/{name}")
    );
    assert_eq!(a["finding"], "public API endpoint open to 0.0.0.0/0");
    assert_eq!(
        a["actor"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/platform-admin/jdoe"
    );
    assert_eq!(a["event"]["name"], "UpdateClusterConfig");
    assert_eq!(a["event"]["source"], "aws.eks");
    assert_eq!(
        a["actions"],
        json!([format!(
            "UpdateClusterConfig {name} resourcesVpcConfig endpointPublicAccess=false,endpointPrivateAccess=true"
        )])
    );
    assert_eq!(
        a["undo"],
        format!(
            "aws eks update-cluster-config --region us-east-1 --name '{name}' --resources-vpc-config \
             '{{\"endpointPrivateAccess\":false,\"endpointPublicAccess\":true,\"publicAccessCidrs\":[\"0.0.0.0/0\"]}}'"
        )
    );
    assert!(a["_subject"]
        .as_str()
        .unwrap()
        .starts_with("[eks-remediator] remediated eks-cluster"));
}

#[tokio::test]
async fn with_an_allow_list_the_endpoint_stays_public_but_only_to_it() {
    let lab = Lab::new().await;
    let name = seed(
        &lab.w,
        &Spec {
            private: true,
            cidrs: &["0.0.0.0/0", "203.0.113.0/24"],
            ..PUBLIC_LOGGED
        },
    )
    .await;
    let settings = Settings {
        public_access_cidrs: vec![
            "203.0.113.0/24".parse().unwrap(),
            "198.51.100.7/32".parse().unwrap(),
        ],
        ..lab.w.settings()
    };

    let summary = lab
        .run(&settings, sample("update-endpoint-public.json", &name))
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(
        lab.updates(&name),
        [
            json!({"resourcesVpcConfig": {"endpointPublicAccess": true, "endpointPrivateAccess": true,
            "publicAccessCidrs": ["203.0.113.0/24", "198.51.100.7/32"]}})
        ]
    );
    let (public, private, cidrs, _) = state(&lab.w, &name).await;
    assert!(public && private);
    assert_eq!(cidrs, ["203.0.113.0/24", "198.51.100.7/32"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(
        alerts[0]["finding"],
        "public API endpoint open to 0.0.0.0/0 outside the allow-list"
    );

    // Now within the allow-list: the same event changes nothing more.
    let again = lab
        .run(&settings, sample("update-endpoint-public.json", &name))
        .await;
    assert_eq!(statuses(&again), ["resolved"]);
    assert_eq!(lab.updates(&name).len(), 1);
    assert!(lab.w.alerts().await.is_empty());
}

#[tokio::test]
async fn an_already_safe_cluster_is_read_once_and_left_alone() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &SAFE).await;

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("update-endpoint-public.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["resolved"]);
    assert_eq!(lab.describes(&name), 1);
    assert!(lab.updates(&name).is_empty());
    assert!(lab.w.alerts().await.is_empty(), "resolved is not alerted");
}

#[tokio::test]
async fn safe_requests_cost_no_aws_call() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_UNLOGGED).await;
    for file in ["update-endpoint-private.json", "create-cluster-safe.json"] {
        let summary = lab.run(&lab.w.settings(), sample(file, &name)).await;
        assert_eq!(summary, json!({"outcomes": []}), "{file}");
    }
    assert!(lab.proxy.requests("").is_empty());
    assert!(lab.w.alerts().await.is_empty());
}

#[tokio::test]
async fn exactly_the_missing_log_types_are_enabled() {
    let lab = Lab::new().await;
    let name = seed(
        &lab.w,
        &Spec {
            logs: &["api", "scheduler"],
            ..SAFE
        },
    )
    .await;

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("update-logging-disabled.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    // AWS changes only the types named; moto replaces the whole logging object, so its
    // state shows just the types we sent.
    assert_eq!(
        lab.updates(&name),
        [json!({"logging": {"clusterLogging": [
            {"types": ["audit", "authenticator", "controllerManager"], "enabled": true}]}})]
    );
    let (_, _, _, logs) = state(&lab.w, &name).await;
    assert_eq!(logs, ["audit", "authenticator", "controllerManager"]);
    let a = &lab.w.alerts().await[0];
    assert_eq!(
        a["finding"],
        "control-plane logs off: audit,authenticator,controllerManager"
    );
    assert!(a["undo"].as_str().unwrap().contains(
        "--logging '{\"clusterLogging\":[{\"enabled\":false,\"types\":[\"audit\",\"authenticator\",\"controllerManager\"]}]}'"
    ));
}

#[tokio::test]
async fn endpoint_and_logging_are_two_updates_in_order_with_one_alert() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_UNLOGGED).await;

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("create-cluster-cli-defaults.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    let updates = lab.updates(&name);
    assert_eq!(updates.len(), 2);
    assert!(updates[0].get("resourcesVpcConfig").is_some() && updates[0].get("logging").is_none());
    assert!(updates[1].get("logging").is_some() && updates[1].get("resourcesVpcConfig").is_none());
    let (public, private, _, logs) = state(&lab.w, &name).await;
    assert!(!public && private);
    assert_eq!(logs.len(), 5);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["actions"].as_array().unwrap().len(), 2);
    assert_eq!(alerts[0]["undo"].as_str().unwrap().lines().count(), 2);
    assert_eq!(
        alerts[0]["actor"]["arn"],
        "arn:aws:iam::123456789012:user/bob"
    );
}

#[tokio::test]
async fn legacy_and_console_create_records_are_read() {
    let lab = Lab::new().await;
    for file in [
        "create-cluster-legacy-clustername.json",
        "create-cluster-console-public.json",
    ] {
        let name = seed(&lab.w, &PUBLIC_LOGGED).await;
        let summary = lab.run(&lab.w.settings(), sample(file, &name)).await;
        assert_eq!(statuses(&summary), ["remediated"], "{file}");
        let (public, _, _, _) = state(&lab.w, &name).await;
        assert!(!public, "{file}");
    }
}

#[tokio::test]
async fn an_exempt_cluster_is_reported_and_untouched() {
    let lab = Lab::new().await;
    let name = seed(
        &lab.w,
        &Spec {
            tags: &[("eks-remediator:exempt", "true")],
            ..PUBLIC_UNLOGGED
        },
    )
    .await;

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("update-endpoint-public.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["exempt"]);
    assert!(lab.updates(&name).is_empty());
    let (public, _, _, logs) = state(&lab.w, &name).await;
    assert!(public && logs.is_empty());
    let a = &lab.w.alerts().await[0];
    assert_eq!(a["status"], "exempt");
    assert!(a["note"]
        .as_str()
        .unwrap()
        .contains("eks-remediator:exempt=true"));
}

#[tokio::test]
async fn alert_only_changes_nothing_and_says_what_it_would_do() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_UNLOGGED).await;
    let settings = Settings {
        mode: Mode::AlertOnly,
        ..lab.w.settings()
    };

    let summary = lab
        .run(
            &settings,
            sample("create-cluster-console-public.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert!(lab.updates(&name).is_empty());
    let (public, _, _, logs) = state(&lab.w, &name).await;
    assert!(public && logs.is_empty());
    let a = &lab.w.alerts().await[0];
    assert_eq!(a["status"], "would-remediate");
    assert_eq!(a["actions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_unknown_cluster_is_resolved_without_alert() {
    let lab = Lab::new().await;
    let summary = lab
        .run(
            &lab.w.settings(),
            sample("update-endpoint-public.json", "no-such-cluster"),
        )
        .await;
    assert_eq!(statuses(&summary), ["resolved"]);
    assert!(lab.w.alerts().await.is_empty());
}

#[tokio::test]
async fn a_busy_cluster_is_retried_through_the_queue_until_it_succeeds() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_LOGGED).await;
    let (settings, retry, dead) = with_retries(&lab.w, 5).await;
    lab.busy(&name, 2, None);

    let first = lab
        .run(&settings, sample("update-endpoint-public.json", &name))
        .await;
    assert_eq!(statuses(&first), Vec::<String>::new());
    assert_eq!(first["deferred"][0]["attempt"], 2);
    assert!(lab.w.alerts().await.is_empty(), "no alert while waiting");

    let second = lab
        .run(&settings, drain(&lab.w, &retry).await.unwrap())
        .await;
    assert_eq!(second["deferred"][0]["attempt"], 3);
    assert_eq!(second["batchItemFailures"], json!([]));

    let third = lab
        .run(&settings, drain(&lab.w, &retry).await.unwrap())
        .await;
    assert_eq!(statuses(&third), ["remediated"]);
    assert!(drain(&lab.w, &retry).await.is_none());
    assert!(drain(&lab.w, &dead).await.is_none());
    assert_eq!(lab.updates(&name).len(), 3);
    let (public, _, _, _) = state(&lab.w, &name).await;
    assert!(!public);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["status"], "remediated");
    assert_eq!(alerts[0]["event"]["name"], "UpdateClusterConfig");
}

#[tokio::test]
async fn a_cluster_busy_past_the_bound_fails_and_the_event_is_kept() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_LOGGED).await;
    let (settings, retry, dead) = with_retries(&lab.w, 3).await;
    lab.busy(&name, 100, None);
    let original = sample("update-endpoint-public.json", &name);

    lab.run(&settings, original.clone()).await;
    lab.run(&settings, drain(&lab.w, &retry).await.unwrap())
        .await;
    let last = lab
        .run(&settings, drain(&lab.w, &retry).await.unwrap())
        .await;

    assert_eq!(statuses(&last), ["failed"]);
    assert_eq!(
        last["batchItemFailures"],
        json!([]),
        "kept in the DLQ, not redelivered"
    );
    assert!(drain(&lab.w, &retry).await.is_none());
    let kept = drain(&lab.w, &dead)
        .await
        .expect("event in the dead-letter queue");
    let body: Value = serde_json::from_str(kept["Records"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, original);
    let (public, _, _, _) = state(&lab.w, &name).await;
    assert!(public, "nothing changed");
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["status"], "failed");
    assert!(alerts[0]["note"]
        .as_str()
        .unwrap()
        .contains("EKS stayed busy for 3 attempts"));
}

#[tokio::test]
async fn a_second_update_refused_while_the_first_runs_is_finished_later() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_UNLOGGED).await;
    let (settings, retry, _) = with_retries(&lab.w, 5).await;
    lab.busy(&name, 1, Some("logging"));

    let first = lab
        .run(
            &settings,
            sample("create-cluster-console-public.json", &name),
        )
        .await;
    assert_eq!(first["deferred"][0]["pending"].as_array().unwrap().len(), 1);
    let (public, _, _, logs) = state(&lab.w, &name).await;
    assert!(
        !public && logs.is_empty(),
        "endpoint first, logging refused"
    );

    let second = lab
        .run(&settings, drain(&lab.w, &retry).await.unwrap())
        .await;
    assert_eq!(statuses(&second), ["remediated"]);
    let (_, _, _, logs) = state(&lab.w, &name).await;
    assert_eq!(logs.len(), 5);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "one alert for both updates");
    assert_eq!(alerts[0]["actions"].as_array().unwrap().len(), 2);
    assert_eq!(alerts[0]["undo"].as_str().unwrap().lines().count(), 2);
    assert_eq!(
        alerts[0]["finding"],
        "public API endpoint open to 0.0.0.0/0; control-plane logs off: \
         api,audit,authenticator,controllerManager,scheduler",
        "the alert reports what the first attempt found"
    );
}

#[tokio::test]
async fn without_a_retry_queue_a_busy_cluster_fails_the_invocation_for_lambda_to_retry() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_LOGGED).await;
    lab.busy(&name, 1, None);

    let error = handle(
        &lab.aws,
        &lab.w.settings(),
        sample("update-endpoint-public.json", &name),
    )
    .await
    .unwrap_err();

    assert_eq!(error.error_type(), "AwsError.InProgress");
    assert!(lab.w.alerts().await.is_empty());
}

#[tokio::test]
async fn missing_encryption_is_alerted_or_added_with_the_configured_key() {
    let lab = Lab::new().await;
    let unencrypted = Spec { key: None, ..SAFE };
    let name = seed(&lab.w, &unencrypted).await;
    let summary = lab
        .run(
            &lab.w.settings(),
            sample("create-cluster-cli-defaults.json", &name),
        )
        .await;
    assert_eq!(statuses(&summary), ["alert"]);
    let a = &lab.w.alerts().await[0];
    assert_eq!(
        a["finding"],
        "Kubernetes secrets not envelope-encrypted with a customer-managed KMS key"
    );
    assert!(a["note"].as_str().unwrap().contains("KMS_KEY_ARN"));

    // moto lacks AssociateEncryptionConfig: the proxy answers as AWS documents it.
    let name = seed(&lab.w, &unencrypted).await;
    lab.proxy.inject(Fault {
        path_suffix: format!("/clusters/{name}/encryption-config/associate"),
        body_contains: None,
        times: 1,
        answer: ok_json(json!({"update": {"id": "5d3a1b2c-0000-4000-8000-00000000e2c1",
            "status": "InProgress", "type": "AssociateEncryptionConfig", "params": [], "errors": []}})),
    });
    let settings = Settings {
        kms_key_arn: Some(KEY.to_owned()),
        ..lab.w.settings()
    };
    let summary = lab
        .run(&settings, sample("create-cluster-cli-defaults.json", &name))
        .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    let calls = lab
        .proxy
        .requests(&format!("/clusters/{name}/encryption-config/associate"));
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].json()["encryptionConfig"],
        json!([{"resources": ["secrets"], "provider": {"keyArn": KEY}}])
    );
    let a = &lab.w.alerts().await[0];
    assert!(a["note"].as_str().unwrap().contains("cannot be removed"));
}

#[tokio::test]
async fn malformed_foreign_and_own_events_change_nothing() {
    let lab = Lab::new().await;
    let name = seed(&lab.w, &PUBLIC_UNLOGGED).await;
    let settings = lab.w.settings();

    let mut nameless = sample("update-endpoint-public.json", &name);
    nameless["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    assert!(matches!(
        handle(&lab.aws, &settings, nameless).await,
        Err(HandlerError::Event(_))
    ));
    assert!(matches!(
        handle(&lab.aws, &settings, json!({"detail-type": 3})).await,
        Err(HandlerError::Event(_))
    ));

    let foreign = lab
        .run(
            &settings,
            sample("not-for-me-update-cluster-version.json", &name),
        )
        .await;
    assert_eq!(foreign, json!({"outcomes": []}));

    let mut own = sample("update-endpoint-public.json", &name);
    own["detail"]["userIdentity"] = json!({"type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/eks-remediator-RevokeOpenIngressRole-X1/fn"});
    assert_eq!(lab.run(&settings, own).await, json!({"outcomes": []}));

    let mut failed = sample("update-endpoint-public.json", &name);
    failed["detail"]["errorCode"] = json!("ResourceInUseException");
    assert_eq!(lab.run(&settings, failed).await, json!({"outcomes": []}));

    // A retry batch with a garbage record: that record is reported for redelivery, the
    // good one is handled.
    let good = json!({"rule": RULE, "attempt": 2, "done": [], "undo": [],
        "event": sample("update-endpoint-private.json", &name)});
    let batch = json!({"Records": [
        {"messageId": "bad-1", "body": "{not json", "eventSource": "aws:sqs"},
        {"messageId": "good-1", "body": good.to_string(), "eventSource": "aws:sqs"}]});
    let summary = lab.run(&settings, batch).await;
    assert_eq!(
        summary["batchItemFailures"],
        json!([{"itemIdentifier": "bad-1"}])
    );

    assert!(lab.updates(&name).is_empty());
    let (public, _, _, logs) = state(&lab.w, &name).await;
    assert!(public && logs.is_empty());
    assert!(lab.w.alerts().await.is_empty());
}

/// A safe cluster with deletion protection on.
const PROTECTED: Spec<'static> = Spec {
    deletion_protection: Some(true),
    ..SAFE
};

fn enforcing(settings: Settings) -> Settings {
    Settings {
        deletion_protection: DeletionProtection::Enforce,
        ..settings
    }
}

fn undo_protection(name: &str) -> String {
    format!(
        "aws eks update-cluster-config --region us-east-1 --name '{name}' --no-deletion-protection"
    )
}

#[tokio::test]
async fn turning_deletion_protection_off_is_reverted_in_an_update_of_its_own() {
    let lab = Lab::new().await;
    let name = lab.seed(&PROTECTED).await;
    assert_eq!(
        lab.someone_updates(&name, Some(false), None).await,
        "DeletionProtectionUpdate"
    );

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("update-deletion-protection-off.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(lab.describes(&name), 1);
    // Its own update, carrying nothing else (EKS takes one kind of update per call).
    assert_eq!(lab.updates(&name), [json!({"deletionProtection": true})]);
    assert_eq!(lab.extras_of(&name).await.0, Some(true));
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["status"], "remediated");
    assert_eq!(a["finding"], "deletion protection turned off");
    assert_eq!(
        a["actions"],
        json!([format!(
            "UpdateClusterConfig {name} deletionProtection=true"
        )])
    );
    assert_eq!(a["undo"], undo_protection(&name));
    assert_eq!(
        a["actor"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/platform-admin/jdoe"
    );
    // Protected again: a deletion is refused (by the stand-in, as EKS refuses it).
    let refused = lab
        .aws
        .eks()
        .await
        .delete_cluster()
        .name(&name)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        refused.into_service_error(),
        DeleteClusterError::InvalidRequestException(_)
    ));

    // The same event again: the cluster is protected, nothing more to do.
    lab.proxy.forget();
    let again = lab
        .run(
            &lab.w.settings(),
            sample("update-deletion-protection-off.json", &name),
        )
        .await;
    assert_eq!(statuses(&again), ["resolved"]);
    assert!(lab.updates(&name).is_empty());
    assert!(lab.w.alerts().await.is_empty());
}

#[tokio::test]
async fn alert_only_reports_deletion_protection_turned_off_and_changes_nothing() {
    let lab = Lab::new().await;
    let name = lab.seed(&PROTECTED).await;
    lab.someone_updates(&name, Some(false), None).await;
    let settings = Settings {
        mode: Mode::AlertOnly,
        ..lab.w.settings()
    };

    let summary = lab
        .run(
            &settings,
            sample("update-deletion-protection-off.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert!(lab.updates(&name).is_empty());
    assert_eq!(lab.extras_of(&name).await.0, Some(false));
    let a = &lab.w.alerts().await[0];
    assert_eq!(a["status"], "would-remediate");
    assert_eq!(
        a["actions"],
        json!([format!(
            "UpdateClusterConfig {name} deletionProtection=true"
        )])
    );
    assert!(a["note"].as_str().unwrap().contains("nothing was changed"));
}

#[tokio::test]
async fn an_exempt_cluster_keeps_deletion_protection_off() {
    let lab = Lab::new().await;
    let name = lab
        .seed(&Spec {
            tags: &[("eks-remediator:exempt", "true")],
            ..PROTECTED
        })
        .await;
    lab.someone_updates(&name, Some(false), None).await;

    let summary = lab
        .run(
            &enforcing(lab.w.settings()),
            sample("update-deletion-protection-off.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["exempt"]);
    assert!(lab.updates(&name).is_empty());
    assert_eq!(lab.extras_of(&name).await.0, Some(false));
    let a = &lab.w.alerts().await[0];
    assert_eq!(a["status"], "exempt");
    let note = a["note"].as_str().unwrap();
    assert!(note.contains("eks-remediator:exempt=true"), "{note}");
    assert!(note.contains("deletionProtection=true"), "{note}");
}

#[tokio::test]
async fn a_cluster_created_without_deletion_protection_is_alerted_by_default_and_protected_with_enforce(
) {
    let lab = Lab::new().await;
    // No deletionProtection in the request: EKS creates the cluster unprotected.
    let name = lab.seed(&SAFE).await;
    assert_eq!(
        lab.extras_of(&name).await,
        (Some(false), Some("EXTENDED".to_owned()))
    );

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("create-cluster-cli-defaults.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["alert"]);
    assert!(lab.updates(&name).is_empty());
    assert_eq!(lab.extras_of(&name).await.0, Some(false));
    let a = &lab.w.alerts().await[0];
    assert_eq!(a["finding"], "no deletion protection");
    assert_eq!(a["actions"], json!([]));
    let note = a["note"].as_str().unwrap();
    assert!(
        note.contains(&format!(
            "aws eks update-cluster-config --region us-east-1 --name '{name}' --deletion-protection"
        )),
        "{note}"
    );
    assert!(note.contains("DELETION_PROTECTION=enforce"), "{note}");

    // With DELETION_PROTECTION=enforce it is turned on, in an update of its own.
    let name = lab.seed(&SAFE).await;
    let summary = lab
        .run(
            &enforcing(lab.w.settings()),
            sample("create-cluster-cli-defaults.json", &name),
        )
        .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(lab.updates(&name), [json!({"deletionProtection": true})]);
    assert_eq!(lab.extras_of(&name).await.0, Some(true));
    let a = &lab.w.alerts().await[0];
    assert_eq!(a["finding"], "no deletion protection");
    assert_eq!(a["undo"], undo_protection(&name));
}

#[tokio::test]
async fn deletion_protection_left_to_people_is_noted_beside_the_fixes_made() {
    let lab = Lab::new().await;
    let name = lab.seed(&PUBLIC_LOGGED).await;

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("create-cluster-console-public.json", &name),
        )
        .await;

    // Like secrets encryption without KMS_KEY_ARN: the endpoint is fixed, protection alerted.
    assert_eq!(statuses(&summary), ["remediated"]);
    let updates = lab.updates(&name);
    assert_eq!(updates.len(), 1);
    assert!(updates[0].get("resourcesVpcConfig").is_some());
    let a = &lab.w.alerts().await[0];
    assert_eq!(
        a["finding"],
        "public API endpoint open to 0.0.0.0/0; no deletion protection"
    );
    assert!(a["note"]
        .as_str()
        .unwrap()
        .contains("DELETION_PROTECTION=alert, so deletion protection was not turned on"));
    assert_eq!(a["undo"].as_str().unwrap().lines().count(), 1);
}

#[tokio::test]
async fn an_update_that_leaves_deletion_protection_alone_is_not_judged_on_it() {
    let lab = Lab::new().await;
    // Never protected, and an unrelated update: the endpoint is fixed, protection is not
    // touched even with DELETION_PROTECTION=enforce (that is for new clusters and the sweep).
    let name = lab.seed(&PUBLIC_LOGGED).await;

    let summary = lab
        .run(
            &enforcing(lab.w.settings()),
            sample("update-endpoint-public.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    let updates = lab.updates(&name);
    assert_eq!(updates.len(), 1);
    assert!(updates[0].get("deletionProtection").is_none());
    assert_eq!(lab.extras_of(&name).await.0, Some(false));
    let a = &lab.w.alerts().await[0];
    assert_eq!(a["finding"], "public API endpoint open to 0.0.0.0/0");
    assert!(a["note"].is_null(), "{}", a["note"]);
}

#[tokio::test]
async fn turning_deletion_protection_back_on_waits_for_a_busy_cluster() {
    let lab = Lab::new().await;
    let name = lab.seed(&PROTECTED).await;
    lab.someone_updates(&name, Some(false), None).await;
    let (settings, retry, dead) = with_retries(&lab.w, 5).await;
    lab.busy(&name, 1, Some("deletionProtection"));

    let first = lab
        .run(
            &settings,
            sample("update-deletion-protection-off.json", &name),
        )
        .await;
    assert_eq!(statuses(&first), Vec::<String>::new());
    assert_eq!(first["deferred"][0]["attempt"], 2);
    assert_eq!(
        first["deferred"][0]["pending"],
        json!([format!(
            "UpdateClusterConfig {name} deletionProtection=true"
        )])
    );
    assert!(lab.w.alerts().await.is_empty(), "no alert while waiting");

    let second = lab
        .run(&settings, drain(&lab.w, &retry).await.unwrap())
        .await;
    assert_eq!(statuses(&second), ["remediated"]);
    assert_eq!(lab.updates(&name).len(), 2, "refused once, then made");
    assert!(drain(&lab.w, &dead).await.is_none());
    assert_eq!(lab.extras_of(&name).await.0, Some(true));
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["status"], "remediated");
    assert_eq!(alerts[0]["undo"], undo_protection(&name));
}

#[tokio::test]
async fn choosing_extended_support_is_alerted_with_its_cost_and_left_as_is() {
    let lab = Lab::new().await;
    let name = lab
        .seed(&Spec {
            support_type: Some("STANDARD"),
            ..PROTECTED
        })
        .await;
    assert_eq!(
        lab.someone_updates(&name, None, Some("EXTENDED")).await,
        "UpgradePolicyUpdate"
    );

    let summary = lab
        .run(
            &lab.w.settings(),
            sample("update-support-extended.json", &name),
        )
        .await;

    assert_eq!(statuses(&summary), ["alert"]);
    assert_eq!(lab.describes(&name), 1);
    assert!(lab.updates(&name).is_empty(), "never changed back");
    assert_eq!(lab.extras_of(&name).await.1.as_deref(), Some("EXTENDED"));
    let a = &lab.w.alerts().await[0];
    assert_eq!(a["status"], "alert");
    assert!(
        a["finding"]
            .as_str()
            .unwrap()
            .starts_with("upgrade policy set to EXTENDED"),
        "{}",
        a["finding"]
    );
    let note = a["note"].as_str().unwrap();
    assert!(
        note.contains(
            "Extended support costs $0.60 per cluster-hour instead of $0.10: $0.50 more, about $365 a month."
        ),
        "{note}"
    );
    assert!(
        note.contains(&format!(
            "--name '{name}' --upgrade-policy supportType=STANDARD"
        )),
        "{note}"
    );
    assert!(a["undo"].is_null());
}

#[tokio::test]
async fn choosing_standard_support_costs_no_call() {
    let lab = Lab::new().await;
    let name = lab.seed(&PROTECTED).await;
    lab.someone_updates(&name, None, Some("STANDARD")).await;
    let standard = event(
        RULE,
        "update-support-extended.json",
        &[(PLACEHOLDER, name.as_str()), ("EXTENDED", "STANDARD")],
    );

    let summary = lab.run(&lab.w.settings(), standard).await;

    assert_eq!(summary, json!({"outcomes": []}));
    assert!(lab.proxy.requests("").is_empty());
    assert!(lab.w.alerts().await.is_empty());
}

#[tokio::test]
async fn the_stand_in_keeps_deletion_protection_and_upgrade_policy_as_eks_does() {
    let lab = Lab::new().await;
    // Made straight in moto: unknown to the stand-in, so without the fields, as moto answers.
    let plain = seed(&lab.w, &SAFE).await;
    assert_eq!(lab.extras_of(&plain).await, (None, None));

    let name = lab
        .seed(&Spec {
            support_type: Some("STANDARD"),
            ..PROTECTED
        })
        .await;
    assert_eq!(
        lab.extras_of(&name).await,
        (Some(true), Some("STANDARD".to_owned()))
    );
    // One kind of update per call: protection with logging is refused, and nothing changes.
    let mixed = lab
        .aws
        .eks()
        .await
        .update_cluster_config()
        .name(&name)
        .deletion_protection(false)
        .logging(
            Logging::builder()
                .cluster_logging(
                    LogSetup::builder()
                        .types(LogType::Audit)
                        .enabled(false)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        mixed.into_service_error(),
        UpdateClusterConfigError::InvalidParameterException(_)
    ));
    assert_eq!(lab.extras_of(&name).await.0, Some(true));
    // An update of other fields still reaches moto.
    let logging = lab
        .aws
        .enable_logging(&name, &[eks_remediator::domain::LogType::Audit].into())
        .await;
    assert!(logging.is_ok(), "{logging:?}");
    // Deletion: refused while protected, then allowed, and the cluster forgotten.
    let eks = lab.aws.eks().await;
    assert!(eks.delete_cluster().name(&name).send().await.is_err());
    lab.someone_updates(&name, Some(false), None).await;
    eks.delete_cluster().name(&name).send().await.unwrap();
    assert_eq!(lab.extras.get(&name), None);
}
