//! Triggers of `guard-cluster-access`, parsed leniently from CloudTrail EKS and IAM records.
//!
//! EKS logs the path parameters of its REST calls among `requestParameters`: the cluster as
//! `name` (some records and tools say `clusterName`), the principal as `principalArn`, which
//! may still be percent-encoded as it was in the path. The body's fields are camelCase
//! (`policyArn`, `accessScope`, `type`, `roleArn`). `CreateCluster`'s effective access
//! configuration is in `responseElements.cluster.accessConfig` when logged, and otherwise
//! follows the API's defaults: bootstrap admin on, `CONFIG_MAP` for API, SDK and
//! CloudFormation callers. IAM trust documents are JSON strings, plain or URL-encoded.

use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::domain::access::AccessScope;
use crate::error::EventError;
use crate::intake::{ApiCall, Incoming};
use crate::lenient;

/// The CloudTrail event names this rule acts on, from `eks.amazonaws.com`.
pub const EKS_EVENT_NAMES: &[&str] = &[
    "AssociateAccessPolicy",
    "CreateAccessEntry",
    "CreateCluster",
    "CreatePodIdentityAssociation",
    "UpdatePodIdentityAssociation",
];

/// The CloudTrail event names this rule acts on, from `iam.amazonaws.com`.
pub const IAM_EVENT_NAMES: &[&str] = &["CreateRole", "UpdateAssumeRolePolicy"];

/// The authentication mode EKS gives a cluster created through the API without one.
pub const DEFAULT_AUTHENTICATION_MODE: &str = "CONFIG_MAP";

/// What happened, in the terms this rule needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// An access policy was associated with a principal's access entry.
    Associate {
        cluster: String,
        principal: String,
        policy_arn: String,
        scope: AccessScope,
    },
    /// An access entry was created.
    CreateEntry {
        cluster: String,
        principal: String,
        /// `STANDARD` when the request named none.
        kind: String,
    },
    /// A cluster was created.
    CreateCluster {
        cluster: String,
        /// Whether the creator was made a cluster admin (the default).
        bootstrap_admin: bool,
        authentication_mode: String,
    },
    /// A service account was given an IAM role through Pod Identity.
    PodIdentity {
        cluster: String,
        /// Absent only when neither request nor response logged it.
        association_id: Option<String>,
        namespace: Option<String>,
        service_account: Option<String>,
        role_arn: Option<String>,
    },
    /// A role's trust policy was written (created with the role, or replaced).
    Trust {
        role: String,
        /// As logged; absent in some records.
        document: Option<String>,
    },
}

impl Trigger {
    /// The cluster the trigger is about; `None` for IAM trust changes.
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Trigger::Associate { cluster, .. }
            | Trigger::CreateEntry { cluster, .. }
            | Trigger::CreateCluster { cluster, .. }
            | Trigger::PodIdentity { cluster, .. } => Some(cluster),
            Trigger::Trust { .. } => None,
        }
    }

    /// What the trigger is about, for logs.
    pub fn subject(&self) -> String {
        match self {
            Trigger::Associate {
                cluster, principal, ..
            }
            | Trigger::CreateEntry {
                cluster, principal, ..
            } => format!("{cluster}/{principal}"),
            Trigger::CreateCluster { cluster, .. } => cluster.clone(),
            Trigger::PodIdentity {
                cluster,
                association_id,
                ..
            } => format!("{cluster}/{}", association_id.as_deref().unwrap_or("?")),
            Trigger::Trust { role, .. } => role.clone(),
        }
    }
}

/// The trigger in `incoming`: `Ok(None)` when it is not one of this rule's events, an error
/// when it is one but cannot be read.
pub fn trigger(incoming: &Incoming) -> Result<Option<Trigger>, EventError> {
    let Incoming::ApiCall(call) = incoming else {
        return Ok(None);
    };
    let record = &call.record;
    let name = record.event_name.as_str();
    let eks = call.source == "aws.eks"
        && record.event_source == "eks.amazonaws.com"
        && EKS_EVENT_NAMES.contains(&name);
    let iam = call.source == "aws.iam"
        && record.event_source == "iam.amazonaws.com"
        && IAM_EVENT_NAMES.contains(&name);
    if !eks && !iam {
        return Ok(None);
    }
    let request = &record.request_parameters;
    if !request.is_object() {
        return Err(bad(format!("{name} has no requestParameters")));
    }
    if iam {
        return trust(name, request).map(Some);
    }
    let cluster = text(request, "name")
        .or_else(|| text(request, "clusterName"))
        .ok_or_else(|| bad(format!("{name} names no cluster")))?;
    let trigger = match name {
        "AssociateAccessPolicy" => {
            let principal = principal(request, name)?;
            let policy_arn = text(request, "policyArn")
                .map(|p| decoded(&p))
                .ok_or_else(|| bad("AssociateAccessPolicy names no policyArn".into()))?;
            let scope = request.get("accessScope");
            let kind = scope.and_then(|s| text(s, "type")).unwrap_or_default();
            let namespaces = lenient::values(scope.and_then(|s| s.get("namespaces")))
                .iter()
                .filter_map(|n| n.as_str().map(str::trim).filter(|n| !n.is_empty()))
                .map(str::to_owned)
                .collect();
            let scope = AccessScope::from_parts(&kind, namespaces).ok_or_else(|| {
                bad(format!(
                    "AssociateAccessPolicy has accessScope type {kind:?} (expected cluster or namespace)"
                ))
            })?;
            Trigger::Associate {
                cluster,
                principal,
                policy_arn,
                scope,
            }
        }
        "CreateAccessEntry" => Trigger::CreateEntry {
            principal: principal(request, name)?,
            kind: text(request, "type").unwrap_or_else(|| "STANDARD".to_owned()),
            cluster,
        },
        "CreateCluster" => create_cluster(call, cluster),
        _ => {
            let association = call.record.response_elements.get("association");
            let either = |field: &str| {
                text(request, field).or_else(|| association.and_then(|a| text(a, field)))
            };
            Trigger::PodIdentity {
                association_id: either("associationId"),
                namespace: either("namespace"),
                service_account: either("serviceAccount"),
                role_arn: either("roleArn"),
                cluster,
            }
        }
    };
    Ok(Some(trigger))
}

fn create_cluster(call: &ApiCall, cluster: String) -> Trigger {
    let asked = call.record.request_parameters.get("accessConfig");
    let given = call
        .record
        .response_elements
        .get("cluster")
        .and_then(|c| c.get("accessConfig"));
    let flag = |c: Option<&Value>| {
        lenient::bool_of(c.and_then(|c| c.get("bootstrapClusterCreatorAdminPermissions")))
    };
    let mode = |c: Option<&Value>| c.and_then(|c| text(c, "authenticationMode"));
    Trigger::CreateCluster {
        cluster,
        bootstrap_admin: flag(given).or(flag(asked)).unwrap_or(true),
        authentication_mode: mode(given)
            .or(mode(asked))
            .unwrap_or_else(|| DEFAULT_AUTHENTICATION_MODE.to_owned()),
    }
}

fn trust(name: &str, request: &Value) -> Result<Trigger, EventError> {
    let role = text(request, "roleName").ok_or_else(|| bad(format!("{name} names no role")))?;
    let field = if name == "CreateRole" {
        "assumeRolePolicyDocument"
    } else {
        "policyDocument"
    };
    let document = match request.get(field) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        _ => None,
    };
    Ok(Trigger::Trust { role, document })
}

fn principal(request: &Value, name: &str) -> Result<String, EventError> {
    text(request, "principalArn")
        .map(|p| decoded(&p))
        .ok_or_else(|| bad(format!("{name} names no principalArn")))
}

/// A non-empty string field, trimmed.
fn text(value: &Value, field: &str) -> Option<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A path parameter as logged, percent-decoded when it was logged as sent in the path.
fn decoded(text: &str) -> String {
    if text.contains('%') {
        percent_decode_str(text)
            .decode_utf8()
            .map(|d| d.into_owned())
            .unwrap_or_else(|_| text.to_owned())
    } else {
        text.to_owned()
    }
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

    fn call(
        source: &str,
        name: &str,
        request: Value,
        response: Value,
    ) -> Result<Option<Trigger>, EventError> {
        trigger(&api_call_event(source, name, request, response))
    }

    #[test]
    fn associations_read_cluster_principal_policy_and_scope_even_when_encoded() {
        let t = call(
            "aws.eks",
            "AssociateAccessPolicy",
            json!({
            "clusterName": "prod",
            "principalArn": "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fcontractor",
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
            "accessScope": {"type": "namespace", "namespaces": ["kube-system", " "]}}),
            Value::Null,
        )
        .unwrap();
        assert_eq!(
            t,
            Some(Trigger::Associate {
                cluster: "prod".into(),
                principal: "arn:aws:iam::123456789012:role/contractor".into(),
                policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy".into(),
                scope: AccessScope::Namespaces(vec!["kube-system".into()]),
            })
        );
        let unknown_scope = call(
            "aws.eks",
            "AssociateAccessPolicy",
            json!({"name": "prod",
            "principalArn": "arn:aws:iam::1:role/x", "policyArn": "p", "accessScope": {"type": "galaxy"}}),
            Value::Null,
        );
        assert!(unknown_scope.is_err());
        assert!(call(
            "aws.eks",
            "AssociateAccessPolicy",
            json!({"name": "prod", "policyArn": "p"}),
            Value::Null
        )
        .is_err());
    }

    #[test]
    fn create_cluster_takes_the_response_then_the_request_then_the_api_defaults() {
        let created = |request: Value, response: Value| match call(
            "aws.eks",
            "CreateCluster",
            request,
            response,
        )
        .unwrap()
        {
            Some(Trigger::CreateCluster {
                bootstrap_admin,
                authentication_mode,
                ..
            }) => (bootstrap_admin, authentication_mode),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            created(json!({"name": "c"}), Value::Null),
            (true, "CONFIG_MAP".to_owned())
        );
        assert_eq!(
            created(
                json!({"name": "c", "accessConfig": {"bootstrapClusterCreatorAdminPermissions": false, "authenticationMode": "API"}}),
                Value::Null
            ),
            (false, "API".to_owned())
        );
        assert_eq!(
            created(
                json!({"name": "c"}),
                json!({"cluster": {"accessConfig": {"bootstrapClusterCreatorAdminPermissions": "true", "authenticationMode": "API_AND_CONFIG_MAP"}}})
            ),
            (true, "API_AND_CONFIG_MAP".to_owned())
        );
    }

    #[test]
    fn pod_identity_fields_come_from_request_or_response() {
        let t = call("aws.eks", "UpdatePodIdentityAssociation",
            json!({"name": "c", "associationId": "a-1", "roleArn": "arn:aws:iam::1:role/r"}),
            json!({"association": {"namespace": "ns", "serviceAccount": "sa", "associationId": "a-1"}})).unwrap();
        assert_eq!(
            t,
            Some(Trigger::PodIdentity {
                cluster: "c".into(),
                association_id: Some("a-1".into()),
                namespace: Some("ns".into()),
                service_account: Some("sa".into()),
                role_arn: Some("arn:aws:iam::1:role/r".into())
            })
        );
    }

    #[test]
    fn trust_documents_are_kept_as_logged_and_other_calls_are_not_triggers() {
        let t = call(
            "aws.iam",
            "UpdateAssumeRolePolicy",
            json!({"roleName": "r", "policyDocument": "%7B%7D"}),
            Value::Null,
        )
        .unwrap();
        assert_eq!(
            t,
            Some(Trigger::Trust {
                role: "r".into(),
                document: Some("%7B%7D".into())
            })
        );
        let t = call(
            "aws.iam",
            "CreateRole",
            json!({"roleName": "r", "assumeRolePolicyDocument": {"Statement": []}}),
            Value::Null,
        )
        .unwrap();
        assert_eq!(
            t,
            Some(Trigger::Trust {
                role: "r".into(),
                document: Some(r#"{"Statement":[]}"#.into())
            })
        );
        assert!(call("aws.iam", "CreateRole", json!({}), Value::Null).is_err());
        assert!(call("aws.iam", "CreateRole", Value::Null, Value::Null).is_err());
        assert_eq!(
            call(
                "aws.eks",
                "DeleteAccessEntry",
                json!({"name": "c"}),
                Value::Null
            )
            .unwrap(),
            None
        );
        assert_eq!(
            call(
                "aws.iam",
                "AttachRolePolicy",
                json!({"roleName": "r"}),
                Value::Null
            )
            .unwrap(),
            None
        );
        assert_eq!(
            call(
                "aws.ec2",
                "CreateCluster",
                json!({"name": "c"}),
                Value::Null
            )
            .unwrap(),
            None
        );
    }
}
