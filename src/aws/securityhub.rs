//! Security Hub: importing findings (`BatchImportFindings`).

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields,
    FindingProviderSeverity, Partition, Recommendation, RecordState, Remediation, Resource,
    ResourceDetails, Severity, SeverityLabel, Workflow, WorkflowStatus,
};

use super::errors::classify;
use super::Aws;
use crate::error::AwsError;
use crate::rules::publish_findings::asff::{self, Finding};

/// The time of an import, as ASFF timestamps are written (RFC 3339, UTC, milliseconds):
/// Security Hub applies an update only when its `UpdatedAt` is newer than the finding's.
pub fn import_time() -> String {
    use aws_sdk_securityhub::primitives::{DateTime, DateTimeFormat};
    DateTime::from(std::time::SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// The most findings one `BatchImportFindings` takes.
pub const FINDINGS_PER_IMPORT: usize = 100;

/// A finding Security Hub would not take, with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub id: String,
    pub code: String,
    pub message: String,
}

impl Aws {
    /// Imports `findings`, 100 a call; returns the ones Security Hub refused
    /// (`FailedFindings`), which a call that succeeded can still hold.
    pub async fn import_findings(&self, findings: &[Finding]) -> Result<Vec<Rejected>, AwsError> {
        let mut rejected = Vec::new();
        for chunk in findings.chunks(FINDINGS_PER_IMPORT) {
            let resource = chunk
                .first()
                .map(|f| f.product_arn.clone())
                .unwrap_or_default();
            let out = self
                .securityhub()
                .await
                .batch_import_findings()
                .set_findings(Some(chunk.iter().map(to_sdk).collect()))
                .send()
                .await
                .map_err(|e| classify("BatchImportFindings", resource, e))?;
            rejected.extend(out.failed_findings().iter().map(|f| Rejected {
                id: f.id().unwrap_or_default().to_owned(),
                code: f.error_code().unwrap_or_default().to_owned(),
                message: f.error_message().unwrap_or_default().to_owned(),
            }));
        }
        Ok(rejected)
    }
}

fn to_sdk(f: &Finding) -> AwsSecurityFinding {
    let mut details = ResourceDetails::builder();
    for (k, v) in &f.resource.other {
        details = details.other(k, v);
    }
    let mut resource = Resource::builder()
        .r#type(f.resource.kind)
        .id(&f.resource.id)
        .partition(Partition::from(f.resource.partition))
        .region(&f.resource.region);
    if !f.resource.other.is_empty() {
        resource = resource.details(details.build());
    }
    let mut provider = FindingProviderFields::builder().severity(
        FindingProviderSeverity::builder()
            .label(SeverityLabel::from(f.severity))
            .original(&f.severity_original)
            .build(),
    );
    let mut finding = AwsSecurityFinding::builder()
        .schema_version(asff::SCHEMA_VERSION)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.aws_account_id)
        .created_at(&f.created_at)
        .updated_at(&f.updated_at)
        .first_observed_at(&f.first_observed_at)
        .last_observed_at(&f.last_observed_at)
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(f.severity))
                .original(&f.severity_original)
                .build(),
        )
        .title(&f.title)
        .description(&f.description)
        .resources(resource.build())
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::from(f.compliance))
                .build(),
        )
        .workflow(
            Workflow::builder()
                .status(WorkflowStatus::from(f.workflow))
                .build(),
        )
        .record_state(RecordState::from(asff::RECORD_STATE));
    for t in &f.types {
        finding = finding.types(*t);
        provider = provider.types(*t);
    }
    for (k, v) in &f.product_fields {
        finding = finding.product_fields(k, v);
    }
    if let Some(text) = &f.recommendation {
        finding = finding.remediation(
            Remediation::builder()
                .recommendation(Recommendation::builder().text(text).build())
                .build(),
        );
    }
    finding.finding_provider_fields(provider.build()).build()
}
