//! Lambda function `audit-workloads`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::audit_workloads;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        audit_workloads::RULE.warm_up,
        |aws, settings, event| Box::pin(audit_workloads::handle(aws, settings, event)),
    )
    .await
}
