//! GuardDuty: reading a detector, switching its EKS protections back on, and recreating one.

use aws_sdk_guardduty::types::{
    DataSourceConfigurations, DataSourceStatus, DetectorAdditionalConfiguration, DetectorFeature,
    DetectorFeatureConfiguration, FeatureAdditionalConfiguration, FeatureStatus,
    KubernetesAuditLogsConfiguration, KubernetesConfiguration,
};

use super::errors::classify;
use super::Aws;
use crate::domain::audit::{Detector, DetectorRestore, FeatureState};
use crate::error::AwsError;

impl Aws {
    /// The detector, both views of EKS audit logs included: `features` and the deprecated
    /// `dataSources`, which accounts configured with older tools still change.
    #[allow(deprecated)]
    pub async fn get_detector(&self, id: &str) -> Result<Detector, AwsError> {
        let out = self
            .guardduty()
            .await
            .get_detector()
            .detector_id(id)
            .send()
            .await
            .map_err(|e| classify("GetDetector", id, e))?;
        let features = out
            .features()
            .iter()
            .filter_map(|f| {
                let name = f.name()?.as_str().to_owned();
                let state = FeatureState {
                    enabled: f.status() == Some(&FeatureStatus::Enabled),
                    additional: f
                        .additional_configuration()
                        .iter()
                        .filter_map(|a| {
                            Some((
                                a.name()?.as_str().to_owned(),
                                a.status() == Some(&FeatureStatus::Enabled),
                            ))
                        })
                        .collect(),
                };
                Some((name, state))
            })
            .collect();
        Ok(Detector {
            id: id.to_owned(),
            enabled: out.status().is_some_and(|s| s.as_str() == "ENABLED"),
            features,
            kubernetes_audit_logs: out
                .data_sources()
                .and_then(|d| d.kubernetes())
                .and_then(|k| k.audit_logs())
                .and_then(|a| a.status())
                == Some(&DataSourceStatus::Enabled),
            tags: out
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
    }

    /// Switches back on what `restore` names, in one `UpdateDetector`. Only the named
    /// features are sent: AWS updates those and leaves the others as they are. Audit logs
    /// switched off through the deprecated `dataSources` are switched on the same way.
    #[allow(deprecated)]
    pub async fn restore_detector(
        &self,
        id: &str,
        restore: &DetectorRestore,
    ) -> Result<(), AwsError> {
        let mut request = self.guardduty().await.update_detector().detector_id(id);
        if restore.enable {
            request = request.enable(true);
        }
        for feature in &restore.features {
            let mut config = DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::from(feature.name.as_str()));
            if feature.whole {
                config = config.status(FeatureStatus::Enabled);
            }
            for extra in &feature.additional {
                config = config.additional_configuration(
                    DetectorAdditionalConfiguration::builder()
                        .name(FeatureAdditionalConfiguration::from(extra.as_str()))
                        .status(FeatureStatus::Enabled)
                        .build(),
                );
            }
            request = request.features(config.build());
        }
        if restore.kubernetes_audit_logs {
            request = request.data_sources(
                DataSourceConfigurations::builder()
                    .kubernetes(
                        KubernetesConfiguration::builder()
                            .audit_logs(
                                KubernetesAuditLogsConfiguration::builder()
                                    .enable(true)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            );
        }
        request
            .send()
            .await
            .map_err(|e| classify("UpdateDetector", id, e))?;
        Ok(())
    }

    /// The region's detector ids (at most one per account and region).
    pub async fn list_detectors(&self) -> Result<Vec<String>, AwsError> {
        let out = self
            .guardduty()
            .await
            .list_detectors()
            .send()
            .await
            .map_err(|e| classify("ListDetectors", "*", e))?;
        Ok(out.detector_ids().to_vec())
    }

    /// Creates an enabled detector with EKS audit-log and runtime monitoring on.
    pub async fn create_detector(&self) -> Result<Option<String>, AwsError> {
        let feature = |name: &str| {
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::from(name))
                .status(FeatureStatus::Enabled)
                .build()
        };
        let out = self
            .guardduty()
            .await
            .create_detector()
            .enable(true)
            .features(feature("EKS_AUDIT_LOGS"))
            .features(feature("RUNTIME_MONITORING"))
            .send()
            .await
            .map_err(|e| classify("CreateDetector", "*", e))?;
        Ok(out.detector_id().map(str::to_owned))
    }
}
