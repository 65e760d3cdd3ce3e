//! `replay EVENT.json`: what the function for an event would do, read-only unless
//! `--apply` is given (then it remediates and alerts as the function would). Also the
//! read-only settings `scan` runs with.

use std::fmt::Write as _;

use serde_json::Value;

use crate::alert;
use crate::aws::Aws;
use crate::catalog::Rule;
use crate::error::HandlerError;
use crate::intake;
use crate::outcome::Outcome;
use crate::settings::{Mode, Settings};

/// The settings replay runs with: read-only unless `apply`.
pub fn replay_settings(mut settings: Settings, apply: bool) -> Settings {
    if apply {
        settings.mode = Mode::Remediate;
    } else {
        settings.mode = Mode::AlertOnly;
        settings.alert_topic_arn = None;
        // A look writes nothing, not even audit-workloads' record of what it alerted.
        settings.dedupe_table = None;
    }
    settings
}

/// Runs the event through every rule it triggers and returns their outcomes. A CloudWatch
/// Logs delivery (a cluster's audit log) is `audit-workloads`' alone.
pub async fn replay(
    aws: &Aws,
    settings: &Settings,
    event: Value,
) -> Result<Vec<(&'static str, Vec<Outcome>)>, HandlerError> {
    if intake::audit_log::is_delivery(&event) {
        let rule = Rule::AuditWorkloads;
        return Ok(vec![(
            rule.info().name,
            rule.outcomes(aws, settings, event).await?,
        )]);
    }
    let incoming = intake::parse(event.clone())?;
    let mut results = Vec::new();
    for rule in Rule::ALL
        .iter()
        .filter(|r| (r.info().is_trigger)(&incoming))
    {
        results.push((
            rule.info().name,
            rule.outcomes(aws, settings, event.clone()).await?,
        ));
    }
    Ok(results)
}

/// A readable report of replay results.
pub fn report(results: &[(&'static str, Vec<Outcome>)]) -> String {
    let mut text = String::new();
    if results.is_empty() {
        text.push_str("no rule acts on this event\n");
    }
    for (rule, outcomes) in results {
        if outcomes.is_empty() {
            let _ = writeln!(text, "{rule}: nothing to do");
        }
        for outcome in outcomes {
            let _ = writeln!(text, "{rule}: {}", outcome.status.as_str());
            let _ = writeln!(text, "{}", alert::email_text(outcome));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_without_apply_is_read_only() {
        let base = Settings {
            mode: Mode::Remediate,
            alert_topic_arn: Some("arn:aws:sns:x".into()),
            dedupe_table: Some("alerted".into()),
            ..Settings::default()
        };
        let dry = replay_settings(base.clone(), false);
        assert_eq!((dry.mode, dry.alert_topic_arn), (Mode::AlertOnly, None));
        assert_eq!(dry.dedupe_table, None);
        let live = replay_settings(Settings::default(), true);
        assert_eq!(live.mode, Mode::Remediate);
    }
}
