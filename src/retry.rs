//! Trying an event again later: a delayed SQS message that invokes the same function.
//!
//! EKS runs one update at a time per cluster and refuses a new one while another runs or while
//! the cluster is being created (`ResourceInUseException`, HTTP 409), for ten minutes or more.
//! Waiting inside one invocation would burn Lambda time for nothing, so a function that meets
//! a busy resource sends the original event to `RETRY_QUEUE_URL` with a delay and an attempt
//! counter; the queue's event source mapping invokes the function again with an SQS batch.
//! What earlier attempts already did travels along, so the final alert tells the whole story.
//! When the attempts are used up the event goes to the dead-letter queue for a person.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::Aws;
use crate::error::{AwsError, EventError};
use crate::settings::Settings;

/// What one attempt inherits from the attempts before it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// 1 for the invocation by EventBridge, then one more per retry.
    pub attempt: u32,
    /// Actions earlier attempts made.
    #[serde(default)]
    pub done: Vec<String>,
    /// Commands that undo `done`.
    #[serde(default)]
    pub undo: Vec<String>,
    /// What the first attempt found unsafe: later attempts see less of it, but the alert
    /// reports what happened.
    #[serde(default)]
    pub found: Vec<String>,
}

impl Progress {
    /// The first attempt, with nothing done yet.
    pub fn first() -> Progress {
        Progress {
            attempt: 1,
            ..Progress::default()
        }
    }

    /// Records an action and its undo command.
    pub fn record(&mut self, action: String, undo: Option<String>) {
        self.done.push(action);
        self.undo.extend(undo);
    }
}

/// The body of a retry message: which rule, how far it got, and the original event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryMessage {
    pub rule: String,
    #[serde(flatten)]
    pub progress: Progress,
    /// The EventBridge event, unchanged, so `eks-remediator replay` can read it too.
    pub event: Value,
}

/// What became of an event that could not be finished now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Later {
    /// Queued; it comes back as `attempt` after `delay_seconds`.
    Queued { attempt: u32, delay_seconds: u32 },
    /// The attempts are used up.
    Exhausted,
    /// No retry queue is configured: the invocation must fail so Lambda retries it.
    NoQueue,
}

/// Whether `event` is an SQS batch (the retry queue) rather than an EventBridge event.
pub fn is_batch(event: &Value) -> bool {
    event.get("detail-type").is_none()
        && event
            .get("Records")
            .and_then(Value::as_array)
            .is_some_and(|records| {
                records
                    .iter()
                    .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
            })
}

/// Parses an SQS batch.
pub fn batch(event: Value) -> Result<SqsEvent, EventError> {
    serde_json::from_value(event).map_err(|e| EventError::Detail {
        kind: "SQS batch",
        reason: e.to_string(),
    })
}

/// The retry message in `record`; `Ok(None)` when it is meant for another rule.
pub fn message(record: &SqsMessage, rule: &str) -> Result<Option<RetryMessage>, EventError> {
    let body = record.body.as_deref().ok_or_else(|| EventError::Detail {
        kind: "retry message",
        reason: "the SQS record has no body".to_owned(),
    })?;
    let message: RetryMessage = serde_json::from_str(body).map_err(|e| EventError::Detail {
        kind: "retry message",
        reason: e.to_string(),
    })?;
    if message.progress.attempt < 2 {
        return Err(EventError::Detail {
            kind: "retry message",
            reason: format!("attempt {} is not a retry", message.progress.attempt),
        });
    }
    Ok((message.rule == rule).then_some(message))
}

/// Sends `event` back to the rule's function for another attempt, unless the attempts are
/// used up or there is no queue.
pub async fn later(
    aws: &Aws,
    settings: &Settings,
    rule: &str,
    event: &Value,
    progress: &Progress,
) -> Result<Later, AwsError> {
    if progress.attempt >= settings.retry_max_attempts {
        return Ok(Later::Exhausted);
    }
    let Some(queue) = settings.retry_queue_url.as_deref() else {
        return Ok(Later::NoQueue);
    };
    let next = Progress {
        attempt: progress.attempt + 1,
        ..progress.clone()
    };
    let message = RetryMessage {
        rule: rule.to_owned(),
        progress: next,
        event: event.clone(),
    };
    let body = serde_json::to_string(&message).unwrap_or_default();
    let attempt = message.progress.attempt.to_string();
    aws.send_message(
        queue,
        &body,
        settings.retry_delay_seconds,
        &[("rule", rule), ("attempt", &attempt)],
    )
    .await?;
    Ok(Later::Queued {
        attempt: message.progress.attempt,
        delay_seconds: settings.retry_delay_seconds,
    })
}

/// Keeps `event` in the dead-letter queue with the reason. Returns `false` when no queue is
/// configured, so the caller fails the invocation and Lambda keeps the event instead.
pub async fn dead_letter(
    aws: &Aws,
    settings: &Settings,
    rule: &str,
    event: &Value,
    reason: &str,
) -> Result<bool, AwsError> {
    let Some(queue) = settings.dead_letter_queue_url.as_deref() else {
        return Ok(false);
    };
    aws.send_message(
        queue,
        &event.to_string(),
        0,
        &[("rule", rule), ("reason", reason)],
    )
    .await?;
    Ok(true)
}

/// The `batchItemFailures` answer for the records that failed.
pub fn failures(message_ids: Vec<String>) -> Vec<BatchItemFailure> {
    let mut response = SqsBatchResponse::default();
    response.set_failures(message_ids);
    response.batch_item_failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(body: &str) -> SqsMessage {
        serde_json::from_value(json!({"messageId": "m1", "eventSource": "aws:sqs", "body": body}))
            .unwrap()
    }

    #[test]
    fn batches_are_told_apart_from_eventbridge_events() {
        assert!(is_batch(
            &json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
        ));
        assert!(!is_batch(&json!({"Records": [{"eventSource": "aws:s3"}]})));
        assert!(!is_batch(
            &json!({"detail-type": "x", "Records": [], "source": "aws.eks"})
        ));
        assert!(!is_batch(&json!([1, 2])));
    }

    #[test]
    fn retry_messages_round_trip_and_bad_ones_are_errors() {
        let message = RetryMessage {
            rule: "enforce-cluster-config".into(),
            progress: Progress {
                attempt: 3,
                done: vec!["UpdateClusterConfig x".into()],
                undo: vec!["aws eks ...".into()],
                found: vec!["public API endpoint open to 0.0.0.0/0".into()],
            },
            event: json!({"detail-type": "AWS API Call via CloudTrail"}),
        };
        let body = serde_json::to_string(&message).unwrap();
        assert_eq!(
            super::message(&record(&body), "enforce-cluster-config").unwrap(),
            Some(message.clone())
        );
        assert_eq!(super::message(&record(&body), "other-rule").unwrap(), None);
        for bad in [
            "not json",
            "{}",
            r#"{"rule":"r","attempt":"two","event":{}}"#,
            r#"{"rule":"r","attempt":1,"event":{}}"#,
        ] {
            assert!(super::message(&record(bad), "r").is_err(), "{bad}");
        }
        let no_body: SqsMessage = serde_json::from_value(json!({"messageId": "m"})).unwrap();
        assert!(super::message(&no_body, "r").is_err());
    }

    #[test]
    fn failures_name_the_message_ids() {
        let f = serde_json::to_value(failures(vec!["a".into()])).unwrap();
        assert_eq!(f, json!([{"itemIdentifier": "a"}]));
    }
}
