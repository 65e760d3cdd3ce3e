//! The `eks-remediator` command line, so people can look before they trust: `scan` reports
//! what the rules find in the account now (read-only, whatever the mode; exit code 1 when
//! anything is found, so it can gate a pipeline), and `replay EVENT.json` shows what the
//! function for an event would do; `replay --apply` lets it act.
//!
//! Both are read-only unless `--apply` is given: they force alert-only mode and send no
//! alerts. With `--apply`, replay remediates and alerts as the function would.

use std::fmt::Write as _;

use serde_json::Value;

use crate::alert;
use crate::aws::Aws;
use crate::catalog::Rule;
use crate::error::HandlerError;
use crate::intake;
use crate::outcome::Outcome;
use crate::settings::{Mode, Settings};

pub const USAGE: &str = "usage: eks-remediator scan [--json] [--region REGION] [--profile PROFILE]
       eks-remediator replay EVENT.json [--apply] [--region REGION] [--profile PROFILE]

  scan     report what the rules find in the account now (read-only); exit 1 when anything is
           found, 0 when nothing is, 2 on a usage or settings error
  replay   show what the function for EVENT.json would do (read-only; --apply acts and alerts)

Settings come from the same environment variables as the functions (see README).";

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Scan { json: bool },
    Replay { event_file: String },
}

/// Parsed command-line arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct Args {
    pub command: Command,
    /// Only `replay` takes `--apply`.
    pub apply: bool,
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// Parses `scan [--json]` or `replay EVENT.json [--apply]`, each with `[--region R]
/// [--profile P]`.
pub fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut iter = args.iter();
    let scan = match iter.next().map(String::as_str) {
        Some("replay") => false,
        Some("scan") => true,
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("no command".to_owned()),
    };
    let (mut event_file, mut apply, mut json, mut region, mut profile) =
        (None, false, false, None, None);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--apply" if !scan => apply = true,
            "--json" if scan => json = true,
            "--region" => region = Some(iter.next().ok_or("--region needs a value")?.clone()),
            "--profile" => profile = Some(iter.next().ok_or("--profile needs a value")?.clone()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            file if !scan && event_file.is_none() => event_file = Some(file.to_owned()),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    let command = if scan {
        Command::Scan { json }
    } else {
        Command::Replay {
            event_file: event_file.ok_or("replay needs an EVENT.json")?,
        }
    };
    Ok(Args {
        command,
        apply,
        region,
        profile,
    })
}

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

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn replay_arguments() {
        let parsed = parse_args(&args(&[
            "replay",
            "e.json",
            "--apply",
            "--region",
            "eu-west-1",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            Args {
                command: Command::Replay {
                    event_file: "e.json".into()
                },
                apply: true,
                region: Some("eu-west-1".into()),
                profile: None
            }
        );
        assert!(parse_args(&args(&["replay"])).is_err());
        assert!(parse_args(&args(&["replay", "a", "b"])).is_err());
        assert!(parse_args(&args(&["replay", "a", "--region"])).is_err());
        assert!(parse_args(&args(&["replay", "a", "--json"])).is_err());
        assert!(parse_args(&args(&["sweep"])).is_err());
        assert!(parse_args(&args(&[])).is_err());
    }

    #[test]
    fn scan_arguments_are_read_only() {
        let parsed = parse_args(&args(&["scan", "--json", "--profile", "prod"])).unwrap();
        assert_eq!(parsed.command, Command::Scan { json: true });
        assert!(!parsed.apply);
        assert_eq!(parsed.profile.as_deref(), Some("prod"));
        assert!(parse_args(&args(&["scan", "--apply"])).is_err());
        assert!(parse_args(&args(&["scan", "file.json"])).is_err());
    }

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
