//! Fault injection: a proxy between the SDK and moto answers chosen calls the way AWS does
//! when it is overloaded or the network misbehaves (throttling, 5xx, connection resets, slow
//! answers). For each remediating function:
//! - a fault that passes (two throttles on the fix) is absorbed by the SDK's retries: the
//!   resource is fixed and alerted once;
//! - a fault that outlasts the retries (the fix answered 5xx every time) fails the invocation,
//!   so Lambda retries and the dead-letter queue keep the event; nothing was changed, and the
//!   `failed` alert was attempted;
//! - an alert that cannot be sent (SNS answering 5xx every time) neither blocks nor undoes
//!   the fix, and the invocation succeeds.
//!
//! `notify-eks-finding`, whose only work is its alert, fails instead, so the finding is kept.

mod support;

use std::time::Duration;

use eks_remediator::aws::Aws;
use eks_remediator::catalog::Rule;
use eks_remediator::outcome::Status;
use serde_json::Value;
use support::proxy::{Canned, Fault, Glitch, GlitchKind, Proxy};
use support::{event, trail, World};

const WORKER: &str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// What a remediating function acts on, in the fault matrix.
#[derive(Clone, Copy, Debug)]
enum Subject {
    Ingress,
    Cluster,
    NodeRole,
    Trail,
    Node,
}

const SUBJECTS: [Subject; 5] = [
    Subject::Ingress,
    Subject::Cluster,
    Subject::NodeRole,
    Subject::Trail,
    Subject::Node,
];

impl Subject {
    fn rule(self) -> Rule {
        match self {
            Subject::Ingress => Rule::RevokeOpenIngress,
            Subject::Cluster => Rule::EnforceClusterConfig,
            Subject::NodeRole => Rule::DetachNodePolicy,
            Subject::Trail => Rule::RestoreAuditTrail,
            Subject::Node => Rule::HardenNodes,
        }
    }

    /// Text only the fixing call carries (query `Action`, REST path or JSON target).
    fn fix_call(self) -> &'static str {
        match self {
            Subject::Ingress => "Action=RevokeSecurityGroupIngress",
            Subject::Cluster => "/update-config",
            Subject::NodeRole => "Action=DetachRolePolicy",
            Subject::Trail => "CloudTrail_20131101.StartLogging",
            Subject::Node => "Action=ModifyInstanceMetadataOptions",
        }
    }

    /// The service's own answer when it throttles.
    fn throttled(self) -> Canned {
        match self {
            Subject::Ingress | Subject::Node => xml(503, "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>d2a1b0c9-0000-4000-8000-000000000503</RequestID></Response>"),
            Subject::NodeRole => xml(400, "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>5e3c2b1a-0000-4000-8000-000000000400</RequestId></ErrorResponse>"),
            Subject::Cluster => Canned {
                status: 429,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("x-amzn-ErrorType".into(), "ThrottlingException".into()),
                ],
                body: r#"{"message":"Rate exceeded"}"#.into(),
            },
            Subject::Trail => Canned {
                status: 400,
                headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
                body: r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into(),
            },
        }
    }

    /// Makes the unsafe resource and the event that reports it; returns (event, resource id).
    async fn seed(self, w: &World) -> (Value, String) {
        match self {
            Subject::Ingress => {
                let sg = w.eks_group().await;
                let open = w.allow(&sg, "tcp", Some((3389, 3389)), "0.0.0.0/0").await;
                let e = event(
                    "revoke-open-ingress",
                    "authorize-cli-flat.json",
                    &[
                        ("sg-0123456789abcdef0", &sg),
                        ("sgr-0aaaaaaaaaaaaaaa1", &open),
                    ],
                );
                (e, sg)
            }
            Subject::Cluster => {
                let name = support::cluster(&w.aws, true, "1.34", false).await;
                let e = event(
                    "enforce-cluster-config",
                    "update-endpoint-public.json",
                    &[("example-cluster", &name)],
                );
                (e, name)
            }
            Subject::NodeRole => {
                let name =
                    support::role(&w.aws, "ec2.amazonaws.com", &[WORKER, ADMIN], &[], None).await;
                let e = event(
                    "detach-node-policy",
                    "attach-admin-access.json",
                    &[("example-node-role", &name)],
                );
                (e, name)
            }
            Subject::Node => {
                let tags = [("eks:cluster-name", "prod"), ("eks:nodegroup-name", "ng")];
                let id = support::instance(&w.aws, &tags, "optional", 2).await;
                let e = event(
                    "harden-nodes",
                    "node-running.json",
                    &[("i-0123456789abcdef0", &id)],
                );
                (e, id)
            }
            Subject::Trail => {
                let name = trail(&w.aws, false, &[]).await;
                let e = event(
                    "restore-audit-trail",
                    "stop-logging-by-name.json",
                    &[("example-trail", &name)],
                );
                (e, name)
            }
        }
    }

    /// Whether the unsafe state is still there (read straight from moto).
    async fn still_unsafe(self, w: &World, id: &str) -> bool {
        match self {
            Subject::Ingress => w
                .ingress(id)
                .await
                .iter()
                .any(|(_, _, cidr)| cidr == "0.0.0.0/0"),
            Subject::Cluster => {
                let out = w
                    .aws
                    .eks()
                    .await
                    .describe_cluster()
                    .name(id)
                    .send()
                    .await
                    .unwrap();
                out.cluster()
                    .and_then(|c| c.resources_vpc_config())
                    .is_some_and(|v| v.endpoint_public_access())
            }
            Subject::NodeRole => w
                .aws
                .attached_role_policies(id)
                .await
                .unwrap()
                .iter()
                .any(|a| a == ADMIN),
            Subject::Node => !w
                .aws
                .describe_instance(id)
                .await
                .unwrap()
                .metadata
                .tokens_required(),
            Subject::Trail => {
                let out = w
                    .aws
                    .cloudtrail()
                    .await
                    .get_trail_status()
                    .name(id)
                    .send()
                    .await
                    .unwrap();
                !out.is_logging().unwrap_or(false)
            }
        }
    }
}

fn xml(status: u16, body: &str) -> Canned {
    Canned {
        status,
        headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    }
}

/// A 500 as the query services (EC2, IAM, SNS) send it.
fn internal_error() -> Canned {
    xml(500, "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>We encountered an internal error. Please try again.</Message></Error><RequestId>0e1f2a3b-0000-4000-8000-000000000500</RequestId></ErrorResponse>")
}

/// A 503 as any service sends it when unavailable.
fn unavailable(subject: Subject) -> Canned {
    match subject {
        Subject::Cluster | Subject::Trail => Canned {
            status: 503,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("x-amzn-ErrorType".into(), "ServiceUnavailableException".into()),
            ],
            body: r#"{"__type":"ServiceUnavailableException","message":"Service unavailable"}"#.into(),
        },
        _ => xml(503, "<Response><Errors><Error><Code>Unavailable</Code><Message>The server is overloaded.</Message></Error></Errors><RequestID>0e1f2a3b-0000-4000-8000-000000000503</RequestID></Response>"),
    }
}

fn on(needle: &str, times: usize, answer: Canned) -> Fault {
    Fault {
        path_suffix: String::new(),
        body_contains: Some(needle.to_owned()),
        times,
        answer,
    }
}

/// A world, and a context whose calls go through a fresh proxy.
async fn through_proxy() -> (World, Proxy, Aws) {
    let w = World::new().await;
    let proxy = Proxy::start(support::moto_url()).await;
    let aws = Aws::with_config(support::sdk_config_at(&proxy.url));
    (w, proxy, aws)
}

fn statuses(outcomes: &[eks_remediator::outcome::Outcome]) -> Vec<Status> {
    outcomes.iter().map(|o| o.status).collect()
}

#[tokio::test]
async fn passing_throttles_are_absorbed_by_the_sdks_retries() {
    for subject in SUBJECTS {
        let (w, proxy, aws) = through_proxy().await;
        let (e, id) = subject.seed(&w).await;
        proxy.inject(on(subject.fix_call(), 2, subject.throttled()));
        let made = subject.rule().outcomes(&aws, &w.settings(), e).await;
        let made = made.unwrap_or_else(|err| panic!("{subject:?}: {err}"));
        assert_eq!(statuses(&made), [Status::Remediated], "{subject:?}");
        assert!(!subject.still_unsafe(&w, &id).await, "{subject:?} fixed");
        let tries = proxy
            .requests("")
            .iter()
            .filter(|r| r.head.contains(subject.fix_call()) || r.body.contains(subject.fix_call()))
            .count();
        assert!(tries >= 3, "{subject:?}: {tries} tries of the fix");
        let alerts = w.alerts().await;
        assert_eq!(alerts.len(), 1, "{subject:?}");
        assert_eq!(alerts[0]["status"], "remediated", "{subject:?}");
    }
}

#[tokio::test]
async fn faults_that_outlast_the_retries_fail_the_invocation_and_change_nothing() {
    for subject in SUBJECTS {
        let (w, proxy, aws) = through_proxy().await;
        let (e, id) = subject.seed(&w).await;
        proxy.inject(on(subject.fix_call(), 100, unavailable(subject)));
        let result = subject.rule().outcomes(&aws, &w.settings(), e).await;
        assert!(result.is_err(), "{subject:?}: {result:?}");
        assert!(subject.still_unsafe(&w, &id).await, "{subject:?} unchanged");
        let alerts = w.alerts().await;
        assert_eq!(alerts.len(), 1, "{subject:?}: the failure is alerted");
        assert_eq!(alerts[0]["status"], "failed", "{subject:?}");
        assert!(
            alerts[0]["undo"].is_null(),
            "{subject:?}: nothing to undo: {}",
            alerts[0]
        );
    }
}

#[tokio::test]
async fn an_alert_that_cannot_be_sent_neither_blocks_nor_undoes_the_fix() {
    for subject in SUBJECTS {
        let (w, proxy, aws) = through_proxy().await;
        let (e, id) = subject.seed(&w).await;
        proxy.inject(on("Action=Publish", 100, internal_error()));
        let made = subject.rule().outcomes(&aws, &w.settings(), e).await;
        let made = made.unwrap_or_else(|err| panic!("{subject:?}: {err}"));
        assert_eq!(statuses(&made), [Status::Remediated], "{subject:?}");
        assert!(!subject.still_unsafe(&w, &id).await, "{subject:?} fixed");
        assert!(w.alerts().await.is_empty(), "{subject:?}");
        assert!(proxy
            .requests("")
            .iter()
            .any(|r| r.body.contains("Action=Publish")));
    }
}

#[tokio::test]
async fn a_reset_connection_and_a_slow_answer_are_survived() {
    for subject in SUBJECTS {
        let (w, proxy, aws) = through_proxy().await;
        let (e, id) = subject.seed(&w).await;
        // The function's first request (its describe) loses its connection; the fix is
        // answered 1.5 s late.
        proxy.glitch(Glitch {
            needle: String::new(),
            times: 1,
            kind: GlitchKind::Reset,
        });
        proxy.glitch(Glitch {
            needle: subject.fix_call().into(),
            times: 1,
            kind: GlitchKind::Slow(Duration::from_millis(1500)),
        });
        let made = subject.rule().outcomes(&aws, &w.settings(), e).await;
        let made = made.unwrap_or_else(|err| panic!("{subject:?}: {err}"));
        assert_eq!(statuses(&made), [Status::Remediated], "{subject:?}");
        assert!(!subject.still_unsafe(&w, &id).await, "{subject:?} fixed");
        assert_eq!(w.alerts().await.len(), 1, "{subject:?}");
        assert_eq!(
            proxy.glitches_left(),
            0,
            "{subject:?}: both glitches were met"
        );
    }
}

#[tokio::test]
async fn a_finding_whose_alert_cannot_be_sent_fails_so_that_it_is_kept() {
    let (w, proxy, aws) = through_proxy().await;
    let finding = event("notify-eks-finding", "privileged-container.json", &[]);
    // One 500: the SDK's retry sends it.
    proxy.inject(on("Action=Publish", 1, internal_error()));
    let made = Rule::NotifyEksFinding
        .outcomes(&aws, &w.settings(), finding.clone())
        .await
        .unwrap();
    assert_eq!(statuses(&made), [Status::Alert]);
    assert_eq!(w.alerts().await.len(), 1);
    // SNS down for good: the invocation fails (Lambda retries, then the dead-letter queue).
    proxy.inject(on("Action=Publish", 100, internal_error()));
    let result = Rule::NotifyEksFinding
        .outcomes(&aws, &w.settings(), finding)
        .await;
    assert!(result.is_err(), "{result:?}");
    assert!(w.alerts().await.is_empty());
}
