//! Rule `harden-nodes`: an EKS node's instance metadata answers only IMDSv2, within a hop
//! limit that keeps pods out where they do not need it; launch templates for nodes say the
//! same; node groups run in private subnets across several Availability Zones.
//!
//! A pod that can reach the node's instance metadata can take the node role's credentials,
//! and IMDSv1 answers any request that reaches it, including one forwarded by a vulnerable
//! proxy. Nodes are fixed as they start (EC2's own state-change notification, so no trail is
//! needed), which also covers every node a node group or Karpenter launches from an unsafe
//! launch template. Launch templates and node groups are not changed: a new template version
//! or a node group in other subnets replaces nodes, which is their owner's decision, so those
//! are alerts with the commands that fix them.

pub mod detect;
pub mod event;
pub mod remediate;
pub mod scan;

use serde_json::Value;
use tracing::{info, info_span, Instrument};

use self::detect::NodeVerdict;
use self::event::Trigger;
use self::remediate::Metadata;
use crate::aws::eks::Nodegroup;
use crate::aws::warm_up;
use crate::aws::Aws;
use crate::domain::node::{node_sign, Instance, LaunchTemplate, LaunchTemplateVersion, Subnet};
use crate::error::{AwsError, HandlerError};
use crate::guard;
use crate::intake::{API_CALL, INSTANCE_STATE_CHANGE};
use crate::outcome::{Origin, Outcome, ResourceRef, Status, Summary};
use crate::rules::decision::{self, Decision};
use crate::rules::{RuleInfo, Trigger as CatalogTrigger};
use crate::runtime;
use crate::settings::{Mode, Settings};

/// The catalog entry.
pub static RULE: RuleInfo = RuleInfo {
    name: "harden-nodes",
    summary: "Requires IMDSv2 (and lowers the hop limit) on EKS nodes as they start; alerts on node launch templates that allow IMDSv1 and on node groups in one zone or in public subnets",
    triggers: &[
        CatalogTrigger {
            source: "aws.ec2",
            detail_type: INSTANCE_STATE_CHANGE,
            names: event::STATES,
        },
        CatalogTrigger {
            source: "aws.ec2",
            detail_type: API_CALL,
            names: event::LAUNCH_TEMPLATE_CALLS,
        },
        CatalogTrigger {
            source: "aws.eks",
            detail_type: API_CALL,
            names: event::EKS_CALLS,
        },
    ],
    iam_actions: &[
        "ec2:DescribeInstances",
        "ec2:ModifyInstanceMetadataOptions",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeSubnets",
        "ec2:DescribeRouteTables",
        "eks:ListClusters",
        "eks:ListNodegroups",
        "eks:DescribeNodegroup",
        "sns:Publish",
    ],
    warm_up: &[warm_up::EC2, warm_up::EKS, warm_up::SNS],
    settings: &[
        "MODE",
        "ALERT_TOPIC_ARN",
        "EXEMPT_TAG_KEY",
        "NODE_IMDS_HOP_LIMIT",
        "SELF_ROLE_ARNS",
    ],
    default_mode: Mode::Remediate,
    is_trigger: |incoming| matches!(event::trigger(incoming), Ok(Some(_))),
};

/// Handles one EventBridge event: the function's entry point.
pub async fn handle(aws: &Aws, settings: &Settings, event: Value) -> Result<Summary, HandlerError> {
    outcomes(aws, settings, event)
        .await
        .map(|o| Summary::of(&o))
}

/// Handles one event and returns the full outcomes (alerts are sent as by [`handle`]);
/// the CLI's `replay` shows them.
pub async fn outcomes(
    aws: &Aws,
    settings: &Settings,
    event: Value,
) -> Result<Vec<Outcome>, HandlerError> {
    let Some((_, trigger, origin)) = runtime::triggered(event, settings, event::trigger)? else {
        return Ok(Vec::new());
    };
    let span = info_span!("harden-nodes", event_id = %origin.event.id,
        event = %origin.event.name, resource = %trigger.resource());
    async {
        if let Some(why) = needs_no_look(&trigger, settings) {
            info!(why, "nothing to do");
            return Ok(Vec::new());
        }
        let (outcomes, error) = match &trigger {
            Trigger::NodeRunning { instance } => match aws.describe_instance(instance).await {
                Ok(found) => judge_instance(aws, settings, &origin, &found).await,
                Err(e) if e.is_not_found() => (
                    vec![instance_outcome(
                        &origin,
                        instance,
                        Status::Resolved,
                        "the instance no longer exists".to_owned(),
                    )],
                    None,
                ),
                Err(e) => return Err(e.into()),
            },
            Trigger::LaunchTemplate {
                id, name, version, ..
            } => {
                let read = read_template(aws, id.as_deref(), name.as_deref(), version).await?;
                match read {
                    Some((template, version)) => (
                        judge_template(aws, settings, &origin, &template, &version).await?,
                        None,
                    ),
                    None => (Vec::new(), None),
                }
            }
            Trigger::Nodegroup { cluster, nodegroup } => {
                match aws.describe_nodegroup(cluster, nodegroup).await {
                    Ok(found) => {
                        let subnets = aws.subnets(&found.subnets).await?;
                        (
                            judge_nodegroup(aws, settings, &origin, &found, &subnets).await?,
                            None,
                        )
                    }
                    Err(e) if e.is_not_found() => {
                        info!("the node group no longer exists");
                        (Vec::new(), None)
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        runtime::conclude(aws, settings, outcomes, error).await
    }
    .instrument(span)
    .await
}

/// Why the event needs no AWS call at all, when the event alone tells: a launch template
/// request whose own metadata options are safe (they replace the whole structure, so nothing
/// inherited can make the version unsafe).
pub fn needs_no_look(trigger: &Trigger, settings: &Settings) -> Option<&'static str> {
    match trigger {
        Trigger::LaunchTemplate {
            requested: Some(requested),
            ..
        } if detect::judge_template(Some(requested), settings.node_imds_hop_limit).is_empty() => {
            Some("the requested metadata options are safe")
        }
        _ => None,
    }
}

/// A node's metadata options judged, and fixed per `settings`: nothing for an instance that
/// is not an EKS node. What the event and the sweep both do with a running instance.
pub async fn judge_instance(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    instance: &Instance,
) -> (Vec<Outcome>, Option<AwsError>) {
    let Some(sign) = node_sign(&instance.tags) else {
        info!(instance = %instance.id, "not an EKS node");
        return (Vec::new(), None);
    };
    let subject = format!("node {} ({})", instance.id, sign.describe());
    let decision = if instance.is_gone() {
        Decision::Resolved(format!(
            "the instance is {}",
            instance.state.as_deref().unwrap_or("gone")
        ))
    } else {
        let node = format!("--region {} --instance-id {}", origin.region, instance.id);
        match detect::judge_node(&instance.metadata, settings.node_imds_hop_limit, &node) {
            NodeVerdict::Safe(why) => Decision::Nothing(why),
            NodeVerdict::Report { problems, note } => Decision::Alert {
                finding: format!("{subject}: {}", problems.join("; ")),
                note,
            },
            NodeVerdict::Fix { problems, to, note } => Decision::Change {
                finding: format!("{subject}: {}", problems.join("; ")),
                change: Metadata {
                    instance: instance.id.clone(),
                    region: origin.region.clone(),
                    from: instance.metadata.clone(),
                    to,
                },
                note,
            },
        }
    };
    let exempt = guard::is_exempt(&instance.tags, &settings.exempt_tag_key);
    decision::act(
        aws,
        settings,
        decision,
        exempt.then_some("the instance"),
        |status, finding| instance_outcome(origin, &instance.id, status, finding),
    )
    .await
}

/// The template and the version a launch-template call made; `None` when either is gone.
async fn read_template(
    aws: &Aws,
    id: Option<&str>,
    name: Option<&str>,
    version: &str,
) -> Result<Option<(LaunchTemplate, LaunchTemplateVersion)>, AwsError> {
    let template = match aws.describe_launch_template(id, name).await {
        Ok(t) => t,
        Err(e) if e.is_not_found() => {
            info!("the launch template no longer exists");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    match aws.launch_template_version(&template.id, version).await {
        Ok(v) => Ok(Some((template, v))),
        Err(e) if e.is_not_found() => {
            info!(version, "the launch template version no longer exists");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A launch template version judged: an alert when it is for EKS nodes (tagged for a cluster
/// or a node group, itself or the instances it launches, or named by a node group) and allows
/// IMDSv1 or too many hops. Nothing for a template no node uses.
async fn judge_template(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    template: &LaunchTemplate,
    version: &LaunchTemplateVersion,
) -> Result<Vec<Outcome>, AwsError> {
    let hop_setting = settings.node_imds_hop_limit;
    let problems = detect::judge_template(version.metadata.as_ref(), hop_setting);
    if problems.is_empty() {
        info!("the launch template version is safe");
        return Ok(Vec::new());
    }
    let sign = node_sign(&template.tags).or_else(|| node_sign(&version.instance_tags));
    let users: Vec<Nodegroup> = match sign.as_ref() {
        Some(s) if s.cluster.is_some() && s.nodegroup.is_some() => Vec::new(),
        _ => aws
            .nodegroups()
            .await?
            .into_iter()
            .filter(|n| uses(n, template))
            .collect(),
    };
    let place = match (&sign, users.is_empty()) {
        (_, false) => format!(
            "used by node group{} {}",
            if users.len() == 1 { "" } else { "s" },
            users
                .iter()
                .map(|n| format!("{}/{}", n.cluster, n.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Some(sign), true) => format!("for {}", sign.describe()),
        (None, true) => {
            info!("a launch template no EKS node uses");
            return Ok(Vec::new());
        }
    };
    let label = template
        .name
        .as_deref()
        .map(|n| format!("{} ({n})", template.id))
        .unwrap_or_else(|| template.id.clone());
    let finding = format!(
        "launch template {label} version {}, {place}: {}",
        version.version,
        problems.join("; ")
    );
    let fixed = detect::fixed_template_options(version.metadata.as_ref(), hop_setting);
    let mut steps = vec![remediate::template_fix_command(
        &origin.region,
        &template.id,
        version.version,
        &fixed,
    )];
    let mut rollouts: Vec<(String, String)> = users
        .iter()
        .map(|n| (n.cluster.clone(), n.name.clone()))
        .collect();
    if let Some(s) = &sign {
        if let (Some(c), Some(n)) = (&s.cluster, &s.nodegroup) {
            rollouts.push((c.clone(), n.clone()));
        }
    }
    steps.extend(rollouts.iter().map(|(cluster, nodegroup)| {
        remediate::nodegroup_rollout_command(&origin.region, cluster, nodegroup, &template.id)
    }));
    let note = format!(
        "Nodes launched from it are fixed as they start, but the template should say so itself. \
         Make a fixed version, then roll node groups onto it (this replaces their nodes): {}",
        steps.join(" ; ")
    );
    let exempt = guard::is_exempt(&template.tags, &settings.exempt_tag_key);
    let (outcomes, _) = decision::act(
        aws,
        settings,
        Decision::<Metadata>::Alert { finding, note },
        exempt.then_some("the launch template"),
        |status, finding| {
            let resource = ResourceRef {
                kind: "launch-template",
                id: template.id.clone(),
                arn: Some(ec2_arn(origin, &format!("launch-template/{}", template.id))),
            };
            outcome(origin, resource, status, finding)
        },
    )
    .await;
    Ok(outcomes)
}

/// Whether node group `n` launches its nodes from `template`.
fn uses(n: &Nodegroup, template: &LaunchTemplate) -> bool {
    n.launch_template.as_ref().is_some_and(|t| {
        t.id.as_deref() == Some(template.id.as_str())
            || (t.name.is_some() && t.name == template.name)
    })
}

/// A node group judged: one alert for its subnets (one zone, public) and its launch template
/// version (IMDSv1, hop limit), or nothing. `subnets` may hold other node groups' subnets too
/// (the sweep reads them all at once).
pub async fn judge_nodegroup(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    nodegroup: &Nodegroup,
    subnets: &[Subnet],
) -> Result<Vec<Outcome>, AwsError> {
    let own: Vec<Subnet> = subnets
        .iter()
        .filter(|s| nodegroup.subnets.contains(&s.id))
        .cloned()
        .collect();
    let mut problems = detect::judge_subnets(&own);
    let mut steps = Vec::new();
    if !problems.is_empty() {
        steps.push(remediate::NODEGROUP_SUBNET_FIX.to_owned());
    }
    if let Some(reference) = &nodegroup.launch_template {
        let version = reference.version.as_deref().unwrap_or("$Default");
        let read = read_template(
            aws,
            reference.id.as_deref(),
            reference.name.as_deref(),
            version,
        )
        .await?;
        if let Some((template, found)) = read {
            let hop_setting = settings.node_imds_hop_limit;
            let template_problems = detect::judge_template(found.metadata.as_ref(), hop_setting);
            if !template_problems.is_empty() {
                problems.push(format!(
                    "its launch template {} version {} {}",
                    template.id,
                    found.version,
                    template_problems.join("; ")
                ));
                let fixed = detect::fixed_template_options(found.metadata.as_ref(), hop_setting);
                steps.push(format!(
                    "Make a fixed launch template version and roll the node group onto it \
                     (its nodes are fixed as they start meanwhile): {} ; {}",
                    remediate::template_fix_command(
                        &origin.region,
                        &template.id,
                        found.version,
                        &fixed
                    ),
                    remediate::nodegroup_rollout_command(
                        &origin.region,
                        &nodegroup.cluster,
                        &nodegroup.name,
                        &template.id
                    )
                ));
            }
        }
    }
    if problems.is_empty() {
        info!(cluster = %nodegroup.cluster, nodegroup = %nodegroup.name, "node group is fine");
        return Ok(Vec::new());
    }
    let finding = format!(
        "node group {}/{}: {}",
        nodegroup.cluster,
        nodegroup.name,
        problems.join("; ")
    );
    let exempt = guard::is_exempt(&nodegroup.tags, &settings.exempt_tag_key);
    let (outcomes, _) = decision::act(
        aws,
        settings,
        Decision::<Metadata>::Alert {
            finding,
            note: steps.join(". "),
        },
        exempt.then_some("the node group"),
        |status, finding| {
            let resource = ResourceRef {
                kind: "eks-nodegroup",
                id: format!("{}/{}", nodegroup.cluster, nodegroup.name),
                arn: None,
            };
            outcome(origin, resource, status, finding)
        },
    )
    .await;
    Ok(outcomes)
}

pub(crate) fn instance_outcome(
    origin: &Origin,
    instance: &str,
    status: Status,
    finding: String,
) -> Outcome {
    let resource = ResourceRef {
        kind: "ec2-instance",
        id: instance.to_owned(),
        arn: Some(ec2_arn(origin, &format!("instance/{instance}"))),
    };
    outcome(origin, resource, status, finding)
}

/// An outcome of this rule about `resource`, with nothing done yet (`decision::act` adds
/// actions, undo and note).
fn outcome(origin: &Origin, resource: ResourceRef, status: Status, finding: String) -> Outcome {
    Outcome {
        rule: RULE.name,
        status,
        resource,
        finding,
        actions: Vec::new(),
        undo: None,
        note: None,
        origin: origin.clone(),
    }
}

/// The ARN of an EC2 resource (`instance/i-...`, `launch-template/lt-...`) of the origin's
/// account and region.
fn ec2_arn(origin: &Origin, resource: &str) -> String {
    format!(
        "arn:{}:ec2:{}:{}:{resource}",
        crate::domain::partition(&origin.region),
        origin.region,
        origin.account
    )
}
