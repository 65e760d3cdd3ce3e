//! EC2's own notification that an instance changed state, as EventBridge delivers it.
//!
//! EC2 publishes it itself, not through CloudTrail, so it reaches a function whether or not
//! a trail is on, and names no caller: a node that starts was started by an Auto Scaling
//! group, Karpenter or a person, and the event does not say which. Its `detail` holds only
//! `instance-id` and `state` (AWS documentation, "Amazon EC2 instance state change events").

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::error::EventError;
use crate::lenient;
use crate::outcome::{EventRef, Origin};

/// `detail-type` of EC2 instance state-change notifications.
pub const INSTANCE_STATE_CHANGE: &str = "EC2 Instance State-change Notification";

/// One instance state change.
#[derive(Clone, Debug)]
pub struct StateChange {
    /// EventBridge `source`: `aws.ec2`.
    pub source: String,
    pub account: String,
    pub region: String,
    /// The EventBridge event id.
    pub id: String,
    pub time: String,
    pub instance_id: String,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down` or `terminated`.
    pub state: String,
}

#[derive(Debug, Default, Deserialize)]
struct Detail {
    #[serde(
        default,
        rename = "instance-id",
        deserialize_with = "lenient::opt_string"
    )]
    instance_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    state: Option<String>,
}

impl StateChange {
    /// Reads the envelope; a notification that names no instance or no state is malformed.
    pub(crate) fn from_envelope(envelope: EventBridgeEvent<Value>) -> Result<Self, EventError> {
        let detail: Detail = super::detail(envelope.detail, "instance state change")?;
        let missing = |field: &str| EventError::Detail {
            kind: "instance state change",
            reason: format!("no {field}"),
        };
        let instance_id = detail
            .instance_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| missing("instance-id"))?;
        let state = detail
            .state
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("state"))?;
        Ok(StateChange {
            source: envelope.source,
            account: envelope.account.unwrap_or_default(),
            region: envelope.region.unwrap_or_default(),
            id: envelope.id.unwrap_or_default(),
            time: envelope
                .time
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            instance_id,
            state,
        })
    }

    /// Where an alert says the outcome came from: no actor, since EC2 names none.
    pub fn origin(&self) -> Origin {
        Origin {
            account: self.account.clone(),
            region: self.region.clone(),
            actor: None,
            event: EventRef {
                source: self.source.clone(),
                name: INSTANCE_STATE_CHANGE.to_owned(),
                id: self.id.clone(),
                time: self.time.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::intake::{parse, Incoming};
    use serde_json::json;

    fn envelope(detail: serde_json::Value) -> serde_json::Value {
        json!({"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
            "account": "123456789012", "time": "2026-11-11T21:29:54Z", "region": "us-east-1",
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
            "detail": detail})
    }

    #[test]
    fn a_running_notification_names_its_instance_and_has_no_actor() {
        let event = envelope(json!({"instance-id": "i-abcd1111", "state": "running"}));
        let Ok(Incoming::StateChange(change)) = parse(event) else {
            panic!("not a state change")
        };
        assert_eq!(change.instance_id, "i-abcd1111");
        assert_eq!(change.state, "running");
        let origin = change.origin();
        assert_eq!(origin.actor, None);
        assert_eq!(origin.event.time, "2026-11-11T21:29:54Z");
        assert_eq!(origin.event.id, "7bf73129-1428-4cd3-a780-95db273d1602");
        assert_eq!(origin.account, "123456789012");
    }

    #[test]
    fn a_notification_without_instance_or_state_is_malformed() {
        for detail in [
            json!({"state": "running"}),
            json!({"instance-id": "i-1"}),
            json!({"instance-id": "", "state": "running"}),
            json!({"instance-id": {}, "state": "running"}),
            json!([]),
        ] {
            assert!(parse(envelope(detail.clone())).is_err(), "{detail}");
        }
    }
}
