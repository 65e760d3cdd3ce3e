//! Event intake: an EventBridge event becomes a CloudTrail API call, a GuardDuty finding, an
//! EC2 instance state change, or something no rule acts on.
//!
//! The envelope is `aws_lambda_events`' [`EventBridgeEvent`]; its `detail` is parsed by our own
//! lenient types in [`cloudtrail`] and [`guardduty`], because the library's CloudTrail type
//! rejects real records (`sessionIssuer: {}`, see reference-events/SOURCES.md, note 1).

pub mod audit_log;
pub mod cloudtrail;
pub mod guardduty;
pub mod state_change;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use cloudtrail::{Actor, ApiCall};
pub use guardduty::Finding;
pub use state_change::{StateChange, INSTANCE_STATE_CHANGE};

use crate::error::EventError;
use crate::outcome::Origin;

/// `detail-type` of CloudTrail management events delivered to EventBridge.
pub const API_CALL: &str = "AWS API Call via CloudTrail";
/// `detail-type` of GuardDuty findings.
pub const GUARDDUTY_FINDING: &str = "GuardDuty Finding";
/// `detail-type` of EventBridge scheduled events (the sweep).
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// What an incoming event is, once parsed.
#[derive(Clone, Debug)]
pub enum Incoming {
    ApiCall(Box<ApiCall>),
    Finding(Box<Finding>),
    /// EC2's notification that an instance changed state.
    StateChange(Box<StateChange>),
    /// A well-formed event of a kind no rule here acts on.
    Other {
        source: String,
        detail_type: String,
    },
}

impl Incoming {
    /// Where outcomes of this event come from, for alerts; `None` for other kinds.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            Incoming::ApiCall(call) => Some(call.origin()),
            Incoming::Finding(finding) => Some(finding.origin()),
            Incoming::StateChange(change) => Some(change.origin()),
            Incoming::Other { .. } => None,
        }
    }
}

/// Parses an envelope's `detail` as a `kind` record, with the error every rule reports.
pub(crate) fn detail<T: DeserializeOwned>(
    detail: Value,
    kind: &'static str,
) -> Result<T, EventError> {
    if !detail.is_object() {
        return Err(EventError::Detail {
            kind,
            reason: "detail is not an object".to_owned(),
        });
    }
    serde_json::from_value(detail).map_err(|e| EventError::Detail {
        kind,
        reason: e.to_string(),
    })
}

/// Parses raw bytes, as the CLI's `replay` and the fuzzer receive them.
pub fn parse_bytes(bytes: &[u8]) -> Result<Incoming, EventError> {
    let value: Value = serde_json::from_slice(bytes).map_err(EventError::Json)?;
    parse(value)
}

/// Parses an EventBridge event.
///
/// A malformed envelope or detail is an [`EventError`]; an event of another kind is
/// [`Incoming::Other`], never an error.
pub fn parse(event: Value) -> Result<Incoming, EventError> {
    if !event.is_object() {
        return Err(EventError::NotAnObject);
    }
    let envelope: EventBridgeEvent<Value> =
        serde_json::from_value(event).map_err(EventError::Envelope)?;
    match envelope.detail_type.as_str() {
        API_CALL => ApiCall::from_envelope(envelope).map(|c| Incoming::ApiCall(Box::new(c))),
        GUARDDUTY_FINDING => {
            Finding::from_envelope(envelope).map(|f| Incoming::Finding(Box::new(f)))
        }
        INSTANCE_STATE_CHANGE => {
            StateChange::from_envelope(envelope).map(|c| Incoming::StateChange(Box::new(c)))
        }
        _ => Ok(Incoming::Other {
            source: envelope.source,
            detail_type: envelope.detail_type,
        }),
    }
}

/// A minimal CloudTrail call as EventBridge delivers it, for the rules' unit tests: `source`
/// (`aws.eks`), the call's name, and its request and response parameters.
#[cfg(test)]
pub(crate) fn api_call_event(
    source: &str,
    name: &str,
    request: Value,
    response: Value,
) -> Incoming {
    let service = source.trim_start_matches("aws.");
    let event = serde_json::json!({"detail-type": API_CALL, "source": source,
        "account": "123456789012", "region": "us-east-1",
        "detail": {"eventSource": format!("{service}.amazonaws.com"), "eventName": name,
            "requestParameters": request, "responseElements": response}});
    match parse(event) {
        Ok(incoming) => incoming,
        Err(e) => panic!("a test event that does not parse: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn malformed_events_are_errors() {
        for bad in [
            &b"{\"version\":\"0\",\"detail-type\":"[..],
            b"[]",
            b"\"text\"",
            b"{}",
            b"{\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.ec2\"}",
            b"{\"detail-type\":5,\"source\":\"aws.ec2\",\"detail\":{}}",
            b"{\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.ec2\",\"detail\":[]}",
            b"{\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.ec2\",\"detail\":{\"eventName\":7}}",
            b"{\"detail-type\":\"GuardDuty Finding\",\"source\":\"aws.guardduty\",\"detail\":\"x\"}",
        ] {
            assert!(parse_bytes(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn other_kinds_are_not_errors() {
        let event = json!({"detail-type": "EC2 Spot Instance Interruption Warning",
            "source": "aws.ec2", "detail": {"instance-id": "i-1"}});
        assert!(matches!(parse(event), Ok(Incoming::Other { .. })));
    }
}
