//! SQS: sending an event back to a function later (the retry queue) or keeping it for a
//! person (the dead-letter queue).

use aws_sdk_sqs::types::MessageAttributeValue;

use super::errors::classify;
use super::Aws;
use crate::error::AwsError;

impl Aws {
    /// Sends `body` to `queue_url`, delivered after `delay_seconds` (SQS allows 0 to 900),
    /// with string message attributes for people browsing the queue.
    pub async fn send_message(
        &self,
        queue_url: &str,
        body: &str,
        delay_seconds: u32,
        attributes: &[(&str, &str)],
    ) -> Result<(), AwsError> {
        let mut request = self
            .sqs()
            .await
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .delay_seconds(delay_seconds.min(900) as i32);
        for (name, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(*value)
                .build()
                .map_err(|e| AwsError {
                    operation: "SendMessage",
                    resource: queue_url.to_owned(),
                    kind: crate::error::AwsErrorKind::Other,
                    code: "InvalidAttribute".to_owned(),
                    message: e.to_string(),
                })?;
            request = request.message_attributes(*name, value);
        }
        request
            .send()
            .await
            .map_err(|e| classify("SendMessage", queue_url, e))?;
        Ok(())
    }
}
