//! Triggers of `restore-audit-trail`, parsed leniently from CloudTrail records of GuardDuty and
//! CloudTrail API calls.
//!
//! `UpdateDetector` switches EKS protection off in two forms: `features` (current; names such
//! as `EKS_AUDIT_LOGS`, `RUNTIME_MONITORING`, with `additionalConfiguration` under them) and
//! the older `dataSources.kubernetes.auditLogs.enable`. `StopLogging` names its trail by name
//! or by ARN (reference-events/SOURCES.md, note 6).

use serde_json::Value;

use crate::domain::audit::{
    self, BasicSelector, DetectorRestore, FeatureRestore, FieldSelector, Selectors,
};
use crate::error::EventError;
use crate::intake::Incoming;
use crate::lenient;

/// GuardDuty calls this rule acts on (source `aws.guardduty`).
pub const DETECTOR_EVENTS: &[&str] = &["UpdateDetector", "DeleteDetector"];
/// CloudTrail calls this rule acts on (source `aws.cloudtrail`).
pub const TRAIL_EVENTS: &[&str] = &[
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
];

/// What happened, in the terms this rule needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A detector was changed; `off` is what the request switched off (maybe nothing).
    DetectorUpdated {
        detector: String,
        off: DetectorRestore,
    },
    DetectorDeleted {
        detector: String,
    },
    /// `trail` as the request named it: a name or an ARN.
    LoggingStopped {
        trail: String,
    },
    TrailDeleted {
        trail: String,
    },
    /// New event selectors, as requested (they replace the old ones).
    SelectorsPut {
        trail: String,
        requested: Selectors,
    },
    /// A trail's scope changed; `narrowed` lists what it no longer records.
    TrailUpdated {
        trail: String,
        narrowed: Vec<String>,
    },
}

/// The trigger in `incoming`: `Ok(None)` when it is not one of this rule's events, an error
/// when it is one but cannot be read.
pub fn trigger(incoming: &Incoming) -> Result<Option<Trigger>, EventError> {
    let Incoming::ApiCall(call) = incoming else {
        return Ok(None);
    };
    let record = &call.record;
    let name = record.event_name.as_str();
    let request = &record.request_parameters;
    let detector_call = call.source == "aws.guardduty"
        && record.event_source == "guardduty.amazonaws.com"
        && DETECTOR_EVENTS.contains(&name);
    let trail_call = call.source == "aws.cloudtrail"
        && record.event_source == "cloudtrail.amazonaws.com"
        && TRAIL_EVENTS.contains(&name);
    if detector_call {
        let detector =
            text(request, "detectorId").ok_or_else(|| bad(format!("{name} names no detector")))?;
        return Ok(Some(match name {
            "DeleteDetector" => Trigger::DetectorDeleted { detector },
            _ => Trigger::DetectorUpdated {
                detector,
                off: turned_off(request),
            },
        }));
    }
    if !trail_call {
        return Ok(None);
    }
    let trail = text(request, "name")
        .or_else(|| text(request, "trailName"))
        .ok_or_else(|| bad(format!("{name} names no trail")))?;
    Ok(Some(match name {
        "StopLogging" => Trigger::LoggingStopped { trail },
        "DeleteTrail" => Trigger::TrailDeleted { trail },
        "PutEventSelectors" => Trigger::SelectorsPut {
            trail,
            requested: selectors(request),
        },
        _ => {
            let mut narrowed = Vec::new();
            if lenient::bool_of(request.get("isMultiRegionTrail")) == Some(false) {
                narrowed.push(
                    "isMultiRegionTrail=false: calls in other regions are no longer recorded"
                        .to_owned(),
                );
            }
            if lenient::bool_of(request.get("includeGlobalServiceEvents")) == Some(false) {
                narrowed.push(
                    "includeGlobalServiceEvents=false: IAM and other global calls are no longer recorded"
                        .to_owned(),
                );
            }
            Trigger::TrailUpdated { trail, narrowed }
        }
    }))
}

/// What an `UpdateDetector` request switched off, among what this rule watches.
fn turned_off(request: &Value) -> DetectorRestore {
    let features = lenient::values(request.get("features"))
        .iter()
        .filter_map(|f| {
            let name = text(f, "name")?;
            let watched = audit::watched(&name)?;
            let whole = status_off(f);
            let additional: Vec<String> = lenient::values(f.get("additionalConfiguration"))
                .iter()
                .filter(|a| status_off(a))
                .filter_map(|a| text(a, "name"))
                .filter(|a| watched.contains(&a.as_str()))
                .collect();
            (whole || !additional.is_empty()).then_some(FeatureRestore {
                name,
                whole,
                additional,
            })
        })
        .collect();
    DetectorRestore {
        enable: lenient::bool_of(request.get("enable")) == Some(false),
        features,
        kubernetes_audit_logs: lenient::bool_of(
            request.pointer("/dataSources/kubernetes/auditLogs/enable"),
        ) == Some(false),
    }
}

fn selectors(request: &Value) -> Selectors {
    Selectors {
        basic: lenient::values(request.get("eventSelectors"))
            .iter()
            .map(|s| BasicSelector {
                read_write_type: text(s, "readWriteType"),
                include_management_events: lenient::bool_of(s.get("includeManagementEvents")),
            })
            .collect(),
        advanced: lenient::values(request.get("advancedEventSelectors"))
            .iter()
            .map(|s| {
                lenient::values(s.get("fieldSelectors"))
                    .iter()
                    .filter_map(|f| {
                        Some(FieldSelector {
                            field: text(f, "field")?,
                            equals: strings(f.get("equals")),
                            not_equals: strings(f.get("notEquals")),
                        })
                    })
                    .collect()
            })
            .collect(),
    }
}

fn status_off(value: &Value) -> bool {
    text(value, "status").is_some_and(|s| s.eq_ignore_ascii_case("DISABLED"))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    lenient::values(value)
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn bad(reason: String) -> EventError {
    EventError::Detail {
        kind: "CloudTrail record",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::api_call_event;
    use serde_json::json;

    fn call(source: &str, name: &str, request: Value) -> Result<Option<Trigger>, EventError> {
        trigger(&api_call_event(source, name, request, Value::Null))
    }

    #[test]
    fn both_forms_of_switching_eks_protection_off_are_read() {
        let t = call("aws.guardduty", "UpdateDetector", json!({"detectorId": "d1",
            "features": [
                {"name": "EKS_AUDIT_LOGS", "status": "DISABLED"},
                {"name": "RUNTIME_MONITORING", "status": "ENABLED",
                 "additionalConfiguration": [{"name": "EKS_ADDON_MANAGEMENT", "status": "DISABLED"},
                                             {"name": "ECS_FARGATE_AGENT_MANAGEMENT", "status": "DISABLED"}]},
                {"name": "S3_DATA_EVENTS", "status": "DISABLED"}],
            "dataSources": {"kubernetes": {"auditLogs": {"enable": false}}}}))
        .unwrap()
        .unwrap();
        let Trigger::DetectorUpdated { detector, off } = t else {
            panic!("{t:?}")
        };
        assert_eq!(detector, "d1");
        assert!(!off.enable && off.kubernetes_audit_logs);
        assert_eq!(
            off.features,
            [
                FeatureRestore {
                    name: "EKS_AUDIT_LOGS".into(),
                    whole: true,
                    additional: vec![]
                },
                FeatureRestore {
                    name: "RUNTIME_MONITORING".into(),
                    whole: false,
                    additional: vec!["EKS_ADDON_MANAGEMENT".into()]
                },
            ],
            "S3 and the Fargate agent are not this rule's business"
        );
        let harmless = call(
            "aws.guardduty",
            "UpdateDetector",
            json!({"detectorId": "d1", "findingPublishingFrequency": "SIX_HOURS"}),
        )
        .unwrap()
        .unwrap();
        assert!(matches!(harmless, Trigger::DetectorUpdated { off, .. } if off.is_empty()));
        let disabled = call(
            "aws.guardduty",
            "UpdateDetector",
            json!({"detectorId": "d1", "enable": "false"}),
        )
        .unwrap()
        .unwrap();
        assert!(matches!(disabled, Trigger::DetectorUpdated { off, .. } if off.enable));
    }

    #[test]
    fn trails_are_named_by_name_or_arn_and_selectors_are_read() {
        let arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main";
        assert_eq!(
            call("aws.cloudtrail", "StopLogging", json!({"name": arn})).unwrap(),
            Some(Trigger::LoggingStopped { trail: arn.into() })
        );
        let t = call(
            "aws.cloudtrail",
            "PutEventSelectors",
            json!({"trailName": "main",
            "eventSelectors": {"readWriteType": "ReadOnly", "includeManagementEvents": true}}),
        )
        .unwrap()
        .unwrap();
        assert!(
            matches!(t, Trigger::SelectorsPut { requested, .. } if !requested.record_management_writes())
        );
        let t = call(
            "aws.cloudtrail",
            "UpdateTrail",
            json!({"name": "main", "isMultiRegionTrail": false}),
        )
        .unwrap()
        .unwrap();
        assert!(matches!(t, Trigger::TrailUpdated { narrowed, .. } if narrowed.len() == 1));
    }

    #[test]
    fn unnamed_resources_are_errors_and_other_calls_are_not_triggers() {
        assert!(call("aws.guardduty", "DeleteDetector", json!({})).is_err());
        assert!(call("aws.cloudtrail", "StopLogging", Value::Null).is_err());
        assert!(call("aws.cloudtrail", "CreateTrail", json!({"name": "x"}))
            .unwrap()
            .is_none());
        assert!(
            call("aws.guardduty", "CreateDetector", json!({"enable": true}))
                .unwrap()
                .is_none()
        );
    }
}
