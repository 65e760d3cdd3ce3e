//! The command line: what `eks-remediator` was asked to do, checked before any AWS call so
//! that a typo costs nothing and says what is wrong.

use super::report::Format;

pub const USAGE: &str = "usage: eks-remediator scan [--format table|json|csv|html] [--output FILE]
                          [--regions R1,R2|all] [--accounts ID1,ID2 | --org]
                          [--role-name NAME] [--external-id ID] [--concurrency N]
                          [--region REGION] [--profile PROFILE]
       eks-remediator replay EVENT.json [--apply] [--region REGION] [--profile PROFILE]

  scan     report what the rules find now (read-only, whatever MODE says): in the caller's
           account and region, or in every account and region asked for, entered through
           the role --role-name (default OrganizationAccountAccessRole) with STS AssumeRole.
             --regions all    the regions each account has enabled
             --org            the organisation's active accounts (run from the management
                              account or a delegated administrator)
             --concurrency N  accounts and regions scanned at once (default 8; each scan
                              makes up to 8 calls at once)
             --json           the same as --format json
           exit 0 when nothing is found, 1 when something is, 2 when a scan failed (an
           account that cannot be entered, a region not enabled, an API refused) or on a
           usage or settings error; 2 wins over 1
  replay   show what the function for EVENT.json would do (read-only; --apply acts and alerts)

Settings come from the same environment variables as the functions (see README).";

/// The role an organisation's accounts are entered through unless `--role-name` says
/// otherwise: the one AWS Organizations creates in every account it creates.
pub const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";

/// How many accounts and regions are scanned at once unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The most `--concurrency` allows: each scan makes up to 8 calls at once, and an account's
/// API rate limits are shared with everything else running in it.
pub const MAX_CONCURRENCY: usize = 64;

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Scan(ScanArgs),
    Replay { event_file: String },
}

/// Which accounts a scan covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accounts {
    /// The caller's own, with its own credentials (no role is assumed).
    Caller,
    /// These, by id.
    List(Vec<String>),
    /// The organisation's active accounts.
    Org,
}

/// Which regions a scan covers in each account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Regions {
    /// The caller's configured region (`--region`, the profile, `AWS_REGION`).
    Configured,
    /// These, each checked against the account's enabled regions.
    List(Vec<String>),
    /// Every region the account has enabled.
    All,
}

/// `scan`'s options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanArgs {
    pub format: Format,
    pub output: Option<String>,
    pub accounts: Accounts,
    pub regions: Regions,
    pub role_name: String,
    pub external_id: Option<String>,
    pub concurrency: usize,
}

impl Default for ScanArgs {
    fn default() -> Self {
        ScanArgs {
            format: Format::Table,
            output: None,
            accounts: Accounts::Caller,
            regions: Regions::Configured,
            role_name: DEFAULT_ROLE.to_owned(),
            external_id: None,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
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

/// Parses `scan [options]` or `replay EVENT.json [--apply]`, each with `[--region R]
/// [--profile P]`.
pub fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut iter = args.iter();
    let scan = match iter.next().map(String::as_str) {
        Some("replay") => false,
        Some("scan") => true,
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("no command".to_owned()),
    };
    let mut options = ScanArgs::default();
    let (mut event_file, mut apply, mut region, mut profile) = (None, false, None, None);
    let (mut role_given, mut org, mut listed) = (false, false, None);
    while let Some(arg) = iter.next() {
        let mut value = || {
            iter.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--region" => region = Some(value()?),
            "--profile" => profile = Some(value()?),
            "--apply" if !scan => apply = true,
            "--json" if scan => options.format = Format::Json,
            "--format" if scan => options.format = Format::parse(&value()?)?,
            "--output" if scan => options.output = Some(value()?),
            "--regions" if scan => options.regions = regions(&value()?)?,
            "--accounts" if scan => listed = Some(accounts(&value()?)?),
            "--org" if scan => org = true,
            "--role-name" if scan => {
                options.role_name = non_empty("--role-name", value()?)?;
                role_given = true;
            }
            "--external-id" if scan => {
                options.external_id = Some(non_empty("--external-id", value()?)?)
            }
            "--concurrency" if scan => options.concurrency = concurrency(&value()?)?,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            file if !scan && event_file.is_none() => event_file = Some(file.to_owned()),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    options.accounts = match (listed, org) {
        (Some(_), true) => return Err("--accounts and --org cannot be used together".into()),
        (Some(list), false) => Accounts::List(list),
        (None, true) => Accounts::Org,
        (None, false) => Accounts::Caller,
    };
    if options.accounts == Accounts::Caller && (role_given || options.external_id.is_some()) {
        return Err("--role-name and --external-id need --accounts or --org".into());
    }
    let command = if scan {
        Command::Scan(options)
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

fn non_empty(flag: &str, value: String) -> Result<String, String> {
    if value.trim().is_empty() {
        Err(format!("{flag} needs a value"))
    } else {
        Ok(value)
    }
}

/// A comma-separated list, without blanks or repeats, in the order given.
fn list(value: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !items.iter().any(|i| i == item) {
            items.push(item.to_owned());
        }
    }
    items
}

fn accounts(value: &str) -> Result<Vec<String>, String> {
    let ids = list(value);
    if ids.is_empty() {
        return Err("--accounts needs at least one account id".into());
    }
    match ids
        .iter()
        .find(|id| id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
    {
        Some(bad) => Err(format!("--accounts: {bad:?} is not a 12-digit account id")),
        None => Ok(ids),
    }
}

fn regions(value: &str) -> Result<Regions, String> {
    if value.trim() == "all" {
        return Ok(Regions::All);
    }
    let names = list(value);
    if names.is_empty() {
        return Err("--regions needs region names or all".into());
    }
    // Region names are lower-case letters, digits and dashes (us-east-1, us-gov-west-1):
    // anything else is a typo, or text that would end up in a URL.
    match names.iter().find(|r| {
        !r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }) {
        Some(bad) => Err(format!("--regions: {bad:?} is not a region name")),
        None => Ok(Regions::List(names)),
    }
}

fn concurrency(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!(
            "--concurrency must be a number from 1 to {MAX_CONCURRENCY}, not {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn scan(list: &[&str]) -> Result<ScanArgs, String> {
        let mut all = vec!["scan"];
        all.extend_from_slice(list);
        match parse_args(&args(&all))?.command {
            Command::Scan(options) => Ok(options),
            other => panic!("{other:?}"),
        }
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
        assert!(parse_args(&args(&["replay", "a", "--org"])).is_err());
        assert!(parse_args(&args(&["sweep"])).is_err());
        assert!(parse_args(&args(&[])).is_err());
    }

    #[test]
    fn a_plain_scan_is_the_callers_account_and_region_as_a_table() {
        let parsed = parse_args(&args(&["scan", "--profile", "prod"])).unwrap();
        assert_eq!(parsed.command, Command::Scan(ScanArgs::default()));
        assert!(!parsed.apply);
        assert_eq!(parsed.profile.as_deref(), Some("prod"));
        assert!(parse_args(&args(&["scan", "--apply"])).is_err());
        assert!(parse_args(&args(&["scan", "file.json"])).is_err());
        assert_eq!(scan(&["--json"]).unwrap().format, Format::Json);
    }

    #[test]
    fn an_organisation_scan_takes_accounts_regions_role_and_bound() {
        let options = scan(&[
            "--accounts",
            "111111111111, 222222222222,111111111111",
            "--regions",
            "us-east-1,eu-west-1",
            "--role-name",
            "Audit",
            "--external-id",
            "xyz",
            "--concurrency",
            "3",
            "--format",
            "html",
            "--output",
            "r.html",
        ])
        .unwrap();
        assert_eq!(
            options,
            ScanArgs {
                format: Format::Html,
                output: Some("r.html".into()),
                accounts: Accounts::List(vec!["111111111111".into(), "222222222222".into()]),
                regions: Regions::List(vec!["us-east-1".into(), "eu-west-1".into()]),
                role_name: "Audit".into(),
                external_id: Some("xyz".into()),
                concurrency: 3,
            }
        );
        let org = scan(&["--org", "--regions", "all"]).unwrap();
        assert_eq!((org.accounts, org.regions), (Accounts::Org, Regions::All));
        assert_eq!(org.role_name, DEFAULT_ROLE);
        assert_eq!(org.concurrency, DEFAULT_CONCURRENCY);
    }

    #[test]
    fn bad_scan_options_are_refused_before_any_call() {
        for bad in [
            &["--org", "--accounts", "111111111111"][..],
            &["--accounts", "12345"],
            &["--accounts", "11111111111a"],
            &["--accounts", ","],
            &["--regions", ""],
            &["--regions", "us-east-1,EU WEST"],
            &["--concurrency", "0"],
            &["--concurrency", "65"],
            &["--concurrency", "many"],
            &["--format", "xml"],
            &["--role-name", "Audit"],
            &["--external-id", "xyz"],
            &["--org", "--role-name", " "],
            &["--output"],
        ] {
            assert!(scan(bad).is_err(), "{bad:?}");
        }
    }
}
