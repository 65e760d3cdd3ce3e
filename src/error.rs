//! Errors at the crate's boundaries, each mapped to a Lambda `Diagnostic` with a stable
//! `error_type`, so that alarms and the dead-letter queue can tell bad input from AWS faults.

use lambda_runtime::Diagnostic;

/// Malformed input. Never retried: the same bytes would fail the same way.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("event is not a JSON object")]
    NotAnObject,
    #[error("event is not an EventBridge event: {0}")]
    Envelope(#[source] serde_json::Error),
    #[error("malformed {kind} in event detail: {reason}")]
    Detail { kind: &'static str, reason: String },
    /// A notification or message that is not what it should carry (an SNS message that is no
    /// alert document).
    #[error("malformed {kind}: {reason}")]
    Message { kind: &'static str, reason: String },
}

/// What kind of AWS failure an [`AwsError`] is, as far as remediation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The resource (or the rule inside it) no longer exists: the outcome is `resolved`.
    NotFound,
    /// Another update is running on the resource (EKS `ResourceInUseException`).
    InProgress,
    /// The account's API rate was exceeded, and the SDK's own retries did not get through:
    /// the call can be made again later (see `crate::pace`).
    Throttled,
    /// Anything else, after the SDK's own retries.
    Other,
}

/// A failed AWS call, naming the operation and resource.
#[derive(Debug, thiserror::Error)]
#[error("{operation} on {resource} failed ({code}): {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub resource: String,
    pub kind: AwsErrorKind,
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn is_not_found(&self) -> bool {
        self.kind == AwsErrorKind::NotFound
    }

    pub fn is_throttled(&self) -> bool {
        self.kind == AwsErrorKind::Throttled
    }
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Remediation of some resources failed; their `failed` alerts were attempted.
    #[error("{failed} remediation(s) failed; first: {first}")]
    Remediation { failed: usize, first: AwsError },
    /// Some of the sweep's scans could not finish; the others' outcomes were delivered.
    #[error("{failed} scan(s) failed; first: {first}")]
    Scans { failed: usize, first: String },
    /// Security Hub refused findings (`FailedFindings`); each was logged with its reason.
    #[error("Security Hub refused {refused} finding(s); first: {first}")]
    Refused { refused: usize, first: String },
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) => "EventError",
            HandlerError::Scans { .. } => "ScanError",
            HandlerError::Refused { .. } => "FindingRefused",
            HandlerError::Aws(e) | HandlerError::Remediation { first: e, .. } => match e.kind {
                AwsErrorKind::NotFound => "AwsError.NotFound",
                AwsErrorKind::InProgress => "AwsError.InProgress",
                AwsErrorKind::Throttled => "AwsError.Throttled",
                AwsErrorKind::Other => "AwsError",
            },
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}
