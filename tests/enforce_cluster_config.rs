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
//!   AWS's documented shape and the test checks the request.

mod support;

use aws_sdk_eks::types::{
    EncryptionConfig, LogSetup, LogType, Logging, Provider, VpcConfigRequest,
};
use eks_remediator::aws::Aws;
use eks_remediator::error::HandlerError;
use eks_remediator::rules::enforce_cluster_config::handle;
use eks_remediator::rules::enforce_cluster_config::RULE as RULE_INFO;
use eks_remediator::settings::{Mode, Settings};
use serde_json::{json, Value};
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
struct Lab {
    w: World,
    proxy: Proxy,
    aws: Aws,
}

impl Lab {
    async fn new() -> Lab {
        let w = World::new().await;
        let proxy = Proxy::start(support::moto_url()).await;
        let aws = Aws::with_config(support::sdk_config_at(&proxy.url));
        Lab { w, proxy, aws }
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
}

const PUBLIC_UNLOGGED: Spec<'static> = Spec {
    public: true,
    private: false,
    cidrs: &["0.0.0.0/0"],
    logs: &[],
    key: Some(KEY),
    tags: &[],
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

async fn seed(w: &World, spec: &Spec<'_>) -> String {
    let name = unique("cluster");
    let vpc = VpcConfigRequest::builder()
        .subnet_ids("subnet-0123456789abcdef0")
        .subnet_ids("subnet-0123456789abcdef1")
        .endpoint_public_access(spec.public)
        .endpoint_private_access(spec.private)
        .set_public_access_cidrs(Some(spec.cidrs.iter().map(|c| c.to_string()).collect()))
        .build();
    let mut request = w
        .aws
        .eks()
        .await
        .create_cluster()
        .name(&name)
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
