//! CloudWatch Logs: the subscription filters that stream each cluster's audit log to the
//! `audit-workloads` function, and the log group's tags (its exemption).

use super::errors::classify;
use super::Aws;
use crate::domain::Tags;
use crate::error::AwsError;

/// A subscription filter on a log group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionFilter {
    pub name: String,
    pub destination: String,
    pub pattern: String,
}

impl Aws {
    /// The log group's subscription filters (at most two: CloudWatch Logs' limit). A log
    /// group that does not exist is `NotFound`.
    pub async fn subscription_filters(
        &self,
        log_group: &str,
    ) -> Result<Vec<SubscriptionFilter>, AwsError> {
        let out = self
            .logs()
            .await
            .describe_subscription_filters()
            .log_group_name(log_group)
            .send()
            .await
            .map_err(|e| classify("DescribeSubscriptionFilters", log_group, e))?;
        Ok(out
            .subscription_filters()
            .iter()
            .map(|f| SubscriptionFilter {
                name: f.filter_name().unwrap_or_default().to_owned(),
                destination: f.destination_arn().unwrap_or_default().to_owned(),
                pattern: f.filter_pattern().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// The tags of the log group `arn` (`arn:<partition>:logs:<region>:<account>:log-group:<name>`).
    pub async fn log_group_tags(&self, arn: &str) -> Result<Tags, AwsError> {
        let out = self
            .logs()
            .await
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| classify("ListTagsForResource", arn, e))?;
        Ok(out
            .tags()
            .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Creates or updates (same name) the subscription filter `filter` on `log_group`.
    pub async fn put_subscription_filter(
        &self,
        log_group: &str,
        filter: &SubscriptionFilter,
    ) -> Result<(), AwsError> {
        self.logs()
            .await
            .put_subscription_filter()
            .log_group_name(log_group)
            .filter_name(&filter.name)
            .filter_pattern(&filter.pattern)
            .destination_arn(&filter.destination)
            .send()
            .await
            .map_err(|e| classify("PutSubscriptionFilter", log_group, e))?;
        Ok(())
    }
}
