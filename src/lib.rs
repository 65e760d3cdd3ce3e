//! eks-remediator: event-driven remediation of Amazon EKS security misconfigurations.
//!
//! The library holds everything the Lambda functions and the CLI share.
//! An EventBridge event flows through [`intake`] (lenient parsing), [`guard`] (loop and
//! failure filters), a rule under [`rules`] (trigger, pure detection, plan, execution through
//! [`aws`]) and ends as [`outcome::Outcome`]s that [`alert`] turns into SNS messages.
//! See `ARCHITECTURE.md` for the map.

pub mod alert;
pub mod aws;
pub mod bounded;
pub mod catalog;
pub mod cli;
pub mod domain;
pub mod error;
pub mod guard;
pub mod intake;
pub mod lenient;
pub mod logging;
pub mod metrics;
pub mod outcome;
pub mod pace;
pub mod retry;
pub mod rules;
pub mod runtime;
pub mod settings;
pub mod sweep;
