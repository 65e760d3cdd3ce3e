//! Lambda function `notify-eks-finding`: wires the library's rule into `lambda_runtime`.
//!
//! Start-up only sets up tracing and validates settings; AWS clients are built on first use.

use eks_remediator::aws::Aws;
use eks_remediator::rules::notify_eks_finding;
use eks_remediator::runtime;
use eks_remediator::settings::Settings;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let settings = Settings::from_env()?;
    let aws = Aws::from_env();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        notify_eks_finding::handle(&aws, &settings, event.payload)
    }))
    .await
}
