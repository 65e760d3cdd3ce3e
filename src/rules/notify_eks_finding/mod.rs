//! Rule `notify-eks-finding`: a GuardDuty finding on an EKS cluster becomes one alert with
//! what a responder needs first: severity label, cluster, namespace and workload, image,
//! Kubernetes user and groups, remote IP and organisation, a console link, and the first
//! containment steps for that family of finding. It never changes anything.
//!
//! The rule has no `remediate.rs`: a live threat inside a cluster needs a person.

pub mod detect;
pub mod event;

use serde_json::Value;
use tracing::{info, info_span, Instrument};

use self::event::EksFinding;
use crate::aws::warm_up;
use crate::aws::Aws;
use crate::error::HandlerError;
use crate::intake::GUARDDUTY_FINDING;
use crate::outcome::{Origin, Outcome, ResourceRef, Status, Summary};
use crate::rules::{RuleInfo, Trigger as CatalogTrigger};
use crate::runtime;
use crate::settings::{Mode, Settings};

/// The catalog entry. Its trigger names are EventBridge wildcard patterns; the template also
/// matches any finding whose resource is an EKS cluster.
pub static RULE: RuleInfo = RuleInfo {
    name: "notify-eks-finding",
    summary: "Turns GuardDuty findings on EKS clusters into alerts with the context and first steps a responder needs",
    triggers: &[CatalogTrigger {
        source: "aws.guardduty",
        detail_type: GUARDDUTY_FINDING,
        names: &["*:Kubernetes/*", "*:Runtime/*", "AttackSequence:EKS/*"],
    }],
    iam_actions: &["sns:Publish"],
    warm_up: &[warm_up::SNS],
    settings: &["ALERT_TOPIC_ARN", "MIN_SEVERITY"],
    default_mode: Mode::AlertOnly,
    is_trigger: |incoming| matches!(event::trigger(incoming), Ok(Some(_))),
};

/// Handles one EventBridge event: the function's entry point.
pub async fn handle(aws: &Aws, settings: &Settings, event: Value) -> Result<Summary, HandlerError> {
    outcomes(aws, settings, event)
        .await
        .map(|o| Summary::of(&o))
}

/// Handles one event and returns the full outcomes (alerts are sent as by [`handle`]);
/// the CLI's `replay` shows them.
pub async fn outcomes(
    aws: &Aws,
    settings: &Settings,
    event: Value,
) -> Result<Vec<Outcome>, HandlerError> {
    let Some((_, finding, origin)) = runtime::triggered(event, settings, event::trigger)? else {
        return Ok(Vec::new());
    };
    let span = info_span!("notify-eks-finding", finding = %finding.kind,
        id = finding.id.as_deref().unwrap_or(""), count = finding.count);
    async {
        if let Some(why) = detect::logged_only(&finding, settings) {
            info!(why, severity = finding.severity, "logged, not alerted");
            return Ok(Vec::new());
        }
        let outcome = alert(&finding, &origin);
        runtime::record(settings, std::slice::from_ref(&outcome));
        // The alert is this rule's whole work: if it cannot be sent, the invocation fails, so
        // that Lambda tries again and the dead-letter queue keeps the finding.
        runtime::try_alert(aws, settings, &outcome).await?;
        Ok(vec![outcome])
    }
    .instrument(span)
    .await
}

/// The one alert for a finding.
pub fn alert(f: &EksFinding, origin: &Origin) -> Outcome {
    let label = detect::severity_label(f.severity);
    let resource = match (&f.cluster, &f.cluster_arn) {
        (Some(name), arn) => ResourceRef {
            kind: "eks-cluster",
            id: name.clone(),
            arn: arn.clone(),
        },
        (None, _) => ResourceRef {
            kind: "guardduty-finding",
            id: f.id.clone().unwrap_or_else(|| f.kind.clone()),
            arn: None,
        },
    };
    let mut context = vec![format!("Severity: {label} ({})", f.severity)];
    let mut line = |name: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            context.push(format!("{name}: {v}"));
        }
    };
    line(
        "Cluster",
        f.cluster.as_ref().map(|c| match &f.cluster_arn {
            Some(arn) => format!("{c} ({arn})"),
            None => c.clone(),
        }),
    );
    line("Namespace", f.namespace.clone());
    line("Workload", f.workload.clone());
    line("Image", (!f.images.is_empty()).then(|| f.images.join(", ")));
    line(
        "Kubernetes user",
        f.user.as_ref().map(|u| match f.groups.is_empty() {
            true => u.clone(),
            false => format!("{u} (groups {})", f.groups.join(", ")),
        }),
    );
    line("API call", f.api_call.clone());
    line("Process", f.process.clone());
    line("Node", f.instance.clone());
    line(
        "Remote IP",
        f.remote_ip.as_ref().map(|ip| match &f.organization {
            Some(org) => format!("{ip}, {org}"),
            None => ip.clone(),
        }),
    );
    line(
        "Seen",
        (f.count > 1).then(|| format!("{} times (a repeat update)", f.count)),
    );
    line("Finding id", f.id.clone());
    line(
        "Console",
        f.id.as_ref().map(|id| {
            format!(
                "https://{r}.console.aws.amazon.com/guardduty/home?region={r}#/findings?macros=current&fId={id}",
                r = origin.region
            )
        }),
    );
    context.push(format!("First steps: {}", detect::first_steps(f)));
    Outcome {
        rule: RULE.name,
        status: Status::Alert,
        resource,
        finding: match &f.title {
            Some(title) => format!("{label} {}: {title}", f.kind),
            None => format!("{label} {}", f.kind),
        },
        actions: Vec::new(),
        undo: None,
        note: Some(context.join("\n")),
        origin: origin.clone(),
    }
}
