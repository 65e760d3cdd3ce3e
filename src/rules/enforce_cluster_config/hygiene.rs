//! Version hygiene, judged by the sweep only (EKS best practice: stay on a supported
//! Kubernetes version, and keep CoreDNS at a version made for it). Nothing here is changed
//! automatically: a control-plane upgrade is one-way and needs add-ons and nodes upgraded
//! with it, so these are alerts with the date, the cost and the command.
//!
//! The warning comes `SUPPORT_WARNING_DAYS` before a version leaves standard support, so an
//! upgrade can be planned: after that day the cluster either costs six times as much
//! (upgrade policy `EXTENDED`) or is upgraded by EKS on EKS's schedule (`STANDARD`).
//!
//! Pure: the caller supplies what EKS answered and the day to judge on.

use crate::domain::versions::{AddonVersion, Day, VersionSupport};
use crate::domain::Cluster;

/// EKS's published price per cluster-hour in standard support (USD).
pub const STANDARD_USD_PER_HOUR: f64 = 0.10;
/// EKS's published price per cluster-hour in extended support (USD).
pub const EXTENDED_USD_PER_HOUR: f64 = 0.60;
/// Average hours in a month (365 × 24 / 12), for the monthly figure.
const HOURS_PER_MONTH: f64 = 730.0;

/// What extended support costs, for people: the price per cluster-hour against standard
/// support's, and the difference a month. Also said when someone chooses `EXTENDED`.
pub fn extended_support_cost() -> String {
    let extra = EXTENDED_USD_PER_HOUR - STANDARD_USD_PER_HOUR;
    format!(
        "Extended support costs ${EXTENDED_USD_PER_HOUR:.2} per cluster-hour instead of \
         ${STANDARD_USD_PER_HOUR:.2}: ${extra:.2} more, about ${:.0} a month.",
        extra * HOURS_PER_MONTH
    )
}

/// Something to tell people about a cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub finding: String,
    pub note: String,
}

/// Where a version stands in its support window on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Standard,
    Extended { until: Option<Day> },
    Ended { since: Option<Day> },
}

/// The phase of `support` on `today`: by its dates when EKS gives them, else by its status.
pub fn phase(support: &VersionSupport, today: Day) -> Phase {
    match (support.end_of_standard, support.end_of_extended) {
        (_, Some(end)) if today >= end => Phase::Ended { since: Some(end) },
        (Some(end), until) if today >= end => Phase::Extended { until },
        (Some(_), _) => Phase::Standard,
        (None, until) => match support.status.as_deref() {
            Some("UNSUPPORTED") => Phase::Ended { since: until },
            Some("EXTENDED_SUPPORT") => Phase::Extended { until },
            _ => Phase::Standard,
        },
    }
}

/// The next minor version (`1.29` → `1.30`): EKS upgrades one minor version at a time.
fn next_minor(version: &str) -> Option<String> {
    let (major, minor) = version.split_once('.')?;
    let minor: u32 = minor.parse().ok()?;
    Some(format!("{major}.{}", minor + 1))
}

/// What to say about the cluster's Kubernetes version on `today`, if anything: a warning
/// within `warning_days` of the end of standard support (0: no early warning), then that it
/// is in extended support, then that it is past the end of support.
pub fn version_finding(
    cluster: &Cluster,
    versions: &[VersionSupport],
    today: Day,
    warning_days: u32,
) -> Option<Finding> {
    let version = cluster.version.as_deref()?;
    let support = versions.iter().find(|v| v.version == version)?;
    let target = versions
        .iter()
        .find(|v| v.default)
        .map_or("EKS's default version", |v| v.version.as_str());
    let next = next_minor(version).unwrap_or_else(|| target.to_owned());
    let upgrade = format!(
        "Upgrade one minor version at a time towards {target} (EKS's default): aws eks \
         update-cluster-version --name {} --kubernetes-version {next}, after checking add-ons \
         and nodes for {next}.",
        cluster.name
    );
    match phase(support, today) {
        Phase::Standard => {
            let end = support.end_of_standard?;
            let left = today.days_until(end).max(0);
            if warning_days == 0 || left > i64::from(warning_days) {
                return None;
            }
            let finding = format!(
                "cluster {} runs Kubernetes {version}, whose standard support ends on {}, in \
                 {left} days",
                cluster.name,
                end.label()
            );
            let then = match cluster.support_type.as_deref() {
                Some("STANDARD") => format!(
                    "Its upgrade policy is STANDARD, so on that day EKS upgrades the control \
                     plane to {next} automatically, which can break add-ons and nodes left \
                     behind; upgrade first, on your own schedule."
                ),
                policy => format!(
                    "Its upgrade policy is EXTENDED{}, so on that day it enters extended \
                     support. {}",
                    if policy.is_none() {
                        " (EKS's default)"
                    } else {
                        ""
                    },
                    extended_support_cost()
                ),
            };
            Some(Finding {
                finding,
                note: format!("{then} {upgrade}"),
            })
        }
        Phase::Extended { until } => {
            let until = until
                .map(|d| format!(" until {}", d.label()))
                .unwrap_or_default();
            let since = support
                .end_of_standard
                .map(|d| format!(" since {}", d.label()))
                .unwrap_or_default();
            let finding = format!(
                "cluster {} runs Kubernetes {version}, in extended support{since}{until}",
                cluster.name
            );
            let cost = if cluster.support_type.as_deref() == Some("STANDARD") {
                "Its upgrade policy is STANDARD, so EKS will upgrade it automatically rather than \
                 charge for extended support; upgrade first, on your own schedule."
                    .to_owned()
            } else {
                extended_support_cost()
            };
            Some(Finding {
                finding,
                note: format!("{cost} {upgrade}"),
            })
        }
        Phase::Ended { since } => {
            let since = since
                .map(|d| format!(" ({})", d.label()))
                .unwrap_or_default();
            Some(Finding {
                finding: format!(
                    "cluster {} runs Kubernetes {version}, past the end of its support{since}",
                    cluster.name
                ),
                note: format!(
                    "It gets no more fixes, and EKS upgrades control planes past end of support \
                     automatically, which can break add-ons and nodes left behind. {upgrade}"
                ),
            })
        }
    }
}

/// What to say about the `coredns` add-on at `installed` on a cluster running Kubernetes
/// `kubernetes`, given the add-on versions EKS lists as compatible with it.
pub fn coredns_finding(
    cluster: &Cluster,
    kubernetes: &str,
    installed: &str,
    compatible: &[AddonVersion],
) -> Option<Finding> {
    if compatible.is_empty() || compatible.iter().any(|v| v.version == installed) {
        return None;
    }
    let recommended = compatible
        .iter()
        .find(|v| v.default)
        .or_else(|| compatible.first())?;
    Some(Finding {
        finding: format!(
            "CoreDNS add-on {installed} on cluster {} is not a version made for Kubernetes {kubernetes}",
            cluster.name
        ),
        note: format!(
            "Recommended: {} (EKS's default for {kubernetes}): aws eks update-addon \
             --cluster-name {} --addon-name coredns --addon-version {} --resolve-conflicts \
             PRESERVE",
            recommended.version, cluster.name, recommended.version
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse_rfc3339(&format!("{text}T00:00:00Z")).unwrap()
    }

    /// EKS's published window for 1.29..1.33 (1.33 is the default here).
    fn versions() -> Vec<VersionSupport> {
        [
            ("1.29", "2025-03-23", "2026-03-23"),
            ("1.30", "2025-07-23", "2026-07-23"),
            ("1.31", "2025-11-26", "2026-11-26"),
            ("1.32", "2026-03-23", "2027-03-23"),
            ("1.33", "2026-07-29", "2027-07-29"),
        ]
        .into_iter()
        .map(|(v, standard, extended)| VersionSupport {
            version: v.to_owned(),
            default: v == "1.33",
            end_of_standard: Some(day(standard)),
            end_of_extended: Some(day(extended)),
            status: None,
        })
        .collect()
    }

    fn cluster(version: &str, support_type: Option<&str>) -> Cluster {
        Cluster {
            name: "prod".into(),
            arn: None,
            status: Some("ACTIVE".into()),
            tags: Default::default(),
            endpoint: Default::default(),
            logging: Default::default(),
            secrets_encrypted: true,
            version: Some(version.into()),
            support_type: support_type.map(str::to_owned),
            authentication_mode: None,
            oidc_issuer: None,
            deletion_protection: None,
        }
    }

    #[test]
    fn standard_support_is_fine_and_the_day_it_ends_is_extended() {
        let v = versions();
        assert_eq!(
            version_finding(&cluster("1.32", None), &v, day("2026-03-22"), 0),
            None
        );
        let f = version_finding(&cluster("1.32", None), &v, day("2026-03-23"), 60).unwrap();
        assert_eq!(
            f.finding,
            "cluster prod runs Kubernetes 1.32, in extended support since 2026-03-23 until 2027-03-23"
        );
        assert!(
            f.note.contains(
                "$0.60 per cluster-hour instead of $0.10: $0.50 more, about $365 a month"
            ),
            "{}",
            f.note
        );
        assert!(f.note.contains("--kubernetes-version 1.33"), "{}", f.note);
        assert!(f.note.contains("towards 1.33"), "{}", f.note);
    }

    #[test]
    fn standard_support_ending_within_the_warning_days_is_warned_of() {
        let v = versions();
        // 1.32 leaves standard support on 2026-03-23.
        let f = version_finding(&cluster("1.32", None), &v, day("2026-01-23"), 60).unwrap();
        assert_eq!(
            f.finding,
            "cluster prod runs Kubernetes 1.32, whose standard support ends on 2026-03-23, in 59 days"
        );
        assert!(
            f.note
                .contains("upgrade policy is EXTENDED (EKS's default)"),
            "{}",
            f.note
        );
        assert!(
            f.note.contains(
                "$0.60 per cluster-hour instead of $0.10: $0.50 more, about $365 a month"
            ),
            "{}",
            f.note
        );
        assert!(
            f.note
                .contains("aws eks update-cluster-version --name prod --kubernetes-version 1.33"),
            "{}",
            f.note
        );
        assert_eq!(
            version_finding(&cluster("1.32", None), &v, day("2026-01-21"), 60),
            None,
            "61 days before"
        );
        assert!(
            version_finding(&cluster("1.32", None), &v, day("2026-01-22"), 60).is_some(),
            "60 days before"
        );
        // No early warning at all with 0; the day itself is extended support either way.
        assert_eq!(
            version_finding(&cluster("1.32", None), &v, day("2026-03-22"), 0),
            None
        );
        let on_the_day = version_finding(&cluster("1.32", None), &v, day("2026-03-23"), 0);
        assert!(on_the_day.unwrap().finding.contains("in extended support"));
    }

    #[test]
    fn the_warning_says_what_each_upgrade_policy_does_then() {
        let v = versions();
        let standard = version_finding(
            &cluster("1.32", Some("STANDARD")),
            &v,
            day("2026-03-01"),
            60,
        )
        .unwrap();
        assert!(
            standard.finding.ends_with("in 22 days"),
            "{}",
            standard.finding
        );
        assert!(
            standard
                .note
                .contains("EKS upgrades the control plane to 1.33 automatically"),
            "{}",
            standard.note
        );
        assert!(!standard.note.contains("$0.60"), "{}", standard.note);
        let extended = version_finding(
            &cluster("1.32", Some("EXTENDED")),
            &v,
            day("2026-03-01"),
            60,
        )
        .unwrap();
        assert!(
            extended
                .note
                .starts_with("Its upgrade policy is EXTENDED, so on that day it enters extended support. Extended support costs $0.60"),
            "{}",
            extended.note
        );
    }

    #[test]
    fn a_standard_upgrade_policy_is_not_charged_for_extended_support() {
        let f = version_finding(
            &cluster("1.31", Some("STANDARD")),
            &versions(),
            day("2026-01-10"),
            60,
        )
        .unwrap();
        assert!(f.note.contains("upgrade policy is STANDARD"), "{}", f.note);
        assert!(!f.note.contains("$0.50"), "{}", f.note);
    }

    #[test]
    fn past_extended_support_says_since_when_and_what_next() {
        let f =
            version_finding(&cluster("1.29", None), &versions(), day("2026-11-28"), 60).unwrap();
        assert_eq!(
            f.finding,
            "cluster prod runs Kubernetes 1.29, past the end of its support (2026-03-23)"
        );
        assert!(f.note.contains("--kubernetes-version 1.30"), "{}", f.note);
    }

    #[test]
    fn without_dates_the_status_decides_and_unknown_versions_say_nothing() {
        let undated = vec![VersionSupport {
            version: "1.28".into(),
            default: false,
            end_of_standard: None,
            end_of_extended: None,
            status: Some("UNSUPPORTED".into()),
        }];
        let f = version_finding(&cluster("1.28", None), &undated, day("2026-11-28"), 60).unwrap();
        assert!(
            f.finding.ends_with("past the end of its support"),
            "{}",
            f.finding
        );
        assert_eq!(
            version_finding(&cluster("1.40", None), &versions(), day("2026-11-28"), 60),
            None
        );
    }

    #[test]
    fn coredns_must_be_among_the_versions_made_for_the_cluster() {
        let compatible = [
            AddonVersion {
                version: "v1.11.4-eksbuild.2".into(),
                default: false,
            },
            AddonVersion {
                version: "v1.11.4-eksbuild.14".into(),
                default: true,
            },
        ];
        let c = cluster("1.32", None);
        assert_eq!(
            coredns_finding(&c, "1.32", "v1.11.4-eksbuild.2", &compatible),
            None
        );
        let f = coredns_finding(&c, "1.32", "v1.8.7-eksbuild.3", &compatible).unwrap();
        assert_eq!(
            f.finding,
            "CoreDNS add-on v1.8.7-eksbuild.3 on cluster prod is not a version made for Kubernetes 1.32"
        );
        assert!(
            f.note.contains("--addon-version v1.11.4-eksbuild.14"),
            "{}",
            f.note
        );
        // EKS listed nothing for this version: nothing to compare with, nothing said.
        assert_eq!(coredns_finding(&c, "1.32", "v1.8.7-eksbuild.3", &[]), None);
    }
}
