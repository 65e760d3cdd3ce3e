//! audit-workloads: a CloudWatch Logs delivery (base64, gzip, the documented JSON) and each
//! audit event in it, or the input as one audit event (what a delivery's message holds), through
//! the pure judgement, the findings' texts and fixes and the dedupe key; and the CreateLogGroup
//! trigger through intake and the guards.
#![no_main]

use eks_remediator::domain::kubernetes::audit::AuditEvent;
use eks_remediator::intake::audit_log;
use eks_remediator::rules::audit_workloads::batch::dedupe_key;
use eks_remediator::rules::audit_workloads::detect::{self, Judged};
use eks_remediator::rules::audit_workloads::event;
use eks_remediator::runtime;
use eks_remediator_fuzz::{as_event, SETTINGS};
use libfuzzer_sys::fuzz_target;

fn judge(message: &str) {
    let Ok(audit) = serde_json::from_str::<AuditEvent>(message) else {
        return;
    };
    match detect::judge(&audit, &SETTINGS) {
        Judged::Workload { workload, findings } => {
            assert!(!findings.is_empty(), "a workload judged with nothing to say");
            for f in &findings {
                assert!(!f.describe().is_empty());
                assert!(f.fix(workload.kind).contains(':'));
            }
            let key = dedupe_key("prod", &workload, &findings);
            assert!(key.starts_with("workload#prod#"), "{key}");
        }
        Judged::Binding { binding, .. } => {
            let _ = detect::role_to_look_up(&binding);
            detect::judge_binding(&binding, true, &SETTINGS);
            detect::judge_binding(&binding, false, &SETTINGS);
        }
        Judged::AwsAuth { masters } => assert!(!masters.is_empty()),
        Judged::Skip(_)
        | Judged::Unreadable(_)
        | Judged::ClusterRole { .. }
        | Judged::WorkloadClear { .. } => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        judge(text);
    }
    let Some(value) = as_event(data) else { return };
    if audit_log::is_delivery(&value) {
        let _ = audit_log::read(&value, |message| {
            judge(message);
            None::<()>
        });
        return;
    }
    let _ = runtime::triggered(value, &SETTINGS, event::trigger);
});
