//! `eks-remediator scan`: every rule's scan of current state, read-only, in the caller's
//! account and region or across accounts (listed, or an organisation's) and regions.
//!
//! ```text
//! scan
//!   GetCallerIdentity (the caller's account: scanned with its own credentials)
//!   --org: ListAccounts (active only)
//!   each account (at most --concurrency accounts at a time, and at most --concurrency
//!   scans and role entries at once across them):
//!     AssumeRole arn:<partition>:iam::<account>:role/<--role-name> (--external-id)
//!       refused → one `error` row for the account; the others go on
//!     --regions: DescribeRegions → a region not enabled is an `error` row, not a scan
//!     each region: sweep::run_scans(Scan::REGIONAL) → rows; a failed scan is an `error` row
//!     once: the node groups of every region → detach_node_policy::scan_roles (IAM is global)
//! ```
//!
//! Each scan keeps its own bounded concurrency (`crate::bounded`) and the scan retry policy
//! (`aws::scan_retries`, in the config the caller built), so at most `--concurrency` × 8
//! calls are in flight.

use aws_config::{Region, SdkConfig};
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use tokio::sync::Semaphore;

use super::args::{Accounts, Regions, ScanArgs};
use super::progress::Progress;
use super::report::{Report, Row, ALL_RULES, GLOBAL};
use crate::aws::Aws;
use crate::domain::partition;
use crate::outcome::Status;
use crate::rules::detach_node_policy;
use crate::settings::Settings;
use crate::sweep::{self, Scan};

/// The id every outcome of a CLI scan carries as its event's.
const SCAN_ID: &str = "cli-scan";

/// Runs the scan `args` asks for and writes its report (stdout or `--output`); returns the
/// exit code: 0 nothing found, 1 something found, 2 a scan failed or the report could not be
/// written.
pub async fn command(base: SdkConfig, settings: Settings, args: ScanArgs) -> u8 {
    let progress = Progress::on_stderr();
    let report = scan(&base, &settings, &args, &progress).await;
    progress.finish();
    let text = match report.render(args.format) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("eks-remediator: the report could not be written: {e}");
            return 2;
        }
    };
    for row in report.rows.iter().filter(|r| r.is_error()) {
        eprintln!(
            "eks-remediator: not scanned: {} {} {}: {}",
            row.account, row.region, row.rule, row.finding
        );
    }
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("eks-remediator: {path}: {e}");
                return 2;
            }
            eprintln!("{}\nreport written to {path}", report.summary());
        }
        None => {
            print!("{text}");
            if args.format != super::report::Format::Table {
                eprintln!("{}", report.summary());
            }
        }
    }
    report.exit_code()
}

/// What every account's scan shares.
struct Run<'a> {
    base: &'a SdkConfig,
    settings: &'a Settings,
    args: &'a ScanArgs,
    progress: &'a Progress,
    /// The caller's own context, which enters the other accounts.
    caller: Aws,
    caller_account: Option<String>,
    /// Where DescribeRegions and the default scan go.
    home: Option<String>,
    limit: Semaphore,
}

/// The scan `args` asks for, with `base` as the caller's config (credentials, endpoint,
/// retries). Never fails: what could not be scanned is an `error` row.
pub async fn scan(
    base: &SdkConfig,
    settings: &Settings,
    args: &ScanArgs,
    progress: &Progress,
) -> Report {
    let home = base
        .region()
        .map(|r| r.to_string())
        .or_else(|| match &args.regions {
            Regions::List(list) => list.first().cloned(),
            Regions::All => Some("us-east-1".to_owned()),
            Regions::Configured => None,
        });
    // STS, Organizations and DescribeRegions need a region to sign for: the first one asked
    // for when none is configured.
    let base = match (base.region(), &home) {
        (None, Some(home)) => base.to_builder().region(Region::new(home.clone())).build(),
        _ => base.clone(),
    };
    let caller = Aws::with_config(base.clone());
    let caller_account = match caller.account_id().await {
        Ok(id) => Some(id),
        Err(e) => {
            progress.say(&format!("eks-remediator: account unknown: {e}"));
            None
        }
    };
    let run = Run {
        base: &base,
        settings,
        args,
        progress,
        caller,
        caller_account,
        home,
        limit: Semaphore::new(args.concurrency),
    };
    let accounts = match run.accounts().await {
        Ok(accounts) => accounts,
        Err(row) => {
            return Report {
                rows: vec![row],
                ..Report::default()
            }
        }
    };
    progress.accounts(accounts.len());
    // At most --concurrency accounts in hand at once, each entered when its turn comes: the
    // role's credentials (an hour) need only outlast one account's scans, however large the
    // organisation, and the report keeps the accounts' order.
    let mut per_account: Vec<_> = stream::iter(accounts.iter().enumerate())
        .map(|(i, account)| {
            let run = &run;
            async move { (i, run.account(account).await) }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    per_account.sort_by_key(|(i, _)| *i);
    let mut report = Report {
        accounts: accounts.len(),
        ..Report::default()
    };
    for (_, (rows, regions)) in per_account {
        report.rows.extend(rows);
        for region in regions {
            if !report.regions.contains(&region) {
                report.regions.push(region);
            }
        }
    }
    report
}

impl Run<'_> {
    /// The accounts to scan, or the row saying why there are none.
    async fn accounts(&self) -> Result<Vec<String>, Row> {
        let caller = self.caller_account.clone().unwrap_or_default();
        match &self.args.accounts {
            Accounts::Caller => Ok(vec![caller]),
            Accounts::List(ids) => Ok(ids.clone()),
            Accounts::Org => match self.caller.active_accounts().await {
                Ok(accounts) if !accounts.is_empty() => {
                    Ok(accounts.into_iter().map(|a| a.id).collect())
                }
                Ok(_) => Err(Row::error(
                    &caller,
                    "",
                    ALL_RULES,
                    "the organisation lists no active account: run --org from its management \
                     account or a delegated administrator"
                        .to_owned(),
                )),
                Err(e) => Err(Row::error(
                    &caller,
                    "",
                    ALL_RULES,
                    format!("cannot list the organisation's accounts: {e}"),
                )),
            },
        }
    }

    /// Every row of one account (entered, its regions found, each scanned, and IAM once),
    /// and the regions scanned.
    async fn account(&self, account: &str) -> (Vec<Row>, Vec<String>) {
        let found = self.account_rows(account).await;
        self.progress.account_done();
        found
    }

    async fn account_rows(&self, account: &str) -> (Vec<Row>, Vec<String>) {
        let config = match self.enter(account).await {
            Ok(config) => config,
            Err(reason) => {
                self.progress.add(1);
                self.progress.scanned(account, 0, 1);
                return (vec![Row::error(account, "", ALL_RULES, reason)], Vec::new());
            }
        };
        let (regions, mut rows) = match self.regions(account, &config).await {
            Ok(found) => found,
            Err(row) => {
                self.progress.add(1);
                self.progress.scanned(account, 0, 1);
                return (vec![row], Vec::new());
            }
        };
        let clients: Vec<(String, Aws)> = regions
            .into_iter()
            .map(|region| {
                let config = config
                    .to_builder()
                    .region(Region::new(region.clone()))
                    .build();
                (region, Aws::with_config(config))
            })
            .collect();
        let iam = self.settings.sweep_iam && !clients.is_empty();
        self.progress.add(clients.len() + usize::from(iam));
        let regional = join_all(
            clients
                .iter()
                .map(|(region, aws)| Box::pin(self.region(account, region, aws))),
        );
        let (regional, iam_rows) = futures_util::future::join(regional, async {
            if iam {
                self.iam(account, &clients).await
            } else {
                Vec::new()
            }
        })
        .await;
        rows.extend(regional.into_iter().flatten());
        rows.extend(iam_rows);
        (
            rows,
            clients.into_iter().map(|(region, _)| region).collect(),
        )
    }

    /// The config acting in `account`: the caller's own, or the role's credentials.
    async fn enter(&self, account: &str) -> Result<SdkConfig, String> {
        let own = matches!(self.args.accounts, Accounts::Caller)
            || self.caller_account.as_deref() == Some(account);
        if own {
            // The management account has no OrganizationAccountAccessRole (AWS creates it
            // only in the accounts it creates): it is scanned as the caller.
            return Ok(self.base.clone());
        }
        let role_arn = format!(
            "arn:{}:iam::{account}:role/{}",
            partition(self.home.as_deref().unwrap_or_default()),
            self.args.role_name.trim_start_matches('/')
        );
        let _permit = self.limit.acquire().await.map_err(|e| e.to_string())?;
        self.caller
            .enter(self.base, &role_arn, self.args.external_id.as_deref())
            .await
            .map_err(|e| format!("cannot enter the account through {role_arn}: {e}"))
    }

    /// The regions to scan in the account, and a row for each asked for that it has not
    /// enabled; or the row saying none can be scanned.
    async fn regions(
        &self,
        account: &str,
        config: &SdkConfig,
    ) -> Result<(Vec<String>, Vec<Row>), Row> {
        let Some(home) = self.home.clone() else {
            return Err(Row::error(
                account,
                "",
                ALL_RULES,
                "no region: give --region, --regions or AWS_REGION".to_owned(),
            ));
        };
        if self.args.regions == Regions::Configured {
            return Ok((vec![home], Vec::new()));
        }
        let enabled = {
            let _permit = self
                .limit
                .acquire()
                .await
                .map_err(|e| Row::error(account, "", ALL_RULES, e.to_string()))?;
            let config = config.to_builder().region(Region::new(home)).build();
            Aws::with_config(config).enabled_regions().await
        };
        match (&self.args.regions, enabled) {
            (Regions::List(asked), Ok(enabled)) => {
                let (on, off): (Vec<String>, Vec<String>) =
                    asked.iter().cloned().partition(|r| enabled.contains(r));
                let rows = off
                    .into_iter()
                    .map(|region| {
                        Row::error(
                            account,
                            &region,
                            ALL_RULES,
                            format!("{region} is not a region this account has enabled"),
                        )
                    })
                    .collect();
                Ok((on, rows))
            }
            (Regions::List(asked), Err(e)) => {
                // Unknown, not refused: each region's scans will say if it cannot be read.
                self.progress.say(&format!(
                    "eks-remediator: {account}: enabled regions unknown ({e}); scanning {}",
                    asked.join(",")
                ));
                Ok((asked.clone(), Vec::new()))
            }
            (_, Ok(enabled)) if !enabled.is_empty() => Ok((enabled, Vec::new())),
            (_, Ok(_)) => Err(Row::error(
                account,
                "",
                ALL_RULES,
                "DescribeRegions listed no enabled region".to_owned(),
            )),
            (_, Err(e)) => Err(Row::error(
                account,
                "",
                ALL_RULES,
                format!("cannot list the account's regions: {e}"),
            )),
        }
    }

    /// The regional scans of one account and region.
    async fn region(&self, account: &str, region: &str, aws: &Aws) -> Vec<Row> {
        let Ok(_permit) = self.limit.acquire().await else {
            return Vec::new();
        };
        let origin = sweep::origin(account, region, SCAN_ID, "");
        let report =
            sweep::run_scans(aws, self.settings, &origin, None, Scan::REGIONAL, |_| {}).await;
        let rows = rows(account, region, report.outcomes, report.errors);
        self.report_progress(&format!("{account} {region}"), &rows);
        rows
    }

    /// The account's node roles (IAM is global), judged with the node groups of every
    /// region scanned.
    async fn iam(&self, account: &str, clients: &[(String, Aws)]) -> Vec<Row> {
        let Ok(_permit) = self.limit.acquire().await else {
            return Vec::new();
        };
        let rule = detach_node_policy::RULE.name;
        let read = join_all(clients.iter().map(|(_, aws)| aws.nodegroup_roles())).await;
        let mut nodegroups = Vec::new();
        let mut errors = Vec::new();
        for ((region, _), groups) in clients.iter().zip(read) {
            match groups {
                Ok(groups) => nodegroups.extend(groups),
                Err(e) => errors.push((rule, format!("node groups in {region} unread: {e}"))),
            }
        }
        let rows = match clients.first() {
            Some((region, aws)) if errors.is_empty() => {
                let origin = sweep::origin(account, region, SCAN_ID, "");
                match detach_node_policy::scan_roles(aws, self.settings, &origin, &nodegroups).await
                {
                    Ok(outcomes) => rows(account, GLOBAL, outcomes, Vec::new()),
                    Err(e) => rows(account, GLOBAL, Vec::new(), vec![(rule, e.to_string())]),
                }
            }
            _ => rows(account, GLOBAL, Vec::new(), errors),
        };
        self.report_progress(&format!("{account} IAM"), &rows);
        rows
    }

    fn report_progress(&self, what: &str, rows: &[Row]) {
        let findings = rows.iter().filter(|r| r.is_finding()).count();
        let failed = rows.iter().filter(|r| r.is_error()).count();
        self.progress.scanned(what, findings, failed);
    }
}

/// A scan's outcomes (all but `resolved`: safe resources are not news) and failed scans as
/// rows.
fn rows(
    account: &str,
    region: &str,
    outcomes: Vec<crate::outcome::Outcome>,
    errors: Vec<(&'static str, String)>,
) -> Vec<Row> {
    outcomes
        .into_iter()
        .filter(|o| o.status != Status::Resolved)
        .map(|o| Row::of(account, region, o))
        .chain(
            errors
                .into_iter()
                .map(|(rule, error)| Row::error(account, region, rule, error)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_outcomes_are_not_rows_and_failures_are() {
        use super::super::report::tests::outcome;
        let rows = rows(
            "111111111111",
            "eu-west-1",
            vec![
                outcome("revoke-open-ingress", Status::Resolved, "sg-1"),
                outcome("revoke-open-ingress", Status::WouldRemediate, "sg-2"),
            ],
            vec![(
                "cluster-versions",
                "DescribeClusterVersions refused".to_owned(),
            )],
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].resource.id, "sg-2");
        assert!(rows[1].is_error());
        assert_eq!(rows[1].rule, "cluster-versions");
    }
}
