//! harden-nodes: intake (EC2 state changes included), guards, trigger (launch-template calls
//! read wherever their keys sit), and what the event alone tells: a safe requested template.
#![no_main]

use eks_remediator::rules::harden_nodes::{event, needs_no_look};
use eks_remediator::runtime;
use eks_remediator_fuzz::{as_event, SETTINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(value) = as_event(data) else { return };
    if let Ok(Some((_, trigger, _))) = runtime::triggered(value, &SETTINGS, event::trigger) {
        needs_no_look(&trigger, &SETTINGS);
    }
});
