//! Lambda function `notify-eks-finding`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::notify_eks_finding;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        notify_eks_finding::RULE.warm_up,
        |aws, settings, event| Box::pin(notify_eks_finding::handle(aws, settings, event)),
    )
    .await
}
