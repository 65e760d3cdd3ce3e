//! sweep: the scheduled event's envelope to the sweep's origin, and the digest alert that
//! carries it.
#![no_main]

use eks_remediator::sweep::{self, Report};
use eks_remediator_fuzz::{as_event, check_alert};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(value) = as_event(data) else { return };
    if let Ok(origin) = sweep::scheduled_origin(value) {
        check_alert(&sweep::digest(&Report::default(), &origin));
    }
});
