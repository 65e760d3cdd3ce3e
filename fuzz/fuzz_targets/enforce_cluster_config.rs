//! enforce-cluster-config: an EventBridge event, or an SQS batch from its retry queue holding
//! one, through intake, guards, trigger and the pure first look.
#![no_main]

use eks_remediator::retry;
use eks_remediator::rules::enforce_cluster_config::{detect, event, RULE};
use eks_remediator::runtime;
use eks_remediator_fuzz::{as_event, SETTINGS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(value) = as_event(data) else { return };
    if !retry::is_batch(&value) {
        first_look(value);
        return;
    }
    let Ok(batch) = retry::batch(value) else {
        return;
    };
    for record in &batch.records {
        if let Ok(Some(message)) = retry::message(record, RULE.name) {
            first_look(message.event);
        }
    }
});

fn first_look(value: Value) {
    if let Ok(Some((_, trigger, _))) = runtime::triggered(value, &SETTINGS, event::trigger) {
        detect::worth_a_look(&trigger, &SETTINGS);
    }
}
