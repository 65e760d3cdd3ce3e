//! The sweep's `guard-cluster-access` scan: every cluster of the region, read as the events
//! would have shown it. Its authentication mode, every access entry (admin access policies
//! outside the allow-list are taken back, node entries of roles that are no node deleted, as
//! for the events), every Pod Identity association's role, and whether workloads can get an
//! IAM role of their own at all: an IAM OIDC provider for the cluster's issuer (IRSA) or the
//! Pod Identity Agent add-on. Without either, a pod that needs AWS can only use the node role.

use tracing::warn;

use super::{admin_change, config_map, node_entry_decision, outcome, pod_identity};
use crate::aws::Aws;
use crate::domain::access::{is_allowed, NODE_ENTRY_TYPES};
use crate::domain::{shell_quote, Cluster};
use crate::error::{AwsError, HandlerError};
use crate::guard;
use crate::outcome::{Origin, Outcome, ResourceRef};
use crate::rules::decision::{self, Decision};
use crate::settings::Settings;

use super::remediate::Change;

/// The add-on that gives pods their Pod Identity credentials.
pub const POD_IDENTITY_AGENT: &str = "eks-pod-identity-agent";

/// Scans every cluster, [`SCAN_CONCURRENCY`](crate::bounded::SCAN_CONCURRENCY) at a time. A
/// cluster that cannot be read is logged and left to the next sweep; the others still count.
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
) -> Result<Vec<Outcome>, HandlerError> {
    let clusters = aws.list_clusters().await?;
    if clusters.is_empty() {
        return Ok(Vec::new());
    }
    let providers = aws.oidc_providers().await?;
    let providers = &providers;
    let per_cluster = crate::bounded::each(clusters, |name| async move {
        match scan_cluster(aws, settings, origin, &name, providers).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                warn!(cluster = %name, %error, "cluster left to the next sweep");
                Vec::new()
            }
        }
    })
    .await;
    Ok(per_cluster.into_iter().flatten().collect())
}

/// Decisions about one cluster, each with the resource it is about.
type Found = Vec<(Decision<Change>, ResourceRef)>;

async fn scan_cluster(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    name: &str,
    providers: &[String],
) -> Result<Vec<Outcome>, AwsError> {
    let cluster = match aws.describe_cluster(name).await {
        Ok(c) => c,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let exempt = guard::is_exempt(&cluster.tags, &settings.exempt_tag_key).then_some("the cluster");
    let here = |kind: &'static str, id: String| ResourceRef {
        kind,
        id,
        arn: cluster.arn.clone(),
    };
    let mut found: Found = Vec::new();
    if let Some(decision) = no_workload_identity(aws, &cluster, providers).await? {
        found.push((decision, here("eks-cluster", name.to_owned())));
    }
    if cluster.authentication_mode.as_deref() == Some(super::detect::CONFIG_MAP) {
        // EKS refuses access entry calls on such a cluster: aws-auth holds its access.
        let (finding, note) = config_map(name);
        found.push((
            Decision::Alert { finding, note },
            here("eks-cluster", name.to_owned()),
        ));
    } else {
        for principal in aws.access_entries(name).await? {
            let entry_ref = || here("eks-access-entry", format!("{name}/{principal}"));
            if !is_allowed(&principal, &settings.cluster_admin_principals) {
                for association in aws.associated_access_policies(name, &principal).await? {
                    if association.is_admin_grant() {
                        let decision = admin_change(
                            name,
                            &principal,
                            &association.policy_arn,
                            association.scope,
                        );
                        found.push((decision, entry_ref()));
                    }
                }
            }
            let entry = match aws.access_entry(name, &principal).await {
                Ok(entry) => entry,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            if NODE_ENTRY_TYPES.contains(&entry.kind.as_str()) {
                found.push((node_entry_decision(aws, name, entry).await?, entry_ref()));
            }
        }
    }
    let mut outcomes = Vec::new();
    for (decision, resource) in found {
        let (made, error) = decision::act(aws, settings, decision, exempt, |status, finding| {
            outcome(origin, resource.clone(), status, finding)
        })
        .await;
        if let Some(error) = error {
            warn!(cluster = %name, %error, "left to the next sweep");
        }
        outcomes.extend(made);
    }
    for id in aws.pod_identity_ids(name).await? {
        let (decision, role_exempt) = pod_identity(aws, settings, name, &id).await?;
        let resource = here("eks-pod-identity-association", format!("{name}/{id}"));
        let (made, _) = decision::act(
            aws,
            settings,
            decision,
            exempt.or(role_exempt),
            |status, finding| outcome(origin, resource.clone(), status, finding),
        )
        .await;
        outcomes.extend(made);
    }
    Ok(outcomes)
}

/// An alert when the cluster's pods cannot get an IAM role of their own: no IAM OIDC provider
/// for its issuer and no Pod Identity Agent add-on.
async fn no_workload_identity(
    aws: &Aws,
    cluster: &Cluster,
    providers: &[String],
) -> Result<Option<Decision<Change>>, AwsError> {
    let issuer = cluster
        .oidc_issuer
        .as_deref()
        .map(|i| i.trim_start_matches("https://").trim_end_matches('/'));
    let irsa = issuer.is_some_and(|issuer| {
        providers.iter().any(|p| {
            p.split_once(":oidc-provider/")
                .is_some_and(|(_, url)| url == issuer)
        })
    });
    if irsa {
        return Ok(None);
    }
    let agent = match aws.addons(&cluster.name).await {
        Ok(addons) => addons.iter().any(|a| a == POD_IDENTITY_AGENT),
        Err(e) if e.is_not_found() => false,
        Err(e) => return Err(e),
    };
    if agent {
        return Ok(None);
    }
    let q = shell_quote(&cluster.name);
    Ok(Some(Decision::Alert {
        finding: format!(
            "cluster {} has neither an IAM OIDC provider for its issuer (IRSA) nor the {POD_IDENTITY_AGENT} \
             add-on: pods that need AWS access can only use the node role",
            cluster.name
        ),
        note: format!(
            "Give workloads roles of their own: aws eks create-addon --cluster-name {q} --addon-name \
             {POD_IDENTITY_AGENT} (then aws eks create-pod-identity-association per service account), \
             or eksctl utils associate-iam-oidc-provider --cluster {q} --approve for IRSA. Then \
             require IMDSv2 with a hop limit of 1 on the nodes, so pods cannot read the node role."
        ),
    }))
}
