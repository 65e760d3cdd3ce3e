//! DynamoDB: `audit-workloads`' memory of what it has alerted (`DEDUPE_TABLE`), so the same
//! workload deployed again with the same findings is not alerted again, and of which
//! ClusterRoles allow everything, so a later binding to one can be judged.
//!
//! The table has one string partition key, `pk`, and a TTL attribute, `expires`.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::classify;
use super::Aws;
use crate::error::AwsError;

/// The condition-failed code: the item was there and recent, which is the answer, not a fault.
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

impl Aws {
    /// Records that `key` is alerted at `now` (epoch seconds), unless it was already alerted
    /// after `since`: one conditional write, so two invocations racing on the same workload
    /// give one alert. `Ok(true)`: the caller alerts; `Ok(false)`: it was alerted recently.
    pub async fn claim_alert(
        &self,
        table: &str,
        key: &str,
        now: i64,
        since: i64,
        expires: i64,
    ) -> Result<bool, AwsError> {
        let result = self
            .dynamodb()
            .await
            .put_item()
            .table_name(table)
            .item("pk", AttributeValue::S(key.to_owned()))
            .item("alerted", AttributeValue::N(now.to_string()))
            .item("expires", AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(pk) OR alerted < :since")
            .expression_attribute_values(":since", AttributeValue::N(since.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(CONDITION_FAILED) => Ok(false),
            Err(e) => Err(classify("PutItem", key, e)),
        }
    }

    /// Forgets `key`, so that the next delivery alerts again (the alert could not be sent).
    pub async fn release_alert(&self, table: &str, key: &str) -> Result<(), AwsError> {
        self.dynamodb()
            .await
            .delete_item()
            .table_name(table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .send()
            .await
            .map_err(|e| classify("DeleteItem", key, e))?;
        Ok(())
    }

    /// Records (or, with `false`, forgets) that a ClusterRole allows everything.
    pub async fn remember_flag(&self, table: &str, key: &str, set: bool) -> Result<(), AwsError> {
        let dynamodb = self.dynamodb().await;
        let result = if set {
            dynamodb
                .put_item()
                .table_name(table)
                .item("pk", AttributeValue::S(key.to_owned()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("PutItem", key, e))
        } else {
            dynamodb
                .delete_item()
                .table_name(table)
                .key("pk", AttributeValue::S(key.to_owned()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DeleteItem", key, e))
        };
        result
    }

    /// Whether [`Aws::remember_flag`] set `key`.
    pub async fn has_flag(&self, table: &str, key: &str) -> Result<bool, AwsError> {
        let out = self
            .dynamodb()
            .await
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .projection_expression("pk")
            .send()
            .await
            .map_err(|e| classify("GetItem", key, e))?;
        Ok(out.item().is_some())
    }
}
