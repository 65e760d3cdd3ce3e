//! One alert document as a custom notification of Amazon Q Developer in chat applications
//! (formerly AWS Chatbot), which posts it to the Slack or Microsoft Teams channels subscribed
//! to the chat topic. Pure.
//!
//! The shape is the one the Q Developer administrator guide documents ("Custom notifications
//! using Amazon Q Developer in chat applications"): `version` `1.0` and `source` `custom` are
//! required, a payload that does not follow the schema is dropped without a word, so every
//! field here is one the guide names. `threadId` is the Security Hub finding id, so every
//! outcome about one resource lands in one thread.

use serde_json::{json, Value};

use super::asff;
use super::event::AlertDoc;

/// The notification for `doc`.
pub fn notification(doc: &AlertDoc) -> Value {
    let mark = match doc.status.as_str() {
        "remediated" => ":white_check_mark:",
        "resolved" => ":white_check_mark:",
        "failed" => ":rotating_light:",
        "exempt" => ":information_source:",
        _ => ":warning:",
    };
    let title = format!(
        "{mark} {} {} {}: {}",
        doc.status, doc.resource.kind, doc.resource.id, doc.rule
    );
    let mut description = vec![format!("*{}*", doc.finding)];
    if !doc.actions.is_empty() {
        let verb = if doc.status == "remediated" {
            "Done"
        } else {
            "Would do"
        };
        description.push(format!("{verb}: `{}`", doc.actions.join("`, `")));
    }
    if let Some(actor) = doc.actor.as_ref().and_then(|a| a.arn.as_deref()) {
        description.push(format!("Who: {actor}"));
    }
    description.push(format!("Account {} in {}", doc.account, doc.region));
    let mut next_steps = Vec::new();
    if doc.status == "would-remediate" && !doc.actions.is_empty() {
        next_steps.push(format!(
            "The fix, not made (alert-only mode): `{}`",
            doc.actions.join("`, `")
        ));
    }
    if let Some(undo) = &doc.undo {
        next_steps.push(format!("To undo: `{undo}`"));
    }
    if let Some(note) = doc.note.as_deref().filter(|n| !n.trim().is_empty()) {
        next_steps.push(note.to_owned());
    }
    let mut related = vec![doc.resource.id.clone()];
    related.extend(doc.resource.arn.clone());
    json!({
        "version": "1.0",
        "source": "custom",
        // One outcome: the finding, its status and the event (a `failed` attempt and the
        // `remediated` retry of one event are two notifications).
        "id": format!(
            "{}/{}/{}",
            asff::finding_id(doc),
            doc.status,
            doc.event
                .as_ref()
                .and_then(|e| e.id.as_deref())
                .unwrap_or_default()
        ),
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": description.join("\n"),
            "nextSteps": next_steps,
            "keywords": [doc.rule, doc.status, asff::severity(doc)],
        },
        "metadata": {
            "threadId": asff::finding_id(doc),
            "summary": format!("eks-remediator {}: {} {}", doc.status, doc.resource.kind, doc.resource.id),
            "eventType": format!("eks-remediator/{}", doc.rule),
            "relatedResources": related,
            "additionalContext": {
                "account": doc.account,
                "region": doc.region,
                "rule": doc.rule,
                "status": doc.status,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::publish_findings::event::ResourceDoc;

    #[test]
    fn the_notification_follows_the_documented_schema() {
        let doc = AlertDoc {
            rule: "revoke-open-ingress".into(),
            status: "remediated".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            resource: ResourceDoc {
                kind: "security-group".into(),
                id: "sg-1".into(),
                arn: Some("arn:aws:ec2:us-east-1:123456789012:security-group/sg-1".into()),
            },
            finding: "tcp/22 open to 0.0.0.0/0".into(),
            actions: vec!["RevokeSecurityGroupIngress sgr-1".into()],
            undo: Some("aws ec2 authorize-security-group-ingress ...".into()),
            ..AlertDoc::default()
        };
        let n = notification(&doc);
        assert_eq!(n["version"], "1.0");
        assert_eq!(n["source"], "custom");
        assert_eq!(n["content"]["textType"], "client-markdown");
        assert!(n["content"]["title"]
            .as_str()
            .unwrap()
            .starts_with(":white_check_mark: remediated security-group sg-1"));
        assert_eq!(
            n["content"]["nextSteps"][0],
            "To undo: `aws ec2 authorize-security-group-ingress ...`"
        );
        assert_eq!(n["metadata"]["threadId"], asff::finding_id(&doc));
        assert_eq!(
            n["metadata"]["relatedResources"][1],
            "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1"
        );
        let allowed_content = ["textType", "title", "description", "nextSteps", "keywords"];
        for key in n["content"].as_object().unwrap().keys() {
            assert!(allowed_content.contains(&key.as_str()), "{key}");
        }
        let allowed_metadata = [
            "threadId",
            "summary",
            "eventType",
            "relatedResources",
            "additionalContext",
        ];
        for key in n["metadata"].as_object().unwrap().keys() {
            assert!(allowed_metadata.contains(&key.as_str()), "{key}");
        }
    }

    #[test]
    fn the_sample_chat_notification_is_what_the_sample_alert_becomes() {
        let root = env!("CARGO_MANIFEST_DIR");
        let read = |path: &str| -> Value {
            let text = std::fs::read_to_string(format!("{root}/events/publish-findings/{path}"))
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let sns = read("notification-remediated.json");
        let doc = crate::rules::publish_findings::event::alert_doc(
            sns["Records"][0]["Sns"]["Message"].as_str(),
        )
        .unwrap();
        assert_eq!(
            notification(&doc),
            read("chat/notification-remediated.json")
        );
    }
}
