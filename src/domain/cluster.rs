//! EKS clusters as `enforce-cluster-config` judges them: who may reach the API endpoint,
//! which control-plane log types reach CloudWatch, whether secrets are envelope-encrypted,
//! and whether the cluster is protected from deletion.
//!
//! Absent fields take AWS's documented defaults (public endpoint open to `0.0.0.0/0`, private
//! endpoint off, no logs, no encryption), so a record or a response that omits them is read
//! the way EKS would have created the cluster.

use std::collections::BTreeSet;
use std::fmt;

use ipnet::IpNet;

use super::Tags;

/// The CIDR EKS uses when a public endpoint has no `publicAccessCidrs`.
pub const WORLD_CIDR: &str = "0.0.0.0/0";

/// A control-plane log type (EKS `LogType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogType {
    Api,
    Audit,
    Authenticator,
    ControllerManager,
    Scheduler,
}

impl LogType {
    /// All five types, in the order EKS lists them.
    pub const ALL: [LogType; 5] = [
        LogType::Api,
        LogType::Audit,
        LogType::Authenticator,
        LogType::ControllerManager,
        LogType::Scheduler,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogType::Api => "api",
            LogType::Audit => "audit",
            LogType::Authenticator => "authenticator",
            LogType::ControllerManager => "controllerManager",
            LogType::Scheduler => "scheduler",
        }
    }

    /// The type named `name` as EKS spells it; unknown names are `None` (EKS may add types).
    pub fn parse(name: &str) -> Option<LogType> {
        LogType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The five types minus `enabled`: what must be switched back on.
    pub fn missing(enabled: &BTreeSet<LogType>) -> BTreeSet<LogType> {
        LogType::ALL
            .into_iter()
            .filter(|t| !enabled.contains(t))
            .collect()
    }
}

impl fmt::Display for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Joins log types with commas, for findings and actions.
pub fn join_log_types(types: &BTreeSet<LogType>) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Who can reach the cluster's Kubernetes API endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointAccess {
    pub public: bool,
    pub private: bool,
    /// Where the public endpoint may be reached from; kept as text because events may carry
    /// anything, and an entry that is not a CIDR is never within an allow-list.
    pub public_cidrs: Vec<String>,
}

impl Default for EndpointAccess {
    /// What EKS creates when the request says nothing.
    fn default() -> Self {
        EndpointAccess {
            public: true,
            private: false,
            public_cidrs: vec![WORLD_CIDR.to_owned()],
        }
    }
}

impl EndpointAccess {
    /// The CIDRs of a public endpoint that no `allowed` CIDR contains. `0.0.0.0/0` (and any
    /// other entry) counts as public unless the allow-list covers it.
    pub fn outside(&self, allowed: &[IpNet]) -> Vec<String> {
        self.public_cidrs
            .iter()
            .filter(|cidr| {
                let Ok(net) = cidr.trim().parse::<IpNet>() else {
                    return true;
                };
                !allowed.iter().any(|a| a.contains(&net))
            })
            .cloned()
            .collect()
    }
}

/// A cluster's security-relevant configuration, as `DescribeCluster` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub arn: Option<String>,
    /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`, `FAILED` or `PENDING`.
    pub status: Option<String>,
    pub tags: Tags,
    pub endpoint: EndpointAccess,
    /// The log types with `enabled: true`.
    pub logging: BTreeSet<LogType>,
    /// Whether Kubernetes secrets are envelope-encrypted with a KMS key.
    pub secrets_encrypted: bool,
    /// The Kubernetes version (`1.31`).
    pub version: Option<String>,
    /// `upgradePolicy.supportType`: `EXTENDED` (the default: the cluster stays on its version,
    /// at the extended-support price) or `STANDARD` (EKS upgrades it when standard support ends).
    pub support_type: Option<String>,
    /// `accessConfig.authenticationMode`: `CONFIG_MAP`, `API_AND_CONFIG_MAP` or `API`.
    pub authentication_mode: Option<String>,
    /// `deletionProtection` (EKS, 2025): while on, `DeleteCluster` fails on an active
    /// cluster. `None` when `DescribeCluster` does not report it at all (answers from before
    /// the field existed, and emulators without it): such a cluster is not judged on it,
    /// since an absent field says nothing about the setting.
    pub deletion_protection: Option<bool>,
    /// `identity.oidc.issuer`, the URL whose IAM OIDC provider IRSA needs.
    pub oidc_issuer: Option<String>,
}

/// What a cluster's status lets us do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// `ACTIVE`: updates are accepted.
    Ready,
    /// `CREATING`, `UPDATING`, `PENDING`: EKS refuses updates until it settles.
    Busy,
    /// `DELETING`, `FAILED`: nothing left to protect.
    Gone,
}

impl Cluster {
    pub fn readiness(&self) -> Readiness {
        match self.status.as_deref() {
            Some("ACTIVE") | None => Readiness::Ready,
            Some("DELETING" | "FAILED") => Readiness::Gone,
            Some(_) => Readiness::Busy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_types_round_trip_and_missing_ones_are_the_rest() {
        for t in LogType::ALL {
            assert_eq!(LogType::parse(t.as_str()), Some(t));
        }
        assert_eq!(LogType::parse("controllermanager"), None);
        let enabled = BTreeSet::from([LogType::Api, LogType::Scheduler]);
        assert_eq!(
            join_log_types(&LogType::missing(&enabled)),
            "audit,authenticator,controllerManager"
        );
    }

    #[test]
    fn cidrs_outside_the_allow_list_include_the_world_and_garbage() {
        let access = EndpointAccess {
            public_cidrs: vec![
                "203.0.113.0/25".into(),
                "0.0.0.0/0".into(),
                "198.51.100.7/32".into(),
                "not-a-cidr".into(),
            ],
            ..EndpointAccess::default()
        };
        let allowed: Vec<IpNet> = vec!["203.0.113.0/24".parse().unwrap()];
        assert_eq!(
            access.outside(&allowed),
            ["0.0.0.0/0", "198.51.100.7/32", "not-a-cidr"]
        );
        assert_eq!(EndpointAccess::default().outside(&[]), ["0.0.0.0/0"]);
    }
}
