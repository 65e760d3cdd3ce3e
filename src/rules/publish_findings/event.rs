//! What `publish-findings` receives: SNS notifications of the alert topic, each carrying the
//! alert document of DESIGN.md ("Alert", the `default` entry) as its `Message`.
//!
//! The Lambda event is read with our own lenient types rather than `aws_lambda_events`' SNS
//! event, which requires every field SNS signs (`Signature`, `SigningCertUrl`, ...) that this
//! function never reads. A record that is not an alert document is an error of its own, so
//! one bad message never hides the others, and nothing is imported for it.

use serde::Deserialize;
use serde_json::Value;

use crate::error::EventError;
use crate::lenient;

/// The alert document, as `alert::document` writes it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct AlertDoc {
    pub rule: String,
    pub status: String,
    pub account: String,
    pub region: String,
    pub resource: ResourceDoc,
    pub finding: String,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub actor: Option<ActorDoc>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub event: Option<EventDoc>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub actions: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub undo: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub note: Option<String>,
}

/// The resource an alert is about.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ResourceDoc {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub arn: Option<String>,
}

/// Who caused the event.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ActorDoc {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub arn: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub username: Option<String>,
}

/// The event behind the alert.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct EventDoc {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub time: Option<String>,
}

/// One SNS record of the Lambda event: its message id, and the alert document or why it is
/// not one.
#[derive(Debug)]
pub struct Notification {
    pub message_id: String,
    pub alert: Result<AlertDoc, EventError>,
}

#[derive(Deserialize)]
struct SnsEvent {
    #[serde(rename = "Records", deserialize_with = "lenient::list")]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "Sns", default, deserialize_with = "lenient::opt_object")]
    sns: Option<Message>,
}

#[derive(Default, Deserialize)]
struct Message {
    #[serde(
        rename = "MessageId",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    message_id: Option<String>,
    #[serde(rename = "Message", default, deserialize_with = "lenient::opt_string")]
    message: Option<String>,
}

/// Whether `event` is an SNS notification event (`Records[].Sns`), which reaches this function
/// by subscription rather than through EventBridge.
pub fn is_notification(event: &Value) -> bool {
    event
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .is_some_and(|r| r.get("Sns").is_some())
}

/// Reads the notifications of an SNS Lambda event. An event that is not one is an error.
pub fn notifications(event: Value) -> Result<Vec<Notification>, EventError> {
    if !is_notification(&event) {
        return Err(EventError::Message {
            kind: "SNS notification",
            reason: "no Records[].Sns".to_owned(),
        });
    }
    let parsed: SnsEvent = serde_json::from_value(event).map_err(|e| EventError::Message {
        kind: "SNS notification",
        reason: e.to_string(),
    })?;
    Ok(parsed
        .records
        .into_iter()
        .map(|record| {
            let sns = record.sns.unwrap_or_default();
            Notification {
                message_id: sns.message_id.unwrap_or_default(),
                alert: alert_doc(sns.message.as_deref()),
            }
        })
        .collect())
}

/// The alert document of one message: JSON with at least rule, status, account, region,
/// resource and finding, all non-empty.
pub fn alert_doc(message: Option<&str>) -> Result<AlertDoc, EventError> {
    let bad = |reason: String| EventError::Message {
        kind: "alert document",
        reason,
    };
    let message = message.ok_or_else(|| bad("the notification has no Message".to_owned()))?;
    let doc: AlertDoc = serde_json::from_str(message).map_err(|e| bad(e.to_string()))?;
    for (field, value) in [
        ("rule", &doc.rule),
        ("status", &doc.status),
        ("account", &doc.account),
        ("region", &doc.region),
        ("resource.type", &doc.resource.kind),
        ("resource.id", &doc.resource.id),
        ("finding", &doc.finding),
    ] {
        if value.trim().is_empty() {
            return Err(bad(format!("{field} is empty")));
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sns(messages: &[&str]) -> Value {
        json!({"Records": messages.iter().enumerate().map(|(i, m)| json!({
            "EventSource": "aws:sns", "EventVersion": "1.0",
            "Sns": {"Type": "Notification", "MessageId": format!("m-{i}"), "Message": m}
        })).collect::<Vec<_>>()})
    }

    const DOC: &str = r#"{"rule":"revoke-open-ingress","status":"remediated","account":"123456789012",
        "region":"us-east-1","resource":{"type":"security-group","id":"sg-1","arn":null},
        "finding":"tcp/22 open to 0.0.0.0/0","actor":{"arn":"arn:aws:iam::123456789012:user/a","type":"IAMUser"},
        "event":{"source":"aws.ec2","name":"AuthorizeSecurityGroupIngress","id":"e-1","time":"2026-12-01T10:00:00Z"},
        "actions":["RevokeSecurityGroupIngress sgr-1"],"undo":"aws ec2 authorize ...","note":null}"#;

    #[test]
    fn each_record_is_read_on_its_own_and_a_bad_one_says_why() {
        let read = notifications(sns(&[DOC, "not json", r#"{"rule":"x"}"#])).unwrap();
        assert_eq!(read.len(), 3);
        let doc = read[0].alert.as_ref().unwrap();
        assert_eq!(doc.resource.id, "sg-1");
        assert_eq!(doc.actions, ["RevokeSecurityGroupIngress sgr-1"]);
        assert_eq!(read[0].message_id, "m-0");
        assert!(read[1].alert.is_err());
        assert!(read[2].alert.is_err());
    }

    #[test]
    fn an_event_that_is_no_notification_is_an_error() {
        assert!(notifications(json!({"detail-type": "Scheduled Event"})).is_err());
        assert!(notifications(json!({"Records": []})).is_err());
        assert!(!is_notification(&json!([])));
    }

    #[test]
    fn empty_required_fields_are_refused() {
        let empty = DOC.replace("\"sg-1\"", "\"\"");
        assert!(alert_doc(Some(&empty)).is_err());
        assert!(alert_doc(None).is_err());
    }
}
