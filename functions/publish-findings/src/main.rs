//! Lambda function `publish-findings`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::publish_findings;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        publish_findings::RULE.warm_up,
        |aws, settings, event| Box::pin(publish_findings::handle(aws, settings, event)),
    )
    .await
}
