//! The changes `restore-audit-trail` makes: what each says in an alert, the command that
//! undoes it, and the call that makes it.

use serde_json::{json, Value};

use crate::aws::Aws;
use crate::domain::audit::DetectorRestore;
use crate::domain::shell_quote;
use crate::error::AwsError;

/// One change that puts the eyes or the record back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    RestoreDetector {
        detector: String,
        restore: DetectorRestore,
    },
    RecreateDetector,
    /// `handle` is the trail's name, or its ARN when it lives elsewhere.
    StartLogging {
        handle: String,
    },
}

impl Change {
    pub fn action(&self) -> String {
        match self {
            Change::RestoreDetector { detector, restore } => {
                let mut parts = Vec::new();
                if restore.enable {
                    parts.push("enable=true".to_owned());
                }
                for f in &restore.features {
                    if f.whole {
                        parts.push(format!("{}=ENABLED", f.name));
                    }
                    for a in &f.additional {
                        parts.push(format!("{}.{a}=ENABLED", f.name));
                    }
                }
                if restore.kubernetes_audit_logs {
                    parts.push("dataSources.kubernetes.auditLogs=enabled".to_owned());
                }
                format!("UpdateDetector {detector} {}", parts.join(","))
            }
            Change::RecreateDetector => {
                "CreateDetector enable=true,EKS_AUDIT_LOGS=ENABLED,RUNTIME_MONITORING=ENABLED"
                    .to_owned()
            }
            Change::StartLogging { handle } => format!("StartLogging {handle}"),
        }
    }

    /// The command that switches it off again, for a person who meant it.
    pub fn undo(&self) -> String {
        match self {
            Change::RestoreDetector { detector, restore } => {
                let mut command = format!(
                    "aws guardduty update-detector --detector-id {}",
                    shell_quote(detector)
                );
                if restore.enable {
                    command.push_str(" --no-enable");
                }
                let features: Vec<Value> = restore
                    .features
                    .iter()
                    .map(|f| {
                        let mut feature = json!({"Name": f.name});
                        if f.whole {
                            feature["Status"] = json!("DISABLED");
                        }
                        if !f.additional.is_empty() {
                            feature["AdditionalConfiguration"] = f
                                .additional
                                .iter()
                                .map(|a| json!({"Name": a, "Status": "DISABLED"}))
                                .collect();
                        }
                        feature
                    })
                    .collect();
                if !features.is_empty() {
                    command.push_str(&format!(
                        " --features {}",
                        shell_quote(&Value::from(features).to_string())
                    ));
                }
                if restore.kubernetes_audit_logs {
                    command.push_str(
                        " --data-sources '{\"Kubernetes\":{\"AuditLogs\":{\"Enable\":false}}}'",
                    );
                }
                command
            }
            Change::RecreateDetector => {
                "aws guardduty delete-detector --detector-id <the new detector id>".to_owned()
            }
            Change::StartLogging { handle } => {
                format!("aws cloudtrail stop-logging --name {}", shell_quote(handle))
            }
        }
    }

    pub async fn apply(&self, aws: &Aws) -> Result<(), AwsError> {
        match self {
            Change::RestoreDetector { detector, restore } => {
                aws.restore_detector(detector, restore).await
            }
            Change::RecreateDetector => aws.create_detector().await.map(|_| ()),
            Change::StartLogging { handle } => aws.start_logging(handle).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::FeatureRestore;

    #[test]
    fn actions_and_undo_name_exactly_what_changes() {
        let change = Change::RestoreDetector {
            detector: "d1".into(),
            restore: DetectorRestore {
                enable: true,
                features: vec![FeatureRestore {
                    name: "RUNTIME_MONITORING".into(),
                    whole: false,
                    additional: vec!["EKS_ADDON_MANAGEMENT".into()],
                }],
                kubernetes_audit_logs: true,
            },
        };
        assert_eq!(
            change.action(),
            "UpdateDetector d1 enable=true,RUNTIME_MONITORING.EKS_ADDON_MANAGEMENT=ENABLED,dataSources.kubernetes.auditLogs=enabled"
        );
        assert_eq!(
            change.undo(),
            "aws guardduty update-detector --detector-id 'd1' --no-enable --features \
             '[{\"AdditionalConfiguration\":[{\"Name\":\"EKS_ADDON_MANAGEMENT\",\"Status\":\"DISABLED\"}],\"Name\":\"RUNTIME_MONITORING\"}]' \
             --data-sources '{\"Kubernetes\":{\"AuditLogs\":{\"Enable\":false}}}'"
        );
        let start = Change::StartLogging {
            handle: "main".into(),
        };
        assert_eq!(start.undo(), "aws cloudtrail stop-logging --name 'main'");
    }
}
