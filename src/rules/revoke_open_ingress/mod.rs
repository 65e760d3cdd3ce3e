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

use tokio::time::Instant;

use serde_json::Value;
use tracing::{info, info_span, Instrument};

use self::detect::{Disposition, Observed, Verdict};
use self::event::{Caller, Trigger};
use self::remediate::{Execution, Plan};
use crate::aws::warm_up;
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
    warm_up: &[warm_up::EC2, warm_up::EKS, warm_up::SNS],
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
        let (outcomes, errors) = act(aws, settings, &origin, verdicts, None).await;
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

/// How the sweep reads the rule ids of its candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RulesRead {
    /// One `group-id`-filtered call per [`GROUPS_PER_RULES_CALL`] candidates.
    ByGroup,
    /// Every rule of the region, unfiltered, in pages of `RULES_PER_PAGE`.
    All,
}

/// The cheaper read for `candidates` among all groups (`others` being the rest). By group,
/// a call per 200 candidates returns just their rules, but a filter of 200 ids costs the
/// service (and moto most of all) a match of every rule against every id. Unfiltered, each
/// page costs what it returns. So: unfiltered when it takes fewer calls, or when the
/// candidates hold at least half of all rules anyway (a fresh account full of world-open
/// groups); by group when few candidates sit among many groups. Rules are counted from the
/// groups listing already read, egress included (the unfiltered listing returns both).
fn rules_read(
    candidates: &[crate::domain::SecurityGroup],
    others: &[crate::domain::SecurityGroup],
) -> RulesRead {
    let count = |groups: &[crate::domain::SecurityGroup]| -> usize {
        groups
            .iter()
            .map(|g| g.ingress.len() + g.egress_rules)
            .sum()
    };
    let theirs = count(candidates);
    let all = theirs + count(others);
    let pages = all
        .div_ceil(crate::aws::ec2::RULES_PER_PAGE as usize)
        .max(1);
    let by_group = candidates.len().div_ceil(GROUPS_PER_RULES_CALL);
    if pages < by_group || theirs * 2 >= all {
        RulesRead::All
    } else {
        RulesRead::ByGroup
    }
}

/// Every group of the region (paginated), and the rules with ids of those that have a
/// world-open rule now: one `DescribeSecurityGroups` page per 1000 groups, then the
/// candidates' rules as [`rules_read`] finds cheapest.
async fn sweep_observe(aws: &Aws, settings: &Settings) -> Result<Observed, AwsError> {
    let (groups, others): (Vec<_>, Vec<_>) = aws
        .find_security_groups(&[])
        .await?
        .into_iter()
        .partition(|g| {
            g.ingress
                .iter()
                .any(|r| detect::is_offending(r, &settings.allowed_ingress_ports))
        });
    let ids: Vec<SecurityGroupId> = groups
        .iter()
        .filter_map(|g| SecurityGroupId::parse(&g.id))
        .collect();
    let rules = match rules_read(&groups, &others) {
        _ if ids.is_empty() => Vec::new(),
        RulesRead::All => {
            let wanted: std::collections::HashSet<&SecurityGroupId> = ids.iter().collect();
            let mut rules = aws.describe_all_ingress_rules().await?;
            rules.retain(|(group, _)| wanted.contains(group));
            rules
        }
        RulesRead::ByGroup => {
            let chunks: Vec<&[SecurityGroupId]> = ids.chunks(GROUPS_PER_RULES_CALL).collect();
            let mut rules = Vec::new();
            for chunk in crate::bounded::each(chunks, |c| aws.describe_ingress_rules(c)).await {
                rules.extend(chunk?);
            }
            rules
        }
    };
    Ok(Observed {
        groups,
        rules: Some(rules),
    })
}

/// The sweep's scan: every security group of the region judged as if it had just been
/// opened, remediated or reported per `settings` like an event's. No revocation starts after
/// `fixes_until` (see [`crate::pace`]); those left are reported `failed`, for the next sweep.
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    fixes_until: Option<Instant>,
) -> Result<Vec<Outcome>, HandlerError> {
    let observed = observe(aws, settings, &Trigger::Sweep).await?;
    let verdicts = detect::decide(&Trigger::Sweep, &observed, settings, None);
    let (outcomes, _errors) = act(aws, settings, origin, verdicts, fixes_until).await;
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

/// Turns verdicts into outcomes, running plans in remediate mode: all of them at once, at
/// the pace EC2 allows ([`crate::pace`]), none started after `fixes_until`.
async fn act(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    verdicts: Vec<Verdict>,
    fixes_until: Option<Instant>,
) -> (Vec<Outcome>, Vec<AwsError>) {
    let plan_of = |verdict: &Verdict| Plan {
        group: verdict.group.clone(),
        rules: verdict.rules.clone(),
    };
    let to_run: Vec<Plan> = match settings.mode {
        Mode::AlertOnly => Vec::new(),
        Mode::Remediate => verdicts
            .iter()
            .filter(|v| v.disposition == Disposition::Revoke)
            .map(plan_of)
            .collect(),
    };
    // A plan that revoked nothing because it was throttled can simply run again; one that
    // revoked some of its rules first reports those, and its failure, as they are.
    let is_throttled = |e: &Execution| {
        e.revoked.is_empty() && e.error.as_ref().is_some_and(AwsError::is_throttled)
    };
    let executions = crate::pace::each(
        &to_run,
        fixes_until,
        |plan| remediate::execute(aws, plan),
        is_throttled,
    )
    .await;
    let mut executions = executions.into_iter();
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for verdict in verdicts {
        let plan = plan_of(&verdict);
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
                let Some(Execution { revoked, error }) = executions.next().flatten() else {
                    let note = "not started: the sweep's time for fixes ran out; the next \
                        sweep takes it up"
                        .to_owned();
                    let mut left = outcome(Status::Failed, &plan, true, Some(note));
                    left.undo = None;
                    outcomes.push(left);
                    continue;
                };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IngressRule, Protocol, SecurityGroup, Source};

    /// `n` groups with `ingress` ingress rules and one egress rule each.
    fn groups(n: usize, ingress: usize) -> Vec<SecurityGroup> {
        let rule = IngressRule {
            id: None,
            protocol: Protocol::Tcp,
            from_port: Some(22),
            to_port: Some(22),
            source: Source::Cidr("0.0.0.0/0".parse().expect("a CIDR")),
            description: None,
        };
        let group = SecurityGroup {
            ingress: vec![rule; ingress],
            egress_rules: 1,
            ..SecurityGroup::default()
        };
        vec![group; n]
    }

    #[test]
    fn the_sweep_reads_rules_by_group_or_all_at_once_whichever_costs_less() {
        // The bench's account: 1000 groups, every one a candidate (3000 rules: 3 pages
        // against 5 filtered calls).
        assert_eq!(rules_read(&groups(1000, 2), &[]), RulesRead::All);
        // One in ten a candidate: one filtered call returns a tenth of what 2 pages would.
        assert_eq!(
            rules_read(&groups(100, 1), &groups(900, 1)),
            RulesRead::ByGroup
        );
        // Few groups, one candidate: one call either way, and by group returns less.
        assert_eq!(rules_read(&groups(1, 1), &groups(5, 1)), RulesRead::ByGroup);
        // Half the rules are the candidates' anyway.
        assert_eq!(rules_read(&groups(3, 3), &groups(4, 1)), RulesRead::All);
        // 5000 candidates among 50000 groups: 25 filtered calls against 100 pages.
        assert_eq!(
            rules_read(&groups(5000, 1), &groups(45000, 1)),
            RulesRead::ByGroup
        );
        // 2000 candidates among 3000 small groups: 6 pages against 10 calls.
        assert_eq!(
            rules_read(&groups(2000, 1), &groups(1000, 1)),
            RulesRead::All
        );
    }
}
