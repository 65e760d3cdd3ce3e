//! Kubernetes objects as the audit log records them, and what the EKS best practices ask of
//! them: workloads (`workload`), RBAC bindings and roles (`rbac`), the `aws-auth` ConfigMap
//! (`aws_auth`), and the audit events that carry them (`audit`).
//!
//! These are our own narrow types, not a Kubernetes client's: the function reads a few fields
//! of each object and must not fail on fields it does not know, nor pull in a client crate
//! that would double its size.

pub mod audit;
pub mod aws_auth;
pub mod rbac;
pub mod workload;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// The part of every object's `metadata` the rules read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    #[serde(deserialize_with = "or_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "or_default")]
    pub annotations: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// Whether the label or annotation `key` is `true`: Kubernetes objects carry no AWS tags,
    /// so `EXEMPT_TAG_KEY` is read from their labels and annotations. A label or annotation key
    /// cannot hold `:` (the default `eks-remediator:exempt`), so the key with its `:` as `/`
    /// (`eks-remediator/exempt`) counts too.
    pub fn is_marked(&self, key: &str) -> bool {
        let yes = |v: &String| {
            v.trim()
                .eq_ignore_ascii_case(crate::settings::EXEMPT_TAG_VALUE)
        };
        let kubernetes_key = key.replace(':', "/");
        [key, kubernetes_key.as_str()].iter().any(|k| {
            self.labels.get(*k).is_some_and(yes) || self.annotations.get(*k).is_some_and(yes)
        })
    }
}

/// A field the API server may write as `null` (Go's nil slices and maps): its default then.
pub(crate) fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemption_is_read_from_labels_or_annotations_and_null_maps_are_empty() {
        let meta: ObjectMeta = serde_json::from_str(
            r#"{"name":"web","labels":null,"annotations":{"eks-remediator:exempt":"True"}}"#,
        )
        .unwrap();
        assert!(meta.labels.is_empty());
        assert!(meta.is_marked("eks-remediator:exempt"));
        assert!(!meta.is_marked("other"));
        let meta: ObjectMeta =
            serde_json::from_str(r#"{"labels":{"eks-remediator:exempt":"false"}}"#).unwrap();
        assert!(!meta.is_marked("eks-remediator:exempt"));
        let meta: ObjectMeta =
            serde_json::from_str(r#"{"labels":{"eks-remediator/exempt":"true"}}"#).unwrap();
        assert!(meta.is_marked("eks-remediator:exempt"));
        assert!(meta.is_marked("eks-remediator/exempt"));
    }
}
