//! The account's eyes and records as `restore-audit-trail` sees them: a GuardDuty detector
//! (enabled, and which EKS protection features are on) and a CloudTrail trail (logging or not).

use std::collections::BTreeMap;

use super::Tags;

/// GuardDuty features that protect EKS clusters, with the additional configurations under
/// them that matter for EKS. Other features (S3, RDS, Lambda, malware scans) are not this
/// tool's business and are never changed.
pub const EKS_FEATURES: &[(&str, &[&str])] = &[
    ("EKS_AUDIT_LOGS", &[]),
    ("EKS_RUNTIME_MONITORING", &["EKS_ADDON_MANAGEMENT"]),
    ("RUNTIME_MONITORING", &["EKS_ADDON_MANAGEMENT"]),
];

/// Whether `feature` is one of [`EKS_FEATURES`], and its watched additional configurations.
pub fn watched(feature: &str) -> Option<&'static [&'static str]> {
    EKS_FEATURES
        .iter()
        .find(|(name, _)| *name == feature)
        .map(|(_, extra)| *extra)
}

/// A feature's state: on or off, and its additional configurations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeatureState {
    pub enabled: bool,
    pub additional: BTreeMap<String, bool>,
}

/// A GuardDuty detector, as `GetDetector` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detector {
    pub id: String,
    pub enabled: bool,
    pub features: BTreeMap<String, FeatureState>,
    /// The older `dataSources.kubernetes.auditLogs` view of EKS audit-log monitoring.
    pub kubernetes_audit_logs: bool,
    pub tags: Tags,
}

/// A CloudTrail trail, as `GetTrail`, `GetTrailStatus` and `ListTags` report it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trail {
    pub name: String,
    pub arn: Option<String>,
    pub logging: bool,
    pub tags: Tags,
}

/// What to switch back on in a detector, in the form it was switched off in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetectorRestore {
    /// Enable the detector itself.
    pub enable: bool,
    /// Features to enable (`whole`), or only some of their additional configurations.
    pub features: Vec<FeatureRestore>,
    /// Enable EKS audit logs through the older `dataSources` form.
    pub kubernetes_audit_logs: bool,
}

/// One feature to switch back on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureRestore {
    pub name: String,
    /// The feature itself was off.
    pub whole: bool,
    /// Additional configurations under it that were off.
    pub additional: Vec<String>,
}

impl DetectorRestore {
    pub fn is_empty(&self) -> bool {
        !self.enable && self.features.is_empty() && !self.kubernetes_audit_logs
    }
}

/// A trail's event selectors, basic or advanced (a trail uses one kind or the other).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selectors {
    pub basic: Vec<BasicSelector>,
    /// Each advanced selector is a list of field conditions that must all hold.
    pub advanced: Vec<Vec<FieldSelector>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BasicSelector {
    /// `ReadOnly`, `WriteOnly` or `All` (the default).
    pub read_write_type: Option<String>,
    /// `true` by default.
    pub include_management_events: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub field: String,
    pub equals: Vec<String>,
    pub not_equals: Vec<String>,
}

impl Selectors {
    /// Whether the trail records management write events (the calls that change things,
    /// which is what an audit trail is for). With no selectors at all, CloudTrail records
    /// all management events.
    pub fn record_management_writes(&self) -> bool {
        if !self.advanced.is_empty() {
            return self.advanced.iter().any(|fields| {
                let management = fields.iter().any(|f| {
                    f.field == "eventCategory" && f.equals.iter().any(|v| v == "Management")
                });
                let writes = fields.iter().filter(|f| f.field == "readOnly").all(|f| {
                    (f.equals.is_empty() || f.equals.iter().any(|v| v == "false"))
                        && !f.not_equals.iter().any(|v| v == "false")
                });
                management && writes
            });
        }
        if self.basic.is_empty() {
            return true;
        }
        self.basic.iter().any(|s| {
            s.include_management_events != Some(false)
                && !matches!(s.read_write_type.as_deref(), Some("ReadOnly"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, equals: &[&str], not_equals: &[&str]) -> FieldSelector {
        FieldSelector {
            field: name.into(),
            equals: equals.iter().map(|s| s.to_string()).collect(),
            not_equals: not_equals.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn basic_selectors_record_writes_unless_read_only_or_without_management() {
        let basic = |rw: Option<&str>, mgmt: Option<bool>| Selectors {
            basic: vec![BasicSelector {
                read_write_type: rw.map(str::to_owned),
                include_management_events: mgmt,
            }],
            advanced: Vec::new(),
        };
        assert!(Selectors::default().record_management_writes());
        assert!(basic(None, None).record_management_writes());
        assert!(basic(Some("WriteOnly"), Some(true)).record_management_writes());
        assert!(!basic(Some("ReadOnly"), Some(true)).record_management_writes());
        assert!(!basic(Some("All"), Some(false)).record_management_writes());
    }

    #[test]
    fn advanced_selectors_need_management_without_a_read_only_filter() {
        let with = |fields: Vec<FieldSelector>| Selectors {
            basic: Vec::new(),
            advanced: vec![fields],
        };
        assert!(with(vec![field("eventCategory", &["Management"], &[])]).record_management_writes());
        assert!(with(vec![
            field("eventCategory", &["Management"], &[]),
            field("readOnly", &["false"], &[])
        ])
        .record_management_writes());
        assert!(!with(vec![
            field("eventCategory", &["Management"], &[]),
            field("readOnly", &["true"], &[])
        ])
        .record_management_writes());
        assert!(!with(vec![
            field("eventCategory", &["Management"], &[]),
            field("readOnly", &[], &["false"])
        ])
        .record_management_writes());
        assert!(!with(vec![field("eventCategory", &["Data"], &[])]).record_management_writes());
    }
}
