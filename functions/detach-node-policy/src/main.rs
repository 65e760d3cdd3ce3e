//! Lambda function `detach-node-policy`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::detach_node_policy;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        detach_node_policy::RULE.warm_up,
        |aws, settings, event| Box::pin(detach_node_policy::handle(aws, settings, event)),
    )
    .await
}
