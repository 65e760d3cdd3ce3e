//! The invocation pipeline every function shares: screening, alert delivery, logging.
//!
//! A rule's `handle` calls [`screen`] first and [`deliver`] last; between them it only
//! decides and acts. Keeping both ends here means every function skips its own calls and
//! failed calls, and reports outcomes the same way.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::alert;
use crate::aws::warm_up::Warm;
use crate::aws::Aws;
use crate::error::{AwsError, EventError, HandlerError};
use crate::guard::{self, Skip};
use crate::intake::{self, Incoming};
use crate::logging;
use crate::metrics;
use crate::outcome::{Origin, Outcome, Status, Summary};
use crate::settings::Settings;

/// One invocation of a rule's handler, boxed: see [`serve`].
pub type Handling<'a> = Pin<Box<dyn Future<Output = Result<Summary, HandlerError>> + 'a>>;

/// What every function's `main` is: tracing as Lambda's log settings ask, settings validated
/// (a bad one stops the start, so the function fails at once rather than on every event),
/// the AWS context from `aws` with the clients of `clients` warmed up ([`Aws::warm_up`]),
/// then `handle` for each event, which can see the invocation's deadline ([`deadline`]).
///
/// The warm-up runs before the first poll for an event, in Lambda's init phase: Lambda gives
/// that phase the machine's full CPU, where an invocation of a 128 MB function gets a
/// fraction of one, and the first event then costs what a warm one does.
///
/// The handler's future is boxed, one allocation per invocation: the rules' futures nest
/// deep, and inside the runtime's own layers they passed rustc's layout depth limit
/// ("queries overflow the depth limit") whenever a rule grew by one `async fn`.
pub async fn serve(
    aws: fn() -> Aws,
    clients: &'static [Warm],
    handle: for<'a> fn(&'a Aws, &'a Settings, Value) -> Handling<'a>,
) -> Result<(), lambda_runtime::Error> {
    logging::init();
    let settings = Settings::from_env()?;
    let aws = aws();
    aws.warm_up(clients).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let deadline = instant_of(event.context.deadline);
        let arn = Some(event.context.invoked_function_arn.clone()).filter(|a| !a.is_empty());
        FUNCTION_ARN.scope(
            arn,
            DEADLINE.scope(deadline, handle(&aws, &settings, event.payload)),
        )
    }))
    .await
}

tokio::task_local! {
    /// When the invocation being handled must have answered.
    static DEADLINE: Option<Instant>;
    /// The ARN the function was invoked by.
    static FUNCTION_ARN: Option<String>;
}

/// The ARN of the function handling this invocation (as invoked), if it runs under
/// [`serve`]: what `audit-workloads` names as its log groups' subscription destination, since
/// a template cannot hand a function its own ARN.
pub fn function_arn() -> Option<String> {
    FUNCTION_ARN.try_with(Clone::clone).ok().flatten()
}

/// When the invocation being handled must have answered (Lambda's deadline), if it runs
/// under [`serve`]: what a long piece of work (the sweep's fixes) plans around.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok().flatten()
}

/// The instant of a deadline given in milliseconds since the Unix epoch, as Lambda gives it.
/// One not in the future (no header, or a clock that disagrees) is no deadline at all: work
/// planned around it would otherwise stop before it started.
fn instant_of(epoch_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let left = epoch_ms.checked_sub(now_ms).filter(|&ms| ms > 0)?;
    Some(Instant::now() + Duration::from_millis(left))
}

/// Parses `event` and applies the guards. `Ok(None)` means "skip, nothing to do".
pub fn screen(event: Value, settings: &Settings) -> Result<Option<Incoming>, EventError> {
    let incoming = intake::parse(event)?;
    if let Incoming::ApiCall(call) = &incoming {
        match guard::screen(call, settings) {
            Some(Skip::FailedCall { error_code }) => {
                info!(event = %call.record.event_name, %error_code, "skipped: the call failed");
                return Ok(None);
            }
            Some(Skip::OwnCall { role }) => {
                info!(event = %call.record.event_name, %role, "skipped: our own call");
                return Ok(None);
            }
            None => {}
        }
    }
    Ok(Some(incoming))
}

/// What each rule's handler starts with: the event screened ([`screen`]), the rule's trigger
/// read from it by `trigger`, and where it came from. `Ok(None)`: nothing for this rule.
pub fn triggered<T>(
    event: Value,
    settings: &Settings,
    trigger: impl FnOnce(&Incoming) -> Result<Option<T>, EventError>,
) -> Result<Option<(Incoming, T, Origin)>, EventError> {
    let Some(incoming) = screen(event, settings)? else {
        return Ok(None);
    };
    match (trigger(&incoming)?, incoming.origin()) {
        (Some(found), Some(origin)) => Ok(Some((incoming, found, origin))),
        _ => {
            info!("not a trigger of this rule");
            Ok(None)
        }
    }
}

/// What each rule's handler ends with: every outcome delivered ([`deliver`]), then the
/// invocation failed if a remediation failed (`first`), so that Lambda retries and the
/// dead-letter queue keep the event; the failed outcomes' alerts were attempted.
pub async fn conclude(
    aws: &Aws,
    settings: &Settings,
    outcomes: Vec<Outcome>,
    first: Option<AwsError>,
) -> Result<Vec<Outcome>, HandlerError> {
    deliver(aws, settings, &outcomes).await;
    match first {
        None => Ok(outcomes),
        Some(first) => Err(HandlerError::Remediation {
            failed: outcomes
                .iter()
                .filter(|o| o.status == Status::Failed)
                .count()
                .max(1),
            first,
        }),
    }
}

/// Logs every outcome, counts it in CloudWatch (EMF), and publishes one alert per alerted
/// outcome, and per `resolved` one too with `REPORT_RESOLVED=true` (Security Hub closes
/// findings on them; the template's e-mail subscription filters them out).
///
/// A failed publish is logged and never undoes or blocks a remediation: the change is
/// already made, and the summary and logs still record it.
pub async fn deliver(aws: &Aws, settings: &Settings, outcomes: &[Outcome]) {
    record(settings, outcomes);
    for outcome in outcomes {
        if outcome.status.is_alerted() || settings.report_resolved {
            send_alert(aws, settings, outcome).await;
        }
    }
}

/// Logs each of `outcomes` and counts them in CloudWatch (EMF, inside Lambda only).
pub fn record(settings: &Settings, outcomes: &[Outcome]) {
    for outcome in outcomes {
        info!(
            rule = outcome.rule,
            resource = %outcome.resource.id,
            status = outcome.status.as_str(),
            finding = %outcome.finding,
            actions = ?outcome.actions,
            "outcome"
        );
    }
    if settings.emit_metrics {
        metrics::emit(outcomes);
    }
}

/// Publishes one outcome's alert to `ALERT_TOPIC_ARN`, if set. A failure is logged, never
/// returned: an alert that cannot be sent must not undo or block a remediation.
pub async fn send_alert(aws: &Aws, settings: &Settings, outcome: &Outcome) {
    if let Err(error) = try_alert(aws, settings, outcome).await {
        warn!(%error, resource = %outcome.resource.id, "alert not sent");
    }
}

/// Publishes one outcome's alert to `ALERT_TOPIC_ARN`, if set, and says if it failed: for
/// `notify-eks-finding`, whose only job is the alert, so that Lambda tries again. With
/// `CENTRAL_ALERT_TOPIC_ARN` (the organisation's security account) the alert goes there too;
/// a failure there is logged, not returned: the account's own topic holds the alert, and a
/// retry would send that one twice.
pub async fn try_alert(aws: &Aws, settings: &Settings, outcome: &Outcome) -> Result<(), AwsError> {
    let message = alert::render(outcome);
    if let Some(central) = settings.central_alert_topic_arn.as_deref() {
        if let Err(error) = aws.publish_alert(central, &message).await {
            warn!(%error, resource = %outcome.resource.id, "alert not sent to the central topic");
        }
    }
    match settings.alert_topic_arn.as_deref() {
        Some(topic) => aws.publish_alert(topic, &message).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_or_absent_is_none_and_one_ahead_is_kept() {
        assert_eq!(instant_of(0), None);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        assert_eq!(instant_of(now_ms.saturating_sub(1000)), None);
        let ahead = instant_of(now_ms + 60_000).expect("a minute ahead");
        let left = ahead.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(55) && left <= Duration::from_secs(60),
            "{left:?}"
        );
    }
}
