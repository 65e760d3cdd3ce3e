//! Rule `restore-audit-trail`: GuardDuty keeps watching EKS (audit logs, runtime) and
//! CloudTrail keeps recording. An intruder's first move is often to switch those off, so what
//! a request switched off is switched back on; what cannot be put back (a deleted detector or
//! trail, a trail that no longer records writes or other regions) is alerted for a person.

pub mod detect;
pub mod event;
pub mod remediate;

use serde_json::Value;
use tracing::{info, info_span, Instrument};

use self::event::Trigger;
use self::remediate::Change;
use crate::aws::warm_up;
use crate::aws::Aws;
use crate::domain::audit::{Detector, DetectorRestore, Trail};
use crate::error::{AwsError, HandlerError};
use crate::guard;
use crate::intake::API_CALL;
use crate::outcome::{Origin, Outcome, ResourceRef, Status, Summary};
use crate::rules::{RuleInfo, Trigger as CatalogTrigger};
use crate::runtime;
use crate::settings::{Mode, Settings};

/// The catalog entry.
pub static RULE: RuleInfo = RuleInfo {
    name: "restore-audit-trail",
    summary: "Switches GuardDuty EKS protection and CloudTrail logging back on; alerts on deleted detectors and trails and on narrowed trails",
    triggers: &[
        CatalogTrigger {
            source: "aws.guardduty",
            detail_type: API_CALL,
            names: event::DETECTOR_EVENTS,
        },
        CatalogTrigger {
            source: "aws.cloudtrail",
            detail_type: API_CALL,
            names: event::TRAIL_EVENTS,
        },
    ],
    iam_actions: &[
        "guardduty:GetDetector",
        "guardduty:ListDetectors",
        "guardduty:UpdateDetector",
        // Only with RECREATE_DETECTOR=true (a template condition); GuardDuty needs its
        // service-linked role, which CreateDetector makes when it is missing.
        "guardduty:CreateDetector",
        "iam:CreateServiceLinkedRole",
        "cloudtrail:GetTrail",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:ListTags",
        "cloudtrail:GetEventSelectors",
        "cloudtrail:StartLogging",
        "sns:Publish",
    ],
    warm_up: &[warm_up::CLOUDTRAIL, warm_up::GUARDDUTY, warm_up::IAM, warm_up::SNS],
    settings: &[
        "MODE",
        "ALERT_TOPIC_ARN",
        "EXEMPT_TAG_KEY",
        "RECREATE_DETECTOR",
        "SELF_ROLE_ARNS",
    ],
    default_mode: Mode::Remediate,
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
    let Some((_, trigger, origin)) = runtime::triggered(event, settings, event::trigger)? else {
        return Ok(Vec::new());
    };
    let span =
        info_span!("restore-audit-trail", event_id = %origin.event.id, event = %origin.event.name);
    async {
        let decision = decide(aws, settings, &origin, &trigger).await?;
        let (outcomes, error) = act(aws, settings, decision).await;
        runtime::conclude(aws, settings, outcomes, error).await
    }
    .instrument(span)
    .await
}

/// What to do, with the outcome it will become.
enum Decision {
    Nothing(&'static str),
    /// Report `outcome` as it is (resolved, alert, exempt).
    Report(Outcome),
    /// Make `change`; `outcome` is the `remediated` report.
    Change {
        outcome: Outcome,
        change: Change,
    },
}

async fn decide(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    trigger: &Trigger,
) -> Result<Decision, AwsError> {
    let make = |resource, status, finding| outcome(origin, resource, status, finding);
    let exempt_note = |change: &Change| exempt_note(settings, change);
    match trigger {
        Trigger::DetectorUpdated { detector, off } => {
            if off.is_empty() {
                return Ok(Decision::Nothing(
                    "the update switched off nothing this rule watches",
                ));
            }
            let now = detector_now(aws, detector).await?;
            Ok(judge_detector(
                settings,
                origin,
                detector,
                off,
                now.as_ref(),
            ))
        }
        Trigger::DetectorDeleted { detector } => {
            let resource = detector_ref(origin, detector);
            if !aws.list_detectors().await?.is_empty() {
                return Ok(Decision::Report(make(
                    resource,
                    Status::Resolved,
                    "GuardDuty detector deleted, but the region has a detector again".into(),
                )));
            }
            let finding = "GuardDuty detector deleted: no threat detection for EKS (or anything else) in this region".to_owned();
            if settings.recreate_detector {
                let mut o = make(resource, Status::Remediated, finding);
                o.note = Some(
                    "the old detector's findings are lost; review who deleted it and why".into(),
                );
                return Ok(Decision::Change {
                    outcome: o,
                    change: Change::RecreateDetector,
                });
            }
            let mut o = make(resource, Status::Alert, finding);
            o.note = Some(
                "URGENT: act now. Recreate it (aws guardduty create-detector --enable --features \
                 '[{\"Name\":\"EKS_AUDIT_LOGS\",\"Status\":\"ENABLED\"},{\"Name\":\"RUNTIME_MONITORING\",\"Status\":\"ENABLED\"}]'), \
                 then find out who deleted it and why; RECREATE_DETECTOR=true does this automatically."
                    .into(),
            );
            Ok(Decision::Report(o))
        }
        Trigger::LoggingStopped { trail } => {
            let Some(now) = read_trail(aws, trail).await? else {
                return Ok(Decision::Report(make(
                    trail_ref(origin, trail, None),
                    Status::Resolved,
                    "the trail no longer exists".into(),
                )));
            };
            let resource = trail_ref(origin, &now.name, now.arn.as_deref());
            let finding = format!("CloudTrail logging stopped on trail {}", now.name);
            if now.logging {
                return Ok(Decision::Report(make(
                    resource,
                    Status::Resolved,
                    format!("{finding}; logging again already"),
                )));
            }
            let change = Change::StartLogging {
                handle: detect::trail_handle(trail, &now.name, &origin.region, &origin.account)
                    .to_owned(),
            };
            if guard::is_exempt(&now.tags, &settings.exempt_tag_key) {
                let mut o = make(resource, Status::Exempt, finding);
                o.note = Some(exempt_note(&change));
                return Ok(Decision::Report(o));
            }
            Ok(Decision::Change {
                outcome: make(resource, Status::Remediated, finding),
                change,
            })
        }
        Trigger::TrailDeleted { trail } => {
            let mut o = make(
                trail_ref(origin, trail, None),
                Status::Alert,
                format!("CloudTrail trail {trail} deleted"),
            );
            o.note = Some(
                "URGENT: the account's API calls may no longer be recorded. Recreate the trail \
                 (multi-region, management read and write events, log file validation) and find \
                 out who deleted it and why."
                    .into(),
            );
            Ok(Decision::Report(o))
        }
        Trigger::SelectorsPut { trail, requested } => {
            if requested.record_management_writes() {
                return Ok(Decision::Nothing(
                    "the selectors still record management write events",
                ));
            }
            let Some(now) = read_trail(aws, trail).await? else {
                return Ok(Decision::Report(make(
                    trail_ref(origin, trail, None),
                    Status::Resolved,
                    "the trail no longer exists".into(),
                )));
            };
            let resource = trail_ref(origin, &now.name, now.arn.as_deref());
            let finding = format!(
                "trail {} no longer records management write events",
                now.name
            );
            let current = aws.event_selectors(&now.name).await?;
            if current.record_management_writes() {
                return Ok(Decision::Report(make(
                    resource,
                    Status::Resolved,
                    format!("{finding}; it does again already"),
                )));
            }
            let status = if guard::is_exempt(&now.tags, &settings.exempt_tag_key) {
                Status::Exempt
            } else {
                Status::Alert
            };
            let mut o = make(resource, status, finding);
            o.note = Some(format!(
                "before: not in the record (CloudTrail logs only the new selectors); after: {}. \
                 To record writes again: aws cloudtrail put-event-selectors --trail-name {} \
                 --event-selectors '[{{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}}]' \
                 (this replaces the trail's data-event selectors too: merge them in first).",
                describe_selectors(requested),
                crate::domain::shell_quote(&now.name)
            ));
            Ok(Decision::Report(o))
        }
        Trigger::TrailUpdated { trail, narrowed } => {
            if narrowed.is_empty() {
                return Ok(Decision::Nothing(
                    "the update narrowed nothing this rule watches",
                ));
            }
            let Some(now) = read_trail(aws, trail).await? else {
                return Ok(Decision::Report(make(
                    trail_ref(origin, trail, None),
                    Status::Resolved,
                    "the trail no longer exists".into(),
                )));
            };
            let resource = trail_ref(origin, &now.name, now.arn.as_deref());
            let status = if guard::is_exempt(&now.tags, &settings.exempt_tag_key) {
                Status::Exempt
            } else {
                Status::Alert
            };
            let mut o = make(
                resource,
                status,
                format!("trail {} narrowed: {}", now.name, narrowed.join("; ")),
            );
            o.note = Some(format!(
                "before: multi-region with global service events, as recommended; after: as \
                 above. To restore: aws cloudtrail update-trail --name {} --is-multi-region-trail \
                 --include-global-service-events",
                crate::domain::shell_quote(&now.name)
            ));
            Ok(Decision::Report(o))
        }
    }
}

/// An outcome of this rule with no actions yet.
fn outcome(origin: &Origin, resource: ResourceRef, status: Status, finding: String) -> Outcome {
    Outcome {
        rule: RULE.name,
        status,
        resource,
        finding,
        actions: Vec::new(),
        undo: None,
        note: None,
        origin: origin.clone(),
    }
}

fn exempt_note(settings: &Settings, change: &Change) -> String {
    format!(
        "exempt by tag {}=true; without it this would run: {}",
        settings.exempt_tag_key,
        change.action()
    )
}

/// The detector as it is now; `None` when it no longer exists.
async fn detector_now(aws: &Aws, detector: &str) -> Result<Option<Detector>, AwsError> {
    match aws.get_detector(detector).await {
        Ok(now) => Ok(Some(now)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// What to do about `detector` (`now`, `None` if gone) once `off` was switched off: switch
/// back on what is still off, unless the detector is exempt.
fn judge_detector(
    settings: &Settings,
    origin: &Origin,
    detector: &str,
    off: &DetectorRestore,
    now: Option<&Detector>,
) -> Decision {
    let resource = detector_ref(origin, detector);
    let Some(now) = now else {
        let finding = "the detector no longer exists".to_owned();
        return Decision::Report(outcome(origin, resource, Status::Resolved, finding));
    };
    let restore = detect::restore(off, now);
    if restore.is_empty() {
        let finding = format!(
            "GuardDuty EKS protection switched off: {}; already back on",
            detect::describe(off)
        );
        return Decision::Report(outcome(origin, resource, Status::Resolved, finding));
    }
    // What is off now and will be switched on: for an event, what it switched off that is
    // still off; for the sweep, everything watched that is off.
    let finding = format!(
        "GuardDuty EKS protection switched off: {}",
        detect::describe(&restore)
    );
    let change = Change::RestoreDetector {
        detector: detector.to_owned(),
        restore,
    };
    if guard::is_exempt(&now.tags, &settings.exempt_tag_key) {
        let mut o = outcome(origin, resource, Status::Exempt, finding);
        o.note = Some(exempt_note(settings, &change));
        return Decision::Report(o);
    }
    Decision::Change {
        outcome: outcome(origin, resource, Status::Remediated, finding),
        change,
    }
}

/// The sweep's scan: every detector with EKS protection off is treated as if it had just
/// been switched off, every trail not logging as if it had just been stopped; a region with
/// no detector, or an account view with no trail at all, is an alert.
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
) -> Result<Vec<Outcome>, HandlerError> {
    let mut decisions = Vec::new();
    let detectors = aws.list_detectors().await?;
    if detectors.is_empty() {
        decisions.push(Decision::Report(Outcome {
            rule: RULE.name,
            status: Status::Alert,
            resource: detector_ref(origin, "none"),
            finding: "no GuardDuty detector in this region: no threat detection for EKS".into(),
            actions: Vec::new(),
            undo: None,
            note: Some("create one with EKS audit-log and runtime monitoring (aws guardduty create-detector --enable --features ...)".into()),
            origin: origin.clone(),
        }));
    }
    for detector in detectors {
        // One read serves both questions: what to switch back on, and runtime monitoring.
        let now = detector_now(aws, &detector).await?;
        let off = everything_watched();
        decisions.push(judge_detector(
            settings,
            origin,
            &detector,
            &off,
            now.as_ref(),
        ));
        decisions.extend(now.and_then(|now| runtime_report(settings, origin, &detector, &now)));
    }
    let trails = aws.list_trail_names().await?;
    if trails.is_empty() {
        decisions.push(Decision::Report(Outcome {
            rule: RULE.name,
            status: Status::Alert,
            resource: trail_ref(origin, "none", None),
            finding: "no CloudTrail trail: API calls are not recorded, and EventBridge gets no API-call events".into(),
            actions: Vec::new(),
            undo: None,
            note: Some("deploy with CreateTrail=true, or create a multi-region trail".into()),
            origin: origin.clone(),
        }));
    }
    for trail in trails {
        decisions.push(decide(aws, settings, origin, &Trigger::LoggingStopped { trail }).await?);
    }
    let mut outcomes = Vec::new();
    for decision in decisions {
        let (made, error) = act(aws, settings, decision).await;
        if let Some(error) = error {
            tracing::warn!(%error, "left to the next sweep");
        }
        outcomes.extend(made);
    }
    Ok(outcomes)
}

/// The sweep's report on a detector that watches no EKS workload at run time: an alert with
/// the command, never a change (see [`detect::runtime_unwatched`]).
fn runtime_report(
    settings: &Settings,
    origin: &Origin,
    detector: &str,
    now: &Detector,
) -> Option<Decision> {
    if !detect::runtime_unwatched(now) {
        return None;
    }
    let status = if guard::is_exempt(&now.tags, &settings.exempt_tag_key) {
        Status::Exempt
    } else {
        Status::Alert
    };
    let finding =
        "GuardDuty runtime monitoring is off: no detection inside EKS nodes and containers";
    let mut o = outcome(
        origin,
        detector_ref(origin, detector),
        status,
        finding.into(),
    );
    o.note = Some(format!(
        "Not switched on automatically: it is paid and installs GuardDuty's agent on every \
         cluster. To enable: aws guardduty update-detector --detector-id {detector} --features \
         'Name=RUNTIME_MONITORING,Status=ENABLED,AdditionalConfiguration=[{{Name=EKS_ADDON_MANAGEMENT,Status=ENABLED}}]'"
    ));
    Some(Decision::Report(o))
}

/// What the sweep holds every detector to: enabled, with EKS audit-log monitoring on.
/// Runtime monitoring is switched back on when an event switches it off, but the sweep does
/// not turn it on where it never was: it is a paid agent an account opts into.
fn everything_watched() -> DetectorRestore {
    DetectorRestore {
        enable: true,
        features: vec![crate::domain::audit::FeatureRestore {
            name: "EKS_AUDIT_LOGS".to_owned(),
            whole: true,
            additional: Vec::new(),
        }],
        kubernetes_audit_logs: false,
    }
}

/// The trail, or `None` when it is gone.
async fn read_trail(aws: &Aws, named: &str) -> Result<Option<Trail>, AwsError> {
    match aws.get_trail(named).await {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn act(
    aws: &Aws,
    settings: &Settings,
    decision: Decision,
) -> (Vec<Outcome>, Option<AwsError>) {
    match decision {
        Decision::Nothing(why) => {
            info!(why, "nothing to do");
            (Vec::new(), None)
        }
        Decision::Report(outcome) => (vec![outcome], None),
        Decision::Change {
            mut outcome,
            change,
        } => {
            outcome.actions = vec![change.action()];
            outcome.undo = Some(change.undo());
            if settings.mode == Mode::AlertOnly {
                outcome.status = Status::WouldRemediate;
                outcome.note = Some("alert-only mode: nothing was changed".into());
                return (vec![outcome], None);
            }
            match change.apply(aws).await {
                Ok(()) => (vec![outcome], None),
                Err(e) => {
                    outcome.status = Status::Failed;
                    outcome.undo = None;
                    outcome.note = Some(e.to_string());
                    (vec![outcome], Some(e))
                }
            }
        }
    }
}

fn describe_selectors(selectors: &crate::domain::audit::Selectors) -> String {
    if !selectors.advanced.is_empty() {
        return format!(
            "{} advanced selector(s) without management write events",
            selectors.advanced.len()
        );
    }
    selectors
        .basic
        .iter()
        .map(|s| {
            format!(
                "ReadWriteType={}, IncludeManagementEvents={}",
                s.read_write_type.as_deref().unwrap_or("All"),
                s.include_management_events.unwrap_or(true)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn detector_ref(origin: &Origin, detector: &str) -> ResourceRef {
    ResourceRef {
        kind: "guardduty-detector",
        id: detector.to_owned(),
        arn: Some(format!(
            "arn:{}:guardduty:{}:{}:detector/{detector}",
            crate::domain::partition(&origin.region),
            origin.region,
            origin.account
        )),
    }
}

fn trail_ref(origin: &Origin, name: &str, arn: Option<&str>) -> ResourceRef {
    let name = name.rsplit(":trail/").next().unwrap_or(name);
    ResourceRef {
        kind: "cloudtrail-trail",
        id: name.to_owned(),
        arn: Some(arn.map(str::to_owned).unwrap_or_else(|| {
            format!(
                "arn:{}:cloudtrail:{}:{}:trail/{name}",
                crate::domain::partition(&origin.region),
                origin.region,
                origin.account
            )
        })),
    }
}
