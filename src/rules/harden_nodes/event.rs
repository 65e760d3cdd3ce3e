//! Triggers of `harden-nodes`: EC2's notification that an instance is running, CloudTrail's
//! launch-template calls, and EKS `CreateNodegroup`, read leniently.
//!
//! CloudTrail logs EC2's launch-template calls with their query parameters wrapped in the
//! request's name (`CreateLaunchTemplateRequest.LaunchTemplateData.MetadataOptions`, in
//! PascalCase) and the XML answer in camelCase (`CreateLaunchTemplateResponse.launchTemplate
//! .launchTemplateId`); numbers may be strings. So keys are found wherever they sit, in any
//! case, and the template's current state is read from EC2 before anything is judged.

use serde_json::Value;

use crate::domain::node::MetadataOptions;
use crate::error::EventError;
use crate::intake::{ApiCall, Incoming};

/// The state-change notification's state this rule acts on.
pub const STATES: &[&str] = &["running"];
/// CloudTrail event names from `ec2.amazonaws.com`.
pub const LAUNCH_TEMPLATE_CALLS: &[&str] = &[
    "CreateLaunchTemplate",
    "CreateLaunchTemplateVersion",
    "ModifyLaunchTemplate",
];
/// CloudTrail event names from `eks.amazonaws.com`.
pub const EKS_CALLS: &[&str] = &["CreateNodegroup"];

/// What happened, in the terms this rule needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// An instance is running: if it is a node, its metadata options are judged.
    NodeRunning { instance: String },
    /// A launch template or one of its versions was created, or its default changed.
    LaunchTemplate {
        call: &'static str,
        id: Option<String>,
        name: Option<String>,
        /// The version the call made or made the default: a number, or `$Default` /
        /// `$Latest` when the record does not say.
        version: String,
        /// The metadata options the request set, when it set them: they replace the whole
        /// structure (a new version does not inherit half of it), so they alone tell whether
        /// the version is safe.
        requested: Option<MetadataOptions>,
    },
    /// A managed node group was created.
    Nodegroup { cluster: String, nodegroup: String },
}

impl Trigger {
    /// The resource the trigger is about, for logs.
    pub fn resource(&self) -> String {
        match self {
            Trigger::NodeRunning { instance } => instance.clone(),
            Trigger::LaunchTemplate { id, name, .. } => {
                id.clone().or_else(|| name.clone()).unwrap_or_default()
            }
            Trigger::Nodegroup { cluster, nodegroup } => format!("{cluster}/{nodegroup}"),
        }
    }
}

/// The trigger in `incoming`: `Ok(None)` when it is not one of this rule's events, an error
/// when it is one but cannot be read.
pub fn trigger(incoming: &Incoming) -> Result<Option<Trigger>, EventError> {
    match incoming {
        Incoming::StateChange(change) if change.source == "aws.ec2" => Ok(STATES
            .contains(&change.state.as_str())
            .then(|| Trigger::NodeRunning {
                instance: change.instance_id.clone(),
            })),
        Incoming::ApiCall(call) if call.record.event_source == "ec2.amazonaws.com" => {
            match LAUNCH_TEMPLATE_CALLS.iter().find(|n| call.name_is(n)) {
                Some(name) => launch_template(call, name).map(Some),
                None => Ok(None),
            }
        }
        Incoming::ApiCall(call)
            if call.record.event_source == "eks.amazonaws.com"
                && call.name_is("CreateNodegroup") =>
        {
            nodegroup(call).map(Some)
        }
        _ => Ok(None),
    }
}

fn malformed(reason: impl Into<String>) -> EventError {
    EventError::Detail {
        kind: "harden-nodes trigger",
        reason: reason.into(),
    }
}

fn launch_template(call: &ApiCall, name: &'static str) -> Result<Trigger, EventError> {
    let request = &call.record.request_parameters;
    let response = &call.record.response_elements;
    let text = |key: &str| {
        find(response, key)
            .or_else(|| find(request, key))
            .and_then(scalar)
    };
    let id = text("launchTemplateId").filter(|id| id.starts_with("lt-"));
    let template_name = text("launchTemplateName");
    if id.is_none() && template_name.is_none() {
        return Err(malformed(format!("{name} names no launch template")));
    }
    let version = match name {
        "CreateLaunchTemplateVersion" => find(response, "versionNumber")
            .and_then(scalar)
            .unwrap_or_else(|| "$Latest".to_owned()),
        "ModifyLaunchTemplate" => find(response, "defaultVersionNumber")
            .or_else(|| find(request, "SetDefaultVersion"))
            .or_else(|| find(request, "DefaultVersion"))
            .and_then(scalar)
            .unwrap_or_else(|| "$Default".to_owned()),
        _ => find(response, "defaultVersionNumber")
            .and_then(scalar)
            .unwrap_or_else(|| "$Default".to_owned()),
    };
    let requested = match name {
        "ModifyLaunchTemplate" => None,
        _ => find(request, "LaunchTemplateData")
            .and_then(|data| find(data, "MetadataOptions"))
            .filter(|m| m.is_object())
            .map(|m| MetadataOptions {
                http_tokens: find(m, "HttpTokens").and_then(scalar),
                hop_limit: find(m, "HttpPutResponseHopLimit")
                    .and_then(scalar)
                    .and_then(|h| h.parse().ok()),
                http_endpoint: find(m, "HttpEndpoint").and_then(scalar),
                http_protocol_ipv6: find(m, "HttpProtocolIpv6").and_then(scalar),
                instance_metadata_tags: find(m, "InstanceMetadataTags").and_then(scalar),
            }),
    };
    Ok(Trigger::LaunchTemplate {
        call: name,
        id,
        name: template_name,
        version,
        requested,
    })
}

fn nodegroup(call: &ApiCall) -> Result<Trigger, EventError> {
    let request = &call.record.request_parameters;
    let response = &call.record.response_elements;
    let cluster = request
        .get("name")
        .or_else(|| request.get("clusterName"))
        .or_else(|| response.pointer("/nodegroup/clusterName"))
        .and_then(scalar);
    let nodegroup = request
        .get("nodegroupName")
        .or_else(|| response.pointer("/nodegroup/nodegroupName"))
        .and_then(scalar);
    match (cluster, nodegroup) {
        (Some(cluster), Some(nodegroup)) => Ok(Trigger::Nodegroup { cluster, nodegroup }),
        _ => Err(malformed("CreateNodegroup names no cluster or node group")),
    }
}

/// The first value under `key` (any case) in `value`, searching depth first.
fn find<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
            .or_else(|| map.values().find_map(|v| find(v, key))),
        Value::Array(items) => items.iter().find_map(|v| find(v, key)),
        _ => None,
    }
}

/// A non-empty string or number as text.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{api_call_event, parse};
    use serde_json::json;

    #[test]
    fn a_running_node_is_a_trigger_and_other_states_are_not() {
        let change = |state: &str| {
            parse(
                json!({"detail-type": "EC2 Instance State-change Notification",
                "source": "aws.ec2", "account": "1", "region": "us-east-1",
                "detail": {"instance-id": "i-0abc", "state": state}}),
            )
            .unwrap()
        };
        assert_eq!(
            trigger(&change("running")).unwrap(),
            Some(Trigger::NodeRunning {
                instance: "i-0abc".into()
            })
        );
        for state in ["pending", "stopped", "terminated"] {
            assert_eq!(trigger(&change(state)).unwrap(), None, "{state}");
        }
    }

    #[test]
    fn a_new_template_is_read_from_the_wrapped_request_and_the_answer() {
        let incoming = api_call_event(
            "aws.ec2",
            "CreateLaunchTemplate",
            json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "nodes",
                "LaunchTemplateData": {"MetadataOptions":
                    {"HttpTokens": "optional", "HttpPutResponseHopLimit": "3"}}}}),
            json!({"CreateLaunchTemplateResponse": {"launchTemplate": {
                "launchTemplateId": "lt-0123", "launchTemplateName": "nodes",
                "defaultVersionNumber": 1, "latestVersionNumber": 1}}}),
        );
        let Some(Trigger::LaunchTemplate {
            id,
            version,
            requested: Some(requested),
            ..
        }) = trigger(&incoming).unwrap()
        else {
            panic!("not a launch template trigger")
        };
        assert_eq!(id.as_deref(), Some("lt-0123"));
        assert_eq!(version, "1");
        assert_eq!(requested.http_tokens.as_deref(), Some("optional"));
        assert_eq!(requested.hop_limit, Some(3));
    }

    #[test]
    fn a_new_version_is_named_by_its_number_and_a_new_default_by_the_answer() {
        let version = api_call_event(
            "aws.ec2",
            "CreateLaunchTemplateVersion",
            json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": "lt-0123",
                "SourceVersion": "1", "LaunchTemplateData": {"ImageId": "ami-1"}}}),
            json!({"CreateLaunchTemplateVersionResponse": {"launchTemplateVersion": {
                "launchTemplateId": "lt-0123", "versionNumber": 2}}}),
        );
        assert!(matches!(trigger(&version).unwrap(),
            Some(Trigger::LaunchTemplate { version, requested: None, .. }) if version == "2"));
        let modify = api_call_event(
            "aws.ec2",
            "ModifyLaunchTemplate",
            json!({"ModifyLaunchTemplateRequest": {"LaunchTemplateId": "lt-0123",
                "SetDefaultVersion": "4"}}),
            json!(null),
        );
        assert!(matches!(trigger(&modify).unwrap(),
            Some(Trigger::LaunchTemplate { version, .. }) if version == "4"));
    }

    #[test]
    fn a_template_call_naming_no_template_is_malformed() {
        let incoming = api_call_event(
            "aws.ec2",
            "CreateLaunchTemplateVersion",
            json!({"CreateLaunchTemplateVersionRequest": {}}),
            json!({}),
        );
        assert!(trigger(&incoming).is_err());
    }

    #[test]
    fn create_nodegroup_names_cluster_and_nodegroup() {
        let incoming = api_call_event(
            "aws.eks",
            "CreateNodegroup",
            json!({"name": "prod", "nodegroupName": "ng-1", "subnets": ["subnet-1"]}),
            json!({}),
        );
        assert_eq!(
            trigger(&incoming).unwrap(),
            Some(Trigger::Nodegroup {
                cluster: "prod".into(),
                nodegroup: "ng-1".into()
            })
        );
        let nameless = api_call_event("aws.eks", "CreateNodegroup", json!({}), json!({}));
        assert!(trigger(&nameless).is_err());
        let other = api_call_event("aws.ec2", "RunInstances", json!({}), json!({}));
        assert_eq!(trigger(&other).unwrap(), None);
    }
}
