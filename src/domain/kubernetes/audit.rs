//! Kubernetes audit events (`audit.k8s.io/v1` `Event`), as EKS writes them to a cluster's
//! `kube-apiserver-audit-*` log streams, one JSON document per log event.
//!
//! The objects an event carries stay raw ([`RawValue`]) until a rule knows the event is one it
//! judges: a batch of hundreds of events is then scanned once, and only the writes that
//! matter are parsed into typed objects.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::or_default;

/// The verbs of a write whose result the rules judge. `delete` leaves nothing to judge, and
/// reads change nothing.
pub const JUDGED_VERBS: &[&str] = &["create", "update", "patch"];

/// The stage at which an event carries the outcome and the stored object.
pub const RESPONSE_COMPLETE: &str = "ResponseComplete";

/// One audit event: the fields the rules read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(rename = "auditID", default)]
    pub audit_id: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub verb: String,
    #[serde(default, rename = "requestURI")]
    pub request_uri: String,
    #[serde(default, deserialize_with = "or_default")]
    pub user: UserInfo,
    #[serde(default, deserialize_with = "or_default")]
    pub object_ref: ObjectRef,
    #[serde(default)]
    pub response_status: Option<ResponseStatus>,
    #[serde(default)]
    pub request_object: Option<Box<RawValue>>,
    #[serde(default)]
    pub response_object: Option<Box<RawValue>>,
    #[serde(default)]
    pub request_received_timestamp: String,
    #[serde(default)]
    pub stage_timestamp: String,
}

/// Who made the request. EKS adds the IAM identity behind a Kubernetes user in `extra`
/// (`arn`, `canonicalArn`, `sessionName`, `principalId`, `accessKeyId`), each a list.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct UserInfo {
    pub username: String,
    #[serde(deserialize_with = "or_default")]
    pub groups: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The object a request was about.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectRef {
    /// The plural resource name: `deployments`, `clusterrolebindings`, ...
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub api_group: String,
    pub subresource: String,
}

/// The HTTP outcome of the request.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ResponseStatus {
    pub code: Option<u16>,
}

/// Users that are EKS itself, the control plane, its nodes, or the add-ons and controllers
/// of `kube-system`: their writes are how the cluster runs, not someone's choice (a
/// ReplicaSet's pods are created by `system:serviceaccount:kube-system:replicaset-controller`).
const SYSTEM_USER_PREFIXES: &[&str] =
    &["eks:", "system:node:", "system:serviceaccount:kube-system:"];
const SYSTEM_USERS: &[&str] = &[
    "system:apiserver",
    "system:kube-controller-manager",
    "system:kube-scheduler",
];

impl UserInfo {
    /// The IAM principal behind the user, when EKS authenticated one.
    pub fn iam_arn(&self) -> Option<&str> {
        ["arn", "canonicalArn"]
            .iter()
            .find_map(|key| self.extra.get(*key).and_then(|v| v.first()))
            .map(String::as_str)
            .filter(|arn| arn.starts_with("arn:"))
    }

    /// Whether the user is EKS, the control plane or a `kube-system` component.
    pub fn is_system(&self) -> bool {
        SYSTEM_USERS.contains(&self.username.as_str())
            || SYSTEM_USER_PREFIXES
                .iter()
                .any(|prefix| self.username.starts_with(prefix))
    }
}

impl AuditEvent {
    /// Whether this is the record of a write that changed an object: the response is complete
    /// and succeeded, the verb writes, it is not about a subresource (`status`, `scale`: the
    /// object's spec is unchanged) and it was not a dry run (nothing was stored).
    pub fn is_completed_write(&self) -> bool {
        self.stage == RESPONSE_COMPLETE
            && JUDGED_VERBS.contains(&self.verb.as_str())
            && self.object_ref.subresource.is_empty()
            && self
                .response_status
                .as_ref()
                .and_then(|s| s.code)
                .is_none_or(|code| (200..300).contains(&code))
            && !self.request_uri.contains("dryRun=")
    }

    /// The object as it was stored: the response when the audit level recorded it, else the
    /// request of a `create` or `update` (the whole object). The request of a `patch` is only
    /// the patch, so a patch without its response has nothing to judge.
    pub fn stored_object(&self) -> Option<&str> {
        fn object(raw: &RawValue) -> Option<&str> {
            Some(raw.get()).filter(|s| s.starts_with('{'))
        }
        match (&self.response_object, &self.request_object) {
            (Some(response), _) if object(response).is_some() => object(response),
            (_, Some(request)) if self.verb != "patch" => object(request),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> AuditEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn writes_are_judged_only_when_complete_successful_and_not_of_a_subresource() {
        let base = r#""stage":"ResponseComplete","verb":"patch","requestURI":"/apis/apps/v1/namespaces/shop/deployments/web","objectRef":{"resource":"deployments","namespace":"shop","name":"web"},"responseStatus":{"code":200}"#;
        assert!(event(&format!("{{{base}}}")).is_completed_write());
        for changed in [
            base.replace("ResponseComplete", "RequestReceived"),
            base.replace("\"patch\"", "\"get\""),
            base.replace(
                "\"name\":\"web\"",
                "\"name\":\"web\",\"subresource\":\"scale\"",
            ),
            base.replace("200", "422"),
            base.replace("/web\"", "/web?dryRun=All\""),
        ] {
            assert!(
                !event(&format!("{{{changed}}}")).is_completed_write(),
                "{changed}"
            );
        }
    }

    #[test]
    fn the_stored_object_is_the_response_or_a_whole_request_never_a_patch() {
        let e = event(
            r#"{"verb":"patch","requestObject":{"spec":{"replicas":3}},"responseObject":{"kind":"Deployment"}}"#,
        );
        assert_eq!(e.stored_object(), Some(r#"{"kind":"Deployment"}"#));
        let e = event(r#"{"verb":"patch","requestObject":{"spec":{"replicas":3}}}"#);
        assert_eq!(e.stored_object(), None);
        let e = event(r#"{"verb":"create","requestObject":{"kind":"Pod"},"responseObject":null}"#);
        assert_eq!(e.stored_object(), Some(r#"{"kind":"Pod"}"#));
        let e = event(r#"{"verb":"update","requestObject":"text"}"#);
        assert_eq!(e.stored_object(), None);
    }

    #[test]
    fn the_iam_identity_and_system_users_are_recognised() {
        let e = event(
            r#"{"user":{"username":"arn:aws:sts::123456789012:assumed-role/dev/alice","groups":["dev"],
            "extra":{"arn":["arn:aws:sts::123456789012:assumed-role/dev/alice"],"sessionName":["alice"]}}}"#,
        );
        assert_eq!(
            e.user.iam_arn(),
            Some("arn:aws:sts::123456789012:assumed-role/dev/alice")
        );
        assert!(!e.user.is_system());
        for name in [
            "eks:addon-manager",
            "system:node:ip-10-0-1-2.ec2.internal",
            "system:serviceaccount:kube-system:replicaset-controller",
            "system:kube-controller-manager",
        ] {
            let user = UserInfo {
                username: name.into(),
                ..UserInfo::default()
            };
            assert!(user.is_system(), "{name}");
        }
        let argo = UserInfo {
            username: "system:serviceaccount:argocd:argocd-application-controller".into(),
            ..UserInfo::default()
        };
        assert!(!argo.is_system());
        assert_eq!(argo.iam_arn(), None);
    }
}
