//! CloudWatch Logs subscription deliveries (`{"awslogs": {"data": <base64 gzip>}}`) from a
//! cluster's `/aws/eks/<cluster>/cluster` log group, read as a stream.
//!
//! `aws_lambda_events`' `LogsEvent` decodes a delivery into owned messages through
//! `serde_json::from_reader` over the gzip stream. For the largest delivery, 1 MiB of gzip
//! holding about 15 MB of audit events, that took 137 ms of CPU where the unzipping alone
//! takes 17 ms (the reader is read a byte at a time), and all the messages were held at once.
//! So this piece is replaced: the data is unzipped into one buffer, parsed from the slice, and
//! each log event's message is handed to the caller as it is read, borrowed from the buffer or
//! serde's scratch space; only what the caller keeps of it stays in memory. The fields are
//! those of the documented shape (`messageType`, `owner`, `logGroup`, `logStream`,
//! `logEvents[].id/timestamp/message`), as `LogsEvent` reads them.

use std::fmt;
use std::io::Read;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;
use serde_json::Value;

use crate::error::EventError;

/// CloudWatch Logs' message type of a delivery of log events.
pub const DATA_MESSAGE: &str = "DATA_MESSAGE";
/// The stream prefix of the Kubernetes API server's audit log, among a cluster's log streams.
pub const AUDIT_STREAM_PREFIX: &str = "kube-apiserver-audit-";

/// What a subscription delivered, with what the caller made of each log event.
#[derive(Debug)]
pub enum Delivery<T> {
    /// Log events of a cluster's audit log.
    Audit(AuditBatch<T>),
    /// Anything else CloudWatch Logs sends (the control message that checks a new
    /// subscription's destination) or a stream of another log type: nothing to judge.
    Other { why: String },
}

/// A batch of audit log events from one cluster, each as the caller read it.
#[derive(Debug)]
pub struct AuditBatch<T> {
    /// The account that owns the log group.
    pub account: String,
    pub log_group: String,
    pub log_stream: String,
    pub cluster: String,
    /// How many log events the delivery held.
    pub events: usize,
    pub read: Vec<T>,
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

fn malformed(reason: impl fmt::Display) -> EventError {
    EventError::Detail {
        kind: "CloudWatch Logs delivery",
        reason: reason.to_string(),
    }
}

/// Decodes a delivery and hands each log event's message to `each`, in order; what `each`
/// returns (`Some`) is kept. Data that is not base64, not gzip or not the documented JSON is an
/// [`EventError`]. The messages of a delivery that is not a cluster's audit log are read
/// too (a control message has one), and dropped.
pub fn read<T>(
    event: &Value,
    each: impl FnMut(&str) -> Option<T>,
) -> Result<Delivery<T>, EventError> {
    let data = event
        .get("awslogs")
        .and_then(|logs| logs.get("data"))
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("awslogs.data is missing or not a string"))?;
    let zipped = aws_smithy_types::base64::decode(data).map_err(malformed)?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(zipped.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| malformed(format!("data is not gzip: {e}")))?;
    drop(zipped);
    let mut de = serde_json::Deserializer::from_slice(&json);
    let doc = de
        .deserialize_map(DocumentVisitor { each })
        .and_then(|doc| de.end().map(|()| doc))
        .map_err(malformed)?;
    if doc.message_type != DATA_MESSAGE {
        return Ok(Delivery::Other {
            why: format!("message type {}", doc.message_type),
        });
    }
    let Some(cluster) = cluster_of(&doc.log_group) else {
        return Ok(Delivery::Other {
            why: format!("log group {} is not a cluster's", doc.log_group),
        });
    };
    if !doc.log_stream.starts_with(AUDIT_STREAM_PREFIX) {
        return Ok(Delivery::Other {
            why: format!("log stream {} is not the audit log", doc.log_stream),
        });
    }
    Ok(Delivery::Audit(AuditBatch {
        account: doc.owner,
        cluster: cluster.to_owned(),
        log_group: doc.log_group,
        log_stream: doc.log_stream,
        events: doc.events,
        read: doc.read,
    }))
}

/// The delivery's document, its log events already read.
struct Document<T> {
    message_type: String,
    owner: String,
    log_group: String,
    log_stream: String,
    events: usize,
    read: Vec<T>,
}

struct DocumentVisitor<F> {
    each: F,
}

impl<'de, T, F: FnMut(&str) -> Option<T>> Visitor<'de> for DocumentVisitor<F> {
    type Value = Document<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudWatch Logs subscription document")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Document<T>, A::Error> {
        let mut doc = Document {
            message_type: String::new(),
            owner: String::new(),
            log_group: String::new(),
            log_stream: String::new(),
            events: 0,
            read: Vec::new(),
        };
        let mut saw_events = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "messageType" => doc.message_type = map.next_value()?,
                "owner" => doc.owner = map.next_value()?,
                "logGroup" => doc.log_group = map.next_value()?,
                "logStream" => doc.log_stream = map.next_value()?,
                "logEvents" => {
                    saw_events = true;
                    let (events, read) = map.next_value_seed(EventsSeed {
                        each: &mut self.each,
                        _kept: PhantomData,
                    })?;
                    doc.events += events;
                    doc.read.extend(read);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if doc.message_type.is_empty() || !saw_events {
            return Err(serde::de::Error::missing_field(if saw_events {
                "messageType"
            } else {
                "logEvents"
            }));
        }
        Ok(doc)
    }
}

/// `logEvents`: how many, and what `each` made of each message.
struct EventsSeed<'f, F, T> {
    each: &'f mut F,
    _kept: PhantomData<T>,
}

impl<'de, T, F: FnMut(&str) -> Option<T>> DeserializeSeed<'de> for EventsSeed<'_, F, T> {
    type Value = (usize, Vec<T>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T, F: FnMut(&str) -> Option<T>> Visitor<'de> for EventsSeed<'_, F, T> {
    type Value = (usize, Vec<T>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of log events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut read = Vec::new();
        let mut count = 0;
        while let Some(kept) = seq.next_element_seed(EntrySeed {
            each: &mut *self.each,
            _kept: PhantomData,
        })? {
            count += 1;
            read.extend(kept);
        }
        Ok((count, read))
    }
}

/// One log event: its message goes to `each`; `id` and `timestamp` are not needed.
struct EntrySeed<'f, F, T> {
    each: &'f mut F,
    _kept: PhantomData<T>,
}

impl<'de, T, F: FnMut(&str) -> Option<T>> DeserializeSeed<'de> for EntrySeed<'_, F, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T, F: FnMut(&str) -> Option<T>> Visitor<'de> for EntrySeed<'_, F, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a log event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let (mut kept, mut seen) = (None, false);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "message" && !seen {
                seen = true;
                kept = map.next_value_seed(MessageSeed {
                    each: &mut *self.each,
                    _kept: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(kept)
    }
}

/// A message, handed to `each` where serde has it: no copy of its text is made.
struct MessageSeed<'f, F, T> {
    each: &'f mut F,
    _kept: PhantomData<T>,
}

impl<'de, T, F: FnMut(&str) -> Option<T>> DeserializeSeed<'de> for MessageSeed<'_, F, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<T, F: FnMut(&str) -> Option<T>> Visitor<'_> for MessageSeed<'_, F, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a log message")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Option<T>, E> {
        Ok((self.each)(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn sample(name: &str) -> Value {
        let path = format!(
            "{}/events/audit-workloads/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn delivery(document: &str) -> Value {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(document.as_bytes()).unwrap();
        json!({"awslogs": {"data": aws_smithy_types::base64::encode(gz.finish().unwrap())}})
    }

    #[test]
    fn a_sample_delivery_hands_over_each_message_in_order() {
        let event = sample("subscription-mixed.json");
        assert!(is_delivery(&event));
        let Delivery::Audit(batch) = read(&event, |m| Some(m.len())).unwrap() else {
            panic!("not an audit batch")
        };
        assert_eq!(batch.cluster, "prod");
        assert_eq!(batch.account, "123456789012");
        assert_eq!(batch.events, 4);
        assert_eq!(batch.read.len(), 4);
        let Delivery::Audit(batch) = read(&event, |m| Some(m.contains("\"auditID\""))).unwrap()
        else {
            panic!("not an audit batch")
        };
        assert!(batch.read.iter().all(|has_id| *has_id));
    }

    #[test]
    fn the_control_message_is_nothing_to_judge() {
        let Delivery::Other { why } =
            read(&sample("subscription-control-message.json"), |_| Some(())).unwrap()
        else {
            panic!("judged a control message")
        };
        assert!(why.contains("CONTROL_MESSAGE"), "{why}");
    }

    #[test]
    fn other_streams_and_log_groups_are_nothing_to_judge() {
        let doc = |group: &str, stream: &str| {
            delivery(&format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"{group}","logStream":"{stream}",
                "subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1,"message":"{{}}"}}]}}"#
            ))
        };
        let audit = doc("/aws/eks/prod/cluster", "kube-apiserver-audit-0a");
        assert!(matches!(read(&audit, |_| Some(())), Ok(Delivery::Audit(_))));
        for other in [
            doc("/aws/eks/prod/cluster", "authenticator-0a"),
            doc("/aws/lambda/fn", "kube-apiserver-audit-0a"),
        ] {
            assert!(matches!(
                read(&other, |_| Some(())),
                Ok(Delivery::Other { .. })
            ));
        }
    }

    #[test]
    fn bad_data_is_an_error_and_only_cluster_log_groups_count() {
        assert!(read(&json!({"awslogs": {"data": "not base64!"}}), |_| Some(())).is_err());
        assert!(read(&json!({"awslogs": {"data": "aGVsbG8="}}), |_| Some(())).is_err());
        assert!(read(&json!({"awslogs": {}}), |_| Some(())).is_err());
        assert!(read(&delivery("[1,2]"), |_| Some(())).is_err());
        assert!(read(&delivery(r#"{"messageType":"DATA_MESSAGE"}"#), |_| Some(())).is_err());
        assert!(read(&delivery(r#"{"logEvents":[{"message":7}]}"#), |_| Some(())).is_err());
        assert!(read(
            &delivery(r#"{"messageType":"DATA_MESSAGE","logEvents":[]} x"#),
            |_| Some(())
        )
        .is_err());
        assert!(!is_delivery(&json!({"detail-type": "x"})));
        assert_eq!(cluster_of("/aws/eks/prod/cluster"), Some("prod"));
        assert_eq!(cluster_of("/aws/eks//cluster"), None);
        assert_eq!(cluster_of("/aws/eks/a/b/cluster"), None);
        assert_eq!(cluster_of("/aws/lambda/prod"), None);
    }
}
