//! Rule `audit-workloads`: RBAC and workload hygiene inside each cluster, judged from the
//! Kubernetes audit log as it streams, without a kubeconfig.
//!
//! Two inputs reach the function. CloudWatch Logs deliveries of a cluster's audit log
//! (`/aws/eks/<cluster>/cluster`, streams `kube-apiserver-audit-*`) are judged in `batch`:
//! cluster-admin bound to someone outside `K8S_ADMIN_SUBJECTS`, anything but discovery bound
//! to anonymous or every authenticated user, outsiders in aws-auth's `system:masters`, and
//! workloads without probes, requests, a memory limit, spread or safe pod settings. These are
//! alerts only: nothing in a cluster is changed. And the CloudTrail record of a cluster's log
//! group being created, on which the function subscribes itself to it (`remediate`), the one
//! change it makes, as the sweep's `audit-subscriptions` scan does for clusters it missed.

pub mod batch;
pub mod detect;
pub mod event;
pub mod remediate;
pub mod scan;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tracing::{info, info_span, Instrument};

use self::remediate::{no_room, Subscribe, FILTER_NAME, LIMIT_EXCEEDED};
use crate::aws::logs::SubscriptionFilter;
use crate::aws::warm_up;
use crate::aws::Aws;
use crate::domain::partition;
use crate::error::{AwsError, HandlerError};
use crate::guard;
use crate::intake::audit_log;
use crate::intake::API_CALL;
use crate::outcome::{Origin, Outcome, ResourceRef, Status, Summary};
use crate::rules::decision::{self, Decision};
use crate::rules::{RuleInfo, Trigger as CatalogTrigger};
use crate::runtime;
use crate::settings::{Mode, Settings};

/// The catalog entry. Its CloudWatch Logs input is not an EventBridge trigger: the template
/// lets CloudWatch Logs invoke the function, and the function subscribes each log group.
pub static RULE: RuleInfo = RuleInfo {
    name: "audit-workloads",
    summary: "Judges RBAC grants and workloads from each cluster's Kubernetes audit log as it streams, and alerts",
    triggers: &[CatalogTrigger {
        source: "aws.logs",
        detail_type: API_CALL,
        names: &[event::CREATE_LOG_GROUP],
    }],
    iam_actions: &[
        "logs:DescribeSubscriptionFilters",
        "logs:PutSubscriptionFilter",
        "logs:ListTagsForResource",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "sns:Publish",
    ],
    warm_up: &[warm_up::DYNAMODB, warm_up::LOGS, warm_up::SNS],
    settings: &[
        "MODE",
        "ALERT_TOPIC_ARN",
        "EXEMPT_TAG_KEY",
        "CLUSTER_ADMIN_PRINCIPALS",
        "K8S_ADMIN_SUBJECTS",
        "IGNORED_NAMESPACES",
        "REALERT_DAYS",
        "DEDUPE_TABLE",
        "AUDIT_FILTER_PATTERN",
        "SELF_ROLE_ARNS",
    ],
    // MODE governs the subscriptions only; the findings are always alerts.
    default_mode: Mode::Remediate,
    is_trigger: |incoming| matches!(event::trigger(incoming), Ok(Some(_))),
};

/// Handles one invocation: the function's entry point.
pub async fn handle(aws: &Aws, settings: &Settings, event: Value) -> Result<Summary, HandlerError> {
    outcomes(aws, settings, event)
        .await
        .map(|o| Summary::of(&o))
}

/// Handles one invocation and returns the full outcomes (alerts are sent as by [`handle`]).
pub async fn outcomes(
    aws: &Aws,
    settings: &Settings,
    event: Value,
) -> Result<Vec<Outcome>, HandlerError> {
    if audit_log::is_delivery(&event) {
        return batch::judge(aws, settings, event, now()).await;
    }
    let Some((_, created, origin)) = runtime::triggered(event, settings, event::trigger)? else {
        return Ok(Vec::new());
    };
    let span = info_span!("audit-workloads", log_group = %created.log_group);
    async {
        let destination = settings
            .audit_function_arn
            .clone()
            .or_else(runtime::function_arn);
        let (outcomes, error) =
            subscribe(aws, settings, &origin, &created.log_group, destination).await;
        runtime::conclude(aws, settings, outcomes, error).await
    }
    .instrument(span)
    .await
}

/// Seconds since the Unix epoch, for the dedupe records.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Makes sure the cluster log group `log_group` streams to `destination` (this function)
/// through our filter, under exemption (a tag on the log group) and alert-only mode. Without
/// a destination (the CLI) only a missing filter is reported.
pub async fn subscribe(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    log_group: &str,
    destination: Option<String>,
) -> (Vec<Outcome>, Option<AwsError>) {
    let arn = format!(
        "arn:{}:logs:{}:{}:log-group:{log_group}",
        partition(&origin.region),
        origin.region,
        origin.account
    );
    let resource = ResourceRef {
        kind: "log-group",
        id: log_group.to_owned(),
        arn: Some(arn.clone()),
    };
    let make = |status: Status, finding: String| Outcome {
        rule: RULE.name,
        status,
        resource: resource.clone(),
        finding,
        actions: Vec::new(),
        undo: None,
        note: None,
        origin: origin.clone(),
    };
    let current = match aws.subscription_filters(log_group).await {
        Ok(filters) => filters,
        Err(e) if e.is_not_found() => {
            return (
                vec![make(Status::Resolved, "the log group is gone".to_owned())],
                None,
            )
        }
        Err(e) => return (Vec::new(), Some(e)),
    };
    let known_destination = destination.is_some();
    let wanted = SubscriptionFilter {
        name: FILTER_NAME.to_owned(),
        destination: destination.unwrap_or_default(),
        pattern: settings.audit_filter_pattern.clone().unwrap_or_default(),
    };
    let mut decided = remediate::decide(log_group, &current, &wanted);
    if let Decision::Change { finding, .. } = &decided {
        // Never a filter to an unknown destination, nor one that streams every audit event.
        let missing = match (known_destination, settings.audit_filter_pattern.is_some()) {
            (false, _) => Some("the audit-workloads function's ARN is not known here: set AUDIT_WORKLOADS_FUNCTION_ARN"),
            (true, false) => Some("no filter pattern is set (AUDIT_FILTER_PATTERN, the template's Mappings.AuditLog): without one every audit event would be streamed"),
            (true, true) => None,
        };
        if let (Some(note), Mode::Remediate) = (missing, settings.mode) {
            decided = Decision::Alert {
                finding: finding.clone(),
                note: note.to_owned(),
            };
        }
    }
    if matches!(decided, Decision::Nothing(_)) {
        info!(log_group, "already subscribed");
        return (Vec::new(), None);
    }
    let exempt = match aws.log_group_tags(&arn).await {
        Ok(tags) => guard::is_exempt(&tags, &settings.exempt_tag_key).then_some("the log group"),
        Err(e) if e.is_not_found() => None,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let (mut outcomes, error) = decision::act(aws, settings, decided, exempt, make).await;
    match error {
        Some(e) if e.code == LIMIT_EXCEEDED => {
            let (alerted, _) =
                decision::act::<Subscribe>(aws, settings, no_room(log_group, &current), None, make)
                    .await;
            outcomes = alerted;
            (outcomes, None)
        }
        other => (outcomes, other),
    }
}
