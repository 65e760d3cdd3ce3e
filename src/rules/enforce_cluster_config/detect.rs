//! Pure decisions of `enforce-cluster-config`: is an event worth a `DescribeCluster`, what is
//! unsafe about a cluster, and which updates put it right, in the order they run.
//!
//! Deletion protection is judged like encryption, on what the event could have changed: a
//! request that turned it off is answered by turning it back on, whatever
//! `DELETION_PROTECTION` says (protection that someone removes is the one that was wanted); a
//! new cluster without it is reported, or protected with `DELETION_PROTECTION=enforce` (a
//! short-lived test cluster may be meant to go). An update that leaves it alone is not judged
//! on it, so every unrelated `UpdateClusterConfig` of an unprotected cluster stays quiet; the
//! sweep judges every cluster as if just created.

use std::collections::BTreeSet;

use crate::domain::{Cluster, EndpointAccess, LogType, Readiness};
use crate::settings::{DeletionProtection, Settings};

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
    /// Turn deletion protection on (`UpdateClusterConfig` with `deletionProtection: true`).
    DeletionProtection,
    /// Envelope-encrypt secrets with this key (irreversible).
    Encrypt { key_arn: String },
}

/// What is unsafe about a cluster and what would fix it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    /// What is unsafe, for people, e.g. `public API endpoint open to 0.0.0.0/0`.
    pub findings: Vec<String>,
    /// The updates, endpoint first (exposure matters most), then deletion protection (a
    /// deletion cannot be taken back, and turning protection off is how one starts), then
    /// logging, then encryption (it cannot be undone, and takes longest).
    pub fixes: Vec<Fix>,
    /// Secrets are not encrypted and no `KMS_KEY_ARN` is set: a person must choose a key.
    pub needs_key: bool,
    /// No deletion protection and `DELETION_PROTECTION=alert`: reported, left to a person.
    pub unprotected: bool,
    /// The request chose extended support (`upgradePolicy.supportType: EXTENDED`): reported
    /// with its cost, never changed back, as `STANDARD` lets EKS upgrade the cluster itself.
    pub extended_support: bool,
}

/// Whether `support_type` (as a request or EKS gives it) is extended support.
fn is_extended(support_type: Option<&str>) -> bool {
    support_type.is_some_and(|t| t.eq_ignore_ascii_case("EXTENDED"))
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
    // A create without `deletionProtection: true` is unprotected (EKS's default), and is
    // alerted even when DELETION_PROTECTION=alert; an update only when it turns it off.
    let unprotected = match trigger.kind {
        Kind::Create => asked.deletion_protection != Some(true),
        Kind::Update => asked.deletion_protection == Some(false),
    };
    let extended = trigger.kind == Kind::Update && is_extended(asked.support_type.as_deref());
    logging_off || endpoint_open || unencrypted || unprotected || extended
}

/// What is unsafe about `cluster` now, for `trigger`. The trigger limits the judgement: an
/// update cannot remove encryption, so only a new cluster is judged on it; deletion
/// protection is judged for a new cluster and for an update that turned it off; the choice of
/// extended support only for an update that made it. The sweep's trigger is a creation, so it
/// covers older clusters.
pub fn assess(cluster: &Cluster, settings: &Settings, trigger: &Trigger) -> Assessment {
    let kind = trigger.kind;
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
    judge_deletion_protection(cluster, settings, trigger, &mut assessment);
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
    // EXTENDED is also EKS's default, so only a request that chose it is news, and only
    // while the cluster does not report STANDARD again. Never changed back: STANDARD would
    // let EKS upgrade the control plane on its own schedule, which may break workloads.
    if kind == Kind::Update
        && is_extended(trigger.asked.support_type.as_deref())
        && !cluster
            .support_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("STANDARD"))
    {
        assessment.findings.push(
            "upgrade policy set to EXTENDED: extended support at $0.60 instead of $0.10 per \
             cluster-hour once the cluster's Kubernetes version leaves standard support"
                .to_owned(),
        );
        assessment.extended_support = true;
    }
    assessment
}

/// Deletion protection, for a cluster that reports it ([`Cluster::deletion_protection`]).
///
/// An update that turned it off is reverted whatever the setting says. EKS applies updates
/// asynchronously, so while the cluster is `UPDATING` it may still report protection on: the
/// fix is then planned anyway, which defers it (EKS is busy), and the next attempt judges the
/// settled value, finding nothing to do if protection stayed on.
fn judge_deletion_protection(
    cluster: &Cluster,
    settings: &Settings,
    trigger: &Trigger,
    assessment: &mut Assessment,
) {
    let Some(protected) = cluster.deletion_protection else {
        return;
    };
    match trigger.kind {
        Kind::Update if trigger.asked.deletion_protection == Some(false) => {
            if !protected || cluster.readiness() == Readiness::Busy {
                assessment
                    .findings
                    .push("deletion protection turned off".to_owned());
                assessment.fixes.push(Fix::DeletionProtection);
            }
        }
        Kind::Update => {}
        Kind::Create if protected => {}
        Kind::Create => {
            assessment
                .findings
                .push("no deletion protection".to_owned());
            match settings.deletion_protection {
                DeletionProtection::Enforce => assessment.fixes.push(Fix::DeletionProtection),
                DeletionProtection::Alert => assessment.unprotected = true,
            }
        }
    }
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
            deletion_protection: None,
        }
    }

    /// A trigger of `kind` whose request asked for nothing in particular (as the sweep's).
    fn on(kind: Kind) -> Trigger {
        trigger(kind, Asked::default())
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
            assess(&c, &Settings::default(), &on(Kind::Create)),
            Assessment::default()
        );
    }

    #[test]
    fn a_default_cluster_needs_endpoint_then_logging_and_a_key() {
        let c = cluster(EndpointAccess::default(), &[], false);
        let a = assess(&c, &Settings::default(), &on(Kind::Create));
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
        let a = assess(&c, &with_key, &on(Kind::Create));
        assert!(!a.needs_key);
        assert!(matches!(&a.fixes[2], Fix::Encrypt { key_arn } if key_arn.ends_with("key/k")));
        // An update is not judged on encryption.
        assert_eq!(assess(&c, &with_key, &on(Kind::Update)).fixes.len(), 2);
    }

    #[test]
    fn only_the_missing_log_types_are_enabled() {
        let c = cluster(private(), &[LogType::Api, LogType::Scheduler], true);
        let a = assess(&c, &Settings::default(), &on(Kind::Update));
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
        let a = assess(&open, &settings, &on(Kind::Update));
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
        assert!(assess(&within, &settings, &on(Kind::Update))
            .fixes
            .is_empty());
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
            deletion_protection: Some(true),
            support_type: None,
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

    fn protected(on: Option<bool>, status: &str) -> Cluster {
        Cluster {
            deletion_protection: on,
            status: Some(status.into()),
            ..cluster(private(), &LogType::ALL, true)
        }
    }

    fn asked_protection(value: Option<bool>) -> Asked {
        Asked {
            deletion_protection: value,
            ..Asked::default()
        }
    }

    fn enforce() -> Settings {
        Settings {
            deletion_protection: DeletionProtection::Enforce,
            ..Settings::default()
        }
    }

    #[test]
    fn protection_turned_off_is_turned_back_on_whatever_the_setting() {
        let off = trigger(Kind::Update, asked_protection(Some(false)));
        for settings in [Settings::default(), enforce()] {
            let a = assess(&protected(Some(false), "ACTIVE"), &settings, &off);
            assert_eq!(a.fixes, [Fix::DeletionProtection]);
            assert_eq!(a.findings, ["deletion protection turned off"]);
            assert!(!a.unprotected);
        }
        // Already on again (a repeat, or someone else): nothing to do.
        let a = assess(&protected(Some(true), "ACTIVE"), &Settings::default(), &off);
        assert_eq!(a, Assessment::default());
        // Still UPDATING: the old value may still show, so the fix is planned (and deferred).
        let a = assess(
            &protected(Some(true), "UPDATING"),
            &Settings::default(),
            &off,
        );
        assert_eq!(a.fixes, [Fix::DeletionProtection]);
    }

    #[test]
    fn a_new_cluster_without_protection_is_alerted_or_protected_as_the_setting_says() {
        let create = on(Kind::Create);
        let a = assess(
            &protected(Some(false), "CREATING"),
            &Settings::default(),
            &create,
        );
        assert!(a.unprotected);
        assert!(a.fixes.is_empty());
        assert_eq!(a.findings, ["no deletion protection"]);
        let a = assess(&protected(Some(false), "CREATING"), &enforce(), &create);
        assert!(!a.unprotected);
        assert_eq!(a.fixes, [Fix::DeletionProtection]);
        // After the endpoint, before logging.
        let open = Cluster {
            deletion_protection: Some(false),
            ..cluster(EndpointAccess::default(), &[], true)
        };
        let a = assess(&open, &enforce(), &create);
        assert!(matches!(
            a.fixes.as_slice(),
            [
                Fix::Endpoint { .. },
                Fix::DeletionProtection,
                Fix::Logging { .. }
            ]
        ));
        assert_eq!(
            assess(&protected(Some(true), "ACTIVE"), &enforce(), &create),
            Assessment::default()
        );
    }

    #[test]
    fn protection_is_judged_neither_when_unreported_nor_on_unrelated_updates() {
        for trigger in [
            on(Kind::Create),
            trigger(Kind::Update, asked_protection(Some(false))),
        ] {
            assert_eq!(
                assess(&protected(None, "ACTIVE"), &enforce(), &trigger),
                Assessment::default()
            );
        }
        let unrelated = trigger(
            Kind::Update,
            Asked {
                logging: Some(LoggingAsk {
                    enabled: BTreeSet::new(),
                    disabled: BTreeSet::from([LogType::Audit]),
                }),
                ..Asked::default()
            },
        );
        assert_eq!(
            assess(&protected(Some(false), "ACTIVE"), &enforce(), &unrelated),
            Assessment::default()
        );
    }

    fn support(kind: Kind, support_type: &str) -> Trigger {
        trigger(
            kind,
            Asked {
                support_type: Some(support_type.into()),
                ..Asked::default()
            },
        )
    }

    #[test]
    fn choosing_extended_support_is_alerted_and_never_changed() {
        let c = |support_type: &str| Cluster {
            support_type: Some(support_type.into()),
            ..cluster(private(), &LogType::ALL, true)
        };
        let s = Settings::default();
        let a = assess(&c("EXTENDED"), &s, &support(Kind::Update, "EXTENDED"));
        assert!(a.extended_support);
        assert!(a.fixes.is_empty());
        assert!(a.findings[0].contains("$0.60 instead of $0.10"), "{a:?}");
        // Changed back to STANDARD since: nothing to say.
        assert_eq!(
            assess(&c("STANDARD"), &s, &support(Kind::Update, "EXTENDED")),
            Assessment::default()
        );
        assert_eq!(
            assess(&c("STANDARD"), &s, &support(Kind::Update, "STANDARD")),
            Assessment::default()
        );
        // EXTENDED is EKS's default: a cluster created with it is not news.
        assert_eq!(
            assess(&c("EXTENDED"), &s, &support(Kind::Create, "EXTENDED")),
            Assessment::default()
        );
    }

    #[test]
    fn protection_and_support_requests_are_worth_a_call_only_when_they_loosen() {
        let s = Settings::default();
        let update = |value| trigger(Kind::Update, asked_protection(value));
        assert!(worth_a_look(&update(Some(false)), &s));
        assert!(!worth_a_look(&update(Some(true)), &s));
        assert!(!worth_a_look(&update(None), &s));
        assert!(worth_a_look(&support(Kind::Update, "EXTENDED"), &s));
        assert!(!worth_a_look(&support(Kind::Update, "STANDARD"), &s));
        let safe_create = |protection| Asked {
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
            deletion_protection: protection,
            support_type: None,
        };
        assert!(!worth_a_look(
            &trigger(Kind::Create, safe_create(Some(true))),
            &s
        ));
        // Unprotected (EKS's default): alerted even with DELETION_PROTECTION=alert.
        assert!(worth_a_look(&trigger(Kind::Create, safe_create(None)), &s));
        assert!(worth_a_look(
            &trigger(Kind::Create, safe_create(Some(false))),
            &s
        ));
    }
}
