//! Progress of a scan on stderr, so stdout holds only the report: a bar when stderr is a
//! terminal (accounts and regions done, findings so far), plain lines otherwise (a CI log,
//! a file), one per region or account scanned.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where a scan reports how far it got.
pub struct Progress {
    /// `None`: plain lines.
    bar: Option<ProgressBar>,
    done: AtomicUsize,
    total: AtomicUsize,
    accounts_done: AtomicUsize,
    accounts: AtomicUsize,
    findings: AtomicUsize,
    failed: AtomicUsize,
}

impl Progress {
    /// A bar when stderr is a terminal that can draw one, else plain lines.
    pub fn on_stderr() -> Progress {
        let term = std::env::var("TERM").ok();
        Progress::new(draws_a_bar(
            std::io::stderr().is_terminal(),
            term.as_deref(),
        ))
    }

    pub fn new(bar: bool) -> Progress {
        let bar = bar.then(|| {
            let style = ProgressStyle::with_template("{bar:32} {pos}/{len} scans  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()).with_style(style)
        });
        Progress {
            bar,
            done: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            accounts_done: AtomicUsize::new(0),
            accounts: AtomicUsize::new(0),
            findings: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    /// The accounts to scan are known.
    pub fn accounts(&self, n: usize) {
        self.accounts.store(n, Ordering::Relaxed);
        self.redraw();
    }

    /// `n` more scans (a region of an account, or an account's IAM) are to come.
    pub fn add(&self, n: usize) {
        self.total.fetch_add(n, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc_length(n as u64);
        }
    }

    /// A scan of `what` (an account and region) ended with `findings` found and `failed`
    /// scans that did not run.
    pub fn scanned(&self, what: &str, findings: usize, failed: usize) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let so_far = self.findings.fetch_add(findings, Ordering::Relaxed) + findings;
        self.failed.fetch_add(failed, Ordering::Relaxed);
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                self.redraw();
            }
            None => eprintln!(
                "scanned {what} ({done}/{}): {findings} finding(s), {failed} failed; {so_far} \
                 finding(s) so far",
                self.total.load(Ordering::Relaxed)
            ),
        }
    }

    /// Every scan of an account ended.
    pub fn account_done(&self) {
        self.accounts_done.fetch_add(1, Ordering::Relaxed);
        self.redraw();
    }

    /// A line that is not progress (a warning), above the bar if there is one.
    pub fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn redraw(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.message());
        }
    }

    /// What the bar says beside it.
    pub fn message(&self) -> String {
        format!(
            "accounts {}/{}  findings {}  failed {}",
            self.accounts_done.load(Ordering::Relaxed),
            self.accounts.load(Ordering::Relaxed),
            self.findings.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Whether stderr gets a bar: a terminal, and one that can move its cursor (`TERM` set and
/// not `dumb`, as for indicatif itself, which would otherwise draw nothing at all).
fn draws_a_bar(is_terminal: bool, term: Option<&str>) -> bool {
    is_terminal && term.is_some_and(|t| !t.is_empty() && t != "dumb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_only_on_a_terminal_that_can_draw_one() {
        assert!(draws_a_bar(true, Some("xterm-256color")));
        assert!(!draws_a_bar(false, Some("xterm")), "a pipe or a file");
        assert!(!draws_a_bar(true, Some("dumb")));
        assert!(!draws_a_bar(true, Some("")));
        assert!(!draws_a_bar(true, None));
    }

    #[test]
    fn counts_accounts_scans_and_findings() {
        let progress = Progress::new(true);
        progress.accounts(3);
        progress.add(4);
        progress.scanned("111111111111 us-east-1", 2, 0);
        progress.scanned("111111111111 IAM", 1, 1);
        progress.account_done();
        assert_eq!(progress.message(), "accounts 1/3  findings 3  failed 1");
        let bar = progress.bar.as_ref().unwrap();
        assert_eq!((bar.position(), bar.length()), (2, Some(4)));
        progress.finish();
    }
}
