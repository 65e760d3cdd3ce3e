//! The `eks-remediator` CLI binary: argument handling and wiring only; the work is in
//! `eks_remediator::cli`.

use std::process::ExitCode;

use eks_remediator::aws::{config_loader, scan_retries, Aws};
use eks_remediator::cli;
use eks_remediator::settings::Settings;

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
    if matches!(args.command, cli::Command::Scan(_)) {
        loader = loader.retry_config(scan_retries());
    }
    if let Some(region) = args.region {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(profile) = args.profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    match args.command {
        cli::Command::Scan(options) => {
            ExitCode::from(cli::scan::command(config, settings, options).await)
        }
        cli::Command::Replay { event_file } => {
            replay(&Aws::with_config(config), &settings, &event_file).await
        }
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
