//! Lambda function `guard-cluster-access`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::guard_cluster_access;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        guard_cluster_access::RULE.warm_up,
        |aws, settings, event| Box::pin(guard_cluster_access::handle(aws, settings, event)),
    )
    .await
}
