//! The least-privilege record holds up under the test suite's parallelism: many threads
//! recording at once leave every action on a line of its own, none lost or merged.

#[path = "support/call_record.rs"]
#[allow(dead_code)] // `default_dir` is for the suites that record, not for this test.
mod call_record;

use std::collections::BTreeMap;

const THREADS: usize = 16;
const RECORDINGS: usize = 100;

fn actions(thread: usize, n: usize) -> Vec<String> {
    // Different lengths per recording, so that a torn or merged write shows.
    (0..=(thread + n) % 5)
        .map(|i| format!("ec2:Describe{thread}x{n}x{i}"))
        .chain(["sns:Publish".to_owned()])
        .collect()
}

#[test]
fn recordings_from_many_threads_at_once_keep_every_line_whole() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("call-record-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let barrier = std::sync::Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (dir, barrier) = (&dir, &barrier);
            scope.spawn(move || {
                barrier.wait();
                for n in 0..RECORDINGS {
                    call_record::record(dir, "revoke-open-ingress", &actions(thread, n));
                }
            });
        }
    });

    let mut lines: BTreeMap<String, usize> = BTreeMap::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("the record's folder") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            name.starts_with("revoke-open-ingress.") && name.ends_with(".calls"),
            "{name}"
        );
        let text = std::fs::read_to_string(&path).expect("a record file");
        assert!(text.ends_with('\n'), "{name} ends mid-line: {text:?}");
        for line in text.lines() {
            *lines.entry(line.to_owned()).or_default() += 1;
        }
        files += 1;
    }
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for thread in 0..THREADS {
        for n in 0..RECORDINGS {
            for action in actions(thread, n) {
                *expected.entry(action).or_default() += 1;
            }
        }
    }
    assert_eq!(files, THREADS * RECORDINGS, "one file per recording");
    assert_eq!(lines, expected, "every action on a line of its own, once");
    let _ = std::fs::remove_dir_all(&dir);
}
