//! Pure decisions of `restore-audit-trail`: what of a detector to switch back on, and which
//! CloudTrail name to call a trail by.

use crate::domain::audit::{Detector, DetectorRestore, FeatureRestore};

/// What the request switched off that is still off now: only that is switched back on, so a
/// feature someone turned on again meanwhile, or one that was never on, is left alone.
pub fn restore(off: &DetectorRestore, now: &Detector) -> DetectorRestore {
    let features = off
        .features
        .iter()
        .filter_map(|f| {
            let current = now.features.get(&f.name);
            let whole = f.whole && !current.is_some_and(|c| c.enabled);
            let additional: Vec<String> = f
                .additional
                .iter()
                .filter(|a| {
                    !current
                        .and_then(|c| c.additional.get(*a))
                        .copied()
                        .unwrap_or(false)
                })
                .cloned()
                .collect();
            (whole || !additional.is_empty()).then(|| FeatureRestore {
                name: f.name.clone(),
                whole,
                additional,
            })
        })
        .collect();
    DetectorRestore {
        enable: off.enable && !now.enabled,
        features,
        kubernetes_audit_logs: off.kubernetes_audit_logs && !now.kubernetes_audit_logs,
    }
}

/// Whether an enabled detector watches no EKS workload at run time: neither
/// `EKS_RUNTIME_MONITORING` nor `RUNTIME_MONITORING` is on. The sweep reports it and does
/// not switch it on: it is paid, and installs GuardDuty's agent on every cluster.
pub fn runtime_unwatched(detector: &Detector) -> bool {
    detector.enabled
        && !["EKS_RUNTIME_MONITORING", "RUNTIME_MONITORING"]
            .iter()
            .any(|f| detector.features.get(*f).is_some_and(|state| state.enabled))
}

/// What was switched off, for people: `detector disabled, EKS_AUDIT_LOGS, ...`.
pub fn describe(off: &DetectorRestore) -> String {
    let mut parts = Vec::new();
    if off.enable {
        parts.push("detector disabled".to_owned());
    }
    for f in &off.features {
        if f.whole {
            parts.push(f.name.clone());
        }
        parts.extend(f.additional.iter().map(|a| format!("{}/{a}", f.name)));
    }
    if off.kubernetes_audit_logs {
        parts.push("dataSources kubernetes audit logs".to_owned());
    }
    parts.join(", ")
}

/// The name to call a trail by: its name, unless the request named it by an ARN of another
/// region or account, which only the ARN reaches.
pub fn trail_handle<'a>(named: &'a str, name: &'a str, region: &str, account: &str) -> &'a str {
    let mut parts = named.split(':');
    match (parts.next(), parts.nth(2), parts.next()) {
        (Some("arn"), Some(r), Some(a)) if r != region || a != account => named,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::FeatureState;
    use std::collections::BTreeMap;

    #[test]
    fn runtime_is_unwatched_when_neither_runtime_feature_is_on() {
        let with = |features: &[(&str, bool)], enabled: bool| Detector {
            id: "d".into(),
            enabled,
            features: features
                .iter()
                .map(|(name, on)| {
                    (
                        (*name).to_owned(),
                        FeatureState {
                            enabled: *on,
                            additional: BTreeMap::new(),
                        },
                    )
                })
                .collect(),
            ..Detector::default()
        };
        assert!(runtime_unwatched(&with(&[("EKS_AUDIT_LOGS", true)], true)));
        assert!(runtime_unwatched(&with(
            &[("RUNTIME_MONITORING", false)],
            true
        )));
        assert!(!runtime_unwatched(&with(
            &[("RUNTIME_MONITORING", true)],
            true
        )));
        assert!(!runtime_unwatched(&with(
            &[("EKS_RUNTIME_MONITORING", true)],
            true
        )));
        // A disabled detector is reported as such, not twice.
        assert!(!runtime_unwatched(&with(&[], false)));
    }

    #[test]
    fn only_what_is_still_off_is_switched_on() {
        let off = DetectorRestore {
            enable: true,
            features: vec![
                FeatureRestore {
                    name: "EKS_AUDIT_LOGS".into(),
                    whole: true,
                    additional: vec![],
                },
                FeatureRestore {
                    name: "RUNTIME_MONITORING".into(),
                    whole: false,
                    additional: vec!["EKS_ADDON_MANAGEMENT".into()],
                },
            ],
            kubernetes_audit_logs: false,
        };
        let now = Detector {
            enabled: true,
            features: BTreeMap::from([
                ("EKS_AUDIT_LOGS".to_owned(), FeatureState::default()),
                (
                    "RUNTIME_MONITORING".to_owned(),
                    FeatureState {
                        enabled: true,
                        additional: BTreeMap::from([("EKS_ADDON_MANAGEMENT".to_owned(), true)]),
                    },
                ),
            ]),
            ..Detector::default()
        };
        assert_eq!(
            restore(&off, &now),
            DetectorRestore {
                enable: false,
                features: vec![off.features[0].clone()],
                kubernetes_audit_logs: false,
            }
        );
    }

    #[test]
    fn trails_are_called_by_name_unless_another_region_owns_them() {
        let here = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main";
        let there = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/main";
        assert_eq!(
            trail_handle(here, "main", "us-east-1", "123456789012"),
            "main"
        );
        assert_eq!(
            trail_handle(there, "main", "us-east-1", "123456789012"),
            there
        );
        assert_eq!(
            trail_handle("main", "main", "us-east-1", "123456789012"),
            "main"
        );
    }
}
