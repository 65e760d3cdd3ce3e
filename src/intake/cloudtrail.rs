//! Lenient CloudTrail records, as EventBridge delivers them in `detail`.
//!
//! Only the fields a rule or an alert needs are typed; request and response parameters stay
//! JSON values for each rule's `event.rs` to read in its own shape.
//! Record versions 1.05 to 1.10 all parse (reference-events/SOURCES.md, note 7).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::error::EventError;
use crate::lenient;
use crate::outcome::{ActorRef, EventRef, Origin};

/// One CloudTrail management event.
#[derive(Clone, Debug)]
pub struct ApiCall {
    /// EventBridge source, e.g. `aws.ec2`.
    pub source: String,
    pub account: String,
    pub region: String,
    pub record: Record,
}

/// The CloudTrail record in `detail`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// e.g. `ec2.amazonaws.com`.
    pub event_source: String,
    /// e.g. `AuthorizeSecurityGroupIngress`.
    pub event_name: String,
    #[serde(default, rename = "eventID", deserialize_with = "lenient::opt_string")]
    pub event_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub event_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub aws_region: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub recipient_account_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_agent: Option<String>,
    #[serde(
        default,
        rename = "sourceIPAddress",
        deserialize_with = "lenient::opt_string"
    )]
    pub source_ip_address: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub user_identity: Option<Actor>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error_code: Option<String>,
    #[serde(default)]
    pub request_parameters: Value,
    #[serde(default)]
    pub response_elements: Value,
}

/// Who made the call: CloudTrail's `userIdentity`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub invoked_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub session_context: Option<SessionContext>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// `{}` for console sessions of IAM users and the root user.
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub session_issuer: Option<SessionIssuer>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub arn: Option<String>,
}

impl Actor {
    /// The IAM role behind an assumed-role session, as `(account, role name)`.
    ///
    /// Taken from `sessionIssuer.arn` when it is present, and otherwise from the STS ARN
    /// `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`, because some records log
    /// `sessionIssuer: {}`. The name alone identifies a role within an account (paths do not).
    pub fn role(&self) -> Option<(String, String)> {
        let issuer = self
            .session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref())
            .filter(|i| i.kind.as_deref().is_none_or(|k| k == "Role"))
            .and_then(|i| i.arn.as_deref());
        if let Some(arn) = issuer {
            return role_of_arn(arn);
        }
        let arn = self.arn.as_deref()?;
        let rest = arn.split(':').nth(5)?;
        let account = arn.split(':').nth(4)?;
        let name = rest.strip_prefix("assumed-role/")?.split('/').next()?;
        Some((account.to_owned(), name.to_owned()))
    }

    /// The best single description of the actor for an alert.
    pub fn display_arn(&self) -> String {
        self.arn
            .clone()
            .or_else(|| self.invoked_by.clone())
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// `(account, role name)` of an IAM role ARN `arn:aws:iam::ACCOUNT:role/PATH/NAME`.
pub fn role_of_arn(arn: &str) -> Option<(String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "iam" {
        return None;
    }
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    Some((account.to_owned(), name.to_owned()))
}

impl ApiCall {
    pub(crate) fn from_envelope(envelope: EventBridgeEvent<Value>) -> Result<Self, EventError> {
        let record: Record = super::detail(envelope.detail, "CloudTrail record")?;
        let account = envelope
            .account
            .or_else(|| record.recipient_account_id.clone())
            .or_else(|| {
                record
                    .user_identity
                    .as_ref()
                    .and_then(|a| a.account_id.clone())
            })
            .unwrap_or_default();
        let region = envelope
            .region
            .or_else(|| record.aws_region.clone())
            .unwrap_or_default();
        Ok(ApiCall {
            source: envelope.source,
            account,
            region,
            record,
        })
    }

    /// Where an alert says the outcome came from.
    pub fn origin(&self) -> Origin {
        Origin {
            account: self.account.clone(),
            region: self.region.clone(),
            actor: self.record.user_identity.as_ref().map(|a| ActorRef {
                arn: a.display_arn(),
                kind: a.kind.clone().unwrap_or_else(|| "unknown".to_owned()),
                ..ActorRef::default()
            }),
            event: EventRef {
                source: self.source.clone(),
                name: self.record.event_name.clone(),
                id: self.record.event_id.clone().unwrap_or_default(),
                time: self.record.event_time.clone().unwrap_or_default(),
            },
        }
    }

    /// The event name with its first letter capitalised, because CloudTrail logs a few EC2
    /// calls in PascalCase and others not (reference-events/SOURCES.md, note 3).
    pub fn name_is(&self, name: &str) -> bool {
        self.record.event_name.eq_ignore_ascii_case(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn actor(value: Value) -> Actor {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn role_comes_from_session_issuer_or_sts_arn() {
        let with_issuer = actor(json!({"type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/fn-role/session",
            "sessionContext": {"sessionIssuer": {"type": "Role",
                "arn": "arn:aws:iam::111122223333:role/service/fn-role"}}}));
        assert_eq!(
            with_issuer.role(),
            Some(("111122223333".into(), "fn-role".into()))
        );

        let empty_issuer = actor(json!({"type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/other/s", "sessionContext": {"sessionIssuer": {}}}));
        assert_eq!(
            empty_issuer.role(),
            Some(("111122223333".into(), "other".into()))
        );

        let user = actor(
            json!({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
            "sessionContext": {"sessionIssuer": {}}}),
        );
        assert_eq!(user.role(), None);
    }

    #[test]
    fn role_arn_with_path_keeps_the_name() {
        assert_eq!(
            role_of_arn("arn:aws:iam::111122223333:role/a/b/name"),
            Some(("111122223333".into(), "name".into()))
        );
        assert_eq!(role_of_arn("arn:aws:iam::111122223333:user/name"), None);
        assert_eq!(role_of_arn("nonsense"), None);
    }
}
