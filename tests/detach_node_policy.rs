//! Integration tests of `detach-node-policy`: the real SDK against moto's server (with AWS
//! managed policies loaded), events from `events/detach-node-policy/`, roles, policies, alerts
//! read back from moto.
//!
//! moto validates policy documents as IAM does, so a document our parser cannot read can only
//! come from an event, or from the recording proxy standing in for IAM in one test.

mod support;

use eks_remediator::aws::Aws;
use eks_remediator::rules::detach_node_policy::handle;
use eks_remediator::rules::detach_node_policy::RULE as RULE_INFO;
use eks_remediator::settings::{Mode, Settings};
use serde_json::{json, Value};
use support::proxy::{Canned, Fault, Proxy};
use support::{event, unique, World};

const RULE: &str = "detach-node-policy";
const ROLE: &str = "example-node-role";
const INLINE: &str = "example-inline-policy";
const CUSTOMER: &str = "arn:aws:iam::123456789012:policy/example-managed-policy";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const WORKER: &str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
const CNI: &str = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy";
const WILDCARD: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const SCOPED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::example-bucket/*"}]}"#;
const NOT_ACTION: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;

async fn run(w: &World, settings: &Settings, event: Value) -> Value {
    run_with(&w.aws, settings, event).await
}

async fn run_with(aws: &Aws, settings: &Settings, event: Value) -> Value {
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

/// A role trusted by EC2, with these managed policies and tags; returns its name.
async fn role(w: &World, attached: &[&str], tags: &[(&str, &str)]) -> String {
    support::role(&w.aws, "ec2.amazonaws.com", attached, tags, None).await
}

async fn node_role(w: &World, extra: &[&str]) -> String {
    let mut attached = vec![WORKER, CNI];
    attached.extend_from_slice(extra);
    role(w, &attached, &[]).await
}

async fn put_inline(w: &World, role: &str, name: &str, document: &str) {
    w.aws
        .iam()
        .await
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .unwrap();
}

async fn attached(w: &World, role: &str) -> Vec<String> {
    let out = w
        .aws
        .iam()
        .await
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    let mut arns: Vec<String> = out
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .map(str::to_owned)
        .collect();
    arns.sort();
    arns
}

async fn inline(w: &World, role: &str) -> Vec<String> {
    let out = w
        .aws
        .iam()
        .await
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    out.policy_names().to_vec()
}

fn sample(file: &str, role: &str, policy: &str) -> Value {
    event(
        RULE,
        file,
        &[(ROLE, role), (INLINE, policy), (CUSTOMER, policy)],
    )
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn administrator_access_is_detached_from_a_node_role_and_the_baseline_stays() {
    let w = World::new().await;
    let r = node_role(&w, &[ADMIN]).await;

    let summary = run(
        &w,
        &w.settings(),
        sample("attach-admin-access.json", &r, ""),
    )
    .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(attached(&w, &r).await, sorted(&[WORKER, CNI]));
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["rule"], RULE);
    assert_eq!(a["resource"]["type"], "iam-role");
    assert_eq!(a["resource"]["id"], r.as_str());
    assert_eq!(
        a["resource"]["arn"],
        format!("arn:aws:iam::123456789012:role/{r}")
    );
    assert_eq!(
        a["actions"],
        json!([format!("DetachRolePolicy {r} {ADMIN}")])
    );
    let finding = a["finding"].as_str().unwrap();
    assert!(
        finding.contains("AdministratorAccess") && finding.contains("AmazonEKSWorkerNodePolicy"),
        "{finding}"
    );
    assert_eq!(
        a["undo"],
        format!("aws iam attach-role-policy --role-name '{r}' --policy-arn '{ADMIN}'")
    );
    assert_eq!(a["event"]["name"], "AttachRolePolicy");
}

#[tokio::test]
async fn a_role_that_is_not_a_node_role_is_left_alone() {
    let w = World::new().await;
    let r = role(&w, &[ADMIN], &[]).await;

    let summary = run(
        &w,
        &w.settings(),
        sample("attach-admin-access.json", &r, ""),
    )
    .await;

    assert_eq!(summary, json!({"outcomes": []}));
    assert_eq!(attached(&w, &r).await, [ADMIN]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn a_tagged_role_and_a_node_group_role_count_as_node_roles() {
    let w = World::new().await;
    let tagged = role(&w, &[ADMIN], &[("alpha.eksctl.io/nodegroup-name", "ng-1")]).await;
    let summary = run(
        &w,
        &w.settings(),
        sample("attach-admin-access.json", &tagged, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(attached(&w, &tagged).await.is_empty());

    let by_group = role(&w, &[ADMIN], &[]).await;
    nodegroup(&w, &by_group).await;
    let summary = run(
        &w,
        &w.settings(),
        sample("attach-admin-access.json", &by_group, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(attached(&w, &by_group).await.is_empty());
    let alerts = w.alerts().await;
    assert!(alerts[1]["finding"]
        .as_str()
        .unwrap()
        .contains("node groups"));
}

/// An EKS cluster with a managed node group running with `role`; returns `cluster/nodegroup`.
async fn nodegroup(w: &World, role: &str) -> String {
    let cluster = unique("cluster");
    let eks = w.aws.eks().await;
    eks.create_cluster()
        .name(&cluster)
        .role_arn("arn:aws:iam::123456789012:role/eks-cluster-role")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-0123456789abcdef0")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let group = unique("ng");
    eks.create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&group)
        .node_role(format!("arn:aws:iam::123456789012:role/{role}"))
        .subnets("subnet-0123456789abcdef0")
        .send()
        .await
        .unwrap();
    format!("{cluster}/{group}")
}

#[tokio::test]
async fn a_wildcard_customer_policy_is_detached_and_a_scoped_one_kept() {
    let w = World::new().await;
    let wide = support::customer_policy(&w.aws, WILDCARD).await;
    let scoped = support::customer_policy(&w.aws, SCOPED).await;
    let r = node_role(&w, &[&wide, &scoped]).await;

    let first = run(
        &w,
        &w.settings(),
        sample("attach-customer-policy.json", &r, &wide),
    )
    .await;
    let second = run(
        &w,
        &w.settings(),
        sample("attach-customer-policy.json", &r, &scoped),
    )
    .await;

    assert_eq!(statuses(&first), ["remediated"]);
    assert_eq!(second, json!({"outcomes": []}));
    assert_eq!(attached(&w, &r).await, sorted(&[WORKER, CNI, &scoped]));
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0]["finding"]
        .as_str()
        .unwrap()
        .contains("statement #1: allows every action (*)"));
}

#[tokio::test]
async fn a_not_action_allow_is_caught() {
    let w = World::new().await;
    let r = node_role(&w, &[]).await;
    put_inline(&w, &r, "escape-hatch", NOT_ACTION).await;
    let mut e = sample("put-inline-scoped.json", &r, "escape-hatch");
    e["detail"]["requestParameters"]["policyDocument"] = json!(NOT_ACTION);

    let summary = run(&w, &w.settings(), e).await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(inline(&w, &r).await.is_empty());
    let a = &w.alerts().await[0];
    assert!(a["finding"].as_str().unwrap().contains("NotAction"));
}

#[tokio::test]
async fn a_wildcard_inline_policy_is_deleted_with_a_verbatim_undo_and_a_scoped_one_kept() {
    let w = World::new().await;
    let r = node_role(&w, &[]).await;
    put_inline(&w, &r, "wide", WILDCARD).await;
    put_inline(&w, &r, "scoped", SCOPED).await;

    let wide = run(
        &w,
        &w.settings(),
        sample("put-inline-wildcard.json", &r, "wide"),
    )
    .await;
    let scoped = run(
        &w,
        &w.settings(),
        sample("put-inline-scoped.json", &r, "scoped"),
    )
    .await;

    assert_eq!(statuses(&wide), ["remediated"]);
    assert_eq!(scoped, json!({"outcomes": []}));
    assert_eq!(inline(&w, &r).await, ["scoped"]);
    let a = &w.alerts().await[0];
    assert_eq!(a["actions"], json!([format!("DeleteRolePolicy {r} wide")]));
    assert_eq!(
        a["undo"],
        format!("aws iam put-role-policy --role-name '{r}' --policy-name 'wide' --policy-document '{WILDCARD}'")
    );
}

#[tokio::test]
async fn url_encoded_and_plain_event_documents_are_both_read() {
    let w = World::new().await;
    let r = node_role(&w, &[]).await;
    let iam_wide = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
    put_inline(&w, &r, "encoded", iam_wide).await;
    put_inline(&w, &r, "plain", WILDCARD).await;

    let encoded = run(
        &w,
        &w.settings(),
        sample("put-inline-url-encoded.json", &r, "encoded"),
    )
    .await;
    let plain = run(
        &w,
        &w.settings(),
        sample("put-inline-wildcard.json", &r, "plain"),
    )
    .await;

    assert_eq!(statuses(&encoded), ["remediated"]);
    assert_eq!(statuses(&plain), ["remediated"]);
    assert!(inline(&w, &r).await.is_empty());
    let alerts = w.alerts().await;
    assert!(alerts[0]["finding"]
        .as_str()
        .unwrap()
        .contains("allows iam:* on *"));
}

#[tokio::test]
async fn allow_listed_baseline_exempt_and_alert_only_change_nothing() {
    let w = World::new().await;
    let wide = support::customer_policy(&w.aws, WILDCARD).await;

    // Allow-listed: not even looked at.
    let r = node_role(&w, &[&wide]).await;
    let allow = Settings {
        node_policy_allowlist: vec![wide.clone()],
        ..w.settings()
    };
    let summary = run(&w, &allow, sample("attach-customer-policy.json", &r, &wide)).await;
    assert_eq!(summary, json!({"outcomes": []}));
    assert_eq!(attached(&w, &r).await.len(), 3);

    // A baseline policy attached again: not touched.
    let summary = run(
        &w,
        &w.settings(),
        sample("attach-customer-policy.json", &r, WORKER),
    )
    .await;
    assert_eq!(summary, json!({"outcomes": []}));

    // Exempt by tag.
    let exempt = role(&w, &[WORKER, ADMIN], &[("eks-remediator:exempt", "true")]).await;
    let summary = run(
        &w,
        &w.settings(),
        sample("attach-admin-access.json", &exempt, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["exempt"]);
    assert_eq!(attached(&w, &exempt).await, sorted(&[ADMIN, WORKER]));

    // Alert-only.
    let watched = node_role(&w, &[ADMIN]).await;
    let alert_only = Settings {
        mode: Mode::AlertOnly,
        ..w.settings()
    };
    let summary = run(
        &w,
        &alert_only,
        sample("attach-admin-access.json", &watched, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert_eq!(attached(&w, &watched).await.len(), 3);

    let alerts = w.alerts().await;
    let got: Vec<&str> = alerts
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["exempt", "would-remediate"]);
    assert!(alerts[0]["note"]
        .as_str()
        .unwrap()
        .contains("DetachRolePolicy"));
}

#[tokio::test]
async fn own_calls_and_failed_calls_are_ignored() {
    let w = World::new().await;
    let r = node_role(&w, &[ADMIN]).await;
    let mut own = sample("attach-admin-access.json", &r, "");
    own["detail"]["userIdentity"] = json!({"type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/eks-remediator-RevokeOpenIngressRole-X1/fn"});
    assert_eq!(run(&w, &w.settings(), own).await, json!({"outcomes": []}));
    let mut failed = sample("attach-admin-access.json", &r, "");
    failed["detail"]["errorCode"] = json!("AccessDenied");
    assert_eq!(
        run(&w, &w.settings(), failed).await,
        json!({"outcomes": []})
    );
    assert_eq!(attached(&w, &r).await.len(), 3);
}

#[tokio::test]
async fn a_policy_already_detached_or_a_role_gone_is_resolved_without_alert() {
    let w = World::new().await;
    let r = node_role(&w, &[]).await;
    let summary = run(
        &w,
        &w.settings(),
        sample("attach-admin-access.json", &r, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["resolved"]);
    let gone = run(
        &w,
        &w.settings(),
        sample("put-inline-wildcard.json", "no-such-role", "x"),
    )
    .await;
    assert_eq!(statuses(&gone), ["resolved"]);
    let missing = run(
        &w,
        &w.settings(),
        sample("put-inline-wildcard.json", &r, "never-put"),
    )
    .await;
    assert_eq!(statuses(&missing), ["resolved"]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn exfiltrated_credentials_are_alerted_with_the_node_group_and_revoked_when_opted_in() {
    let w = World::new().await;
    let r = node_role(&w, &[]).await;
    let group = nodegroup(&w, &r).await;
    let finding = sample("guardduty-exfiltration-outside-aws.json", &r, "");

    let summary = run(&w, &w.settings(), finding.clone()).await;
    assert_eq!(statuses(&summary), ["alert"]);
    assert!(
        inline(&w, &r).await.is_empty(),
        "nothing revoked by default"
    );
    let a = &w.alerts().await[0];
    assert_eq!(a["status"], "alert");
    let text = a["finding"].as_str().unwrap();
    assert!(
        text.contains(&group) && text.contains("i-0123456789abcdef0"),
        "{text}"
    );
    assert!(a["note"].as_str().unwrap().contains("ASIAEXAMPLEEXFIL0001"));

    let revoking = Settings {
        revoke_exfiltrated_sessions: true,
        ..w.settings()
    };
    let summary = run(
        &w,
        &revoking,
        sample("guardduty-exfiltration-inside-aws.json", &r, ""),
    )
    .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(inline(&w, &r).await, ["AWSRevokeOlderSessions"]);
    let document = w
        .aws
        .iam()
        .await
        .get_role_policy()
        .role_name(&r)
        .policy_name("AWSRevokeOlderSessions")
        .send()
        .await
        .unwrap()
        .policy_document()
        .to_owned();
    let decoded = percent_encoding::percent_decode_str(&document)
        .decode_utf8()
        .unwrap();
    assert!(
        decoded.contains("\"Deny\"") && decoded.contains("aws:TokenIssueTime"),
        "{decoded}"
    );
    let a = &w.alerts().await[0];
    assert!(a["note"].as_str().unwrap().contains("loses AWS access"));
    assert_eq!(
        a["undo"],
        format!(
            "aws iam delete-role-policy --role-name '{r}' --policy-name AWSRevokeOlderSessions"
        )
    );

    // Below MIN_SEVERITY: logged only.
    let strict = Settings {
        min_severity: 9.0,
        ..w.settings()
    };
    assert_eq!(run(&w, &strict, finding).await, json!({"outcomes": []}));
}

#[tokio::test]
async fn malformed_documents_and_events_give_clear_outcomes_without_panic() {
    let w = World::new().await;
    let r = node_role(&w, &[]).await;
    put_inline(&w, &r, "p", SCOPED).await;

    // The event's document cannot be read: the current one is, and it is safe.
    let mut e = sample("put-inline-wildcard.json", &r, "p");
    e["detail"]["requestParameters"]["policyDocument"] = json!("%7B%22Statement%22%3A%5B");
    let summary = run(&w, &w.settings(), e).await;
    assert_eq!(statuses(&summary), ["resolved"]);
    assert_eq!(inline(&w, &r).await, ["p"]);

    // IAM answers with a document we cannot read: a person must look; nothing is deleted.
    let proxy = Proxy::start(support::moto_url()).await;
    proxy.inject(Fault {
        path_suffix: "/".into(),
        body_contains: Some("Action=GetRolePolicy".into()),
        times: 1,
        answer: Canned {
            status: 200,
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: format!(
                "<GetRolePolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                 <GetRolePolicyResult><RoleName>{r}</RoleName><PolicyName>p</PolicyName>\
                 <PolicyDocument>%7B%22Statement%22%3A7%7D</PolicyDocument></GetRolePolicyResult>\
                 <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>\
                 </ResponseMetadata></GetRolePolicyResponse>"
            ),
        },
    });
    let through = Aws::with_config(support::sdk_config_at(&proxy.url));
    let summary = run_with(
        &through,
        &w.settings(),
        sample("put-inline-wildcard.json", &r, "p"),
    )
    .await;
    assert_eq!(statuses(&summary), ["alert"]);
    assert_eq!(inline(&w, &r).await, ["p"]);
    let a = &w.alerts().await[0];
    assert!(a["note"].as_str().unwrap().contains("not readable"));

    // Malformed and foreign events.
    let mut nameless = sample("attach-admin-access.json", &r, "");
    nameless["detail"]["requestParameters"] = json!({"policyArn": ADMIN});
    assert!(handle(&w.aws, &w.settings(), nameless).await.is_err());
    let foreign = run(
        &w,
        &w.settings(),
        sample("not-for-me-attach-user-policy.json", &r, ""),
    )
    .await;
    assert_eq!(foreign, json!({"outcomes": []}));
}
