//! What a rule decided about one resource, and the summary a function returns.
//!
//! One [`Outcome`] becomes one SNS alert and one entry of the invocation's JSON summary
//! (`{"outcomes":[{"rule","resource","status","actions"}]}`, DESIGN.md "Binaries").

use aws_lambda_events::sqs::BatchItemFailure;
use serde::Serialize;

/// The status values of DESIGN.md's alert contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The unsafe state was changed back.
    Remediated,
    /// Alert-only mode: this is what would have been changed.
    WouldRemediate,
    /// The resource carries the exemption tag; nothing was changed.
    Exempt,
    /// The resource or the unsafe state was already gone; nothing to do.
    Resolved,
    /// Remediation was attempted and failed.
    Failed,
    /// Reported for a person to act on; this rule never changes it.
    Alert,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Remediated => "remediated",
            Status::WouldRemediate => "would-remediate",
            Status::Exempt => "exempt",
            Status::Resolved => "resolved",
            Status::Failed => "failed",
            Status::Alert => "alert",
        }
    }

    /// Whether it is a violation: something unsafe was found, fixed or not. Exempt resources
    /// are not (someone chose them), nor resolved ones. What the sweep alerts and what makes
    /// `eks-remediator scan` exit 1.
    pub fn is_violation(self) -> bool {
        matches!(
            self,
            Status::WouldRemediate | Status::Alert | Status::Failed | Status::Remediated
        )
    }

    /// Whether people hear of it. A `resolved` outcome means nothing changed and nothing is
    /// unsafe (a duplicate delivery, or a race we lost), so it is logged and summarised only:
    /// one change, one alert.
    pub fn is_alerted(self) -> bool {
        self != Status::Resolved
    }
}

/// The resource an outcome is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceRef {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// Who caused the event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ActorRef {
    /// The IAM principal; for a Kubernetes user with none (a service account), its username.
    pub arn: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The Kubernetes user the request was made as, when it came through a cluster's API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// That user's Kubernetes groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// The event behind an outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRef {
    pub source: String,
    pub name: String,
    pub id: String,
    pub time: String,
}

/// Where an outcome came from: account, region, actor and event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub account: String,
    pub region: String,
    pub actor: Option<ActorRef>,
    pub event: EventRef,
}

/// What a rule decided about one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub rule: &'static str,
    pub status: Status,
    pub resource: ResourceRef,
    /// What is unsafe, e.g. `tcp/22 open to 0.0.0.0/0`.
    pub finding: String,
    /// The API calls made (or, in alert-only mode, that would be made).
    pub actions: Vec<String>,
    /// A command that restores what was changed, when something was or would be.
    pub undo: Option<String>,
    /// Extra context for people, e.g. why a rule was left in place.
    pub note: Option<String>,
    pub origin: Origin,
}

/// One entry of the invocation summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutcomeSummary {
    pub rule: &'static str,
    pub resource: String,
    pub status: Status,
    pub actions: Vec<String>,
}

/// A resource whose remediation waits for AWS (an EKS update in progress) and will be tried
/// again; it gets its one alert when it is finished or given up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deferred {
    pub rule: &'static str,
    pub resource: String,
    /// The attempt that comes next.
    pub attempt: u32,
    pub delay_seconds: u32,
    /// What the next attempt will find still to do.
    pub pending: Vec<String>,
}

/// What a function returns to Lambda.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub outcomes: Vec<OutcomeSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<Deferred>,
    /// For SQS batches only: the records to deliver again (`ReportBatchItemFailures`).
    #[serde(rename = "batchItemFailures", skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
}

impl Summary {
    pub fn of(outcomes: &[Outcome]) -> Summary {
        Summary {
            outcomes: outcomes
                .iter()
                .map(|o| OutcomeSummary {
                    rule: o.rule,
                    resource: o.resource.id.clone(),
                    status: o.status,
                    actions: o.actions.clone(),
                })
                .collect(),
            ..Summary::default()
        }
    }
}
