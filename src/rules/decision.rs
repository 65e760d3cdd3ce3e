//! What a rule decided about one resource, and turning that decision into outcomes: the part
//! that is the same for every rule that either changes one thing or alerts (exemption,
//! alert-only mode, `resolved` when the thing is already gone, `failed` with the error).

use crate::aws::Aws;
use crate::error::AwsError;
use crate::outcome::{Outcome, Status};
use crate::settings::{Mode, Settings};

/// One change a rule can make: what an alert says it did, how to undo it, and the call.
pub trait Fix {
    fn action(&self) -> String;
    fn undo(&self) -> String;
    fn apply(&self, aws: &Aws) -> impl std::future::Future<Output = Result<(), AwsError>>;
}

/// What to do about one resource.
pub enum Decision<C> {
    /// Nothing unsafe: logged only.
    Nothing(&'static str),
    /// Already undone or gone.
    Resolved(String),
    /// A person must act; nothing is changed automatically.
    Alert { finding: String, note: String },
    /// One change makes it safe.
    Change {
        finding: String,
        change: C,
        note: Option<String>,
    },
}

/// Turns a decision into outcomes (made by `make` from a status and a finding), making the
/// change in remediate mode. `exempt_on` names where the exemption tag was found (`the role`,
/// `the cluster`), or is `None` when the resource is not exempt. A change whose target is
/// already gone is `resolved`; one that fails is `failed`, and its error is returned so the
/// invocation fails after the alerts are sent.
pub async fn act<C: Fix>(
    aws: &Aws,
    settings: &Settings,
    decision: Decision<C>,
    exempt_on: Option<&str>,
    make: impl Fn(Status, String) -> Outcome,
) -> (Vec<Outcome>, Option<AwsError>) {
    match decision {
        Decision::Nothing(why) => {
            tracing::info!(why, "nothing to do");
            (Vec::new(), None)
        }
        Decision::Resolved(why) => (vec![make(Status::Resolved, why)], None),
        Decision::Alert { finding, note } => {
            let status = if exempt_on.is_some() {
                Status::Exempt
            } else {
                Status::Alert
            };
            let mut o = make(status, finding);
            o.note = Some(note);
            (vec![o], None)
        }
        Decision::Change {
            finding,
            change,
            note,
        } => {
            let mut o = make(Status::Remediated, finding);
            if let Some(place) = exempt_on {
                o.status = Status::Exempt;
                o.note = Some(format!(
                    "exempt by tag {}=true on {place}; without it this would run: {}{}",
                    settings.exempt_tag_key,
                    change.action(),
                    note.map(|n| format!(". {n}")).unwrap_or_default()
                ));
                return (vec![o], None);
            }
            o.actions = vec![change.action()];
            o.undo = Some(change.undo());
            o.note = note;
            if settings.mode == Mode::AlertOnly {
                o.status = Status::WouldRemediate;
                o.note = Some(match o.note.take() {
                    Some(n) => format!("alert-only mode: nothing was changed. {n}"),
                    None => "alert-only mode: nothing was changed".to_owned(),
                });
                return (vec![o], None);
            }
            match change.apply(aws).await {
                Ok(()) => (vec![o], None),
                Err(e) if e.is_not_found() => {
                    o.status = Status::Resolved;
                    o.actions.clear();
                    o.undo = None;
                    o.note = Some("already removed".to_owned());
                    (vec![o], None)
                }
                Err(e) => {
                    o.status = Status::Failed;
                    o.undo = None;
                    o.note = Some(e.to_string());
                    (vec![o], Some(e))
                }
            }
        }
    }
}
