//! Which AWS actions a piece of work calls, as IAM names (`ec2:DescribeSecurityGroups`).
//!
//! Every client carries [`CallLog`], an interceptor that does nothing unless the future it
//! runs in was wrapped in [`record_calls`]. Tests wrap each handler call and check that every
//! action it made is one its role grants, so least privilege is proven on the real call path
//! rather than on a hand-kept list.

use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_sdk_sns::config::{ConfigBag, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

tokio::task_local! {
    static RECORDING: Arc<Mutex<Vec<String>>>;
}

/// The interceptor every client carries.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallLog;

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The operation's metadata is in the bag from serialization on, not before.
        // Outside a recording (every call in Lambda) this costs one task-local lookup: the
        // action's name is only formatted for a recording to keep.
        let _ = RECORDING.try_with(|calls| {
            if let (Some(metadata), Ok(mut calls)) = (cfg.load::<Metadata>(), calls.lock()) {
                calls.push(format!(
                    "{}:{}",
                    iam_prefix(metadata.service()),
                    metadata.name()
                ));
            }
        });
        Ok(())
    }
}

/// The IAM service prefix of an SDK service name: the name in lower case (`EC2` -> `ec2`),
/// except where IAM calls the service otherwise (`CloudWatch Logs` -> `logs`).
fn iam_prefix(service: &str) -> String {
    match service {
        "CloudWatch Logs" => "logs".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

/// Runs `work` and returns its output with every AWS action it called, in order.
pub async fn record_calls<F: Future>(work: F) -> (F::Output, Vec<String>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let output = RECORDING.scope(calls.clone(), work).await;
    let calls = calls.lock().map(|c| c.clone()).unwrap_or_default();
    (output, calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_named_with_the_iam_prefix() {
        assert_eq!(iam_prefix("EC2"), "ec2");
        assert_eq!(iam_prefix("DynamoDB"), "dynamodb");
        assert_eq!(iam_prefix("CloudWatch Logs"), "logs");
    }
}
