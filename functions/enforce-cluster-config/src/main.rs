//! Lambda function `enforce-cluster-config`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::enforce_cluster_config;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        enforce_cluster_config::RULE.warm_up,
        |aws, settings, event| Box::pin(enforce_cluster_config::handle(aws, settings, event)),
    )
    .await
}
