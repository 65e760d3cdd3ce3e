//! restore-audit-trail: intake, guards and trigger (trail names and ARNs, detector ids,
//! event selectors, GuardDuty data sources and features in both API shapes).
#![no_main]

use eks_remediator::rules::restore_audit_trail::event;
use eks_remediator::runtime;
use eks_remediator_fuzz::{as_event, SETTINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(value) = as_event(data) else { return };
    let _ = runtime::triggered(value, &SETTINGS, event::trigger);
});
