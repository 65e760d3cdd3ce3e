//! detach-node-policy: intake, guards, trigger (policy documents URL-decoded and parsed from
//! the event), and what the event alone tells: a baseline policy, a safe inline document.
#![no_main]

use eks_remediator::rules::detach_node_policy::{event, needs_no_look};
use eks_remediator::runtime;
use eks_remediator_fuzz::{as_event, SETTINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(value) = as_event(data) else { return };
    if let Ok(Some((_, trigger, _))) = runtime::triggered(value, &SETTINGS, event::trigger) {
        needs_no_look(&trigger, &SETTINGS);
    }
});
