//! SNS: publishing alerts.

use aws_sdk_sns::types::MessageAttributeValue;

use super::errors::classify;
use super::Aws;
use crate::alert::AlertMessage;
use crate::error::AwsError;

impl Aws {
    /// Publishes one alert with `MessageStructure=json` (per-protocol bodies), its status and
    /// rule as message attributes for subscription filter policies.
    pub async fn publish_alert(
        &self,
        topic_arn: &str,
        alert: &AlertMessage,
    ) -> Result<(), AwsError> {
        let mut call = self
            .sns()
            .await
            .publish()
            .topic_arn(topic_arn)
            .subject(&alert.subject)
            .message(&alert.message)
            .message_structure("json");
        for (name, value) in [("status", alert.status), ("rule", alert.rule)] {
            // The builder fails only without a data type, which is always given here.
            if let Ok(attribute) = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
            {
                call = call.message_attributes(name, attribute);
            }
        }
        call.send()
            .await
            .map_err(|e| classify("Publish", topic_arn, e))?;
        Ok(())
    }

    /// Publishes `message` as it is, one body for every protocol: what a subscriber that reads
    /// the message itself wants (Amazon Q Developer's custom notifications).
    pub async fn publish_message(&self, topic_arn: &str, message: &str) -> Result<(), AwsError> {
        self.sns()
            .await
            .publish()
            .topic_arn(topic_arn)
            .message(message)
            .send()
            .await
            .map_err(|e| classify("Publish", topic_arn, e))?;
        Ok(())
    }
}
