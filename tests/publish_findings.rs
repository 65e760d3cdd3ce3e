//! Integration tests of `publish-findings`: alerts rendered as the rules render them, handed
//! over as the alert topic's SNS notifications, imported into moto's Security Hub and read
//! back with `GetFindings`; chat notifications read back through an SQS queue subscribed to
//! the chat topic with raw delivery, as Amazon Q Developer would get them.
//!
//! moto's Security Hub keeps findings per account and region, ignores `GetFindings` filters
//! and imports without Security Hub being enabled (AWS refuses that), so each test has a
//! region of its own and reads every finding there.

mod support;

use eks_remediator::alert;
use eks_remediator::aws::Aws;
use eks_remediator::outcome::{ActorRef, EventRef, Origin, Outcome, ResourceRef, Status};
use eks_remediator::rules::publish_findings::{handle, RULE as RULE_INFO};
use eks_remediator::settings::Settings;
use serde_json::{json, Value};
use support::proxy::{ok_json, Fault, Proxy};
use support::{World, ACCOUNT};

/// An outcome of revoke-open-ingress on group `sg`, with `status`.
fn outcome(region: &str, sg: &str, status: Status) -> Outcome {
    Outcome {
        rule: "revoke-open-ingress",
        status,
        resource: ResourceRef {
            kind: "security-group",
            id: sg.to_owned(),
            arn: Some(format!(
                "arn:aws:ec2:{region}:{ACCOUNT}:security-group/{sg}"
            )),
        },
        finding: "tcp/22 open to 0.0.0.0/0".to_owned(),
        actions: vec!["RevokeSecurityGroupIngress sgr-0aaaaaaaaaaaaaaa1".to_owned()],
        undo: Some("aws ec2 authorize-security-group-ingress --group-id sg-1 ...".to_owned()),
        note: None,
        origin: Origin {
            account: ACCOUNT.to_owned(),
            region: region.to_owned(),
            actor: Some(ActorRef {
                arn: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
                kind: "IAMUser".to_owned(),
                ..ActorRef::default()
            }),
            event: EventRef {
                source: "aws.ec2".to_owned(),
                name: "AuthorizeSecurityGroupIngress".to_owned(),
                id: "e-1".to_owned(),
                time: "2026-12-01T10:00:00Z".to_owned(),
            },
        },
    }
}

/// The SNS Lambda event of one alert, with the `default` document the topic's Lambda
/// subscription gets (`MessageStructure=json`).
fn notification(outcome: &Outcome) -> Value {
    let rendered = alert::render(outcome);
    let bodies: Value = serde_json::from_str(&rendered.message).unwrap();
    json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
        "Sns": {"Type": "Notification", "MessageId": "m-1", "Subject": rendered.subject,
            "Message": bodies["default"], "Timestamp": "2026-12-01T10:00:01.000Z"}}]})
}

/// Runs a test on a thread with an 8 MiB stack, as much as a Lambda function's main thread
/// has: Security Hub's finding types are deep, and the frames that read them in a debug build
/// outgrow the 2 MiB of a test thread (release builds' frames are a fraction of that).
fn on_big_stack<F: std::future::Future<Output = ()>>(test: impl FnOnce() -> F + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(test())
        })
        .expect("a test thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

fn settings() -> Settings {
    Settings {
        security_hub: true,
        ..Settings::default()
    }
}

async fn run(aws: &Aws, settings: &Settings, event: Value) {
    support::granted(&RULE_INFO, handle(aws, settings, event))
        .await
        .expect("handler succeeds");
}

/// Every finding of the world's account and region.
async fn findings(aws: &Aws) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
    aws.securityhub()
        .await
        .get_findings()
        .send()
        .await
        .unwrap()
        .findings()
        .to_vec()
}

/// A finding's `Compliance.Status` and `Workflow.Status`.
fn states(f: &aws_sdk_securityhub::types::AwsSecurityFinding) -> (Option<&str>, Option<&str>) {
    (
        f.compliance().and_then(|c| c.status()).map(|s| s.as_str()),
        f.workflow().and_then(|w| w.status()).map(|s| s.as_str()),
    )
}

async fn world(region: &str) -> World {
    World::in_account(support::sdk_config_in(region), region, ACCOUNT).await
}

#[test]
fn a_remediation_becomes_one_resolved_finding_in_the_finding_format() {
    on_big_stack(|| async {
        let region = "eu-north-1";
        let w = world(region).await;
        run(
            &w.aws,
            &settings(),
            notification(&outcome(region, "sg-1", Status::Remediated)),
        )
        .await;
        let found = findings(&w.aws).await;
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(
            f.id(),
            Some(
                format!(
                    "eks-remediator/revoke-open-ingress/{region}/{ACCOUNT}/security-group/sg-1"
                )
                .as_str()
            )
        );
        assert_eq!(
            f.product_arn(),
            Some(
                format!("arn:aws:securityhub:{region}:{ACCOUNT}:product/{ACCOUNT}/default")
                    .as_str()
            )
        );
        assert_eq!(f.generator_id(), Some("eks-remediator/revoke-open-ingress"));
        assert_eq!(f.aws_account_id(), Some(ACCOUNT));
        assert_eq!(f.schema_version(), Some("2018-10-08"));
        assert_eq!(
            f.severity().and_then(|s| s.label()).map(|l| l.as_str()),
            Some("HIGH")
        );
        assert_eq!(states(f), (Some("PASSED"), Some("RESOLVED")));
        let resource = &f.resources()[0];
        assert_eq!(resource.r#type(), Some("AwsEc2SecurityGroup"));
        assert_eq!(
            resource.id(),
            Some(format!("arn:aws:ec2:{region}:{ACCOUNT}:security-group/sg-1").as_str())
        );
        assert!(f
            .remediation()
            .and_then(|r| r.recommendation())
            .and_then(|r| r.text())
            .is_some_and(
                |t| t.starts_with("Fixed. To undo: aws ec2 authorize-security-group-ingress")
            ));
        assert_eq!(
            f.title(),
            Some("revoke-open-ingress: tcp/22 open to 0.0.0.0/0")
        );
    })
}

#[test]
fn a_repeat_updates_the_one_finding_and_its_fix_resolves_it() {
    on_big_stack(|| async {
        let region = "ap-south-1";
        let w = world(region).await;
        let settings = settings();
        for _ in 0..2 {
            run(
                &w.aws,
                &settings,
                notification(&outcome(region, "sg-2", Status::WouldRemediate)),
            )
            .await;
        }
        let found = findings(&w.aws).await;
        assert_eq!(found.len(), 1, "one finding for one rule and resource");
        assert_eq!(states(&found[0]), (Some("FAILED"), Some("NEW")));
        run(
            &w.aws,
            &settings,
            notification(&outcome(region, "sg-2", Status::Resolved)),
        )
        .await;
        let found = findings(&w.aws).await;
        assert_eq!(found.len(), 1);
        // moto applies the re-import's Workflow; AWS ignores Workflow on an existing finding and
        // resolves it because Compliance.Status turned PASSED.
        assert_eq!(states(&found[0]), (Some("PASSED"), Some("RESOLVED")));
        run(
            &w.aws,
            &settings,
            notification(&outcome(region, "sg-3", Status::Alert)),
        )
        .await;
        assert_eq!(
            findings(&w.aws).await.len(),
            2,
            "another resource, another finding"
        );
    })
}

#[test]
fn a_malformed_notification_is_a_clear_error_and_imports_nothing() {
    on_big_stack(|| async {
        let region = "sa-east-1";
        let w = world(region).await;
        let mut event = notification(&outcome(region, "sg-4", Status::Remediated));
        event["Records"][0]["Sns"]["Message"] = "this is not an alert".into();
        let error = handle(&w.aws, &settings(), event).await.unwrap_err();
        assert_eq!(error.error_type(), "EventError");
        assert!(error.to_string().contains("alert document"), "{error}");
        assert!(findings(&w.aws).await.is_empty());
        let not_sns =
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert!(handle(&w.aws, &settings(), not_sns).await.is_err());
    })
}

#[test]
fn without_security_hub_or_chat_nothing_is_called() {
    on_big_stack(|| async {
        let region = "ca-central-1";
        let w = world(region).await;
        let (result, calls) = eks_remediator::aws::calls::record_calls(handle(
            &w.aws,
            &Settings::default(),
            notification(&outcome(region, "sg-5", Status::Remediated)),
        ))
        .await;
        assert!(result.is_ok());
        assert!(calls.is_empty(), "{calls:?}");
        assert!(findings(&w.aws).await.is_empty());
    })
}

#[test]
fn a_finding_security_hub_refuses_fails_the_invocation() {
    on_big_stack(|| async {
        let region = "eu-south-1";
        let w = world(region).await;
        let proxy = Proxy::start(support::moto_url()).await;
        let aws = Aws::with_config(support::sdk_config_via(&proxy.url, region));
        proxy.inject(Fault {
            path_suffix: "/findings/import".into(),
            body_contains: None,
            times: 1,
            answer: ok_json(
                json!({"FailedCount": 1, "SuccessCount": 0, "FailedFindings": [
                {"Id": "eks-remediator/x", "ErrorCode": "InvalidInput",
                 "ErrorMessage": "Finding does not adhere to the AWS Security Finding Format"}]}),
            ),
        });
        let error = handle(
            &aws,
            &settings(),
            notification(&outcome(region, "sg-6", Status::Alert)),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type(), "FindingRefused");
        assert!(error.to_string().contains("InvalidInput"), "{error}");
        assert!(findings(&w.aws).await.is_empty());
    })
}

#[test]
fn chat_notifications_follow_amazon_q_developers_custom_format() {
    on_big_stack(|| async {
        let region = "eu-west-2";
        let w = world(region).await;
        let chat = w
            .aws
            .sns()
            .await
            .create_topic()
            .name(support::unique("chat"))
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_owned();
        let queue_url = subscribed_queue(&w, region, &chat, ("RawMessageDelivery", "true")).await;
        let settings = Settings {
            chat_topic_arn: Some(chat.clone()),
            ..Settings::default()
        };
        run(
            &w.aws,
            &settings,
            notification(&outcome(region, "sg-7", Status::Remediated)),
        )
        .await;
        let received = w
            .sqs
            .receive_message()
            .queue_url(&queue_url)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        let body = received.messages()[0].body().unwrap();
        let n: Value = serde_json::from_str(body).unwrap();
        assert_eq!(n["version"], "1.0");
        assert_eq!(n["source"], "custom");
        assert_eq!(n["content"]["textType"], "client-markdown");
        assert!(n["content"]["title"]
            .as_str()
            .unwrap()
            .contains("remediated security-group sg-7"));
        assert!(n["content"]["description"]
            .as_str()
            .unwrap()
            .contains("tcp/22 open to 0.0.0.0/0"));
        assert!(n["content"]["nextSteps"][0]
            .as_str()
            .unwrap()
            .starts_with("To undo: `aws ec2 authorize-security-group-ingress"));
        assert_eq!(
            n["metadata"]["threadId"],
            format!("eks-remediator/revoke-open-ingress/{region}/{ACCOUNT}/security-group/sg-7")
        );
        assert_eq!(
            n["metadata"]["eventType"],
            "eks-remediator/revoke-open-ingress"
        );
        assert_eq!(n["metadata"]["additionalContext"]["status"], "remediated");
        // No Security Hub without SECURITY_HUB=true.
        assert!(findings(&w.aws).await.is_empty());
    })
}

#[test]
fn the_sample_notification_is_imported() {
    on_big_stack(|| async {
        let region = "us-west-1";
        let w = world(region).await;
        let text = std::fs::read_to_string(format!(
            "{}/events/publish-findings/notification-remediated.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .replace("us-east-1", region);
        run(&w.aws, &settings(), serde_json::from_str(&text).unwrap()).await;
        let found = findings(&w.aws).await;
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].resources()[0].id(),
            Some(
                format!("arn:aws:ec2:{region}:{ACCOUNT}:security-group/sg-0123456789abcdef0")
                    .as_str()
            )
        );
    })
}

/// An SQS queue subscribed to `topic` with one subscription attribute (a filter policy, as
/// the template's e-mail subscription has, or raw delivery, as Amazon Q Developer gets it);
/// returns its URL.
async fn subscribed_queue(
    w: &World,
    region: &str,
    topic: &str,
    (attribute, value): (&str, &str),
) -> String {
    let name = support::unique("subscriber");
    let url = w
        .sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    w.aws
        .sns()
        .await
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{region}:{ACCOUNT}:{name}"))
        .attributes(attribute, value)
        .send()
        .await
        .unwrap();
    url
}

async fn received(w: &World, queue_url: &str) -> Vec<Value> {
    let out = w
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[test]
fn resolved_outcomes_reach_security_hub_and_not_the_mail_subscription() {
    on_big_stack(|| async {
        let region = "eu-central-2";
        let w = world(region).await;
        // The template's e-mail filter policy: no `resolved`, and messages without the attribute
        // (CloudWatch alarms) still arrive.
        let mail = subscribed_queue(
            &w,
            region,
            &w.topic_arn,
            (
                "FilterPolicy",
                r#"{"$or": [{"status": [{"exists": false}]}, {"status": [{"anything-but": ["resolved"]}]}]}"#,
            ),
        )
        .await;
        let reporting = Settings {
            report_resolved: true,
            ..w.settings()
        };
        let fixed = outcome(region, "sg-8", Status::Remediated);
        let gone = outcome(region, "sg-8", Status::Resolved);
        eks_remediator::runtime::deliver(&w.aws, &w.settings(), std::slice::from_ref(&gone)).await;
        assert!(
            w.alerts().await.is_empty(),
            "without REPORT_RESOLVED nothing is published"
        );
        eks_remediator::runtime::deliver(&w.aws, &reporting, &[fixed, gone]).await;
        let to_mail = received(&w, &mail).await;
        assert_eq!(to_mail.len(), 1, "{to_mail:?}");
        assert_eq!(
            to_mail[0]["MessageAttributes"]["status"]["Value"],
            "remediated"
        );
        let all = w.alerts().await;
        let statuses: Vec<&str> = all.iter().map(|a| a["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["remediated", "resolved"]);
        // A CloudWatch alarm carries no status attribute, and still reaches people.
        w.aws
            .publish_message(&w.topic_arn, "ALARM: eks-remediator errors")
            .await
            .unwrap();
        let alarm = received(&w, &mail).await;
        assert_eq!(alarm.len(), 1);
        assert_eq!(alarm[0]["Message"], "ALARM: eks-remediator errors");
        // The resolved alert, as publish-findings gets it, closes the finding.
        run(
            &w.aws,
            &settings(),
            notification(&outcome(region, "sg-8", Status::Alert)),
        )
        .await;
        run(
            &w.aws,
            &settings(),
            notification(&outcome(region, "sg-8", Status::Resolved)),
        )
        .await;
        let found = findings(&w.aws).await;
        assert_eq!(found.len(), 1);
        assert_eq!(states(&found[0]).1, Some("RESOLVED"));
    })
}

#[test]
fn alerts_also_reach_a_central_topic_in_another_account() {
    on_big_stack(|| async {
        let region = "ap-northeast-2";
        let central_account = "555566667777";
        let (_, central_config) = support::in_account(region, central_account).await;
        let central = World::in_account(central_config, region, central_account).await;
        let w = world(region).await;
        let settings = Settings {
            central_alert_topic_arn: Some(central.topic_arn.clone()),
            ..w.settings()
        };
        eks_remediator::runtime::deliver(
            &w.aws,
            &settings,
            &[outcome(region, "sg-9", Status::Remediated)],
        )
        .await;
        let own = w.alerts().await;
        let there = central.alerts().await;
        assert_eq!(own.len(), 1);
        // moto publishes across accounts without checking the central topic's policy; AWS needs
        // the policy the README shows (publish allowed to the organisation, aws:PrincipalOrgID).
        assert_eq!(there.len(), 1, "the central account's topic got the alert");
        assert_eq!(there[0]["account"], ACCOUNT);
        assert_eq!(there[0]["resource"]["id"], "sg-9");
        // A central topic that refuses (here: one that does not exist) loses nothing locally.
        let broken = Settings {
            central_alert_topic_arn: Some(format!("arn:aws:sns:{region}:{central_account}:gone")),
            ..w.settings()
        };
        let result = eks_remediator::runtime::try_alert(
            &w.aws,
            &broken,
            &outcome(region, "sg-10", Status::Alert),
        )
        .await;
        assert!(result.is_ok());
        assert_eq!(w.alerts().await.len(), 1);
    })
}
