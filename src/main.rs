//! The `eks-remediator` CLI binary: argument handling and wiring only; the work is in
//! `eks_remediator::cli`.

use std::process::ExitCode;

use eks_remediator::aws::{config_loader, scan_retries, Aws};
use eks_remediator::cli;
use eks_remediator::settings::Settings;
use eks_remediator::sweep;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match cli::parse_args(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("eks-remediator: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_env() {
        Ok(s) => cli::replay_settings(s, args.apply),
        Err(e) => {
            eprintln!("eks-remediator: {e}");
            return ExitCode::from(2);
        }
    };
    let mut loader = config_loader();
    if matches!(args.command, cli::Command::Scan { .. }) {
        loader = loader.retry_config(scan_retries());
    }
    if let Some(region) = args.region {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(profile) = args.profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let aws = Aws::with_config(config);
    match args.command {
        cli::Command::Scan { json } => scan(&aws, &settings, &region, json).await,
        cli::Command::Replay { event_file } => replay(&aws, &settings, &event_file).await,
    }
}

/// `scan`: progress on stderr, the report on stdout, exit 1 when anything was found.
async fn scan(aws: &Aws, settings: &Settings, region: &str, json: bool) -> ExitCode {
    // The account only labels the report (ARNs); a scan without it still runs.
    let account = aws.account_id().await.unwrap_or_else(|e| {
        eprintln!("eks-remediator: account unknown: {e}");
        String::new()
    });
    let origin = sweep::origin(&account, region, "cli-scan", "");
    let report = sweep::run(aws, settings, &origin, None, |rule| {
        eprintln!("scanning: {rule}")
    })
    .await;
    if json {
        match serde_json::to_string_pretty(&report.rows()) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("eks-remediator: {e}");
                return ExitCode::from(2);
            }
        }
        for (rule, error) in &report.errors {
            eprintln!("eks-remediator: {rule}: scan failed: {error}");
        }
    } else {
        print!("{}", sweep::table(&report));
    }
    if report.has_violations() || !report.errors.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `replay EVENT.json`: what the function for the event would do (or does, with `--apply`).
async fn replay(aws: &Aws, settings: &Settings, event_file: &str) -> ExitCode {
    let bytes = match std::fs::read(event_file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("eks-remediator: {event_file}: {e}");
            return ExitCode::from(2);
        }
    };
    let event = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("eks-remediator: {event_file}: not JSON: {e}");
            return ExitCode::from(2);
        }
    };
    match cli::replay(aws, settings, event).await {
        Ok(results) => {
            print!("{}", cli::report(&results));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eks-remediator: {e}");
            ExitCode::FAILURE
        }
    }
}
