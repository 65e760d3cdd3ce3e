//! The SNS alert for one outcome (DESIGN.md "Alert").
//!
//! It is published with `MessageStructure=json`: email subscribers get the plain-text `email`
//! entry written for people, every other protocol gets the `default` entry, a JSON document
//! that machines can route on.

use serde_json::{json, Value};

use crate::outcome::{Outcome, Status};

/// SNS limits subjects to 100 printable ASCII characters without line breaks.
pub const SUBJECT_LIMIT: usize = 100;
const SUBJECT_PREFIX: &str = "[eks-remediator]";

/// A rendered alert, ready to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertMessage {
    pub subject: String,
    /// The `MessageStructure=json` body: `{"default": "...", "email": "..."}`.
    pub message: String,
    /// The outcome's status and rule, also sent as SNS message attributes (`status`, `rule`),
    /// on which subscriptions filter: the template's e-mail subscription takes no `resolved`.
    pub status: &'static str,
    pub rule: &'static str,
}

/// The machine-readable document of DESIGN.md.
pub fn document(outcome: &Outcome) -> Value {
    let o = &outcome.origin;
    json!({
        "rule": outcome.rule,
        "status": outcome.status,
        "account": o.account,
        "region": o.region,
        "resource": outcome.resource,
        "finding": outcome.finding,
        "actor": o.actor,
        "event": o.event,
        "actions": outcome.actions,
        "undo": undo(outcome),
        "note": outcome.note,
    })
}

/// The undo command, when something was changed: an alert-only report changed nothing, and
/// a command that "undoes" it would itself make the unsafe change.
fn undo(outcome: &Outcome) -> Option<&str> {
    match outcome.status {
        Status::WouldRemediate => None,
        _ => outcome.undo.as_deref(),
    }
}

/// The subject line: prefix, status, rule, resource and finding, cut to SNS's limit.
pub fn subject(outcome: &Outcome) -> String {
    let full = format!(
        "{SUBJECT_PREFIX} {} {} {}: {}",
        outcome.status.as_str(),
        outcome.resource.kind,
        outcome.resource.id,
        outcome.finding
    );
    let clean: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if clean.len() <= SUBJECT_LIMIT {
        clean
    } else {
        format!("{}...", &clean[..SUBJECT_LIMIT - 3])
    }
}

/// The text for people: what happened, who did it, what was done, how to undo it.
pub fn email_text(outcome: &Outcome) -> String {
    let o = &outcome.origin;
    let r = &outcome.resource;
    let headline = match outcome.status {
        Status::Remediated => "changed back to a safe state",
        Status::WouldRemediate => "found unsafe; alert-only mode, nothing was changed",
        Status::Exempt => "found unsafe but exempt by tag; nothing was changed",
        Status::Resolved => "already safe or gone; nothing to do",
        Status::Failed => "found unsafe; remediation FAILED, act now",
        Status::Alert => "needs a person to look; nothing was changed",
    };
    let mut text = format!(
        "eks-remediator rule {} on {} {} in account {} ({}): {headline}.\n\n",
        outcome.rule, r.kind, r.id, o.account, o.region
    );
    text.push_str(&format!("What happened: {}\n", outcome.finding));
    match &o.actor {
        Some(actor) => {
            text.push_str(&format!("Who did it: {} ({})\n", actor.arn, actor.kind));
            if let Some(user) = &actor.username {
                text.push_str(&format!(
                    "  as Kubernetes user {user}, groups: {}\n",
                    if actor.groups.is_empty() {
                        "none".to_owned()
                    } else {
                        actor.groups.join(", ")
                    }
                ));
            }
        }
        None => text.push_str("Who did it: not recorded in the event\n"),
    }
    text.push_str(&format!(
        "Event: {} from {}, id {}, at {}\n",
        o.event.name, o.event.source, o.event.id, o.event.time
    ));
    if outcome.actions.is_empty() {
        text.push_str("What was done: nothing\n");
    } else {
        let verb = if outcome.status == Status::Remediated {
            "What was done"
        } else {
            "What would be done"
        };
        text.push_str(&format!("{verb}:\n"));
        for action in &outcome.actions {
            text.push_str(&format!("  - {action}\n"));
        }
    }
    if let Some(undo) = undo(outcome) {
        text.push_str(&format!("How to undo:\n  {undo}\n"));
    }
    if let Some(note) = &outcome.note {
        text.push_str(&format!("Note: {note}\n"));
    }
    text
}

/// Renders the alert for `outcome`.
pub fn render(outcome: &Outcome) -> AlertMessage {
    let body = json!({
        "default": document(outcome).to_string(),
        "email": email_text(outcome),
    });
    AlertMessage {
        subject: subject(outcome),
        message: body.to_string(),
        status: outcome.status.as_str(),
        rule: outcome.rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ActorRef, EventRef, Origin, ResourceRef};

    fn outcome(finding: &str) -> Outcome {
        Outcome {
            rule: "revoke-open-ingress",
            status: Status::Remediated,
            resource: ResourceRef {
                kind: "security-group",
                id: "sg-0123".into(),
                arn: None,
            },
            finding: finding.into(),
            actions: vec!["RevokeSecurityGroupIngress sgr-1".into()],
            undo: Some("aws ec2 authorize-security-group-ingress --group-id sg-0123".into()),
            note: None,
            origin: Origin {
                account: "111122223333".into(),
                region: "us-east-1".into(),
                actor: Some(ActorRef {
                    arn: "arn:aws:iam::111122223333:user/bob".into(),
                    kind: "IAMUser".into(),
                    ..ActorRef::default()
                }),
                event: EventRef {
                    source: "aws.ec2".into(),
                    name: "AuthorizeSecurityGroupIngress".into(),
                    id: "e-1".into(),
                    time: "2026-11-28T12:00:00Z".into(),
                },
            },
        }
    }

    #[test]
    fn message_has_default_json_and_email_text() {
        let alert = render(&outcome("tcp/22 open to 0.0.0.0/0"));
        let body: Value = serde_json::from_str(&alert.message).unwrap();
        let doc: Value = serde_json::from_str(body["default"].as_str().unwrap()).unwrap();
        assert_eq!(doc["status"], "remediated");
        assert_eq!(doc["resource"]["type"], "security-group");
        assert_eq!(doc["actor"]["type"], "IAMUser");
        assert_eq!(doc["event"]["name"], "AuthorizeSecurityGroupIngress");
        let email = body["email"].as_str().unwrap();
        assert!(email.contains("Who did it: arn:aws:iam::111122223333:user/bob"));
        assert!(email.contains("How to undo:"));
        assert!(alert.subject.starts_with("[eks-remediator] remediated"));
    }

    #[test]
    fn subject_is_cut_to_the_sns_limit_and_ascii() {
        let long = outcome(&"tcp/22 open to 0.0.0.0/0 — ".repeat(10));
        let s = subject(&long);
        assert!(s.len() <= SUBJECT_LIMIT);
        assert!(s.starts_with("[eks-remediator]"));
        assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    }
}
