//! Lambda function `sweep`: on the template's schedule, runs every rule's scan of current
//! state (`eks_remediator::sweep`) and alerts on what it finds.

use eks_remediator::aws::Aws;
use eks_remediator::runtime;
use eks_remediator::sweep;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env_for_scans,
        sweep::WARM_UP,
        |aws, settings, event| Box::pin(sweep::handle(aws, settings, event)),
    )
    .await
}
