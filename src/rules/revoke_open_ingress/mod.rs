//! Rule `revoke-open-ingress`: security-group ingress open to the world on a port that is not
//! allow-listed is revoked, rule by rule, by security-group rule id.
//!
//! EKS best practice: restrict ingress to what the cluster needs; in most cases only
//! HTTPS/443 from known ranges. A world-open SSH or RDP port on a node is the most common way
//! in, which is why GuardDuty brute-force and port-probe findings also trigger this rule.

pub mod detect;
pub mod event;
pub mod remediate;

use std::time::Duration;

use serde_json::Value;
use tracing::{info, info_span, Instrument};

use self::detect::{Disposition, Observed, Verdict};
use self::event::{Caller, Trigger};
use self::remediate::{Execution, Plan};
use crate::aws::Aws;
use crate::domain::SecurityGroupId;
use crate::error::{AwsError, AwsErrorKind, HandlerError};
use crate::intake::{Incoming, API_CALL, GUARDDUTY_FINDING};
use crate::outcome::{Origin, Outcome, ResourceRef, Status, Summary};
use crate::rules::{RuleInfo, Trigger as CatalogTrigger};
use crate::runtime;
use crate::settings::{Mode, Settings};

/// The catalog entry.
pub static RULE: RuleInfo = RuleInfo {
    name: "revoke-open-ingress",
    summary: "Revokes security-group ingress open to the world on ports that are not allow-listed, by rule id",
    triggers: &[
        CatalogTrigger {
            source: "aws.ec2",
            detail_type: API_CALL,
            names: &["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"],
        },
        CatalogTrigger { source: "aws.eks", detail_type: API_CALL, names: &["CreateNodegroup"] },
        CatalogTrigger {
            source: "aws.guardduty",
            detail_type: GUARDDUTY_FINDING,
            names: &[
                "UnauthorizedAccess:EC2/SSHBruteForce",
                "UnauthorizedAccess:EC2/RDPBruteForce",
                "Recon:EC2/PortProbeUnprotectedPort",
            ],
        },
    ],
    iam_actions: &[
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:RevokeSecurityGroupIngress",
        "eks:DescribeNodegroup",
        "sns:Publish",
    ],
    settings: &["MODE", "ALERT_TOPIC_ARN", "EXEMPT_TAG_KEY", "ALLOWED_INGRESS_PORTS", "INGRESS_SCOPE", "SELF_ROLE_ARNS"],
    default_mode: Mode::Remediate,
    is_trigger: |incoming| matches!(event::trigger(incoming), Ok(Some(_))),
};

/// How long to wait for EKS to create a new node group's remote-access security group:
/// `DescribeNodegroup` shows it only some seconds into `CREATING`. The function's timeout
/// in `template.yaml` leaves room for this bound.
pub const REMOTE_ACCESS_POLLS: u32 = 10;
pub const REMOTE_ACCESS_INTERVAL: Duration = Duration::from_secs(5);

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
    let Some((incoming, trigger, origin)) = runtime::triggered(event, settings, event::trigger)?
    else {
        return Ok(Vec::new());
    };
    let span =
        info_span!("revoke-open-ingress", event_id = %origin.event.id, event = %origin.event.name);
    async {
        if !detect::worth_a_look(&trigger, settings) {
            info!("no world-open rule in the event");
            return Ok(Vec::new());
        }
        let caller = match &incoming {
            Incoming::ApiCall(call) => Some(Caller::of(call)),
            _ => None,
        };
        let observed = observe(aws, settings, &trigger).await?;
        let verdicts = detect::decide(&trigger, &observed, settings, caller.as_ref());
        let (outcomes, errors) = act(aws, settings, &origin, verdicts).await;
        runtime::conclude(aws, settings, outcomes, errors.into_iter().next()).await
    }
    .instrument(span)
    .await
}

/// Reads what the trigger needs, with as few calls as it can: when the event lists the new
/// rules with their ids, one `DescribeSecurityGroups` (tags, scope, and whether the rules
/// still stand) is enough.
async fn observe(aws: &Aws, settings: &Settings, trigger: &Trigger) -> Result<Observed, AwsError> {
    let (groups, with_rule_ids) = match trigger {
        Trigger::Sweep => return sweep_observe(aws, settings).await,
        Trigger::Authorize { group, rules } | Trigger::Modify { group, rules } => {
            let ids_known = !rules.is_empty() && rules.iter().all(|r| r.id.is_some());
            (vec![group.clone()], !ids_known)
        }
        Trigger::Attack { groups, .. } => (groups.clone(), true),
        Trigger::RemoteAccess { cluster, nodegroup } => {
            let groups = remote_access_group(aws, cluster, nodegroup).await?;
            let ids: Vec<SecurityGroupId> = groups
                .iter()
                .filter_map(|g| SecurityGroupId::parse(&g.id))
                .collect();
            let rules = aws.describe_ingress_rules(&ids).await?;
            return Ok(Observed {
                groups,
                rules: Some(rules),
            });
        }
    };
    let states = aws.describe_security_groups(&groups).await?;
    let rules = if with_rule_ids {
        Some(aws.describe_ingress_rules(&groups).await?)
    } else {
        None
    };
    Ok(Observed {
        groups: states,
        rules,
    })
}

/// How many group ids one `DescribeSecurityGroupRules` filter takes.
const GROUPS_PER_RULES_CALL: usize = 200;

/// Every group of the region (paginated), and the rules with ids of those that have a
/// world-open rule now: one `DescribeSecurityGroups` page per 1000 groups, one
/// `DescribeSecurityGroupRules` per 200 candidates.
async fn sweep_observe(aws: &Aws, settings: &Settings) -> Result<Observed, AwsError> {
    let groups: Vec<crate::domain::SecurityGroup> = aws
        .find_security_groups(&[])
        .await?
        .into_iter()
        .filter(|g| {
            g.ingress
                .iter()
                .any(|r| detect::is_offending(r, &settings.allowed_ingress_ports))
        })
        .collect();
    let ids: Vec<SecurityGroupId> = groups
        .iter()
        .filter_map(|g| SecurityGroupId::parse(&g.id))
        .collect();
    let chunks: Vec<&[SecurityGroupId]> = ids.chunks(GROUPS_PER_RULES_CALL).collect();
    let mut rules = Vec::new();
    for chunk in crate::bounded::each(chunks, |c| aws.describe_ingress_rules(c)).await {
        rules.extend(chunk?);
    }
    Ok(Observed {
        groups,
        rules: Some(rules),
    })
}

/// The sweep's scan: every security group of the region judged as if it had just been
/// opened, remediated or reported per `settings` like an event's.
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
) -> Result<Vec<Outcome>, HandlerError> {
    let observed = observe(aws, settings, &Trigger::Sweep).await?;
    let verdicts = detect::decide(&Trigger::Sweep, &observed, settings, None);
    let (outcomes, _errors) = act(aws, settings, origin, verdicts).await;
    Ok(outcomes)
}

/// Finds the remote-access group of a new node group, waiting (bounded) for EKS to make it.
///
/// EKS reports it in `DescribeNodegroup`'s `resources.remoteAccessSecurityGroup` and tags it
/// with `eks:cluster-name` and `eks:nodegroup-name`; the tags are the fallback when the
/// reported id is not (yet) visible to EC2.
async fn remote_access_group(
    aws: &Aws,
    cluster: &str,
    nodegroup: &str,
) -> Result<Vec<crate::domain::SecurityGroup>, AwsError> {
    for poll in 0..REMOTE_ACCESS_POLLS {
        if poll > 0 {
            tokio::time::sleep(REMOTE_ACCESS_INTERVAL).await;
        }
        let described = match aws.describe_nodegroup(cluster, nodegroup).await {
            Ok(n) => n,
            Err(e) if e.is_not_found() => {
                info!(cluster, nodegroup, "node group no longer exists");
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        let Some(id) = described
            .remote_access_security_group
            .as_deref()
            .and_then(SecurityGroupId::parse)
        else {
            if matches!(
                described.status.as_deref(),
                Some("CREATE_FAILED" | "DELETING" | "DELETE_FAILED")
            ) {
                return Ok(Vec::new());
            }
            continue;
        };
        let groups = aws
            .describe_security_groups(std::slice::from_ref(&id))
            .await?;
        if !groups.is_empty() {
            return Ok(groups);
        }
        let tagged = aws
            .find_security_groups(&[
                ("tag:eks:cluster-name", vec![cluster.to_owned()]),
                ("tag:eks:nodegroup-name", vec![nodegroup.to_owned()]),
            ])
            .await?;
        if !tagged.is_empty() {
            return Ok(tagged);
        }
    }
    Err(AwsError {
        operation: "DescribeNodegroup",
        resource: format!("{cluster}/{nodegroup}"),
        kind: AwsErrorKind::InProgress,
        code: "RemoteAccessGroupPending".to_owned(),
        message: format!(
            "no remote-access security group after {} s; Lambda will retry the event",
            REMOTE_ACCESS_POLLS as u64 * REMOTE_ACCESS_INTERVAL.as_secs()
        ),
    })
}

/// Turns verdicts into outcomes, running plans in remediate mode.
async fn act(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    verdicts: Vec<Verdict>,
) -> (Vec<Outcome>, Vec<AwsError>) {
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for verdict in verdicts {
        let plan = Plan {
            group: verdict.group.clone(),
            rules: verdict.rules.clone(),
        };
        let outcome =
            |status: Status, plan: &Plan, with_plan: bool, note: Option<String>| Outcome {
                rule: RULE.name,
                status,
                resource: resource_ref(&verdict, origin),
                finding: detect::describe(&plan.rules, &verdict.unnamed),
                actions: if with_plan {
                    plan.actions()
                } else {
                    Vec::new()
                },
                undo: with_plan.then(|| plan.undo()),
                note,
                origin: origin.clone(),
            };
        match (verdict.disposition, settings.mode) {
            (Disposition::Resolved, _) => {
                outcomes.push(outcome(
                    Status::Resolved,
                    &plan,
                    false,
                    Some("already revoked or gone".to_owned()),
                ));
            }
            (Disposition::Exempt, _) => {
                let note = format!(
                    "exempt by tag {}=true; without it this would run: {}",
                    settings.exempt_tag_key,
                    plan.actions().join(", ")
                );
                outcomes.push(outcome(Status::Exempt, &plan, false, Some(note)));
            }
            (Disposition::KubernetesManaged, _) => {
                let note = "made by a Kubernetes controller for a Service of type LoadBalancer; revoking it \
                    would break the Service. Make it internal (annotation \
                    service.beta.kubernetes.io/aws-load-balancer-scheme: internal) or restrict \
                    spec.loadBalancerSourceRanges.";
                outcomes.push(outcome(Status::Alert, &plan, false, Some(note.to_owned())));
            }
            (Disposition::Revoke, Mode::AlertOnly) => {
                let note = "alert-only mode: nothing was changed".to_owned();
                outcomes.push(outcome(Status::WouldRemediate, &plan, true, Some(note)));
            }
            (Disposition::Revoke, Mode::Remediate) => {
                let Execution { revoked, error } = remediate::execute(aws, &plan).await;
                if !revoked.is_empty() {
                    outcomes.push(outcome(
                        Status::Remediated,
                        &plan.only(&revoked),
                        true,
                        None,
                    ));
                }
                match error {
                    Some(e) => {
                        let rest: Vec<_> = plan
                            .rules
                            .iter()
                            .map(|(id, _)| id.clone())
                            .filter(|id| !revoked.contains(id))
                            .collect();
                        let mut failed =
                            outcome(Status::Failed, &plan.only(&rest), true, Some(e.to_string()));
                        // These rules still stand: there is nothing to undo.
                        failed.undo = None;
                        outcomes.push(failed);
                        errors.push(e);
                    }
                    None if revoked.is_empty() => {
                        outcomes.push(outcome(
                            Status::Resolved,
                            &plan,
                            false,
                            Some("already revoked".to_owned()),
                        ));
                    }
                    None => {}
                }
            }
        }
    }
    (outcomes, errors)
}

fn resource_ref(verdict: &Verdict, origin: &Origin) -> ResourceRef {
    let owner = verdict
        .state
        .as_ref()
        .and_then(|s| s.owner_id.clone())
        .unwrap_or_else(|| origin.account.clone());
    ResourceRef {
        kind: "security-group",
        id: verdict.group.to_string(),
        arn: Some(format!(
            "arn:{}:ec2:{}:{owner}:security-group/{}",
            crate::domain::partition(&origin.region),
            origin.region,
            verdict.group
        )),
    }
}
