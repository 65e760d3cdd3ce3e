//! Lambda function `harden-nodes`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::harden_nodes;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        harden_nodes::RULE.warm_up,
        |aws, settings, event| Box::pin(harden_nodes::handle(aws, settings, event)),
    )
    .await
}
