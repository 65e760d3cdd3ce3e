//! Triggers of `audit-workloads` that come through EventBridge: the CloudTrail record of a
//! cluster's control-plane log group being created (`CreateLogGroup` of
//! `/aws/eks/<cluster>/cluster`), which EKS makes when the cluster's logging starts. The
//! audit log itself arrives as CloudWatch Logs deliveries (`crate::intake::audit_log`).

use crate::error::EventError;
use crate::intake::audit_log::cluster_of;
use crate::intake::Incoming;

/// The CloudTrail event name, from `logs.amazonaws.com`.
pub const CREATE_LOG_GROUP: &str = "CreateLogGroup";

/// A cluster's log group was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroupCreated {
    pub cluster: String,
    pub log_group: String,
}

/// The log group of a `CreateLogGroup` call, if it is a cluster's; `None` for any other
/// event or log group.
pub fn trigger(incoming: &Incoming) -> Result<Option<LogGroupCreated>, EventError> {
    let Incoming::ApiCall(call) = incoming else {
        return Ok(None);
    };
    if call.source != "aws.logs" || call.record.event_name != CREATE_LOG_GROUP {
        return Ok(None);
    }
    let Some(log_group) = call
        .record
        .request_parameters
        .get("logGroupName")
        .and_then(|v| v.as_str())
    else {
        return Err(EventError::Detail {
            kind: "CreateLogGroup record",
            reason: "requestParameters.logGroupName is missing".to_owned(),
        });
    };
    Ok(cluster_of(log_group).map(|cluster| LogGroupCreated {
        cluster: cluster.to_owned(),
        log_group: log_group.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::api_call_event;
    use serde_json::json;

    #[test]
    fn a_cluster_log_group_is_a_trigger_and_others_are_not() {
        let call = |name: &str| {
            api_call_event(
                "aws.logs",
                CREATE_LOG_GROUP,
                json!({"logGroupName": name}),
                json!(null),
            )
        };
        assert_eq!(
            trigger(&call("/aws/eks/prod/cluster")).unwrap(),
            Some(LogGroupCreated {
                cluster: "prod".into(),
                log_group: "/aws/eks/prod/cluster".into()
            })
        );
        assert_eq!(trigger(&call("/aws/lambda/fn")).unwrap(), None);
        let other = api_call_event(
            "aws.logs",
            "DeleteLogGroup",
            json!({"logGroupName": "/aws/eks/prod/cluster"}),
            json!(null),
        );
        assert_eq!(trigger(&other).unwrap(), None);
        let bad = api_call_event("aws.logs", CREATE_LOG_GROUP, json!({}), json!(null));
        assert!(trigger(&bad).is_err());
    }
}
