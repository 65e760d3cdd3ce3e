//! Pure decisions of `enforce-cluster-config`: is an event worth a `DescribeCluster`, what is
//! unsafe about a cluster, and which updates put it right, in the order they run.

use std::collections::BTreeSet;

use crate::domain::{Cluster, EndpointAccess, LogType};
use crate::settings::Settings;

use super::event::{Kind, Trigger};

/// One update that makes part of a cluster safe. EKS accepts one update per call and one at a
/// time, so each is its own call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fix {
    /// Endpoint access from `from` to `to`.
    Endpoint {
        from: EndpointAccess,
        to: EndpointAccess,
    },
    /// Switch these log types on.
    Logging { enable: BTreeSet<LogType> },
    /// Envelope-encrypt secrets with this key (irreversible).
    Encrypt { key_arn: String },
}

/// What is unsafe about a cluster and what would fix it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    /// What is unsafe, for people, e.g. `public API endpoint open to 0.0.0.0/0`.
    pub findings: Vec<String>,
    /// The updates, endpoint first (exposure matters most), then logging, then encryption.
    pub fixes: Vec<Fix>,
    /// Secrets are not encrypted and no `KMS_KEY_ARN` is set: a person must choose a key.
    pub needs_key: bool,
}

/// Whether the endpoint is reachable from outside what the settings allow: public at all
/// when no allow-list is set, else public from a CIDR outside the allow-list.
pub fn endpoint_unsafe(access: &EndpointAccess, settings: &Settings) -> bool {
    access.public
        && (settings.public_access_cidrs.is_empty()
            || !access.outside(&settings.public_access_cidrs).is_empty())
}

/// Whether the event may have left the cluster unsafe, judged from the request alone, so that
/// safe requests (a cluster made private, a log type switched on) cost no AWS call.
pub fn worth_a_look(trigger: &Trigger, settings: &Settings) -> bool {
    let asked = &trigger.asked;
    let logging_off = asked.logging.as_ref().is_some_and(|l| match trigger.kind {
        Kind::Create => !LogType::missing(&l.enabled).is_empty(),
        Kind::Update => !l.disabled.is_empty(),
    });
    let endpoint_open = asked.endpoint.as_ref().is_some_and(|e| match trigger.kind {
        Kind::Create => endpoint_unsafe(&e.created(), settings),
        Kind::Update => match (e.public, &e.public_cidrs) {
            (Some(false), _) => false,
            // The request does not say whether the endpoint is public; the CIDRs only matter
            // if it is, and are harmless when all are allowed.
            (None, Some(cidrs)) | (Some(true), Some(cidrs)) => endpoint_unsafe(
                &EndpointAccess {
                    public: true,
                    private: false,
                    public_cidrs: cidrs.clone(),
                },
                settings,
            ),
            (Some(true), None) => true,
            (None, None) => false,
        },
    });
    let unencrypted = trigger.kind == Kind::Create && !asked.secrets_encrypted;
    logging_off || endpoint_open || unencrypted
}

/// What is unsafe about `cluster` now. `kind` limits the judgement: an update cannot remove
/// encryption, so only a new cluster is judged on it (the sweep covers older ones).
pub fn assess(cluster: &Cluster, settings: &Settings, kind: Kind) -> Assessment {
    let mut assessment = Assessment::default();
    let endpoint = &cluster.endpoint;
    if endpoint_unsafe(endpoint, settings) {
        let to = if settings.public_access_cidrs.is_empty() {
            assessment.findings.push(format!(
                "public API endpoint open to {}",
                endpoint.public_cidrs.join(",")
            ));
            EndpointAccess {
                public: false,
                private: true,
                public_cidrs: Vec::new(),
            }
        } else {
            assessment.findings.push(format!(
                "public API endpoint open to {} outside the allow-list",
                endpoint.outside(&settings.public_access_cidrs).join(",")
            ));
            EndpointAccess {
                public: true,
                private: endpoint.private,
                public_cidrs: settings
                    .public_access_cidrs
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            }
        };
        assessment.fixes.push(Fix::Endpoint {
            from: endpoint.clone(),
            to,
        });
    }
    let missing = LogType::missing(&cluster.logging);
    if !missing.is_empty() {
        assessment.findings.push(format!(
            "control-plane logs off: {}",
            crate::domain::cluster::join_log_types(&missing)
        ));
        assessment.fixes.push(Fix::Logging { enable: missing });
    }
    if kind == Kind::Create && !cluster.secrets_encrypted {
        assessment.findings.push(
            "Kubernetes secrets not envelope-encrypted with a customer-managed KMS key".to_owned(),
        );
        match &settings.kms_key_arn {
            Some(key_arn) => assessment.fixes.push(Fix::Encrypt {
                key_arn: key_arn.clone(),
            }),
            None => assessment.needs_key = true,
        }
    }
    assessment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Tags;
    use crate::rules::enforce_cluster_config::event::{Asked, EndpointAsk, LoggingAsk};

    fn cluster(endpoint: EndpointAccess, logging: &[LogType], encrypted: bool) -> Cluster {
        Cluster {
            name: "c".into(),
            arn: None,
            status: Some("ACTIVE".into()),
            tags: Tags::new(),
            endpoint,
            logging: logging.iter().copied().collect(),
            secrets_encrypted: encrypted,
            version: None,
            support_type: None,
            authentication_mode: None,
            oidc_issuer: None,
        }
    }

    fn private() -> EndpointAccess {
        EndpointAccess {
            public: false,
            private: true,
            public_cidrs: vec!["0.0.0.0/0".into()],
        }
    }

    fn allow_list(cidrs: &str) -> Settings {
        Settings {
            public_access_cidrs: cidrs.split(',').map(|c| c.parse().unwrap()).collect(),
            ..Settings::default()
        }
    }

    #[test]
    fn a_safe_cluster_needs_nothing() {
        let c = cluster(private(), &LogType::ALL, true);
        assert_eq!(
            assess(&c, &Settings::default(), Kind::Create),
            Assessment::default()
        );
    }

    #[test]
    fn a_default_cluster_needs_endpoint_then_logging_and_a_key() {
        let c = cluster(EndpointAccess::default(), &[], false);
        let a = assess(&c, &Settings::default(), Kind::Create);
        assert_eq!(a.findings.len(), 3);
        assert!(a.needs_key);
        assert!(matches!(&a.fixes[0], Fix::Endpoint { to, .. } if !to.public && to.private));
        assert_eq!(
            a.fixes[1],
            Fix::Logging {
                enable: LogType::ALL.into_iter().collect()
            }
        );
        let with_key = Settings {
            kms_key_arn: Some("arn:aws:kms:us-east-1:1:key/k".into()),
            ..Settings::default()
        };
        let a = assess(&c, &with_key, Kind::Create);
        assert!(!a.needs_key);
        assert!(matches!(&a.fixes[2], Fix::Encrypt { key_arn } if key_arn.ends_with("key/k")));
        // An update is not judged on encryption.
        assert_eq!(assess(&c, &with_key, Kind::Update).fixes.len(), 2);
    }

    #[test]
    fn only_the_missing_log_types_are_enabled() {
        let c = cluster(private(), &[LogType::Api, LogType::Scheduler], true);
        let a = assess(&c, &Settings::default(), Kind::Update);
        assert_eq!(
            a.fixes,
            [Fix::Logging {
                enable: BTreeSet::from([
                    LogType::Audit,
                    LogType::Authenticator,
                    LogType::ControllerManager
                ])
            }]
        );
        assert_eq!(
            a.findings,
            ["control-plane logs off: audit,authenticator,controllerManager"]
        );
    }

    #[test]
    fn an_allow_list_restricts_instead_of_closing() {
        let settings = allow_list("203.0.113.0/24,198.51.100.10/32");
        let open = cluster(EndpointAccess::default(), &LogType::ALL, true);
        let a = assess(&open, &settings, Kind::Update);
        assert_eq!(
            a.fixes,
            [Fix::Endpoint {
                from: EndpointAccess::default(),
                to: EndpointAccess {
                    public: true,
                    private: false,
                    public_cidrs: vec!["203.0.113.0/24".into(), "198.51.100.10/32".into()],
                },
            }]
        );
        let within = cluster(
            EndpointAccess {
                public: true,
                private: true,
                public_cidrs: vec!["203.0.113.128/25".into()],
            },
            &LogType::ALL,
            true,
        );
        assert!(assess(&within, &settings, Kind::Update).fixes.is_empty());
    }

    fn trigger(kind: Kind, asked: Asked) -> Trigger {
        Trigger {
            kind,
            cluster: "c".into(),
            asked,
        }
    }

    #[test]
    fn safe_requests_are_not_worth_a_call() {
        let s = Settings::default();
        let made_private = Asked {
            endpoint: Some(EndpointAsk {
                public: Some(false),
                private: Some(true),
                public_cidrs: None,
            }),
            ..Asked::default()
        };
        assert!(!worth_a_look(&trigger(Kind::Update, made_private), &s));
        let logs_on = Asked {
            logging: Some(LoggingAsk {
                enabled: BTreeSet::from([LogType::Audit]),
                disabled: BTreeSet::new(),
            }),
            ..Asked::default()
        };
        assert!(!worth_a_look(&trigger(Kind::Update, logs_on), &s));
        let safe_create = Asked {
            endpoint: Some(EndpointAsk {
                public: Some(false),
                private: Some(true),
                public_cidrs: None,
            }),
            logging: Some(LoggingAsk {
                enabled: LogType::ALL.into_iter().collect(),
                disabled: BTreeSet::new(),
            }),
            secrets_encrypted: true,
        };
        assert!(!worth_a_look(
            &trigger(Kind::Create, safe_create.clone()),
            &s
        ));
        let unencrypted = Asked {
            secrets_encrypted: false,
            ..safe_create
        };
        assert!(worth_a_look(&trigger(Kind::Create, unencrypted), &s));
    }

    #[test]
    fn opening_requests_are_worth_a_call() {
        let s = allow_list("203.0.113.0/24");
        let cidrs = |c: &str| Asked {
            endpoint: Some(EndpointAsk {
                public: None,
                private: None,
                public_cidrs: Some(vec![c.to_owned()]),
            }),
            ..Asked::default()
        };
        assert!(worth_a_look(&trigger(Kind::Update, cidrs("0.0.0.0/0")), &s));
        assert!(!worth_a_look(
            &trigger(Kind::Update, cidrs("203.0.113.7/32")),
            &s
        ));
        let public = Asked {
            endpoint: Some(EndpointAsk {
                public: Some(true),
                private: None,
                public_cidrs: None,
            }),
            ..Asked::default()
        };
        assert!(worth_a_look(&trigger(Kind::Update, public), &s));
        let logs_off = Asked {
            logging: Some(LoggingAsk {
                enabled: BTreeSet::new(),
                disabled: BTreeSet::from([LogType::Audit]),
            }),
            ..Asked::default()
        };
        assert!(worth_a_look(
            &trigger(Kind::Update, logs_off),
            &Settings::default()
        ));
    }
}
