//! Classifies SDK errors into [`AwsError`], by the error codes AWS documents.

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use crate::error::{AwsError, AwsErrorKind};

/// Codes meaning "the thing is gone": EC2 (`InvalidGroup.NotFound`,
/// `InvalidSecurityGroupRuleId.NotFound`, and moto's `InvalidPermission.NotFound` for an
/// unknown rule id; instances and launch templates and their versions), EKS `ResourceNotFoundException`, CloudTrail `TrailNotFoundException`, SNS `NotFound`,
/// IAM `NoSuchEntity`.
const NOT_FOUND: &[&str] = &[
    "InvalidGroup.NotFound",
    "InvalidGroupId.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
    "InvalidPermission.NotFound",
    "InvalidInstanceID.NotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.VersionNotFound",
    "ResourceNotFoundException",
    "TrailNotFoundException",
    "NotFound",
    "NoSuchEntity",
];

/// Codes meaning "busy, come back later": EKS refuses an update while another runs.
const IN_PROGRESS: &[&str] = &["ResourceInUseException"];

/// Codes meaning "too many requests": EC2 `RequestLimitExceeded`, IAM and CloudTrail
/// `Throttling`/`ThrottlingException`, SNS `Throttled`, and the generic ones the SDK's retry
/// classifier also treats as throttling. The SDK retries these with backoff; one that still
/// reaches us means the account's rate is spent for now.
const THROTTLED: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "Throttled",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];

pub(crate) fn classify<E>(
    operation: &'static str,
    resource: impl Into<String>,
    error: SdkError<E, HttpResponse>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.code().unwrap_or("").to_owned();
    let kind = if NOT_FOUND.contains(&code.as_str()) {
        AwsErrorKind::NotFound
    } else if IN_PROGRESS.contains(&code.as_str()) {
        AwsErrorKind::InProgress
    } else if THROTTLED.contains(&code.as_str()) {
        AwsErrorKind::Throttled
    } else {
        AwsErrorKind::Other
    };
    // An answer that is not an AWS error (an HTML 404 from a proxy or an emulator without the
    // API) has no message; its status says enough, where the full context would dump the body.
    let message = match (error.message(), error.raw_response()) {
        (Some(m), _) => m.to_owned(),
        (None, Some(raw)) if code.is_empty() => {
            format!("unexpected answer: HTTP {}", raw.status().as_u16())
        }
        (None, _) => DisplayErrorContext(&error).to_string(),
    };
    AwsError {
        operation,
        resource: resource.into(),
        kind,
        code: if code.is_empty() {
            "Unknown".to_owned()
        } else {
            code
        },
        message,
    }
}
