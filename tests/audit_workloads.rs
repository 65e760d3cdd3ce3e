//! Integration tests of `audit-workloads`: the real SDK against moto's server (SNS and SQS for
//! the alerts, DynamoDB for `DEDUPE_TABLE`, CloudWatch Logs for the subscriptions, EKS for the
//! sweep's clusters, IAM and Lambda for a destination function that exists).
//!
//! Audit events come from `events/audit-workloads/audit-log/` (one `audit.k8s.io/v1` Event per
//! file), changed where a test needs its own names, and are delivered as CloudWatch Logs
//! delivers them to a subscribed function: `{"awslogs": {"data": base64(gzip(document))}}`, the
//! document a `DATA_MESSAGE` of the cluster's `/aws/eks/<cluster>/cluster` log group and a
//! `kube-apiserver-audit-<32 hex>` stream, one audit event serialised on one line per log event
//! (built here: [`delivery`]). The CloudTrail `CreateLogGroup` events are those of
//! `events/audit-workloads/`.
//!
//! moto differs from AWS here:
//! - `PutSubscriptionFilter` refuses a third filter on a log group with `LimitExceededException`,
//!   as the API reference documents, but it also refuses an *update* of a filter the log group
//!   already has once it holds two, which AWS allows ("If you are updating an existing filter,
//!   you must specify the correct name in `filterName`"). No test updates our filter on a full
//!   log group: against moto that would read as "no room".
//! - `PutSubscriptionFilter` checks only that a destination function exists, not that its
//!   resource policy lets `logs.amazonaws.com` invoke it, which AWS requires. moto does not
//!   evaluate JSON filter patterns either (any pattern that starts with `{` matches every log
//!   event), so the tests only check that the pattern put is `AUDIT_FILTER_PATTERN`
//!   (`scripts/filter_pattern.py` checks the template's pattern against the samples).
//! - moto's EKS does not create a cluster's log group when its logging is on, as EKS does when
//!   the first logs flow: the sweep test creates the log groups itself.
//! - moto's DynamoDB never deletes items whose TTL attribute has passed. AWS deletes them
//!   within days, not at once, so a record older than `REALERT_DAYS` can be found there too: the
//!   re-alert test seeds one whose `expires` has passed.

mod support;

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use eks_remediator::aws::Aws;
use eks_remediator::domain::kubernetes::workload::{Workload, WorkloadKind};
use eks_remediator::outcome::Status;
use eks_remediator::rules::audit_workloads::batch::dedupe_key;
use eks_remediator::rules::audit_workloads::remediate::FILTER_NAME;
use eks_remediator::rules::audit_workloads::{handle, scan, RULE as RULE_INFO};
use eks_remediator::settings::{Mode, Settings};
use eks_remediator::sweep;
use serde_json::{json, Value};
use support::{unique, World, ACCOUNT, REGION};

const RULE: &str = "audit-workloads";

/// The samples the tests use most.
const NO_PROBES: &str = "deployment-apply-no-probes.json";
const OUTSIDER: &str = "clusterrolebinding-cluster-admin-outsider.json";
const GOOD: &str = "deployment-helm-update-good.json";
const AWS_AUTH: &str = "configmap-aws-auth-masters.json";
const WILDCARD_ROLE: &str = "clusterrole-wildcard.json";
const WILDCARD_BINDING: &str = "clusterrolebinding-wildcard-role.json";

/// A subscription filter pattern of the template's kind (the template's own is longer).
const PATTERN: &str = r#"{ $.stage = "ResponseComplete" && ($.verb = "create" || $.verb = "update" || $.verb = "patch") && $.objectRef.subresource NOT EXISTS }"#;

/// Every finding of the no-probes Deployment, in the order the alert lists them.
const NO_PROBES_FINDINGS: [&str; 8] = [
    "container web has no readiness probe",
    "container web has no liveness probe",
    "container web has no CPU request",
    "container web has no memory request",
    "container web has no memory limit",
    "3 replicas with neither pod anti-affinity nor a topology spread constraint on nodes or zones",
    "container web does not set allowPrivilegeEscalation: false",
    "container web runs \"nginx:latest\", which names no version",
];

// ---------------------------------------------------------------------------------------------
// Audit events and the payloads that carry them.

/// `events/audit-workloads/audit-log/<file>`.
fn audit(file: &str) -> Value {
    support::event(RULE, &format!("audit-log/{file}"), &[])
}

/// `event` with its own audit ID.
fn with_id(mut event: Value, id: &str) -> Value {
    event["auditID"] = json!(id);
    event
}

/// `event` about an object named `name` (its `objectRef` and the objects it carries).
fn named(mut event: Value, name: &str) -> Value {
    event["objectRef"]["name"] = json!(name);
    for side in ["requestObject", "responseObject"] {
        if let Some(meta) = event
            .get_mut(side)
            .and_then(|o| o.get_mut("metadata"))
            .and_then(Value::as_object_mut)
        {
            meta.insert("name".to_owned(), json!(name));
        }
    }
    event
}

/// `event` made by alice, a person (the user of the no-probes sample).
fn by_person(mut event: Value) -> Value {
    event["user"] = audit(NO_PROBES)["user"].clone();
    event
}

/// The no-probes Deployment as stored after a readiness probe was added: one finding fewer.
fn with_readiness_probe(mut event: Value) -> Value {
    event["responseObject"]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] =
        json!({"httpGet": {"path": "/ready", "port": 80}});
    event
}

/// `event`'s stored object labelled (`labels`) or annotated (`annotations`) `key: value`.
fn marked(mut event: Value, place: &str, key: &str, value: &str) -> Value {
    event["responseObject"]["metadata"][place] = json!({ key: value });
    event
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A log event id as CloudWatch Logs makes them: 56 decimal digits, the millisecond timestamp
/// shifted left by 144 bits plus a sequence (as in the AWS documentation's examples). The
/// arithmetic is done in base 10^9 limbs: the number does not fit in 128 bits.
fn event_id(timestamp_ms: u64, sequence: u64) -> String {
    const BASE: u64 = 1_000_000_000;
    fn carry_in(limbs: &mut Vec<u64>, mut carry: u64) {
        while carry > 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    }
    let mut limbs = vec![timestamp_ms % BASE, timestamp_ms / BASE]; // least significant first
    for _ in 0..9 {
        // 2^144 = (2^16)^9
        let mut carry = 0;
        for limb in limbs.iter_mut() {
            let v = *limb * 65_536 + carry;
            *limb = v % BASE;
            carry = v / BASE;
        }
        carry_in(&mut limbs, carry);
    }
    let mut carry = sequence;
    for limb in limbs.iter_mut() {
        let v = *limb + carry;
        *limb = v % BASE;
        carry = v / BASE;
    }
    carry_in(&mut limbs, carry);
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut text = limbs.last().unwrap().to_string();
    for limb in limbs.iter().rev().skip(1) {
        text.push_str(&format!("{limb:09}"));
    }
    text
}

/// The audit log stream EKS would write `cluster`'s events to: `kube-apiserver-audit-<32 hex>`.
fn audit_stream(cluster: &str) -> String {
    format!("kube-apiserver-audit-{}", hex32(cluster))
}

fn hex32(seed: &str) -> String {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, seed).hash(&mut h);
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// The decoded document of a delivery of `messages` (one log event each) from `log_stream` of
/// `log_group`.
fn document(log_group: &str, log_stream: &str, messages: &[String]) -> Value {
    let timestamp = now_ms();
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, message)| {
            json!({"id": event_id(timestamp, i as u64), "timestamp": timestamp, "message": message})
        })
        .collect();
    json!({
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": [FILTER_NAME],
        "logEvents": events,
    })
}

/// The Lambda event CloudWatch Logs sends: `{"awslogs": {"data": base64(gzip(document))}}`.
fn encode(document: &Value) -> Value {
    json!({"awslogs": {"data": aws_smithy_types::base64::encode(gzip(document.to_string().as_bytes()))}})
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn log_group_of(cluster: &str) -> String {
    format!("/aws/eks/{cluster}/cluster")
}

/// A delivery of `events` from `cluster`'s audit log, each serialised on one line.
fn delivery(cluster: &str, events: &[Value]) -> Value {
    let messages: Vec<String> = events.iter().map(Value::to_string).collect();
    encode(&document(
        &log_group_of(cluster),
        &audit_stream(cluster),
        &messages,
    ))
}

// ---------------------------------------------------------------------------------------------
// The world of one test.

/// A world with an alert topic, and a cluster name of its own.
struct Lab {
    w: World,
    cluster: String,
}

impl Lab {
    async fn new() -> Lab {
        Lab {
            w: World::new().await,
            cluster: unique("cluster"),
        }
    }

    /// The settings the function would read from its environment: remediate mode, alerts to
    /// this world's topic, and `vars`.
    fn settings(&self, vars: &[(&str, &str)]) -> Settings {
        let topic = self.w.topic_arn.clone();
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| match name {
                    "MODE" => Some("remediate".to_owned()),
                    "ALERT_TOPIC_ARN" => Some(topic.clone()),
                    _ => None,
                })
        })
        .expect("valid settings")
    }

    /// One invocation with `payload`, as the summary Lambda gets.
    async fn run(&self, settings: &Settings, payload: Value) -> Value {
        support::summary(&RULE_INFO, handle(&self.w.aws, settings, payload)).await
    }

    /// One delivery of `events` from this lab's cluster.
    async fn deliver(&self, settings: &Settings, events: &[Value]) -> Value {
        self.run(settings, delivery(&self.cluster, events)).await
    }
}

fn statuses(summary: &Value) -> Vec<String> {
    summary["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect()
}

fn resources(summary: &Value) -> Vec<String> {
    let mut ids: Vec<String> = summary["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["resource"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

const NONE: [&str; 0] = [];

/// The alerts about resources of type `kind`.
fn of_type<'a>(alerts: &'a [Value], kind: &str) -> Vec<&'a Value> {
    alerts
        .iter()
        .filter(|a| a["resource"]["type"] == kind)
        .collect()
}

/// A DynamoDB table as the template makes `DEDUPE_TABLE`: partition key `pk` (string), TTL
/// attribute `expires`, on demand.
async fn dedupe_table(aws: &Aws) -> String {
    let name = unique("dedupe");
    let dynamodb = aws.dynamodb().await;
    dynamodb
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    dynamodb
        .update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
}

/// Every partition key in `table`, sorted.
async fn keys_in(aws: &Aws, table: &str) -> Vec<String> {
    let out = aws
        .dynamodb()
        .await
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = out
        .items()
        .iter()
        .map(|item| item["pk"].as_s().unwrap().clone())
        .collect();
    keys.sort();
    keys
}

fn number(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> i64 {
    item[name].as_n().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. What is alerted, and how.

#[tokio::test]
async fn a_deployment_without_probes_and_cluster_admin_for_an_outsider_give_one_alert_each() {
    let lab = Lab::new().await;

    let summary = lab
        .deliver(&lab.settings(&[]), &[audit(NO_PROBES), audit(OUTSIDER)])
        .await;

    assert_eq!(statuses(&summary), ["alert", "alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let alice = json!({
        "arn": "arn:aws:sts::123456789012:assumed-role/platform-admin/alice",
        "type": "KubernetesUser",
        "username": "arn:aws:sts::123456789012:assumed-role/platform-admin/alice",
        "groups": ["system:authenticated"],
    });

    let workload = of_type(&alerts, "k8s-workload");
    assert_eq!(workload.len(), 1, "{alerts:#?}");
    let a = workload[0];
    assert_eq!(a["rule"], RULE);
    assert_eq!(a["status"], "alert");
    assert_eq!(a["account"], ACCOUNT);
    assert_eq!(a["region"], REGION);
    assert_eq!(
        a["resource"],
        json!({"type": "k8s-workload", "id": format!("{}/shop/Deployment/web", lab.cluster)})
    );
    assert_eq!(
        a["finding"],
        format!("Deployment shop/web: {}", NO_PROBES_FINDINGS.join("; "))
    );
    assert_eq!(a["actions"], json!([]));
    assert!(a["undo"].is_null(), "{a:#}");
    assert_eq!(a["actor"], alice);
    assert_eq!(
        a["event"],
        json!({"source": "kubernetes.audit", "name": "patch deployments",
            "id": "d883e22a-9711-42f9-bfb9-9a7de7ac9ac3", "time": "2025-06-10T14:02:10.434341Z"})
    );
    let note = a["note"].as_str().unwrap();
    assert!(
        note.contains("kubectl edit deployment web -n shop"),
        "{note}"
    );
    for finding in NO_PROBES_FINDINGS {
        assert!(
            note.contains(&format!("- {finding}:\n")),
            "{finding}: {note}"
        );
    }
    for fix in [
        "spec.template.spec.containers[name=web]:\n      readinessProbe:\n        httpGet:",
        "livenessProbe:\n        httpGet:",
        "resources:\n        requests:\n          cpu: 250m",
        "resources:\n        requests:\n          memory: 256Mi",
        "resources:\n        limits:\n          memory: 256Mi",
        "spec.template.spec:\n      topologySpreadConstraints:\n        - maxSkew: 1",
        "securityContext:\n        allowPrivilegeEscalation: false",
        "image: nginx:<version>",
    ] {
        assert!(note.contains(fix), "{fix:?} in {note}");
    }
    assert!(a["_subject"]
        .as_str()
        .unwrap()
        .starts_with("[eks-remediator] alert k8s-workload"));

    let binding = of_type(&alerts, "k8s-binding");
    assert_eq!(binding.len(), 1, "{alerts:#?}");
    let b = binding[0];
    assert_eq!(b["rule"], RULE);
    assert_eq!(b["status"], "alert");
    assert_eq!(
        b["resource"]["id"],
        format!("{}/ClusterRoleBinding/contractor-admin", lab.cluster)
    );
    assert_eq!(
        b["finding"],
        "ClusterRoleBinding contractor-admin: ClusterRole cluster-admin granted to User contractor@example.com, Group dev-team"
    );
    assert!(b["undo"].is_null(), "{b:#}");
    assert_eq!(b["actions"], json!([]));
    assert_eq!(b["actor"], alice);
    assert_eq!(b["event"]["source"], "kubernetes.audit");
    assert_eq!(b["event"]["id"], "65a9def9-3905-472b-9fc3-5784f3ab33a9");
    assert_eq!(b["event"]["name"], "create clusterrolebindings");
    assert!(b["note"]
        .as_str()
        .unwrap()
        .contains("kubectl delete clusterrolebinding contractor-admin"));
}

#[tokio::test]
async fn subjects_in_k8s_admin_subjects_may_hold_cluster_admin() {
    let lab = Lab::new().await;

    let partly = lab
        .deliver(
            &lab.settings(&[("K8S_ADMIN_SUBJECTS", "dev-team")]),
            &[audit(OUTSIDER)],
        )
        .await;
    let all = lab
        .deliver(
            &lab.settings(&[("K8S_ADMIN_SUBJECTS", "dev-*, contractor@example.com")]),
            &[audit(OUTSIDER)],
        )
        .await;

    assert_eq!(statuses(&partly), ["alert"]);
    assert_eq!(statuses(&all), NONE);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        alerts[0]["finding"],
        "ClusterRoleBinding contractor-admin: ClusterRole cluster-admin granted to User contractor@example.com"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. What is not alerted.

#[tokio::test]
async fn a_workload_with_everything_in_place_is_not_alerted() {
    let lab = Lab::new().await;

    let summary = lab.deliver(&lab.settings(&[]), &[audit(GOOD)]).await;

    assert_eq!(statuses(&summary), NONE);
    assert_eq!(lab.w.alerts().await, Vec::<Value>::new());
}

#[tokio::test]
async fn workloads_in_ignored_namespaces_or_marked_exempt_are_not_alerted() {
    let lab = Lab::new().await;
    let key = "example.com/no-audit";
    let exempt = lab.settings(&[("EXEMPT_TAG_KEY", key)]);

    let ignored = lab
        .deliver(
            &lab.settings(&[("IGNORED_NAMESPACES", "kube-system, shop")]),
            &[audit(NO_PROBES)],
        )
        .await;
    let labelled = lab
        .deliver(&exempt, &[marked(audit(NO_PROBES), "labels", key, "true")])
        .await;
    let annotated = lab
        .deliver(
            &exempt,
            &[marked(audit(NO_PROBES), "annotations", key, "True")],
        )
        .await;
    // The same workload labelled "false" is not exempt.
    let not_exempt = lab
        .deliver(
            &exempt,
            &[with_id(
                marked(audit(NO_PROBES), "labels", key, "false"),
                "not-exempt",
            )],
        )
        .await;

    assert_eq!(statuses(&ignored), NONE, "ignored namespace");
    assert_eq!(statuses(&labelled), NONE, "exempt by label");
    assert_eq!(statuses(&annotated), NONE, "exempt by annotation");
    assert_eq!(statuses(&not_exempt), ["alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["event"]["id"], "not-exempt");
}

#[tokio::test]
async fn changes_by_eks_add_ons_and_kube_system_controllers_are_not_alerted() {
    let lab = Lab::new().await;
    // No ignored namespace, so that only who made the change keeps aws-node (kube-system) out.
    let settings = lab.settings(&[("IGNORED_NAMESPACES", "-")]);
    let addon = audit("addon-manager-daemonset-update.json");
    let replicaset = audit("replicaset-controller-pod-create.json");

    let by_system = lab
        .deliver(&settings, &[addon.clone(), replicaset.clone()])
        .await;
    // The same writes made by a person are judged: the objects do lack things.
    let by_a_person = lab
        .deliver(&settings, &[by_person(addon), by_person(replicaset)])
        .await;

    assert_eq!(statuses(&by_system), NONE);
    assert_eq!(
        resources(&by_a_person),
        [
            format!("{}/kube-system/DaemonSet/aws-node", lab.cluster),
            format!("{}/shop/Pod/web-7c9d8f6b54-x2kqp", lab.cluster),
        ]
    );
    assert_eq!(lab.w.alerts().await.len(), 2);
}

#[tokio::test]
async fn subresource_writes_and_patches_without_the_stored_object_are_not_alerted() {
    let lab = Lab::new().await;
    let settings = lab.settings(&[]);
    let status = audit("deployment-status-update.json");

    for (why, event) in [
        ("scale", audit("deployment-scale-subresource.json")),
        ("status, by its controller", status.clone()),
        ("status, by a person", by_person(status)),
        (
            "a Request-level patch",
            audit("deployment-patch-request-level.json"),
        ),
        (
            "a RequestReceived stage",
            audit("request-received-stage.json"),
        ),
        ("a read", audit("metadata-level-get.json")),
    ] {
        let summary = lab.deliver(&settings, &[event]).await;
        assert_eq!(statuses(&summary), NONE, "{why}");
    }
    assert_eq!(lab.w.alerts().await, Vec::<Value>::new());
}

#[tokio::test]
async fn the_discovery_binding_is_not_alerted_but_other_roles_for_everyone_are() {
    let lab = Lab::new().await;
    let settings = lab.settings(&[]);
    let discovery = audit("clusterrolebinding-discovery.json");
    let mut view = by_person(named(discovery.clone(), "everyone-views"));
    view["responseObject"]["roleRef"]["name"] = json!("view");

    let reconciled = lab
        .deliver(&settings, std::slice::from_ref(&discovery))
        .await;
    let by_a_person = lab.deliver(&settings, &[by_person(discovery)]).await;
    let to_view = lab.deliver(&settings, &[view]).await;

    assert_eq!(
        statuses(&reconciled),
        NONE,
        "the API server's reconciliation"
    );
    assert_eq!(
        statuses(&by_a_person),
        NONE,
        "the same binding written by a person"
    );
    assert_eq!(statuses(&to_view), ["alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        alerts[0]["finding"],
        "ClusterRoleBinding everyone-views: ClusterRole view granted to Group system:authenticated, Group system:unauthenticated"
    );
}

#[tokio::test]
async fn control_messages_and_other_log_streams_are_not_judged() {
    let lab = Lab::new().await;
    let settings = lab.settings(&[]);
    let message = [audit(NO_PROBES).to_string()];
    let group = log_group_of(&lab.cluster);

    let control = lab
        .run(
            &settings,
            support::event(RULE, "subscription-control-message.json", &[]),
        )
        .await;
    let api_server = lab
        .run(
            &settings,
            encode(&document(
                &group,
                &format!("kube-apiserver-{}", hex32(&lab.cluster)),
                &message,
            )),
        )
        .await;
    let authenticator = lab
        .run(
            &settings,
            encode(&document(
                &group,
                &format!("authenticator-{}", hex32(&lab.cluster)),
                &message,
            )),
        )
        .await;
    let not_a_cluster = lab
        .run(
            &settings,
            encode(&document(
                "/aws/lambda/web",
                &audit_stream(&lab.cluster),
                &message,
            )),
        )
        .await;
    // The same event in the audit stream is judged.
    let audit_log = lab
        .run(
            &settings,
            encode(&document(&group, &audit_stream(&lab.cluster), &message)),
        )
        .await;

    assert_eq!(statuses(&control), NONE, "CONTROL_MESSAGE");
    assert_eq!(statuses(&api_server), NONE, "kube-apiserver stream");
    assert_eq!(statuses(&authenticator), NONE, "authenticator stream");
    assert_eq!(statuses(&not_a_cluster), NONE, "not a cluster's log group");
    assert_eq!(statuses(&audit_log), ["alert"]);
    assert_eq!(lab.w.alerts().await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 3. Noise.

#[tokio::test]
async fn with_a_dedupe_table_the_same_deploy_alerts_once_until_its_findings_change() {
    let lab = Lab::new().await;
    let table = dedupe_table(&lab.w.aws).await;
    let settings = lab.settings(&[("DEDUPE_TABLE", &table)]);
    let batch = delivery(&lab.cluster, &[audit(NO_PROBES)]);

    let first = lab.run(&settings, batch.clone()).await;
    // The same batch again (Lambda may deliver an asynchronous event twice).
    let redelivered = lab.run(&settings, batch).await;
    // The same manifest applied again: a new request, the same findings.
    let reapplied = lab
        .deliver(&settings, &[with_id(audit(NO_PROBES), "reapplied")])
        .await;
    // A readiness probe added: the findings changed.
    let changed = lab
        .deliver(
            &settings,
            &[with_id(with_readiness_probe(audit(NO_PROBES)), "changed")],
        )
        .await;

    assert_eq!(statuses(&first), ["alert"]);
    assert_eq!(statuses(&redelivered), NONE);
    assert_eq!(statuses(&reapplied), NONE);
    assert_eq!(statuses(&changed), ["alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let mut ids: Vec<&str> = alerts
        .iter()
        .map(|a| a["event"]["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["changed", "d883e22a-9711-42f9-bfb9-9a7de7ac9ac3"]);
    let changed_alert = alerts
        .iter()
        .find(|a| a["event"]["id"] == "changed")
        .unwrap();
    let finding = changed_alert["finding"].as_str().unwrap();
    assert!(!finding.contains("readiness"), "{finding}");
    assert!(finding.contains("no liveness probe"), "{finding}");
    let keys = keys_in(&lab.w.aws, &table).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    let prefix = format!("workload#{}#shop#Deployment#web#", lab.cluster);
    assert!(keys.iter().all(|k| k.starts_with(&prefix)), "{keys:?}");
}

#[tokio::test]
async fn a_workload_alerted_longer_ago_than_realert_days_is_alerted_again() {
    let lab = Lab::new().await;
    let table = dedupe_table(&lab.w.aws).await;
    let event = audit(NO_PROBES);
    let workload = Workload::parse(
        WorkloadKind::Deployment,
        &event["responseObject"].to_string(),
    )
    .unwrap();
    let key = dedupe_key(&lab.cluster, &workload, &workload.findings());
    let now = (now_ms() / 1000) as i64;
    let alerted = now - 8 * 86_400;
    lab.w
        .aws
        .dynamodb()
        .await
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S(key.clone()))
        .item("alerted", AttributeValue::N(alerted.to_string()))
        .item(
            "expires",
            AttributeValue::N((alerted + 7 * 86_400).to_string()),
        )
        .send()
        .await
        .unwrap();

    // Eight days ago is within ten.
    let within = lab
        .deliver(
            &lab.settings(&[("DEDUPE_TABLE", &table), ("REALERT_DAYS", "10")]),
            std::slice::from_ref(&event),
        )
        .await;
    // ... and past the default seven.
    let settings = lab.settings(&[("DEDUPE_TABLE", &table)]);
    let past = lab.deliver(&settings, std::slice::from_ref(&event)).await;
    let after = lab.deliver(&settings, &[event]).await;

    assert_eq!(statuses(&within), NONE);
    assert_eq!(statuses(&past), ["alert"]);
    assert_eq!(statuses(&after), NONE, "the record was renewed");
    assert_eq!(lab.w.alerts().await.len(), 1);
    let item = lab
        .w
        .aws
        .dynamodb()
        .await
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(key))
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .expect("the record");
    let renewed = number(&item, "alerted");
    assert!(renewed >= now && renewed < now + 600, "{item:?}");
    assert_eq!(number(&item, "expires"), renewed + 7 * 86_400);
}

#[tokio::test]
async fn rbac_and_aws_auth_findings_alert_every_time_even_with_a_dedupe_table() {
    let lab = Lab::new().await;
    let table = dedupe_table(&lab.w.aws).await;
    let settings = lab.settings(&[("DEDUPE_TABLE", &table)]);

    let first = lab
        .deliver(&settings, &[audit(OUTSIDER), audit(AWS_AUTH)])
        .await;
    let second = lab
        .deliver(&settings, &[audit(OUTSIDER), audit(AWS_AUTH)])
        .await;

    assert_eq!(statuses(&first), ["alert", "alert"]);
    assert_eq!(statuses(&second), ["alert", "alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(of_type(&alerts, "k8s-binding").len(), 2, "{alerts:#?}");
    assert_eq!(of_type(&alerts, "aws-auth").len(), 2, "{alerts:#?}");
    assert_eq!(keys_in(&lab.w.aws, &table).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_workload_written_twice_in_one_batch_is_alerted_once_as_last_written() {
    let lab = Lab::new().await;
    let settings = lab.settings(&[]);
    let before = with_id(audit(NO_PROBES), "before");
    let after = with_id(with_readiness_probe(audit(NO_PROBES)), "after");

    let probe_added = lab
        .deliver(&settings, &[before.clone(), after.clone()])
        .await;
    let probe_removed = lab.deliver(&settings, &[after, before]).await;

    assert_eq!(statuses(&probe_added), ["alert"]);
    assert_eq!(statuses(&probe_removed), ["alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let of_event = |id: &str| {
        alerts
            .iter()
            .find(|a| a["event"]["id"] == id)
            .unwrap_or_else(|| panic!("no alert of {id}: {alerts:#?}"))["finding"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(!of_event("after").contains("readiness"));
    assert!(of_event("before").contains("no readiness probe"));
}

/// Fails today: `batch::judge` keeps a workload's earlier write pending when a later write in
/// the same batch is skipped (nothing lacking, exempt, ignored), so the state it no longer has
/// is alerted. Ignored until `src/rules/audit_workloads/batch.rs` is fixed.
#[tokio::test]
async fn a_workload_fixed_later_in_the_same_batch_is_not_alerted() {
    let lab = Lab::new().await;
    let settings = lab.settings(&[]);
    // The Deployment `shop/web` applied without probes, then applied again with everything in
    // place (the good sample's object under the same name): as last stored it lacks nothing.
    let broken = with_id(audit(NO_PROBES), "broken");
    let fixed = with_id(named(audit(GOOD), "web"), "fixed");

    let summary = lab.deliver(&settings, &[broken, fixed]).await;

    assert_eq!(statuses(&summary), NONE);
    assert_eq!(lab.w.alerts().await, Vec::<Value>::new());
}

#[tokio::test]
async fn without_a_dedupe_table_every_delivery_alerts() {
    let lab = Lab::new().await;
    let settings = lab.settings(&[]);

    let first = lab.deliver(&settings, &[audit(NO_PROBES)]).await;
    let second = lab.deliver(&settings, &[audit(NO_PROBES)]).await;

    assert_eq!(statuses(&first), ["alert"]);
    assert_eq!(statuses(&second), ["alert"]);
    assert_eq!(lab.w.alerts().await.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// 4. Bindings to all-powerful ClusterRoles.

const WILDCARD_FINDING: &str =
    "ClusterRoleBinding super-operator-ops-bot: ClusterRole super-operator granted to User ops-bot";

#[tokio::test]
async fn a_binding_to_a_wildcard_role_written_in_an_earlier_batch_is_alerted_through_the_table() {
    let lab = Lab::new().await;
    let table = dedupe_table(&lab.w.aws).await;
    let settings = lab.settings(&[("DEDUPE_TABLE", &table)]);

    let role = lab.deliver(&settings, &[audit(WILDCARD_ROLE)]).await;
    let binding = lab.deliver(&settings, &[audit(WILDCARD_BINDING)]).await;

    assert_eq!(statuses(&role), NONE, "a ClusterRole itself is not alerted");
    assert_eq!(statuses(&binding), ["alert"]);
    assert_eq!(
        keys_in(&lab.w.aws, &table).await,
        [format!("clusterrole#{}#super-operator", lab.cluster)]
    );
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["resource"]["type"], "k8s-binding");
    assert_eq!(
        alerts[0]["resource"]["id"],
        format!("{}/ClusterRoleBinding/super-operator-ops-bot", lab.cluster)
    );
    assert_eq!(alerts[0]["finding"], WILDCARD_FINDING);
}

#[tokio::test]
async fn a_binding_after_its_wildcard_role_in_the_same_batch_is_alerted_without_a_table() {
    let lab = Lab::new().await;

    let summary = lab
        .deliver(
            &lab.settings(&[]),
            &[audit(WILDCARD_ROLE), audit(WILDCARD_BINDING)],
        )
        .await;

    assert_eq!(statuses(&summary), ["alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["finding"], WILDCARD_FINDING);
}

#[tokio::test]
async fn a_binding_to_a_role_not_known_here_as_all_powerful_is_not_alerted() {
    let lab = Lab::new().await;
    let table = dedupe_table(&lab.w.aws).await;
    let settings = lab.settings(&[("DEDUPE_TABLE", &table)]);
    let mut narrowed = with_id(audit(WILDCARD_ROLE), "narrowed");
    narrowed["responseObject"]["rules"][0]["verbs"] = json!(["get", "list", "watch"]);

    // Never seen.
    let unknown = lab.deliver(&settings, &[audit(WILDCARD_BINDING)]).await;
    // Seen in another cluster only.
    let elsewhere = lab
        .run(
            &settings,
            delivery(&unique("other-cluster"), &[audit(WILDCARD_ROLE)]),
        )
        .await;
    let after_elsewhere = lab.deliver(&settings, &[audit(WILDCARD_BINDING)]).await;
    // Seen here, then narrowed.
    let role = lab
        .deliver(&settings, &[audit(WILDCARD_ROLE), narrowed])
        .await;
    let after_narrowed = lab.deliver(&settings, &[audit(WILDCARD_BINDING)]).await;

    for summary in [
        &unknown,
        &elsewhere,
        &after_elsewhere,
        &role,
        &after_narrowed,
    ] {
        assert_eq!(statuses(summary), NONE);
    }
    assert_eq!(lab.w.alerts().await, Vec::<Value>::new());
    let keys = keys_in(&lab.w.aws, &table).await;
    assert!(
        keys.iter()
            .all(|k| !k.contains(&format!("#{}#", lab.cluster))),
        "{keys:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. aws-auth.

#[tokio::test]
async fn aws_auth_mapping_outsiders_into_system_masters_is_alerted_naming_them() {
    let lab = Lab::new().await;

    let summary = lab.deliver(&lab.settings(&[]), &[audit(AWS_AUTH)]).await;

    assert_eq!(statuses(&summary), ["alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a["status"], "alert");
    assert_eq!(
        a["resource"],
        json!({"type": "aws-auth", "id": format!("{}/kube-system/ConfigMap/aws-auth", lab.cluster)})
    );
    assert_eq!(
        a["finding"],
        "aws-auth maps arn:aws:iam::123456789012:role/cluster-ops (mapRoles), \
         arn:aws:iam::123456789012:role/contractor (mapRoles), \
         arn:aws:iam::123456789012:user/alice (mapUsers) into system:masters"
    );
    assert!(a["undo"].is_null());
    assert_eq!(
        a["actor"],
        json!({"arn": "arn:aws:sts::123456789012:assumed-role/cluster-ops/heidi",
            "type": "KubernetesUser", "username": "cluster-ops:heidi",
            "groups": ["system:masters", "system:authenticated"]})
    );
    assert_eq!(a["event"]["id"], "02709053-5245-4263-8843-f83bed061e67");
    assert_eq!(a["event"]["name"], "patch configmaps");
}

#[tokio::test]
async fn aws_auth_masters_in_cluster_admin_principals_are_not_alerted() {
    let lab = Lab::new().await;

    let all = lab
        .deliver(
            &lab.settings(&[(
                "CLUSTER_ADMIN_PRINCIPALS",
                "arn:aws:iam::123456789012:role/cluster-ops, arn:aws:iam::123456789012:role/contractor, arn:aws:iam::123456789012:user/alice",
            )]),
            &[audit(AWS_AUTH)],
        )
        .await;
    let some = lab
        .deliver(
            &lab.settings(&[(
                "CLUSTER_ADMIN_PRINCIPALS",
                "arn:aws:iam::123456789012:role/cluster-*",
            )]),
            &[audit(AWS_AUTH)],
        )
        .await;

    assert_eq!(statuses(&all), NONE);
    assert_eq!(statuses(&some), ["alert"]);
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        alerts[0]["finding"],
        "aws-auth maps arn:aws:iam::123456789012:role/contractor (mapRoles), \
         arn:aws:iam::123456789012:user/alice (mapUsers) into system:masters"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Robustness.

#[tokio::test]
async fn a_batch_of_500_events_is_judged_in_one_invocation() {
    let lab = Lab::new().await;
    // Fifty rounds of ten writes; only the Deployment without probes and the cluster-admin
    // binding of each round are findings.
    let samples = [
        NO_PROBES,
        GOOD,
        "deployment-status-update.json",
        "deployment-scale-subresource.json",
        "replicaset-controller-pod-create.json",
        "metadata-level-get.json",
        OUTSIDER,
        "clusterrolebinding-discovery.json",
        "deployment-patch-request-level.json",
        "request-received-stage.json",
    ];
    let loaded: Vec<Value> = samples.iter().map(|s| audit(s)).collect();
    let mut events = Vec::new();
    let mut expected = Vec::new();
    for round in 0..50 {
        for (i, (sample, event)) in samples.iter().zip(&loaded).enumerate() {
            let id = format!("{round:08x}-0000-4000-8000-{i:012x}");
            let name = format!(
                "{}-{round}",
                event["objectRef"]["name"].as_str().unwrap_or("pod")
            );
            events.push(with_id(named(event.clone(), &name), &id));
            match *sample {
                NO_PROBES => expected.push(format!("{}/shop/Deployment/{name}", lab.cluster)),
                OUTSIDER => expected.push(format!("{}/ClusterRoleBinding/{name}", lab.cluster)),
                _ => {}
            }
        }
    }
    assert_eq!(events.len(), 500);
    expected.sort();
    let payload = delivery(&lab.cluster, &events);

    let summary = lab.run(&lab.settings(&[]), payload).await;

    assert_eq!(resources(&summary), expected);
    let alerts = lab.w.alerts().await;
    let mut alerted: Vec<String> = alerts
        .iter()
        .map(|a| a["resource"]["id"].as_str().unwrap().to_owned())
        .collect();
    alerted.sort();
    assert_eq!(alerted, expected);
}

#[tokio::test]
async fn malformed_events_in_a_batch_are_skipped_and_the_others_judged() {
    let lab = Lab::new().await;
    let mut unreadable = with_id(named(audit(NO_PROBES), "broken"), "broken");
    unreadable["responseObject"]["spec"]["replicas"] = json!("three");
    let messages = [
        audit(NO_PROBES).to_string(),
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":".to_owned(),
        "not JSON at all".to_owned(),
        "[1, 2, 3]".to_owned(),
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500}).to_string(),
        unreadable.to_string(),
        audit(OUTSIDER).to_string(),
    ];
    let payload = encode(&document(
        &log_group_of(&lab.cluster),
        &audit_stream(&lab.cluster),
        &messages,
    ));

    let summary = lab.run(&lab.settings(&[]), payload).await;

    assert_eq!(
        resources(&summary),
        [
            format!("{}/ClusterRoleBinding/contractor-admin", lab.cluster),
            format!("{}/shop/Deployment/web", lab.cluster),
        ]
    );
    assert_eq!(lab.w.alerts().await.len(), 2);
}

#[tokio::test]
async fn a_payload_that_is_not_base64_gzip_json_is_an_event_error_and_alerts_nothing() {
    let lab = Lab::new().await;
    let settings = lab.settings(&[]);
    let base64 =
        |bytes: &[u8]| json!({"awslogs": {"data": aws_smithy_types::base64::encode(bytes)}});

    for (why, payload) in [
        ("not base64", json!({"awslogs": {"data": "not base64!"}})),
        ("not gzip", base64(b"{\"messageType\":\"DATA_MESSAGE\"}")),
        ("not JSON", base64(&gzip(b"kube-apiserver-audit"))),
        ("no data", json!({"awslogs": {}})),
    ] {
        let result = support::granted(&RULE_INFO, handle(&lab.w.aws, &settings, payload)).await;
        let error = result.expect_err(why);
        assert_eq!(error.error_type(), "EventError", "{why}: {error}");
    }
    assert_eq!(lab.w.alerts().await, Vec::<Value>::new());
}

// ---------------------------------------------------------------------------------------------
// 7. Subscriptions.

/// A world with a Lambda function standing for `audit-workloads` (moto checks that a
/// subscription's destination exists) and a cluster log group name of its own.
struct Subscriptions {
    lab: Lab,
    function: String,
    log_group: String,
}

impl Subscriptions {
    async fn new() -> Subscriptions {
        let lab = Lab::new().await;
        let role = support::role(&lab.w.aws, "lambda.amazonaws.com", &[], &[], None).await;
        let function = support::lambda_function(
            "testing",
            REGION,
            &unique("audit-workloads"),
            &format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
        )
        .await;
        let log_group = log_group_of(&lab.cluster);
        Subscriptions {
            lab,
            function,
            log_group,
        }
    }

    fn settings(&self, vars: &[(&str, &str)]) -> Settings {
        let mut all = vec![
            ("AUDIT_WORKLOADS_FUNCTION_ARN", self.function.as_str()),
            ("AUDIT_FILTER_PATTERN", PATTERN),
        ];
        all.extend_from_slice(vars);
        self.lab.settings(&all)
    }

    /// The CloudTrail record of EKS creating this world's log group.
    fn created(&self) -> Value {
        support::event(
            RULE,
            "create-log-group-eks.json",
            &[("/aws/eks/prod/cluster", &self.log_group)],
        )
    }

    async fn create_log_group(&self, tags: &[(&str, &str)]) {
        create_log_group(&self.lab.w.aws, &self.log_group, tags).await;
    }

    async fn filters(&self) -> Vec<(String, String, String)> {
        filters(&self.lab.w.aws, &self.log_group).await
    }
}

async fn create_log_group(aws: &Aws, name: &str, tags: &[(&str, &str)]) {
    let mut request = aws.logs().await.create_log_group().log_group_name(name);
    for (k, v) in tags {
        request = request.tags(*k, *v);
    }
    request.send().await.unwrap();
}

/// The log group's subscription filters: (name, pattern, destination).
async fn filters(aws: &Aws, log_group: &str) -> Vec<(String, String, String)> {
    let out = aws
        .logs()
        .await
        .describe_subscription_filters()
        .log_group_name(log_group)
        .send()
        .await
        .unwrap();
    out.subscription_filters()
        .iter()
        .map(|f| {
            (
                f.filter_name().unwrap_or_default().to_owned(),
                f.filter_pattern().unwrap_or_default().to_owned(),
                f.destination_arn().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn put_filter(aws: &Aws, log_group: &str, name: &str, pattern: &str, destination: &str) {
    aws.logs()
        .await
        .put_subscription_filter()
        .log_group_name(log_group)
        .filter_name(name)
        .filter_pattern(pattern)
        .destination_arn(destination)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_cluster_log_group_is_subscribed_once() {
    let s = Subscriptions::new().await;
    s.create_log_group(&[]).await;
    let settings = s.settings(&[]);

    let first = s.lab.run(&settings, s.created()).await;
    let second = s.lab.run(&settings, s.created()).await;

    assert_eq!(statuses(&first), ["remediated"]);
    assert_eq!(statuses(&second), NONE, "already subscribed");
    assert_eq!(
        s.filters().await,
        [(
            FILTER_NAME.to_owned(),
            PATTERN.to_owned(),
            s.function.clone()
        )]
    );
    let alerts = s.lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a["rule"], RULE);
    assert_eq!(a["status"], "remediated");
    assert_eq!(
        a["resource"],
        json!({"type": "log-group", "id": s.log_group,
            "arn": format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{}", s.log_group)})
    );
    assert_eq!(
        a["actions"],
        json!([format!(
            "PutSubscriptionFilter {} eks-remediator-audit-workloads",
            s.log_group
        )])
    );
    assert_eq!(
        a["undo"],
        format!(
            "aws logs delete-subscription-filter --log-group-name '{}' --filter-name eks-remediator-audit-workloads",
            s.log_group
        )
    );
    assert_eq!(a["event"]["name"], "CreateLogGroup");
    assert_eq!(
        a["actor"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAmazonEKS/AmazonEKS"
    );
}

#[tokio::test]
async fn an_out_of_date_subscription_is_updated_with_the_old_one_as_undo() {
    let s = Subscriptions::new().await;
    s.create_log_group(&[]).await;
    put_filter(&s.lab.w.aws, &s.log_group, FILTER_NAME, "", &s.function).await;

    let summary = s.lab.run(&s.settings(&[]), s.created()).await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(
        s.filters().await,
        [(
            FILTER_NAME.to_owned(),
            PATTERN.to_owned(),
            s.function.clone()
        )]
    );
    let alerts = s.lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        alerts[0]["undo"],
        format!(
            "aws logs put-subscription-filter --log-group-name '{}' --filter-name eks-remediator-audit-workloads --filter-pattern '' --destination-arn '{}'",
            s.log_group, s.function
        )
    );
}

#[tokio::test]
async fn a_log_group_with_two_other_filters_is_alerted_not_subscribed() {
    let s = Subscriptions::new().await;
    s.create_log_group(&[]).await;
    // Two filters is the most a log group can have (moto refuses a third, as AWS documents).
    // moto also refuses an update of one of the two, which AWS allows: nothing here updates.
    put_filter(&s.lab.w.aws, &s.log_group, "archive", "", &s.function).await;
    put_filter(&s.lab.w.aws, &s.log_group, "siem", "ERROR", &s.function).await;
    let before = s.filters().await;

    let summary = s.lab.run(&s.settings(&[]), s.created()).await;

    assert_eq!(statuses(&summary), ["alert"]);
    assert_eq!(s.filters().await, before, "the other filters stay");
    let alerts = s.lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a["status"], "alert");
    assert_eq!(a["resource"]["id"], s.log_group);
    assert!(
        a["finding"]
            .as_str()
            .unwrap()
            .contains("no room for another subscription filter"),
        "{a:#}"
    );
    let note = a["note"].as_str().unwrap();
    assert!(
        note.contains("2 subscription filter(s) (archive, siem)"),
        "{note}"
    );
    assert!(a["undo"].is_null());
    assert_eq!(a["actions"], json!([]));
}

#[tokio::test]
async fn alert_only_mode_reports_the_missing_subscription_and_puts_none() {
    let s = Subscriptions::new().await;
    s.create_log_group(&[]).await;

    let summary = s
        .lab
        .run(&s.settings(&[("MODE", "alert-only")]), s.created())
        .await;

    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert_eq!(s.filters().await, vec![]);
    let alerts = s.lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["status"], "would-remediate");
    assert!(alerts[0]["undo"].is_null());
    assert_eq!(
        alerts[0]["actions"],
        json!([format!(
            "PutSubscriptionFilter {} eks-remediator-audit-workloads",
            s.log_group
        )])
    );
}

#[tokio::test]
async fn a_log_group_tagged_exempt_is_not_subscribed() {
    let s = Subscriptions::new().await;
    s.create_log_group(&[("eks-remediator:exempt", "true")])
        .await;

    let summary = s.lab.run(&s.settings(&[]), s.created()).await;

    assert_eq!(statuses(&summary), ["exempt"]);
    assert_eq!(s.filters().await, vec![]);
    let alerts = s.lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["status"], "exempt");
    assert!(alerts[0]["undo"].is_null());
}

#[tokio::test]
async fn without_its_own_arn_the_function_alerts_instead_of_subscribing() {
    let s = Subscriptions::new().await;
    s.create_log_group(&[]).await;

    // Outside Lambda the function does not know its ARN, and none is set.
    let summary = s
        .lab
        .run(
            &s.lab.settings(&[("AUDIT_FILTER_PATTERN", PATTERN)]),
            s.created(),
        )
        .await;

    assert_eq!(statuses(&summary), ["alert"]);
    assert_eq!(s.filters().await, vec![]);
    let alerts = s.lab.w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0]["note"]
        .as_str()
        .unwrap()
        .contains("AUDIT_WORKLOADS_FUNCTION_ARN"));
}

#[tokio::test]
async fn a_log_group_that_is_not_a_clusters_is_not_for_this_rule() {
    let s = Subscriptions::new().await;
    let lambda_group = format!("/aws/lambda/{}", unique("fn"));
    create_log_group(&s.lab.w.aws, &lambda_group, &[]).await;
    let event = support::event(
        RULE,
        "not-for-me-create-log-group-lambda.json",
        &[("/aws/lambda/my-fn", &lambda_group)],
    );

    let summary = s.lab.run(&s.settings(&[]), event).await;

    assert_eq!(statuses(&summary), NONE);
    assert_eq!(filters(&s.lab.w.aws, &lambda_group).await, vec![]);
    assert_eq!(s.lab.w.alerts().await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_log_group_already_deleted_is_resolved() {
    let s = Subscriptions::new().await;

    let summary = s.lab.run(&s.settings(&[]), s.created()).await;

    assert_eq!(statuses(&summary), ["resolved"]);
    assert_eq!(s.lab.w.alerts().await, Vec::<Value>::new());
}

// ---------------------------------------------------------------------------------------------
// 8. The sweep's `audit-subscriptions` scan.

/// A cluster whose API server and authenticator logs are on, but not its audit log.
async fn cluster_without_audit_log(aws: &Aws) -> String {
    let name = unique("cluster");
    aws.eks()
        .await
        .create_cluster()
        .name(&name)
        .version("1.32")
        .role_arn("arn:aws:iam::123456789012:role/eks-cluster-role")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-0123456789abcdef0")
                .endpoint_public_access(false)
                .endpoint_private_access(true)
                .build(),
        )
        .logging(
            aws_sdk_eks::types::Logging::builder()
                .cluster_logging(
                    aws_sdk_eks::types::LogSetup::builder()
                        .types(aws_sdk_eks::types::LogType::Api)
                        .types(aws_sdk_eks::types::LogType::Authenticator)
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

/// The scan's outcomes as (status, resource id), sorted.
fn scanned(outcomes: &[eks_remediator::outcome::Outcome]) -> Vec<(Status, String)> {
    let mut found: Vec<(Status, String)> = outcomes
        .iter()
        .filter(|o| o.rule == RULE)
        .map(|o| (o.status, o.resource.id.clone()))
        .collect();
    found.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    found
}

#[tokio::test]
async fn the_sweep_subscribes_clusters_whose_audit_log_is_not_streamed() {
    // An account of its own: the scan lists every cluster of the region.
    let (region, account) = ("eu-west-2", "100000000017");
    let (keys, config) = support::in_account(region, account).await;
    let aws = Aws::with_config(config);
    let audited = support::cluster(&aws, false, "1.32", true).await;
    let unaudited = cluster_without_audit_log(&aws).await;
    let (audited_group, unaudited_group) = (log_group_of(&audited), log_group_of(&unaudited));
    for group in [&audited_group, &unaudited_group] {
        create_log_group(&aws, group, &[]).await;
    }
    let role = support::role(&aws, "lambda.amazonaws.com", &[], &[], None).await;
    let function = support::lambda_function(
        &keys.id,
        region,
        &unique("audit-workloads"),
        &format!("arn:aws:iam::{account}:role/{role}"),
    )
    .await;
    let origin = sweep::origin(account, region, "test", "2026-12-01T06:00:00Z");
    let settings = |mode: Mode| Settings {
        mode,
        audit_function_arn: Some(function.clone()),
        audit_filter_pattern: Some(PATTERN.to_owned()),
        ..Settings::default()
    };
    let scan = |settings: Settings| {
        let (aws, origin) = (&aws, &origin);
        async move {
            support::granted_as(
                "sweep",
                sweep::IAM_ACTIONS,
                scan::scan(aws, &settings, origin),
            )
            .await
            .expect("the scan runs")
        }
    };

    // The whole read-only sweep, as the CLI's `scan` runs it (other scans may fail on what
    // moto lacks; only this one is judged here).
    let report = support::granted_as(
        "sweep",
        sweep::IAM_ACTIONS,
        sweep::run(&aws, &Settings::default(), &origin, None, |_| ()),
    )
    .await;
    assert!(
        report.errors.iter().all(|(name, _)| *name != scan::NAME),
        "{:?}",
        report.errors
    );
    assert_eq!(
        scanned(&report.outcomes),
        [(Status::WouldRemediate, audited_group.clone())]
    );
    let look = scan(settings(Mode::AlertOnly)).await;
    assert_eq!(
        scanned(&look),
        [(Status::WouldRemediate, audited_group.clone())]
    );
    assert_eq!(filters(&aws, &audited_group).await, vec![]);

    let fix = scan(settings(Mode::Remediate)).await;
    assert_eq!(scanned(&fix), [(Status::Remediated, audited_group.clone())]);
    assert_eq!(
        filters(&aws, &audited_group).await,
        [(FILTER_NAME.to_owned(), PATTERN.to_owned(), function.clone())]
    );
    assert_eq!(
        filters(&aws, &unaudited_group).await,
        vec![],
        "a cluster without audit logging is left alone"
    );

    let again = scan(settings(Mode::Remediate)).await;
    assert_eq!(scanned(&again), vec![], "already subscribed");
}
