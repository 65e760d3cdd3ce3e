//! Triggers of `detach-node-policy`, parsed leniently from CloudTrail IAM records and GuardDuty
//! credential-exfiltration findings.
//!
//! `PutRolePolicy` logs the document as a JSON string, plain in most records and URL-encoded
//! in some; a few tools log it as an object. All three are kept as text for
//! `domain::policy` to read. `responseElements` is `null` for both IAM calls.

use serde::Deserialize;
use serde_json::Value;

use crate::error::EventError;
use crate::intake::{Finding, Incoming};
use crate::lenient;

/// The CloudTrail event names this rule acts on, from `iam.amazonaws.com`.
pub const EVENT_NAMES: &[&str] = &["AttachRolePolicy", "PutRolePolicy"];

/// The GuardDuty finding types this rule acts on.
pub const FINDING_TYPES: &[&str] = &[
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS",
];

/// What happened, in the terms this rule needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// A managed policy was attached to a role.
    Attach { role: String, policy_arn: String },
    /// An inline policy was put on a role; `document` is as logged (may be absent).
    PutInline {
        role: String,
        policy_name: String,
        document: Option<String>,
    },
    /// A role's instance credentials were used from somewhere else.
    Exfiltration {
        kind: String,
        role: String,
        access_key: Option<String>,
        /// The instance the credentials belong to, from the principal id `AROA...:i-...`.
        instance: Option<String>,
        severity: f64,
    },
}

impl Trigger {
    pub fn role(&self) -> &str {
        match self {
            Trigger::Attach { role, .. }
            | Trigger::PutInline { role, .. }
            | Trigger::Exfiltration { role, .. } => role,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    role_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    policy_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    policy_name: Option<String>,
    #[serde(default)]
    policy_document: Value,
}

/// The trigger in `incoming`: `Ok(None)` when it is not one of this rule's events, an error
/// when it is one but cannot be read.
pub fn trigger(incoming: &Incoming) -> Result<Option<Trigger>, EventError> {
    match incoming {
        Incoming::ApiCall(call) => {
            let record = &call.record;
            if call.source != "aws.iam" || record.event_source != "iam.amazonaws.com" {
                return Ok(None);
            }
            if !EVENT_NAMES.contains(&record.event_name.as_str()) {
                return Ok(None);
            }
            let request: Request = match &record.request_parameters {
                v @ Value::Object(_) => {
                    serde_json::from_value(v.clone()).map_err(|e| bad(e.to_string()))?
                }
                _ => Request::default(),
            };
            let role = nonempty(request.role_name)
                .ok_or_else(|| bad(format!("{} names no role", record.event_name)))?;
            if record.event_name == "AttachRolePolicy" {
                let policy_arn = nonempty(request.policy_arn)
                    .ok_or_else(|| bad("AttachRolePolicy names no policy".to_owned()))?;
                return Ok(Some(Trigger::Attach { role, policy_arn }));
            }
            let policy_name = nonempty(request.policy_name)
                .ok_or_else(|| bad("PutRolePolicy names no policy".to_owned()))?;
            let document = match request.policy_document {
                Value::String(s) => Some(s),
                v @ Value::Object(_) => Some(v.to_string()),
                _ => None,
            };
            Ok(Some(Trigger::PutInline {
                role,
                policy_name,
                document,
            }))
        }
        Incoming::Finding(finding) => exfiltration(finding),
        Incoming::StateChange(_) | Incoming::Other { .. } => Ok(None),
    }
}

fn exfiltration(finding: &Finding) -> Result<Option<Trigger>, EventError> {
    let kind = &finding.detail.kind;
    if !FINDING_TYPES.contains(&kind.as_str()) {
        return Ok(None);
    }
    let key = finding.access_key();
    let role = key
        .and_then(|k| k.user_name.clone())
        .and_then(|n| nonempty(Some(n)))
        .ok_or_else(|| EventError::Detail {
            kind: "GuardDuty finding",
            reason: format!("{kind} names no role (accessKeyDetails.userName)"),
        })?;
    let instance = key
        .and_then(|k| k.principal_id.as_deref())
        .and_then(|p| p.split_once(':'))
        .map(|(_, session)| session.to_owned())
        .filter(|s| s.starts_with("i-"))
        .or_else(|| finding.instance_id().map(str::to_owned));
    Ok(Some(Trigger::Exfiltration {
        kind: kind.clone(),
        role,
        access_key: key.and_then(|k| k.access_key_id.clone()),
        instance,
        severity: finding.severity(),
    }))
}

fn nonempty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn bad(reason: String) -> EventError {
    EventError::Detail {
        kind: "CloudTrail IAM record",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{api_call_event, parse};
    use serde_json::json;

    fn iam(name: &str, request: Value) -> Result<Option<Trigger>, EventError> {
        trigger(&api_call_event("aws.iam", name, request, Value::Null))
    }

    #[test]
    fn documents_are_kept_as_logged_text() {
        for (logged, expected) in [
            (json!("%7B%7D"), Some("%7B%7D".to_owned())),
            (
                json!({"Statement": []}),
                Some(r#"{"Statement":[]}"#.to_owned()),
            ),
            (Value::Null, None),
        ] {
            let t = iam(
                "PutRolePolicy",
                json!({"roleName": "r", "policyName": "p", "policyDocument": logged}),
            )
            .unwrap();
            assert_eq!(
                t,
                Some(Trigger::PutInline {
                    role: "r".into(),
                    policy_name: "p".into(),
                    document: expected
                })
            );
        }
    }

    #[test]
    fn missing_names_are_errors_and_other_calls_are_not_triggers() {
        assert!(iam("AttachRolePolicy", json!({"roleName": "r"})).is_err());
        assert!(iam(
            "AttachRolePolicy",
            json!({"policyArn": "arn:aws:iam::aws:policy/X"})
        )
        .is_err());
        assert!(iam("PutRolePolicy", json!({"roleName": " "})).is_err());
        assert!(iam("AttachUserPolicy", json!({"userName": "u"}))
            .unwrap()
            .is_none());
        assert!(iam("AttachRolePolicy", Value::Null).is_err());
    }

    #[test]
    fn exfiltration_names_role_key_and_instance() {
        let event = json!({"detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": "123456789012", "region": "us-east-1",
            "detail": {"type": FINDING_TYPES[0], "severity": 8,
                "resource": {"resourceType": "AccessKey", "accessKeyDetails": {
                    "accessKeyId": "ASIAEXAMPLE", "principalId": "AROAEXAMPLE:i-0123456789abcdef0",
                    "userName": "nodes", "userType": "AssumedRole"}}}});
        let t = trigger(&parse(event.clone()).unwrap()).unwrap().unwrap();
        assert_eq!(
            t,
            Trigger::Exfiltration {
                kind: FINDING_TYPES[0].into(),
                role: "nodes".into(),
                access_key: Some("ASIAEXAMPLE".into()),
                instance: Some("i-0123456789abcdef0".into()),
                severity: 8.0
            }
        );
        let mut nameless = event;
        nameless["detail"]["resource"]["accessKeyDetails"]["userName"] = json!(null);
        assert!(trigger(&parse(nameless).unwrap()).is_err());
    }
}
