//! Function `publish-findings`: every alert of the alert topic as a Security Hub finding in
//! the AWS Security Finding Format ([`asff`], with `SECURITY_HUB=true`) and as an Amazon Q
//! Developer chat notification on `CHAT_TOPIC_ARN` ([`chat`]), read from the topic's SNS
//! notifications ([`event`]).
//!
//! The rule functions stay as they are: they publish one alert per outcome, and this one
//! function, subscribed to their topic, turns alerts into what security teams already watch.
//! A notification that is not an alert document fails the invocation with nothing imported,
//! and so does a finding Security Hub refuses (logged with its reason): Lambda retries the
//! notification, then the dead-letter queue keeps it.

pub mod asff;
pub mod chat;
pub mod event;

use serde_json::Value;
use tracing::{info, warn};

use crate::aws::warm_up;
use crate::aws::Aws;
use crate::error::HandlerError;
use crate::intake::Incoming;
use crate::outcome::Summary;
use crate::rules::RuleInfo;
use crate::settings::{Mode, Settings};

/// The catalog entry. Its trigger is the alert topic's SNS subscription, not an EventBridge
/// rule, so it lists none.
pub static RULE: RuleInfo = RuleInfo {
    name: "publish-findings",
    summary: "Imports every alert into Security Hub (ASFF, one finding per rule and resource, resolved when fixed) and posts it to chat through Amazon Q Developer",
    triggers: &[],
    iam_actions: &["securityhub:BatchImportFindings", "sns:Publish"],
    warm_up: &[warm_up::SECURITYHUB, warm_up::SNS],
    settings: &["SECURITY_HUB", "CHAT_TOPIC_ARN"],
    default_mode: Mode::AlertOnly,
    is_trigger: |_: &Incoming| false,
};

/// Handles one SNS event: the function's entry point. Its summary lists no outcomes: it
/// decides nothing, it carries the rules' outcomes on.
pub async fn handle(aws: &Aws, settings: &Settings, event: Value) -> Result<Summary, HandlerError> {
    let mut alerts = Vec::new();
    for notification in event::notifications(event)? {
        match notification.alert {
            Ok(alert) => alerts.push(alert),
            Err(error) => {
                warn!(message_id = %notification.message_id, %error, "not an alert document");
                return Err(error.into());
            }
        }
    }
    if settings.security_hub {
        let now = crate::aws::securityhub::import_time();
        let findings: Vec<asff::Finding> = alerts.iter().map(|a| asff::finding(a, &now)).collect();
        let refused = Box::pin(aws.import_findings(&findings)).await?;
        for r in &refused {
            warn!(id = %r.id, code = %r.code, message = %r.message, "Security Hub refused a finding");
        }
        if let Some(first) = refused.first() {
            return Err(HandlerError::Refused {
                refused: refused.len(),
                first: format!("{} ({}: {})", first.id, first.code, first.message),
            });
        }
        info!(imported = findings.len(), "findings imported");
    }
    if let Some(topic) = &settings.chat_topic_arn {
        // `resolved` reaches this function only for Security Hub: nothing changed, so nothing
        // for people to read.
        let mut posted = 0;
        for alert in alerts.iter().filter(|a| a.status != "resolved") {
            aws.publish_message(topic, &chat::notification(alert).to_string())
                .await?;
            posted += 1;
        }
        info!(posted, "chat notifications published");
    }
    Ok(Summary::default())
}
