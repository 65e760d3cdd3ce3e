//! Triggers of `enforce-cluster-config`, parsed leniently from CloudTrail `CreateCluster` and
//! `UpdateClusterConfig` records.
//!
//! Record versions differ (reference-events/SOURCES.md, notes 4 and 5): the cluster is
//! `requestParameters.name` since 2019 and `clusterName` before; a `CreateCluster` may omit
//! the endpoint flags and logging entirely (AWS then creates a public endpoint without logs);
//! the console sends two `clusterLogging` entries, one enabled with no types and one disabled
//! with all five. So a log type counts as on only when an enabled entry names it.
//!
//! `deletionProtection` (a boolean, absent when not sent: EKS then creates the cluster
//! unprotected) and `upgradePolicy.supportType` are read as the request carries them; what
//! they mean for the cluster is `detect`'s business.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use crate::domain::{EndpointAccess, LogType};
use crate::error::EventError;
use crate::intake::{ApiCall, Incoming};
use crate::lenient;

/// The CloudTrail event names this rule acts on, from `eks.amazonaws.com`.
pub const EVENT_NAMES: &[&str] = &["CreateCluster", "UpdateClusterConfig"];

/// Which call it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A new cluster: endpoint, logging and encryption are all judged.
    Create,
    /// A changed cluster: endpoint and logging are judged (encryption cannot be removed).
    Update,
}

/// What happened, in the terms this rule needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub kind: Kind,
    pub cluster: String,
    pub asked: Asked,
}

/// What the request asked for. For `Update`, `None` means the request left it alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Asked {
    pub endpoint: Option<EndpointAsk>,
    pub logging: Option<LoggingAsk>,
    pub secrets_encrypted: bool,
    /// `deletionProtection` as sent; `None` when the request did not carry it (for `Create`,
    /// EKS's default: unprotected).
    pub deletion_protection: Option<bool>,
    /// `upgradePolicy.supportType` as sent (`STANDARD` or `EXTENDED`), upper-cased.
    pub support_type: Option<String>,
}

/// Endpoint fields as requested; each may be absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointAsk {
    pub public: Option<bool>,
    pub private: Option<bool>,
    pub public_cidrs: Option<Vec<String>>,
}

impl EndpointAsk {
    /// The access a `CreateCluster` with these fields gets, AWS defaults filled in.
    pub fn created(&self) -> EndpointAccess {
        let defaults = EndpointAccess::default();
        EndpointAccess {
            public: self.public.unwrap_or(defaults.public),
            private: self.private.unwrap_or(defaults.private),
            public_cidrs: self
                .public_cidrs
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or(defaults.public_cidrs),
        }
    }
}

/// Log types as requested.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoggingAsk {
    /// Named in an entry with `enabled: true`.
    pub enabled: BTreeSet<LogType>,
    /// Named in an entry with `enabled: false` and in no enabled entry.
    pub disabled: BTreeSet<LogType>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cluster_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    resources_vpc_config: Option<VpcRequest>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    logging: Option<LoggingRequest>,
    #[serde(default, deserialize_with = "lenient::list")]
    encryption_config: Vec<Value>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    deletion_protection: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    upgrade_policy: Option<UpgradePolicyRequest>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpgradePolicyRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    support_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VpcRequest {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    endpoint_public_access: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    endpoint_private_access: Option<bool>,
    #[serde(default)]
    public_access_cidrs: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoggingRequest {
    #[serde(default, deserialize_with = "lenient::list")]
    cluster_logging: Vec<LogSetupRequest>,
}

#[derive(Debug, Default, Deserialize)]
struct LogSetupRequest {
    #[serde(default, deserialize_with = "lenient::list")]
    types: Vec<Value>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseCluster {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cluster_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    arn: Option<String>,
}

/// The trigger in `incoming`: `Ok(None)` when it is not one of this rule's events, an error
/// when it is one but cannot be read.
pub fn trigger(incoming: &Incoming) -> Result<Option<Trigger>, EventError> {
    let Incoming::ApiCall(call) = incoming else {
        return Ok(None);
    };
    let record = &call.record;
    if call.source != "aws.eks" || record.event_source != "eks.amazonaws.com" {
        return Ok(None);
    }
    let kind = match record.event_name.as_str() {
        "CreateCluster" => Kind::Create,
        "UpdateClusterConfig" => Kind::Update,
        _ => return Ok(None),
    };
    let request = read(&record.request_parameters)?;
    let cluster = cluster_name(call, &request).ok_or_else(|| EventError::Detail {
        kind: "CloudTrail record",
        reason: format!("{} names no cluster", record.event_name),
    })?;
    let endpoint = request
        .resources_vpc_config
        .as_ref()
        .map(|vpc| EndpointAsk {
            public: vpc.endpoint_public_access,
            private: vpc.endpoint_private_access,
            public_cidrs: vpc.public_access_cidrs.clone().and_then(|v| {
                lenient::list_from_value::<Value>(v).ok().map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.as_str())
                        .map(str::to_owned)
                        .collect()
                })
            }),
        });
    let logging = request.logging.as_ref().map(logging_ask);
    // A customer-managed key for secrets: `provider.keyArn`, with `resources: ["secrets"]`.
    let secrets_encrypted = request.encryption_config.iter().any(|c| {
        let key = c.pointer("/provider/keyArn").and_then(Value::as_str);
        let secrets = lenient::values(c.get("resources"))
            .iter()
            .any(|x| x.as_str() == Some("secrets"));
        key.is_some_and(|k| !k.is_empty()) || secrets
    });
    Ok(Some(Trigger {
        kind,
        cluster,
        asked: Asked {
            endpoint: match kind {
                Kind::Create => Some(endpoint.unwrap_or_default()),
                Kind::Update => endpoint,
            },
            logging: match kind {
                Kind::Create => Some(logging.unwrap_or_default()),
                Kind::Update => logging,
            },
            secrets_encrypted,
            deletion_protection: request.deletion_protection,
            support_type: request
                .upgrade_policy
                .and_then(|p| p.support_type)
                .map(|t| t.trim().to_ascii_uppercase())
                .filter(|t| !t.is_empty()),
        },
    }))
}

fn read(parameters: &Value) -> Result<Request, EventError> {
    match parameters {
        Value::Object(_) => {
            serde_json::from_value(parameters.clone()).map_err(|e| EventError::Detail {
                kind: "CloudTrail requestParameters",
                reason: e.to_string(),
            })
        }
        _ => Ok(Request::default()),
    }
}

/// The cluster's name: the request's `name` or `clusterName`, else the response's name or ARN.
fn cluster_name(call: &ApiCall, request: &Request) -> Option<String> {
    let response: ResponseCluster = call
        .record
        .response_elements
        .get("cluster")
        .filter(|c| c.is_object())
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let from_arn = response
        .arn
        .as_deref()
        .and_then(|arn| arn.rsplit_once(":cluster/"))
        .map(|(_, name)| name.to_owned());
    [
        request.name.clone(),
        request.cluster_name.clone(),
        from_arn,
        response.name,
        response.cluster_name,
    ]
    .into_iter()
    .flatten()
    .map(|n| n.trim().to_owned())
    .find(|n| !n.is_empty())
}

fn logging_ask(request: &LoggingRequest) -> LoggingAsk {
    let named = |wanted: bool| -> BTreeSet<LogType> {
        request
            .cluster_logging
            .iter()
            .filter(|setup| setup.enabled == Some(wanted))
            .flat_map(|setup| &setup.types)
            .filter_map(|t| t.as_str().and_then(LogType::parse))
            .collect()
    };
    let enabled = named(true);
    let disabled = named(false).difference(&enabled).copied().collect();
    LoggingAsk { enabled, disabled }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::api_call_event;
    use serde_json::json;

    fn call(name: &str, request: Value, response: Value) -> Result<Option<Trigger>, EventError> {
        trigger(&api_call_event("aws.eks", name, request, response))
    }

    #[test]
    fn console_logging_entries_mean_all_types_off() {
        let t = call(
            "CreateCluster",
            json!({"name": "c", "logging": {"clusterLogging": [
                {"enabled": true, "types": []},
                {"enabled": false, "types": ["api", "audit", "authenticator", "controllerManager", "scheduler"]}]}}),
            Value::Null,
        )
        .unwrap()
        .unwrap();
        let logging = t.asked.logging.unwrap();
        assert!(logging.enabled.is_empty());
        assert_eq!(logging.disabled.len(), 5);
    }

    #[test]
    fn a_create_without_endpoint_fields_is_public_to_the_world() {
        let t = call(
            "CreateCluster",
            json!({"clusterName": "legacy"}),
            Value::Null,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.cluster, "legacy");
        assert_eq!(t.kind, Kind::Create);
        assert_eq!(
            t.asked.endpoint.unwrap().created(),
            EndpointAccess::default()
        );
        assert_eq!(t.asked.logging, Some(LoggingAsk::default()));
        assert!(!t.asked.secrets_encrypted);
    }

    #[test]
    fn updates_keep_what_the_request_left_out_as_none() {
        let t = call(
            "UpdateClusterConfig",
            json!({"name": "c", "logging": {"clusterLogging": {"types": "audit", "enabled": "false"}}}),
            json!({"update": {"type": "LoggingUpdate"}}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.asked.endpoint, None);
        assert_eq!(
            t.asked.logging.unwrap().disabled,
            BTreeSet::from([LogType::Audit])
        );
        let t = call(
            "UpdateClusterConfig",
            json!({"name": "c", "resourcesVpcConfig": {"publicAccessCidrs": "198.51.100.0/24"}}),
            Value::Null,
        )
        .unwrap()
        .unwrap();
        let endpoint = t.asked.endpoint.unwrap();
        assert_eq!(endpoint.public, None);
        assert_eq!(
            endpoint.public_cidrs,
            Some(vec!["198.51.100.0/24".to_owned()])
        );
    }

    #[test]
    fn the_name_falls_back_to_the_response_and_its_absence_is_an_error() {
        let t = call(
            "CreateCluster",
            json!({"roleArn": "x"}),
            json!({"cluster": {"arn": "arn:aws:eks:us-east-1:1:cluster/from-arn", "name": "other"}}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.cluster, "from-arn");
        assert!(call("CreateCluster", json!({}), Value::Null).is_err());
        assert!(call("UpdateClusterConfig", json!({"name": ["x"]}), Value::Null).is_err());
        assert!(
            call("UpdateClusterVersion", json!({"name": "c"}), Value::Null)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn deletion_protection_and_the_upgrade_policy_are_read_as_sent() {
        let t = call(
            "UpdateClusterConfig",
            json!({"name": "c", "deletionProtection": false}),
            json!({"update": {"type": "DeletionProtectionUpdate"}}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.asked.deletion_protection, Some(false));
        assert_eq!(t.asked.support_type, None);
        assert_eq!(t.asked.endpoint, None);
        let t = call(
            "UpdateClusterConfig",
            json!({"name": "c", "upgradePolicy": {"supportType": "extended"}}),
            Value::Null,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.asked.support_type.as_deref(), Some("EXTENDED"));
        assert_eq!(t.asked.deletion_protection, None);
        // Lenient: a string boolean, an empty policy object.
        let t = call(
            "CreateCluster",
            json!({"name": "c", "deletionProtection": "true", "upgradePolicy": {}}),
            Value::Null,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.asked.deletion_protection, Some(true));
        assert_eq!(t.asked.support_type, None);
    }

    #[test]
    fn encryption_is_read_from_a_list_or_a_single_object() {
        for config in [
            json!([{"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:x"}}]),
            json!({"resources": "secrets"}),
        ] {
            let t = call(
                "CreateCluster",
                json!({"name": "c", "encryptionConfig": config}),
                Value::Null,
            )
            .unwrap()
            .unwrap();
            assert!(t.asked.secrets_encrypted);
        }
    }
}
