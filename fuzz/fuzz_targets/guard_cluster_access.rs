//! guard-cluster-access: intake, guards, trigger (percent-encoded principals, access scopes,
//! CreateCluster's access configuration, trust documents), and what the event alone tells:
//! a policy that is no admin grant, an allow-listed principal, a precise IRSA trust.
#![no_main]

use eks_remediator::rules::guard_cluster_access::{detect, event};
use eks_remediator::runtime;
use eks_remediator_fuzz::{as_event, SETTINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(value) = as_event(data) else { return };
    if let Ok(Some((_, trigger, _))) = runtime::triggered(value, &SETTINGS, event::trigger) {
        detect::needs_no_look(&trigger, Some("arn:aws:iam::123456789012:role/x"), &SETTINGS);
        detect::needs_no_look(&trigger, None, &SETTINGS);
    }
});
