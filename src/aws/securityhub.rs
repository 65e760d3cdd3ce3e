//! Security Hub: importing findings (`BatchImportFindings`).

use std::collections::BTreeMap;

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, Compliance, ComplianceStatus,
    FindingProviderFields, FindingProviderSeverity, Partition, Recommendation, RecordState,
    Remediation, Resource, ResourceDetails, Severity, SeverityLabel, StringFilter,
    StringFilterComparison, Workflow, WorkflowStatus,
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

/// When a finding was first made and first observed, as Security Hub holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub created_at: String,
    pub first_observed_at: Option<String>,
}

/// How many finding ids one `GetFindings` filter takes (the API's limit on values of one
/// string filter is 20).
const IDS_PER_LOOKUP: usize = 20;

impl Aws {
    /// The findings of `ids` that Security Hub already holds, by id: a provider resends the
    /// whole finding on every update, and the first sighting must survive it. Answers are
    /// matched by id again, since a filter an emulator ignores would otherwise mix findings.
    pub async fn sightings(&self, ids: &[String]) -> Result<BTreeMap<String, Sighting>, AwsError> {
        let mut found = BTreeMap::new();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let mut filters = AwsSecurityFindingFilters::builder();
            for id in chunk {
                filters = filters.id(StringFilter::builder()
                    .value(id)
                    .comparison(StringFilterComparison::Equals)
                    .build());
            }
            let mut pages = self
                .securityhub()
                .await
                .get_findings()
                .filters(filters.build())
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| classify("GetFindings", chunk.join(","), e))?;
                for f in page.findings() {
                    let (Some(id), Some(created_at)) = (f.id(), f.created_at()) else {
                        continue;
                    };
                    if chunk.iter().any(|wanted| wanted == id) {
                        found.insert(
                            id.to_owned(),
                            Sighting {
                                created_at: created_at.to_owned(),
                                first_observed_at: f.first_observed_at().map(str::to_owned),
                            },
                        );
                    }
                }
            }
        }
        Ok(found)
    }

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
