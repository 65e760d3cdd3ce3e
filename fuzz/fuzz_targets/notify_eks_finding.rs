//! notify-eks-finding: a GuardDuty finding through intake and trigger to the alert it makes,
//! which is built from the event alone and must be one SNS accepts.
#![no_main]

use eks_remediator::rules::notify_eks_finding::{alert, detect, event};
use eks_remediator::runtime;
use eks_remediator_fuzz::{as_event, check_alert, SETTINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(value) = as_event(data) else { return };
    if let Ok(Some((_, finding, origin))) = runtime::triggered(value, &SETTINGS, event::trigger) {
        detect::logged_only(&finding, &SETTINGS);
        check_alert(&alert(&finding, &origin));
    }
});
