//! The sweep's `nodes` scan: every running EKS node's metadata options (fixed as the event
//! would), and every managed node group's subnets and launch template version (alerts).
//!
//! Reads grow with what there is, not with a filter: running instances in pages of 1000
//! (their tags say which are nodes), node groups one call each, and the subnets of all node
//! groups in three calls together. Only the nodes' metadata options are changed.

use std::collections::BTreeSet;

use tokio::time::Instant;
use tracing::warn;

use super::{instance_outcome, judge_instance, judge_nodegroup};
use crate::aws::Aws;
use crate::domain::node::node_sign;
use crate::error::{AwsError, HandlerError};
use crate::outcome::{Origin, Outcome, Status};
use crate::settings::Settings;

/// The scan's name in the sweep's report.
pub const NAME: &str = "nodes";

/// Scans nodes, then node groups. The nodes' fixes are mutating EC2 calls, so they run at the
/// pace the account's API rate allows ([`crate::pace`]), and none starts after `fixes_until`
/// (the sweep's deadline): a node not reached is a `failed` outcome the next sweep takes up,
/// and so is a fix that fails. A node group that cannot be read is logged and left to the next
/// sweep.
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    fixes_until: Option<Instant>,
) -> Result<Vec<Outcome>, HandlerError> {
    let nodes: Vec<_> = aws
        .running_instances()
        .await?
        .into_iter()
        .filter(|i| node_sign(&i.tags).is_some())
        .collect();
    let throttled = |(_, error): &(Vec<Outcome>, Option<AwsError>)| {
        error.as_ref().is_some_and(AwsError::is_throttled)
    };
    let per_node = crate::pace::each(
        &nodes,
        fixes_until,
        |instance| judge_instance(aws, settings, origin, instance),
        throttled,
    )
    .await;
    let mut outcomes = Vec::new();
    for (instance, result) in nodes.iter().zip(per_node) {
        match result {
            Some((found, error)) => {
                if let Some(error) = error {
                    warn!(instance = %instance.id, %error, "node left to the next sweep");
                }
                outcomes.extend(found);
            }
            None => {
                let mut outcome = instance_outcome(
                    origin,
                    &instance.id,
                    Status::Failed,
                    "node not judged in time".to_owned(),
                );
                outcome.note = Some(
                    "not started: the sweep ran out of time before this node; the next sweep \
                     takes it up"
                        .to_owned(),
                );
                outcomes.push(outcome);
            }
        }
    }
    let nodegroups = aws.nodegroups().await?;
    let subnet_ids: Vec<String> = nodegroups
        .iter()
        .flat_map(|n| n.subnets.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let subnets = aws.subnets(&subnet_ids).await?;
    for nodegroup in &nodegroups {
        match judge_nodegroup(aws, settings, origin, nodegroup, &subnets).await {
            Ok(found) => outcomes.extend(found),
            Err(error) => {
                warn!(cluster = %nodegroup.cluster, nodegroup = %nodegroup.name, %error,
                    "node group left to the next sweep");
            }
        }
    }
    Ok(outcomes
        .into_iter()
        .filter(|o| o.status != Status::Resolved)
        .collect())
}
