//! The `eks-remediator` command line, so people can look before they trust: `scan` reports
//! what the rules find now, in one account and region or across an organisation (read-only,
//! whatever the mode; its exit code can gate a pipeline), and `replay EVENT.json` shows what
//! the function for an event would do; `replay --apply` lets it act.

mod args;
mod progress;
mod replay;
pub mod report;
pub mod scan;

pub use args::{parse_args, Accounts, Args, Command, Regions, ScanArgs, USAGE};
pub use progress::Progress;
pub use replay::{replay, replay_settings, report};
