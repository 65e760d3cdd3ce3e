//! CloudWatch Logs subscription deliveries (`{"awslogs": {"data": <base64 gzip>}}`) from a
//! cluster's `/aws/eks/<cluster>/cluster` log group, read with `aws_lambda_events`'
//! [`LogsEvent`], which decodes and unzips them.
//!
//! Only the envelope is read here; each log event's message, a Kubernetes audit event, is
//! parsed by the rule one at a time, so one bad message cannot fail the batch.

use aws_lambda_events::cloudwatch_logs::{LogEntry, LogsEvent};
use serde::Deserialize;
use serde_json::Value;

use crate::error::EventError;

/// CloudWatch Logs' message type of a delivery of log events.
pub const DATA_MESSAGE: &str = "DATA_MESSAGE";
/// The stream prefix of the Kubernetes API server's audit log, among a cluster's log streams.
pub const AUDIT_STREAM_PREFIX: &str = "kube-apiserver-audit-";

/// What a subscription delivered.
#[derive(Debug)]
pub enum Delivery {
    /// Log events of a cluster's audit log.
    Audit(AuditBatch),
    /// Anything else CloudWatch Logs sends (the control message that checks a new
    /// subscription's destination) or a stream of another log type: nothing to judge.
    Other { why: String },
}

/// A batch of audit log events from one cluster.
#[derive(Debug)]
pub struct AuditBatch {
    /// The account that owns the log group.
    pub account: String,
    pub log_group: String,
    pub log_stream: String,
    pub cluster: String,
    pub entries: Vec<LogEntry>,
}

/// Whether `event` is a CloudWatch Logs subscription delivery rather than an EventBridge event.
pub fn is_delivery(event: &Value) -> bool {
    event.get("awslogs").is_some()
}

/// The cluster whose control-plane log group `log_group` is (`/aws/eks/<cluster>/cluster`).
pub fn cluster_of(log_group: &str) -> Option<&str> {
    log_group
        .strip_prefix("/aws/eks/")?
        .strip_suffix("/cluster")
        .filter(|name| !name.is_empty() && !name.contains('/'))
}

/// Decodes a delivery. Data that is not base64, not gzip or not the documented JSON is an
/// [`EventError`].
pub fn parse(event: &Value) -> Result<Delivery, EventError> {
    // Read through a reference: the library's decoder borrows its keys, which an owned
    // `Value` cannot lend.
    let logs = LogsEvent::deserialize(event).map_err(|e| EventError::Detail {
        kind: "CloudWatch Logs delivery",
        reason: e.to_string(),
    })?;
    let data = logs.aws_logs.data;
    if data.message_type != DATA_MESSAGE {
        return Ok(Delivery::Other {
            why: format!("message type {}", data.message_type),
        });
    }
    let Some(cluster) = cluster_of(&data.log_group) else {
        return Ok(Delivery::Other {
            why: format!("log group {} is not a cluster's", data.log_group),
        });
    };
    if !data.log_stream.starts_with(AUDIT_STREAM_PREFIX) {
        return Ok(Delivery::Other {
            why: format!("log stream {} is not the audit log", data.log_stream),
        });
    }
    Ok(Delivery::Audit(AuditBatch {
        account: data.owner,
        cluster: cluster.to_owned(),
        log_group: data.log_group,
        log_stream: data.log_stream,
        entries: data.log_events,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
        let path = format!(
            "{}/events/audit-workloads/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn a_sample_delivery_decodes_into_its_cluster_and_events() {
        let event = sample("subscription-mixed.json");
        assert!(is_delivery(&event));
        let Delivery::Audit(batch) = parse(&event).unwrap() else {
            panic!("not an audit batch")
        };
        assert_eq!(batch.cluster, "prod");
        assert_eq!(batch.account, "123456789012");
        assert_eq!(batch.entries.len(), 4);
        assert!(batch.entries[0].message.contains("\"auditID\""));
    }

    #[test]
    fn the_control_message_is_nothing_to_judge() {
        let Delivery::Other { why } = parse(&sample("subscription-control-message.json")).unwrap()
        else {
            panic!("judged a control message")
        };
        assert!(why.contains("CONTROL_MESSAGE"), "{why}");
    }

    #[test]
    fn bad_data_is_an_error_and_only_cluster_log_groups_count() {
        assert!(parse(&json!({"awslogs": {"data": "not base64!"}})).is_err());
        assert!(parse(&json!({"awslogs": {"data": "aGVsbG8="}})).is_err());
        assert!(parse(&json!({"awslogs": {}})).is_err());
        assert!(!is_delivery(&json!({"detail-type": "x"})));
        assert_eq!(cluster_of("/aws/eks/prod/cluster"), Some("prod"));
        assert_eq!(cluster_of("/aws/eks//cluster"), None);
        assert_eq!(cluster_of("/aws/eks/a/b/cluster"), None);
        assert_eq!(cluster_of("/aws/lambda/prod"), None);
    }
}
