//! Lambda function `revoke-open-ingress`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::revoke_open_ingress;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        revoke_open_ingress::RULE.warm_up,
        |aws, settings, event| Box::pin(revoke_open_ingress::handle(aws, settings, event)),
    )
    .await
}
