//! Guards every function applies before acting: failed calls, its own calls, and exemptions.
//!
//! Ignoring our own role's calls prevents loops (a revoke we make is itself a CloudTrail
//! event); ignoring failed calls (`errorCode` present) avoids acting on changes that never
//! happened. The template also filters failed calls in its patterns; this is the second line.

use crate::domain::Tags;
use crate::intake::cloudtrail::role_of_arn;
use crate::intake::ApiCall;
use crate::settings::{Settings, EXEMPT_TAG_VALUE};

/// Why an API call is skipped before any rule looks at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The call failed, so nothing changed.
    FailedCall { error_code: String },
    /// One of our own functions made the call.
    OwnCall { role: String },
}

/// Returns why `call` must be ignored, if it must.
pub fn screen(call: &ApiCall, settings: &Settings) -> Option<Skip> {
    if let Some(code) = call.record.error_code.as_deref().filter(|c| !c.is_empty()) {
        return Some(Skip::FailedCall {
            error_code: code.to_owned(),
        });
    }
    let (account, name) = call.record.user_identity.as_ref()?.role()?;
    settings
        .self_role_arns
        .iter()
        .filter_map(|arn| role_of_arn(arn))
        .any(|(a, n)| a == account && n == name)
        .then_some(Skip::OwnCall { role: name })
}

/// Whether `tags` carry the exemption tag with the value `true` (any case).
pub fn is_exempt(tags: &Tags, key: &str) -> bool {
    tags.get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(EXEMPT_TAG_VALUE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{parse, Incoming};
    use serde_json::json;

    fn call(detail: serde_json::Value) -> ApiCall {
        let event = json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
            "account": "111122223333", "region": "us-east-1", "detail": detail});
        match parse(event) {
            Ok(Incoming::ApiCall(c)) => *c,
            other => panic!("not an API call: {other:?}"),
        }
    }

    fn settings() -> Settings {
        Settings {
            self_role_arns: vec!["arn:aws:iam::111122223333:role/stack-RevokeRole-ABC".into()],
            ..Settings::default()
        }
    }

    #[test]
    fn own_role_is_skipped_with_or_without_session_issuer() {
        let own = call(
            json!({"eventSource": "ec2.amazonaws.com", "eventName": "RevokeSecurityGroupIngress",
            "userIdentity": {"type": "AssumedRole",
                "arn": "arn:aws:sts::111122223333:assumed-role/stack-RevokeRole-ABC/fn"}}),
        );
        assert_eq!(
            screen(&own, &settings()),
            Some(Skip::OwnCall {
                role: "stack-RevokeRole-ABC".into()
            })
        );
        let other_account = call(json!({"eventSource": "ec2.amazonaws.com", "eventName": "X",
            "userIdentity": {"type": "AssumedRole",
                "arn": "arn:aws:sts::999999999999:assumed-role/stack-RevokeRole-ABC/fn"}}));
        assert_eq!(screen(&other_account, &settings()), None);
    }

    #[test]
    fn failed_calls_are_skipped_and_others_pass() {
        let failed = call(json!({"eventSource": "ec2.amazonaws.com", "eventName": "X",
            "errorCode": "Client.UnauthorizedOperation"}));
        assert!(matches!(
            screen(&failed, &settings()),
            Some(Skip::FailedCall { .. })
        ));
        let user = call(json!({"eventSource": "ec2.amazonaws.com", "eventName": "X",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"}}));
        assert_eq!(screen(&user, &settings()), None);
    }

    #[test]
    fn exemption_needs_the_value_true() {
        let tags = |v: &str| Tags::from([("eks-remediator:exempt".to_owned(), v.to_owned())]);
        assert!(is_exempt(&tags("true"), "eks-remediator:exempt"));
        assert!(is_exempt(&tags("TRUE "), "eks-remediator:exempt"));
        assert!(!is_exempt(&tags("false"), "eks-remediator:exempt"));
        assert!(!is_exempt(&tags("true"), "other"));
    }
}
