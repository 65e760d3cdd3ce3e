//! The only change `audit-workloads` makes: the subscription filter that streams a cluster's
//! audit log to it. Nothing in a cluster is ever changed.
//!
//! The filter is named [`FILTER_NAME`], so it is found again, updated when its pattern or
//! destination changed, and never confused with the customer's own filters. A log group
//! already holding as many filters as CloudWatch Logs allows (two, per the API reference)
//! gets an alert, never a filter taken away.

use crate::aws::logs::SubscriptionFilter;
use crate::aws::Aws;
use crate::domain::shell_quote;
use crate::error::AwsError;
use crate::rules::decision::{Decision, Fix};

/// The name of our subscription filter on every cluster's log group.
pub const FILTER_NAME: &str = "eks-remediator-audit-workloads";

/// Subscription filters a log group may have, per the CloudWatch Logs API reference. The
/// function does not refuse on it (the quota may since have grown); the error decides.
pub const DOCUMENTED_FILTER_LIMIT: usize = 2;

/// The error CloudWatch Logs answers when a log group has no room for another filter.
pub const LIMIT_EXCEEDED: &str = "LimitExceededException";

/// Putting our filter on a log group, or bringing it up to date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe {
    pub log_group: String,
    pub filter: SubscriptionFilter,
    /// Our filter as it was, when it is updated rather than added.
    pub previous: Option<SubscriptionFilter>,
}

impl Fix for Subscribe {
    fn action(&self) -> String {
        format!("PutSubscriptionFilter {} {}", self.log_group, FILTER_NAME)
    }

    fn undo(&self) -> String {
        match &self.previous {
            None => format!(
                "aws logs delete-subscription-filter --log-group-name {} --filter-name {FILTER_NAME}",
                shell_quote(&self.log_group)
            ),
            Some(old) => format!(
                "aws logs put-subscription-filter --log-group-name {} --filter-name {FILTER_NAME} --filter-pattern {} --destination-arn {}",
                shell_quote(&self.log_group),
                shell_quote(&old.pattern),
                shell_quote(&old.destination)
            ),
        }
    }

    async fn apply(&self, aws: &Aws) -> Result<(), AwsError> {
        aws.put_subscription_filter(&self.log_group, &self.filter)
            .await
    }
}

/// What to do about a cluster log group whose filters are `current`, when ours should be
/// `wanted`. An empty destination or pattern in `wanted` (the CLI's scan does not know the
/// deployed function) accepts whatever ours has.
pub fn decide(
    log_group: &str,
    current: &[SubscriptionFilter],
    wanted: &SubscriptionFilter,
) -> Decision<Subscribe> {
    let ours = current.iter().find(|f| f.name == FILTER_NAME);
    let agrees = |have: &str, want: &str| want.is_empty() || have == want;
    match ours {
        Some(f)
            if agrees(&f.destination, &wanted.destination)
                && agrees(&f.pattern, &wanted.pattern) =>
        {
            Decision::Nothing("the audit log is already streamed to audit-workloads")
        }
        Some(f) => Decision::Change {
            finding: "the audit log's subscription to audit-workloads is out of date".to_owned(),
            change: Subscribe {
                log_group: log_group.to_owned(),
                filter: wanted.clone(),
                previous: Some(f.clone()),
            },
            note: None,
        },
        None => Decision::Change {
            finding: "the cluster's audit log is not streamed to audit-workloads".to_owned(),
            change: Subscribe {
                log_group: log_group.to_owned(),
                filter: wanted.clone(),
                previous: None,
            },
            note: (!current.is_empty()).then(|| {
                let names: Vec<&str> = current.iter().map(|f| f.name.as_str()).collect();
                let full = if current.len() >= DOCUMENTED_FILTER_LIMIT {
                    format!(
                        "; CloudWatch Logs documents at most {DOCUMENTED_FILTER_LIMIT} filters a log \
                         group, so it may refuse this one: make room first"
                    )
                } else {
                    String::new()
                };
                format!(
                    "the log group's other subscription filters are kept: {}{full}",
                    names.join(", ")
                )
            }),
        },
    }
}

/// The alert for a log group with no room for our filter.
pub fn no_room(log_group: &str, current: &[SubscriptionFilter]) -> Decision<Subscribe> {
    Decision::Alert {
        finding: "the cluster's audit log cannot be streamed to audit-workloads: the log group has no room for another subscription filter".to_owned(),
        note: format!(
            "{log_group} has {} subscription filter(s) ({}), the most CloudWatch Logs allows. Remove one \
             (aws logs delete-subscription-filter --log-group-name {} --filter-name NAME), or forward \
             that destination's copy to audit-workloads; the next sweep subscribes it.",
            current.len(),
            current.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", "),
            shell_quote(log_group)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(name: &str, destination: &str, pattern: &str) -> SubscriptionFilter {
        SubscriptionFilter {
            name: name.into(),
            destination: destination.into(),
            pattern: pattern.into(),
        }
    }

    const GROUP: &str = "/aws/eks/prod/cluster";

    #[test]
    fn a_group_without_ours_is_subscribed_and_keeps_the_others() {
        let wanted = filter(
            FILTER_NAME,
            "arn:aws:lambda:us-east-1:1:function:aw",
            "{ $.verb = \"create\" }",
        );
        let other = filter(
            "siem",
            "arn:aws:firehose:us-east-1:1:deliverystream/siem",
            "",
        );
        let Decision::Change { change, note, .. } = decide(GROUP, &[other], &wanted) else {
            panic!("no change")
        };
        assert_eq!(change.filter, wanted);
        assert!(change
            .undo()
            .contains("delete-subscription-filter --log-group-name '/aws/eks/prod/cluster'"));
        assert!(note.unwrap().contains("siem"));
    }

    #[test]
    fn ours_up_to_date_is_nothing_and_out_of_date_is_updated_with_the_old_one_as_undo() {
        let wanted = filter(FILTER_NAME, "arn:d", "{ $.verb = \"create\" }");
        assert!(matches!(
            decide(GROUP, std::slice::from_ref(&wanted), &wanted),
            Decision::Nothing(_)
        ));
        let old = filter(FILTER_NAME, "arn:d", "");
        let Decision::Change { change, .. } = decide(GROUP, &[old], &wanted) else {
            panic!("no update")
        };
        assert!(change
            .undo()
            .starts_with("aws logs put-subscription-filter"));
        let unknown = filter(FILTER_NAME, "", "");
        assert!(matches!(
            decide(GROUP, std::slice::from_ref(&wanted), &unknown),
            Decision::Nothing(_)
        ));
        assert!(matches!(
            decide(GROUP, &[], &unknown),
            Decision::Change { .. }
        ));
    }
}
