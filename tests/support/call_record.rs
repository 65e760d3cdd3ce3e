//! The record of which AWS actions the integration tests saw each function call, for
//! `scripts/least_privilege.py`.
//!
//! Tests run on many threads and in several test binaries at once, so the record shares no
//! writable file: each handler call writes a file of its own (`<rule>.<pid>-<n>.calls`,
//! created new, written in one piece), and the script reads them all. An earlier version
//! appended line by line to one `<rule>.calls` per rule; two threads' `writeln!` calls
//! interleaved the action and its newline (`sns:Publishsns:Publish`), and the check failed
//! on a fresh machine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where the tests record their calls: `scripts/test` clears it before `cargo test` and
/// hands it to the script after.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("least-privilege")
}

/// Writes `calls`, one action a line, as a new file of `rule`'s in `dir`. A call with no
/// AWS action still leaves an (empty) file, so the script sees that the rule was exercised.
/// Failing to write is not a test failure (the assertions on the calls were already made),
/// but it is reported, since the script would then miss those calls.
pub fn record(dir: &Path, rule: &str, calls: &[String]) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{rule}.{}-{n}.calls", std::process::id()));
    let text: String = calls.iter().map(|call| format!("{call}\n")).collect();
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?
            .write_all(text.as_bytes())
    });
    if let Err(error) = written {
        eprintln!("least privilege: cannot record {}: {error}", path.display());
    }
}
