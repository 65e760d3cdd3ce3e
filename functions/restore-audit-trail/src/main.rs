//! Lambda function `restore-audit-trail`: wires the library's rule into `lambda_runtime`.

use eks_remediator::aws::Aws;
use eks_remediator::rules::restore_audit_trail;
use eks_remediator::runtime;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    runtime::serve(
        Aws::from_env,
        restore_audit_trail::RULE.warm_up,
        |aws, settings, event| Box::pin(restore_audit_trail::handle(aws, settings, event)),
    )
    .await
}
