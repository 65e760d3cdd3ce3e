//! Log lines as Lambda's advanced logging controls ask for them.
//!
//! `AWS_LAMBDA_LOG_FORMAT=JSON` gives one JSON object per line, anything else plain text;
//! `AWS_LAMBDA_LOG_LEVEL` (`TRACE` to `FATAL`) sets the level, and without it `RUST_LOG`
//! may, as a level or as `target=level` pairs (`info,aws_smithy_runtime=debug`).
//! lambda_runtime's own subscriber does the same through `EnvFilter`, whose regex engine was
//! about a tenth of each function's code; `Targets` reads the same pairs without one.

use std::str::FromStr;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// The format and filter `lookup` (the process environment in Lambda) asks for. A value
/// that cannot be read falls back to `INFO` rather than stopping the function: logging is
/// not worth failing over.
pub fn wanted(lookup: impl Fn(&str) -> Option<String>) -> (Format, Targets) {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let format = match get("AWS_LAMBDA_LOG_FORMAT") {
        Some(format) if format.trim().eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Text,
    };
    let everything_at = |level| Targets::new().with_default(level);
    let filter = match (get("AWS_LAMBDA_LOG_LEVEL"), get("RUST_LOG")) {
        (Some(level), _) => everything_at(lambda_level(&level).unwrap_or(LevelFilter::INFO)),
        (None, Some(directives)) => Targets::from_str(directives.trim())
            .unwrap_or_else(|_| everything_at(LevelFilter::INFO)),
        (None, None) => everything_at(LevelFilter::INFO),
    };
    (format, filter)
}

/// One of Lambda's log levels; `FATAL`, which tracing lacks, is its `ERROR`.
fn lambda_level(level: &str) -> Option<LevelFilter> {
    let level = level.trim();
    if level.eq_ignore_ascii_case("fatal") {
        return Some(LevelFilter::ERROR);
    }
    LevelFilter::from_str(level).ok()
}

/// Installs the subscriber for the process, once; a second call changes nothing.
pub fn init() {
    let (format, filter) = wanted(|name| std::env::var(name).ok());
    let text = (format == Format::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .without_time()
    });
    let json = (format == Format::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_target(false)
            .without_time()
    });
    // Err only when a subscriber is already set, which is the one we want to keep.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn wanted_from(vars: &[(&str, &str)]) -> (Format, Targets) {
        wanted(crate::settings::table(vars))
    }

    #[test]
    fn lambdas_level_wins_over_rust_log() {
        let (format, filter) = wanted_from(&[
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("RUST_LOG", "debug"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ]);
        assert_eq!(format, Format::Json);
        assert!(filter.would_enable("eks_remediator", &Level::WARN));
        assert!(!filter.would_enable("eks_remediator", &Level::INFO));
    }

    #[test]
    fn fatal_is_error_and_nonsense_is_info() {
        let (_, fatal) = wanted_from(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]);
        assert!(fatal.would_enable("x", &Level::ERROR));
        assert!(!fatal.would_enable("x", &Level::WARN));
        let (format, nonsense) = wanted_from(&[("AWS_LAMBDA_LOG_LEVEL", "loud")]);
        assert_eq!(format, Format::Text);
        assert!(nonsense.would_enable("x", &Level::INFO));
        assert!(!nonsense.would_enable("x", &Level::DEBUG));
    }

    #[test]
    fn rust_log_may_name_targets() {
        let (_, filter) = wanted_from(&[("RUST_LOG", "warn,aws_smithy_runtime=debug")]);
        assert!(filter.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!filter.would_enable("eks_remediator", &Level::INFO));
        assert!(filter.would_enable("eks_remediator", &Level::WARN));
    }

    #[test]
    fn unset_means_info_as_text() {
        let (format, filter) = wanted_from(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]);
        assert_eq!(format, Format::Text);
        assert!(filter.would_enable("x", &Level::INFO));
        assert!(!filter.would_enable("x", &Level::DEBUG));
    }
}
