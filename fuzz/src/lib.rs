//! What the fuzz targets share: the settings a deployed function runs with, the input as an
//! event, and the promises every alert keeps whatever the event held.
//!
//! Each target feeds arbitrary bytes through the part of its function that runs before any
//! AWS call: intake, the guards, the rule's trigger and its pure first look. None of it may
//! panic; a malformed event must come back as an error or a skip.

use std::sync::LazyLock;

use eks_remediator::alert::{self, SUBJECT_LIMIT};
use eks_remediator::intake;
use eks_remediator::outcome::{Outcome, Status};
use eks_remediator::settings::Settings;
use serde_json::Value;

/// Remediate mode with an allow-listed port, an own role and an allowed public-access CIDR,
/// so that the guards' and the rules' branches are all reachable.
pub static SETTINGS: LazyLock<Settings> = LazyLock::new(|| {
    let settings = Settings::from_lookup(|name| {
        let value = match name {
            "MODE" => "remediate",
            "ALERT_TOPIC_ARN" => "arn:aws:sns:us-east-1:123456789012:eks-remediator-alerts",
            "ALLOWED_INGRESS_PORTS" => "443,80",
            "PUBLIC_ACCESS_CIDRS" => "203.0.113.0/24",
            "SELF_ROLE_ARNS" => "arn:aws:iam::123456789012:role/eks-remediator-revoke-open-ingress",
            "CLUSTER_ADMIN_PRINCIPALS" => "arn:aws:iam::123456789012:role/platform-*",
            "K8S_ADMIN_SUBJECTS" => "platform-admins,system:serviceaccount:argocd:*",
            _ => return None,
        };
        Some(value.to_owned())
    });
    // Fixed values, not input: failing here is a mistake in this file, not a finding.
    settings.unwrap_or_else(|e| panic!("the fuzz settings are invalid: {e}"))
});

/// The input as JSON, or `None` when it is not JSON; then intake must refuse it too.
pub fn as_event(data: &[u8]) -> Option<Value> {
    match serde_json::from_slice(data) {
        Ok(value) => Some(value),
        Err(_) => {
            assert!(
                intake::parse_bytes(data).is_err(),
                "intake accepted bytes that are not JSON"
            );
            None
        }
    }
}

/// What an alert built from any event must be: a subject SNS accepts (at most 100 printable
/// ASCII characters), a `MessageStructure=json` body whose `default` entry is itself a JSON
/// document naming the rule, and no `undo` on a report that changed nothing.
pub fn check_alert(outcome: &Outcome) {
    let rendered = alert::render(outcome);
    assert!(
        rendered.subject.len() <= SUBJECT_LIMIT,
        "subject too long: {}",
        rendered.subject
    );
    assert!(
        rendered
            .subject
            .chars()
            .all(|c| c.is_ascii_graphic() || c == ' '),
        "subject SNS would refuse: {:?}",
        rendered.subject
    );
    let body: Value = serde_json::from_str(&rendered.message).unwrap_or_else(|e| {
        panic!("alert body is not JSON ({e}): {}", rendered.message);
    });
    assert!(
        body["email"].is_string(),
        "alert body without an email entry"
    );
    let default = body["default"].as_str().unwrap_or_default();
    let document: Value = serde_json::from_str(default).unwrap_or_else(|e| {
        panic!("alert document is not JSON ({e}): {default}");
    });
    assert_eq!(document["rule"], outcome.rule);
    if matches!(
        outcome.status,
        Status::WouldRemediate | Status::Alert | Status::Exempt
    ) {
        assert!(
            document["undo"].is_null(),
            "nothing was changed, yet an undo: {document}"
        );
    }
}
