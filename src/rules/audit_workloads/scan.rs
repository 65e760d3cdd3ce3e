//! The sweep's `audit-subscriptions` scan: every cluster whose audit log is on should stream
//! it to `audit-workloads`; one that does not (created before the stack, or its subscription
//! removed) is subscribed, or reported.

use tracing::warn;

use super::subscribe;
use crate::aws::Aws;
use crate::domain::LogType;
use crate::error::HandlerError;
use crate::outcome::{Origin, Outcome, Status};
use crate::settings::Settings;

/// The scan's name in the sweep's report.
pub const NAME: &str = "audit-subscriptions";

/// Scans every cluster, eight at a time. A cluster that cannot be read is logged and left to
/// the next sweep; a subscription that fails is a `failed` outcome.
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
) -> Result<Vec<Outcome>, HandlerError> {
    let clusters = aws.list_clusters().await?;
    let per_cluster = crate::bounded::each(clusters, |name| async move {
        let cluster = match aws.describe_cluster(&name).await {
            Ok(c) => c,
            Err(error) => {
                warn!(cluster = %name, %error, "cluster left to the next sweep");
                return Vec::new();
            }
        };
        if !cluster.logging.contains(&LogType::Audit) {
            return Vec::new();
        }
        let log_group = format!("/aws/eks/{name}/cluster");
        let (outcomes, error) = subscribe(
            aws,
            settings,
            origin,
            &log_group,
            settings.audit_function_arn.clone(),
        )
        .await;
        if let Some(error) = error {
            warn!(%log_group, %error, "subscription not checked");
        }
        // No log group yet: EKS creates it when the first logs flow, and its CreateLogGroup
        // brings the subscription.
        outcomes
            .into_iter()
            .filter(|o| o.status != Status::Resolved)
            .collect()
    })
    .await;
    Ok(per_cluster.into_iter().flatten().collect())
}
