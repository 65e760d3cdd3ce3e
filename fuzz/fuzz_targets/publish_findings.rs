//! publish-findings: any bytes as the alert topic's SNS event, each alert document found made
//! into a Security Hub finding and a chat notification (the cuts to the format's limits must
//! hold on any text).
#![no_main]

use eks_remediator::rules::publish_findings::{asff, chat, event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(notifications) = event::notifications(value) else {
        return;
    };
    for alert in notifications.into_iter().filter_map(|n| n.alert.ok()) {
        let finding = asff::finding(&alert, "2026-12-01T00:00:00Z");
        assert!(finding.title.len() <= 256 && finding.description.len() <= 1024);
        assert!(finding.id.len() <= 512);
        chat::notification(&alert);
    }
});
