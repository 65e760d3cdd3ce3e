//! A stand-in for two EKS cluster fields moto 5.2 lacks: `deletionProtection` (2025) and
//! `upgradePolicy.supportType`. moto ignores both in `CreateCluster`, leaves them out of
//! `DescribeCluster`, and answers an `UpdateClusterConfig` that carries only them with the
//! cluster (`{"cluster": ...}`, no `update` object), so a test puts a [`ClusterExtras`] in front of moto on the proxy,
//! both as a [`Responder`] and as a [`Rewriter`]:
//! - `CreateCluster` goes on to moto; when moto created the cluster, the model records the
//!   two fields from the request, with EKS's defaults when absent (`deletionProtection`
//!   false, `supportType` `EXTENDED`), and adds them to moto's answer;
//! - `DescribeCluster` of a cluster the model knows gets the two fields added to moto's
//!   answer, as `cluster.deletionProtection` (a boolean) and
//!   `cluster.upgradePolicy.supportType`;
//! - `UpdateClusterConfig` carrying `deletionProtection` or `upgradePolicy` is answered by the
//!   model for a cluster it knows, with an `update` object as EKS returns one
//!   (`DeletionProtectionUpdate` or `UpgradePolicyUpdate`, status `InProgress`); other updates
//!   go on to moto untouched;
//! - `DeleteCluster` of a protected cluster is refused (`InvalidRequestException`, 400), as
//!   EKS refuses it while the cluster is active; a deleted cluster is forgotten.
//!
//! Clusters it never saw created (made straight in moto) stay as moto reports them, without
//! the fields, unless a test registers them with [`ClusterExtras::cluster`]: so the older
//! tests, whose clusters it never sees, read exactly what they read before.
//!
//! It follows the Amazon EKS API Reference (`Cluster`, `UpgradePolicyResponse`, `Update`,
//! `UpdateParam`) and the user guide on deletion protection
//! (<https://docs.aws.amazon.com/eks/latest/userguide/deletion-protection.html>). Where they
//! say nothing, it is simpler than EKS, and no test of ours depends on the difference:
//! - updates apply at once (EKS's take a moment, during which the cluster is `UPDATING`);
//! - the `UpdateParam` value of an upgrade-policy update is the support type (`EXTENDED`),
//!   as for other single-valued params: its exact text is not documented;
//! - the error messages are ours; the error types and status codes are EKS's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{json, Map, Value};

use super::proxy::{ok_json, Canned, Proxy, Request, Responder, Rewriter};

/// The model: the two fields of each cluster it knows, by cluster name.
#[derive(Default)]
pub struct ClusterExtras {
    state: Mutex<BTreeMap<String, Extras>>,
}

/// One cluster's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extras {
    pub deletion_protection: bool,
    /// `STANDARD` or `EXTENDED`.
    pub support_type: String,
}

impl Default for Extras {
    /// What EKS gives a cluster created without the fields.
    fn default() -> Self {
        Extras {
            deletion_protection: false,
            support_type: "EXTENDED".to_owned(),
        }
    }
}

/// The `UpdateClusterConfig` fields that each make an update of their own; EKS takes one
/// kind of update per call.
const UPDATE_KINDS: [&str; 11] = [
    "resourcesVpcConfig",
    "logging",
    "accessConfig",
    "upgradePolicy",
    "zonalShiftConfig",
    "computeConfig",
    "kubernetesNetworkConfig",
    "storageConfig",
    "remoteNetworkConfig",
    "deletionProtection",
    "controlPlaneScalingConfig",
];

impl ClusterExtras {
    /// A model in front of moto on `proxy`, answering and rewriting as the module says.
    pub fn install(proxy: &Proxy) -> Arc<ClusterExtras> {
        let model = Arc::new(ClusterExtras::default());
        proxy.respond_with(model.clone());
        proxy.rewrite_with(model.clone());
        model
    }

    fn state(&self) -> MutexGuard<'_, BTreeMap<String, Extras>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers (or overwrites) `cluster` with these values, as if it had been created or
    /// updated through the proxy: for clusters made straight in moto.
    pub fn cluster(&self, cluster: &str, deletion_protection: bool, support_type: &str) {
        self.state().insert(
            cluster.to_owned(),
            Extras {
                deletion_protection,
                support_type: support_type.to_owned(),
            },
        );
    }

    /// The fields of `cluster`, if the model knows it.
    pub fn get(&self, cluster: &str) -> Option<Extras> {
        self.state().get(cluster).cloned()
    }
}

/// The path's segments after `/clusters`: `[]` for `/clusters`, `[name]`,
/// `[name, "update-config"]`; `None` for other paths.
fn cluster_path(path: &str) -> Option<Vec<&str>> {
    let mut segments = path.trim_matches('/').split('/');
    (segments.next()? == "clusters").then(|| segments.collect())
}

impl Responder for ClusterExtras {
    fn answer(&self, method: &str, path: &str, _query: &str, body: &str) -> Option<Canned> {
        match (method, cluster_path(path)?.as_slice()) {
            ("POST", [name, "update-config"]) => self.update_config(name, body),
            ("DELETE", [name]) => {
                let protected = self.state().get(*name)?.deletion_protection;
                protected.then(|| {
                    error(
                        400,
                        "InvalidRequestException",
                        name,
                        "Cannot delete the cluster while deletion protection is enabled; \
                         disable deletion protection first.",
                    )
                })
            }
            _ => None,
        }
    }
}

impl ClusterExtras {
    /// `UpdateClusterConfig` carrying one of the model's fields: answered here; any other
    /// update goes on to moto (`None`).
    fn update_config(&self, name: &str, body: &str) -> Option<Canned> {
        let request: Map<String, Value> = serde_json::from_str(body).ok()?;
        let kinds: Vec<&str> = UPDATE_KINDS
            .into_iter()
            .filter(|k| request.contains_key(*k))
            .collect();
        if !kinds.contains(&"deletionProtection") && !kinds.contains(&"upgradePolicy") {
            return None;
        }
        let mut state = self.state();
        let extras = state.get_mut(name)?;
        if kinds.len() > 1 {
            return Some(error(
                400,
                "InvalidParameterException",
                name,
                "Only one type of update can be allowed.",
            ));
        }
        let (kind, param, value) = if let Some(on) = request.get("deletionProtection") {
            let Some(on) = on.as_bool() else {
                return Some(error(
                    400,
                    "InvalidParameterException",
                    name,
                    "deletionProtection must be a boolean.",
                ));
            };
            extras.deletion_protection = on;
            (
                "DeletionProtectionUpdate",
                "DeletionProtection",
                on.to_string(),
            )
        } else {
            let support = request
                .get("upgradePolicy")
                .and_then(|p| p.get("supportType"))
                .and_then(Value::as_str);
            let Some(support @ ("STANDARD" | "EXTENDED")) = support else {
                return Some(error(
                    400,
                    "InvalidParameterException",
                    name,
                    "upgradePolicy.supportType must be STANDARD or EXTENDED.",
                ));
            };
            extras.support_type = support.to_owned();
            ("UpgradePolicyUpdate", "UpgradePolicy", support.to_owned())
        };
        Some(ok_json(json!({"update": {
            "id": uuid(),
            "status": "InProgress",
            "type": kind,
            "params": [{"type": param, "value": value}],
            "createdAt": now(),
            "errors": [],
        }})))
    }
}

impl Rewriter for ClusterExtras {
    fn rewrite(&self, request: &Request<'_>, status: u16, body: &str) -> Option<String> {
        if status != 200 {
            return None;
        }
        let segments = cluster_path(request.path)?;
        let extras = match (request.method, segments.as_slice()) {
            ("POST", []) => {
                let asked: Value = serde_json::from_str(request.body).ok()?;
                let name = asked.get("name")?.as_str()?;
                let defaults = Extras::default();
                let extras = Extras {
                    deletion_protection: asked
                        .get("deletionProtection")
                        .and_then(Value::as_bool)
                        .unwrap_or(defaults.deletion_protection),
                    support_type: asked
                        .pointer("/upgradePolicy/supportType")
                        .and_then(Value::as_str)
                        .map_or(defaults.support_type, str::to_owned),
                };
                self.state().insert(name.to_owned(), extras.clone());
                extras
            }
            ("GET", [name]) => self.state().get(*name)?.clone(),
            ("DELETE", [name]) => {
                self.state().remove(*name);
                return None;
            }
            _ => return None,
        };
        let mut answer: Value = serde_json::from_str(body).ok()?;
        let cluster = answer.get_mut("cluster")?.as_object_mut()?;
        cluster.insert(
            "deletionProtection".into(),
            json!(extras.deletion_protection),
        );
        cluster.insert(
            "upgradePolicy".into(),
            json!({"supportType": extras.support_type}),
        );
        Some(answer.to_string())
    }
}

/// An EKS error answer (restJson1: the type in `x-amzn-ErrorType`, the fields in the body).
fn error(status: u16, kind: &str, cluster: &str, message: &str) -> Canned {
    Canned {
        status,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("x-amzn-ErrorType".into(), kind.into()),
            ("x-amzn-RequestId".into(), uuid()),
        ],
        body: json!({"message": message, "clusterName": cluster}).to_string(),
    }
}

/// Seconds since the epoch with milliseconds, as EKS's timestamps.
fn now() -> f64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    since.as_millis() as f64 / 1000.0
}

/// Distinct ids shaped like EKS's update ids (UUIDs), from a counter.
fn uuid() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("c1a5e7e5-0000-4000-8000-{n:012x}")
}
