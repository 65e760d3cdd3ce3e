//! The sweep's `nodes` scan: every running EKS node's metadata options (fixed as the event
//! would), and every managed node group's subnets and launch template version (alerts).
//!
//! Reads grow with what there is, not with a filter: running instances in pages of 1000
//! (their tags say which are nodes), node groups one call each, and the subnets of all node
//! groups in three calls together.

use std::collections::BTreeSet;

use tracing::warn;

use super::{judge_instance, judge_nodegroup};
use crate::aws::Aws;
use crate::domain::node::node_sign;
use crate::error::HandlerError;
use crate::outcome::{Origin, Outcome, Status};
use crate::settings::Settings;

/// The scan's name in the sweep's report.
pub const NAME: &str = "nodes";

/// Scans nodes, eight at a time, then node groups. A node whose fix fails is a `failed`
/// outcome and the scan goes on; a node group that cannot be read is logged and left to the
/// next sweep.
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
) -> Result<Vec<Outcome>, HandlerError> {
    let nodes: Vec<_> = aws
        .running_instances()
        .await?
        .into_iter()
        .filter(|i| node_sign(&i.tags).is_some())
        .collect();
    let per_node = crate::bounded::each(nodes, |instance| async move {
        let (outcomes, error) = judge_instance(aws, settings, origin, &instance).await;
        if let Some(error) = error {
            warn!(instance = %instance.id, %error, "node left to the next sweep");
        }
        outcomes
    })
    .await;
    let mut outcomes: Vec<Outcome> = per_node.into_iter().flatten().collect();
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
