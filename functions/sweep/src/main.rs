//! Lambda function `sweep`: on the template's schedule, runs every rule's scan of current
//! state (`eks_remediator::sweep`) and alerts on what it finds.
//!
//! Start-up only sets up tracing and validates settings; AWS clients are built on first use.

use eks_remediator::aws::Aws;
use eks_remediator::runtime;
use eks_remediator::settings::Settings;
use eks_remediator::sweep;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let settings = Settings::from_env()?;
    let aws = Aws::from_env_for_scans();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        sweep::handle(&aws, &settings, event.payload)
    }))
    .await
}
