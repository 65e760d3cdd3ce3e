//! What `scan` found, as rows every format shares: one per outcome of a scan, and one per
//! scan that could not run (an account not entered, a region not enabled, an API refused),
//! so a failure is in the report next to what did run, not only on stderr.

mod csv;
mod html;
mod table;

use serde::Serialize;

use crate::outcome::{Outcome, ResourceRef, Status};

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Html,
}

impl Format {
    pub fn parse(value: &str) -> Result<Format, String> {
        match value {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "html" => Ok(Format::Html),
            other => Err(format!(
                "--format must be table, json, csv or html, not {other:?}"
            )),
        }
    }
}

/// A row's status: an outcome's, or `error` for a scan that did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    Outcome(Status),
    Error,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Outcome(status) => status.as_str(),
            RowStatus::Error => "error",
        }
    }
}

impl Serialize for RowStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What the deployed functions do about a finding. `scan` never changes anything; this says
/// what happens once the functions run in `remediate` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Function {
    /// The rule's function puts it back (the scan's outcome is `would-remediate`).
    Fixes,
    /// The function only alerts: a person must act (`alert`).
    Alerts,
    /// Exempt by tag: the function leaves it alone.
    Skips,
}

impl Function {
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Fixes => "fixes",
            Function::Alerts => "alerts",
            Function::Skips => "skips",
        }
    }
}

/// One line of the report, in every format. JSON keeps the single-account schema (`rule`,
/// `status`, `resource`, `finding`, `actions`) and adds the rest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub account: String,
    /// `global` for what has no region (IAM roles).
    pub region: String,
    pub rule: &'static str,
    pub status: RowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<Function>,
    pub resource: ResourceRef,
    pub finding: String,
    pub actions: Vec<String>,
    /// The undo of what the function would do, or the first steps for a person.
    pub fix: String,
}

impl Row {
    pub fn of(account: &str, region: &str, outcome: Outcome) -> Row {
        let function = match outcome.status {
            Status::WouldRemediate | Status::Remediated => Some(Function::Fixes),
            Status::Alert | Status::Failed => Some(Function::Alerts),
            Status::Exempt => Some(Function::Skips),
            Status::Resolved => None,
        };
        let fix = match (function, &outcome.undo, &outcome.note) {
            (Some(Function::Fixes), Some(undo), _) => format!("undo: {undo}"),
            (_, _, Some(note)) => note.clone(),
            _ => outcome.actions.join("; "),
        };
        Row {
            account: account.to_owned(),
            region: region.to_owned(),
            rule: outcome.rule,
            status: RowStatus::Outcome(outcome.status),
            function,
            resource: outcome.resource,
            finding: outcome.finding,
            actions: outcome.actions,
            fix,
        }
    }

    /// A scan of `rule` (or of everything, [`ALL_RULES`]) in `region` (empty: the whole account) that
    /// could not run, and why.
    pub fn error(account: &str, region: &str, rule: &'static str, reason: String) -> Row {
        let (kind, id) = if region.is_empty() || region == GLOBAL {
            ("account", account)
        } else {
            ("region", region)
        };
        Row {
            account: account.to_owned(),
            region: region.to_owned(),
            rule,
            status: RowStatus::Error,
            function: None,
            resource: ResourceRef {
                kind,
                id: id.to_owned(),
                arn: None,
            },
            finding: reason,
            actions: Vec::new(),
            fix: String::new(),
        }
    }

    /// Something unsafe was found (whatever the function would do about it): what makes the
    /// exit code 1. Exempt resources are listed but someone chose them.
    pub fn is_finding(&self) -> bool {
        matches!(self.status, RowStatus::Outcome(status) if status.is_violation())
    }

    pub fn is_error(&self) -> bool {
        self.status == RowStatus::Error
    }
}

/// The region of rows about global resources.
pub const GLOBAL: &str = "global";

/// The rule of an `error` row when no scan ran at all (an account not entered, a region
/// not enabled).
pub const ALL_RULES: &str = "all";

/// A whole scan's report: its rows, and how many accounts and regions it covered.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub accounts: usize,
    pub regions: Vec<String>,
}

impl Report {
    pub fn findings(&self) -> usize {
        self.rows.iter().filter(|r| r.is_finding()).count()
    }

    pub fn errors(&self) -> usize {
        self.rows.iter().filter(|r| r.is_error()).count()
    }

    /// 2 when a scan failed (the report is incomplete, whatever it found), else 1 when
    /// something was found, else 0: as grep and diff do.
    pub fn exit_code(&self) -> u8 {
        if self.errors() > 0 {
            2
        } else if self.findings() > 0 {
            1
        } else {
            0
        }
    }

    /// Whether the report covers more than one account or region, so that each row must
    /// name its own.
    pub fn is_wide(&self) -> bool {
        self.accounts > 1 || self.regions.len() > 1
    }

    /// The report in `format`.
    pub fn render(&self, format: Format) -> Result<String, String> {
        match format {
            Format::Table => Ok(table::render(self)),
            Format::Json => serde_json::to_string_pretty(&self.rows)
                .map(|mut text| {
                    text.push('\n');
                    text
                })
                .map_err(|e| e.to_string()),
            Format::Csv => csv::render(self),
            Format::Html => Ok(html::render(self)),
        }
    }

    /// One line: what was covered, found and not scanned.
    pub fn summary(&self) -> String {
        let t = Tally::of(&self.rows);
        format!(
            "{} finding(s) in {} account(s) and {} region(s): {} fixed by the functions, {} \
             alert only; {} exempt; {} scan(s) failed",
            t.findings,
            self.accounts,
            self.regions.len(),
            t.fixes,
            t.alerts,
            t.exempt,
            t.errors,
        )
    }
}

/// How many rows of each kind: the totals the summary line and the HTML page show, for a
/// whole report or part of one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub findings: usize,
    /// Findings the deployed functions put back.
    pub fixes: usize,
    /// Findings the functions only alert.
    pub alerts: usize,
    pub exempt: usize,
    pub errors: usize,
}

impl Tally {
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Tally {
        let mut t = Tally::default();
        for row in rows {
            t.errors += usize::from(row.is_error());
            t.exempt += usize::from(row.function == Some(Function::Skips));
            if row.is_finding() {
                t.findings += 1;
                t.fixes += usize::from(row.function == Some(Function::Fixes));
                t.alerts += usize::from(row.function == Some(Function::Alerts));
            }
        }
        t
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::outcome::{EventRef, Origin};

    /// An outcome as scans make them.
    pub fn outcome(rule: &'static str, status: Status, id: &str) -> Outcome {
        Outcome {
            rule,
            status,
            resource: ResourceRef {
                kind: "security-group",
                id: id.to_owned(),
                arn: None,
            },
            finding: format!("tcp/22 open to 0.0.0.0/0 on {id}"),
            actions: vec![format!("RevokeSecurityGroupIngress {id}")],
            undo: Some(format!(
                "aws ec2 authorize-security-group-ingress --group-id {id}"
            )),
            note: Some("remove the rule by hand".to_owned()),
            origin: Origin {
                account: String::new(),
                region: String::new(),
                actor: None,
                event: EventRef {
                    source: String::new(),
                    name: String::new(),
                    id: String::new(),
                    time: String::new(),
                },
            },
        }
    }

    /// A report of two accounts in two regions: a fix, an alert, an exempt group and an
    /// account that could not be entered.
    pub fn sample() -> Report {
        Report {
            rows: vec![
                Row::of(
                    "111111111111",
                    "us-east-1",
                    outcome("revoke-open-ingress", Status::WouldRemediate, "sg-1"),
                ),
                Row::of(
                    "111111111111",
                    "eu-west-1",
                    outcome("restore-audit-trail", Status::Alert, "sg-2"),
                ),
                Row::of(
                    "111111111111",
                    "eu-west-1",
                    outcome("revoke-open-ingress", Status::Exempt, "sg-3"),
                ),
                Row::error(
                    "222222222222",
                    "",
                    ALL_RULES,
                    "AssumeRole failed (AccessDenied): not authorized".to_owned(),
                ),
            ],
            accounts: 2,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
        }
    }

    #[test]
    fn a_row_says_what_the_function_would_do_and_the_fix() {
        let report = sample();
        let [fix, alert, exempt, error] = &report.rows[..] else {
            panic!("{:?}", report.rows)
        };
        assert_eq!(fix.function, Some(Function::Fixes));
        assert!(
            fix.fix.starts_with("undo: aws ec2 authorize"),
            "{}",
            fix.fix
        );
        assert_eq!(alert.function, Some(Function::Alerts));
        assert_eq!(alert.fix, "remove the rule by hand");
        assert_eq!(exempt.function, Some(Function::Skips));
        assert_eq!(error.function, None);
        assert_eq!(
            (error.resource.kind, error.resource.id.as_str()),
            ("account", "222222222222")
        );
        assert_eq!(
            Row::error("1", "eu-west-1", ALL_RULES, String::new())
                .resource
                .kind,
            "region"
        );
    }

    #[test]
    fn exit_code_2_wins_over_1_and_exempt_alone_is_0() {
        let mut report = sample();
        assert_eq!((report.findings(), report.errors()), (2, 1));
        assert_eq!(report.exit_code(), 2);
        report.rows.retain(|r| !r.is_error());
        assert_eq!(report.exit_code(), 1);
        report.rows.retain(|r| !r.is_finding());
        assert_eq!(report.rows.len(), 1, "the exempt row stays");
        assert_eq!(report.exit_code(), 0);
    }

    #[test]
    fn json_keeps_the_single_account_schema_and_adds_account_and_region() {
        let text = sample().render(Format::Json).unwrap();
        let rows: serde_json::Value = serde_json::from_str(&text).unwrap();
        let first = &rows[0];
        for key in [
            "account", "region", "rule", "status", "function", "resource", "finding", "actions",
            "fix",
        ] {
            assert!(first.get(key).is_some(), "{key} in {first}");
        }
        assert_eq!(first["status"], "would-remediate");
        assert_eq!(first["function"], "fixes");
        assert_eq!(first["resource"]["type"], "security-group");
        assert_eq!(rows[3]["status"], "error");
        assert!(rows[3].get("function").is_none());
    }

    #[test]
    fn the_summary_counts_each_kind() {
        assert_eq!(
            sample().summary(),
            "2 finding(s) in 2 account(s) and 2 region(s): 1 fixed by the functions, 1 alert \
             only; 1 exempt; 1 scan(s) failed"
        );
    }
}
