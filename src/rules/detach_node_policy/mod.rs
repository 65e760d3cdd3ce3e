//! Rule `detach-node-policy`: an EKS node role keeps only what nodes need. Admin-level AWS
//! managed policies and over-broad customer or inline policies are removed from node roles as
//! soon as they are attached; the EKS baseline policies and `NODE_POLICY_ALLOWLIST` are never
//! touched. GuardDuty credential-exfiltration findings on a node role are alerted, and with
//! `REVOKE_EXFILTRATED_SESSIONS=true` the role's older sessions are revoked.
//!
//! Every pod on a node can reach the node role's credentials through instance metadata, so an
//! `AdministratorAccess` there turns any container escape into an account takeover.

pub mod detect;
pub mod event;
pub mod remediate;

use std::time::SystemTime;

use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};
use percent_encoding::percent_decode_str;
use serde_json::Value;
use tracing::{info, info_span, Instrument};

use self::detect::{Judgement, NodeSign};
use self::event::Trigger;
use self::remediate::Change;
use crate::aws::warm_up;
use crate::aws::Aws;
use crate::domain::Tags;
use crate::error::{AwsError, HandlerError};
use crate::guard;
use crate::intake::{API_CALL, GUARDDUTY_FINDING};
use crate::outcome::{Origin, Outcome, ResourceRef, Status, Summary};
use crate::rules::decision::{self, Decision};
use crate::rules::{RuleInfo, Trigger as CatalogTrigger};
use crate::runtime;
use crate::settings::{Mode, Settings};

/// The catalog entry.
pub static RULE: RuleInfo = RuleInfo {
    name: "detach-node-policy",
    summary: "Removes admin-level and wildcard policies from EKS node roles; alerts on (and optionally revokes) exfiltrated node credentials",
    triggers: &[
        CatalogTrigger {
            source: "aws.iam",
            detail_type: API_CALL,
            names: event::EVENT_NAMES,
        },
        CatalogTrigger {
            source: "aws.guardduty",
            detail_type: GUARDDUTY_FINDING,
            names: event::FINDING_TYPES,
        },
    ],
    iam_actions: &[
        "iam:ListAttachedRolePolicies",
        "iam:ListRoleTags",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:GetRolePolicy",
        "iam:DetachRolePolicy",
        "iam:DeleteRolePolicy",
        // Only with REVOKE_EXFILTRATED_SESSIONS=true (a template condition).
        "iam:PutRolePolicy",
        "eks:ListClusters",
        "eks:ListNodegroups",
        "eks:DescribeNodegroup",
        "sns:Publish",
    ],
    warm_up: &[warm_up::EKS, warm_up::IAM, warm_up::SNS],
    settings: &[
        "MODE",
        "ALERT_TOPIC_ARN",
        "EXEMPT_TAG_KEY",
        "NODE_POLICY_ALLOWLIST",
        "REVOKE_EXFILTRATED_SESSIONS",
        "MIN_SEVERITY",
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
    let span = info_span!("detach-node-policy", event_id = %origin.event.id,
        event = %origin.event.name, role = %trigger.role());
    async {
        if let Some(why) = needs_no_look(&trigger, settings) {
            info!(why, "nothing to do");
            return Ok(Vec::new());
        }
        let Some(role) = observe(aws, &trigger).await? else {
            let outcome = outcome(
                &origin,
                &trigger,
                Status::Resolved,
                "the role no longer exists".into(),
            );
            runtime::deliver(aws, settings, std::slice::from_ref(&outcome)).await;
            return Ok(vec![outcome]);
        };
        let Some(sign) = &role.sign else {
            info!("not a node role");
            return Ok(Vec::new());
        };
        let decision = decide(aws, &trigger, &role, sign, settings).await?;
        let exempt = guard::is_exempt(&role.tags, &settings.exempt_tag_key);
        let (outcomes, error) = act(aws, settings, &origin, &trigger, decision, exempt).await;
        runtime::conclude(aws, settings, outcomes, error).await
    }
    .instrument(span)
    .await
}

/// Why the event needs no AWS call at all, when the event alone tells.
pub fn needs_no_look(trigger: &Trigger, settings: &Settings) -> Option<&'static str> {
    match trigger {
        Trigger::Attach { policy_arn, .. } if detect::is_protected(policy_arn, settings) => {
            Some("a baseline or allow-listed policy")
        }
        Trigger::PutInline {
            document: Some(document),
            ..
        } if detect::judge(document) == Judgement::Safe => {
            Some("the inline policy is not over-broad")
        }
        Trigger::Exfiltration { severity, .. } if *severity < settings.min_severity => {
            Some("finding below MIN_SEVERITY")
        }
        _ => None,
    }
}

/// What is known about the role.
struct Role {
    attached: Vec<String>,
    tags: Tags,
    /// Why it is a node role; `None` when it is not one.
    sign: Option<NodeSign>,
}

/// Reads the role: attached policies and tags (two calls), and only when neither shows a node
/// role, or when an alert must name the node groups, the region's node groups. `None` when
/// the role is gone.
async fn observe(aws: &Aws, trigger: &Trigger) -> Result<Option<Role>, AwsError> {
    let name = trigger.role();
    let Some(mut role) = read_role(aws, name).await? else {
        return Ok(None);
    };
    if role.sign.is_none() || matches!(trigger, Trigger::Exfiltration { .. }) {
        let groups = detect::nodegroups_of(name, &aws.nodegroup_roles().await?);
        if !groups.is_empty() {
            role.sign = Some(NodeSign::Nodegroups(groups));
        }
    }
    Ok(Some(role))
}

/// The role's attached policies and tags, and the sign these show; `None` when it is gone.
async fn read_role(aws: &Aws, name: &str) -> Result<Option<Role>, AwsError> {
    let attached = match aws.attached_role_policies(name).await {
        Ok(a) => a,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let tags = match aws.role_tags(name).await {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let sign = detect::cheap_node_sign(&attached, &tags);
    Ok(Some(Role {
        attached,
        tags,
        sign,
    }))
}

/// The sweep's scan: every role a node could run with ([`detect::could_be_node_role`]), read
/// [`SCAN_CONCURRENCY`](crate::bounded::SCAN_CONCURRENCY) at a time; on each node role, every
/// attached policy is judged as if just attached and every inline policy as if just put, by
/// the same `decide` and `act` as the events.
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
) -> Result<Vec<Outcome>, HandlerError> {
    if !settings.sweep_iam {
        info!("node roles are scanned by the sweep of the region that has SWEEP_IAM=true");
        return Ok(Vec::new());
    }
    let nodegroups = aws.nodegroup_roles().await?;
    scan_roles(aws, settings, origin, &nodegroups).await
}

/// The scan of the account's roles, given the managed node groups (and their roles) of every
/// region it covers: the CLI reads IAM once per account, with the node groups of each region
/// it scans there.
pub async fn scan_roles(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    nodegroups: &[crate::aws::eks::NodegroupRole],
) -> Result<Vec<Outcome>, HandlerError> {
    let candidates: Vec<String> = aws
        .list_roles()
        .await?
        .into_iter()
        .filter(|r| detect::could_be_node_role(r, nodegroups))
        .map(|r| r.name)
        .collect();
    let per_role = crate::bounded::each(candidates, |name| {
        scan_role(aws, settings, origin, name, nodegroups)
    })
    .await;
    Ok(per_role.into_iter().flatten().collect())
}

/// One role of the scan. A failure is logged and leaves the role to the next sweep, keeping
/// the outcomes of what was already done so that each change is still alerted.
async fn scan_role(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    name: String,
    nodegroups: &[crate::aws::eks::NodegroupRole],
) -> Vec<Outcome> {
    let read = async {
        let Some(mut role) = read_role(aws, &name).await? else {
            return Ok(None);
        };
        let groups = detect::nodegroups_of(&name, nodegroups);
        if role.sign.is_none() && !groups.is_empty() {
            role.sign = Some(NodeSign::Nodegroups(groups));
        }
        let Some(sign) = role.sign.clone() else {
            return Ok(None);
        };
        let inline = aws.role_inline_policies(&name).await?;
        Ok::<_, AwsError>(Some((role, sign, inline)))
    };
    let (role, sign, inline) = match read.await {
        Ok(Some(read)) => read,
        Ok(None) => return Vec::new(),
        Err(error) => {
            tracing::warn!(role = %name, %error, "role left to the next sweep");
            return Vec::new();
        }
    };
    let exempt = guard::is_exempt(&role.tags, &settings.exempt_tag_key);
    let attached = role
        .attached
        .iter()
        .filter(|arn| !detect::is_protected(arn, settings))
        .map(|arn| Trigger::Attach {
            role: name.clone(),
            policy_arn: arn.clone(),
        });
    let inline = inline.into_iter().map(|policy_name| Trigger::PutInline {
        role: name.clone(),
        policy_name,
        document: None,
    });
    let mut outcomes = Vec::new();
    for trigger in attached.chain(inline) {
        let decision = match decide(aws, &trigger, &role, &sign, settings).await {
            Ok(d) => d,
            Err(error) => {
                tracing::warn!(role = %name, %error, "policy left to the next sweep");
                continue;
            }
        };
        let (made, error) = act(aws, settings, origin, &trigger, decision, exempt).await;
        if let Some(error) = error {
            tracing::warn!(role = %name, %error, "left to the next sweep");
        }
        outcomes.extend(made);
    }
    outcomes
}

async fn decide(
    aws: &Aws,
    trigger: &Trigger,
    role: &Role,
    sign: &NodeSign,
    settings: &Settings,
) -> Result<Decision<Change>, AwsError> {
    let why_node = sign.describe();
    match trigger {
        Trigger::Attach {
            role: name,
            policy_arn,
        } => {
            if !role.attached.contains(policy_arn) {
                return Ok(Decision::Resolved(format!(
                    "{policy_arn} is no longer attached"
                )));
            }
            let Some(judgement) = managed_policy_judgement(aws, policy_arn).await? else {
                return Ok(Decision::Resolved(format!("{policy_arn} no longer exists")));
            };
            let label = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
            let subject =
                format!("{label} attached to node role {name} ({why_node}; {policy_arn})");
            Ok(match judgement {
                Judgement::Safe => Decision::Nothing("the managed policy is not over-broad"),
                Judgement::Unreadable(why) => Decision::Alert {
                    finding: subject,
                    note: format!("{why}; check the policy by hand"),
                },
                Judgement::OverBroad(reasons) => Decision::Change {
                    finding: format!("{subject}: {}", reasons.join("; ")),
                    change: Change::Detach {
                        role: name.clone(),
                        policy_arn: policy_arn.clone(),
                    },
                    note: None,
                },
            })
        }
        Trigger::PutInline {
            role: name,
            policy_name,
            ..
        } => {
            let document = match aws.role_policy_document(name, policy_name).await {
                Ok(d) => d,
                Err(e) if e.is_not_found() => {
                    return Ok(Decision::Resolved(format!(
                        "inline policy {policy_name} no longer exists"
                    )))
                }
                Err(e) => return Err(e),
            };
            let subject = format!("inline policy {policy_name} on node role {name} ({why_node})");
            Ok(match detect::judge(&document) {
                Judgement::Safe => Decision::Resolved(format!(
                    "{subject} is no longer over-broad (replaced since the event)"
                )),
                Judgement::Unreadable(why) => Decision::Alert {
                    finding: subject,
                    note: format!("{why}; check the policy by hand"),
                },
                Judgement::OverBroad(reasons) => Decision::Change {
                    finding: format!("{subject}: {}", reasons.join("; ")),
                    change: Change::DeleteInline {
                        role: name.clone(),
                        policy_name: policy_name.clone(),
                        document: decoded(&document),
                    },
                    note: None,
                },
            })
        }
        Trigger::Exfiltration {
            kind,
            role: name,
            access_key,
            instance,
            ..
        } => {
            let place = if kind.ends_with("InsideAWS") {
                "from another AWS account"
            } else {
                "from outside AWS"
            };
            let groups = match sign {
                NodeSign::Nodegroups(groups) => {
                    format!(", node groups {}", detect::nodegroups(groups))
                }
                _ => String::new(),
            };
            let finding = format!(
                "{kind}: instance credentials of node role {name} (instance {}{groups}) used {place}",
                instance.as_deref().unwrap_or("unknown"),
            );
            let steps = format!(
                "First steps: review the calls made with access key {} in CloudTrail; isolate \
                 instance {} (a security group without rules) and keep it for forensics; find \
                 the workload that read the credentials (require IMDSv2 with a hop limit of 1, \
                 no hostNetwork pods); then replace the node.",
                access_key.as_deref().unwrap_or("(not in the finding)"),
                instance.as_deref().unwrap_or("(not in the finding)"),
            );
            if !settings.revoke_exfiltrated_sessions {
                return Ok(Decision::Alert {
                    finding,
                    note: format!(
                        "{steps} To cut off the stolen credentials, revoke the role's older \
                         sessions (REVOKE_EXFILTRATED_SESSIONS=true does it automatically)."
                    ),
                });
            }
            let before = DateTime::from(SystemTime::now())
                .fmt(DateTimeFormat::DateTime)
                .map_err(|e| AwsError {
                    operation: "PutRolePolicy",
                    resource: name.clone(),
                    kind: crate::error::AwsErrorKind::Other,
                    code: "Clock".to_owned(),
                    message: e.to_string(),
                })?;
            Ok(Decision::Change {
                finding,
                change: Change::RevokeSessions {
                    role: name.clone(),
                    before,
                },
                note: Some(format!(
                    "Every node on role {name} loses AWS access until it gets fresh instance \
                     credentials (EC2 rotates them within minutes; restarting a node is faster). \
                     {steps}"
                )),
            })
        }
    }
}

/// How broad a managed policy is: admin-level AWS managed policies by name, any other by its
/// default version's document. `None` when the policy no longer exists. Also what
/// guard-cluster-access asks of a Pod Identity role's policies.
pub async fn managed_policy_judgement(
    aws: &Aws,
    policy_arn: &str,
) -> Result<Option<Judgement>, AwsError> {
    if detect::is_admin_level(policy_arn) {
        return Ok(Some(Judgement::OverBroad(vec![
            "an admin-level AWS managed policy".to_owned(),
        ])));
    }
    match aws.managed_policy_document(policy_arn).await {
        Ok(document) => Ok(Some(detect::judge(&document))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Turns a decision into outcomes, making the change in remediate mode.
async fn act(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    trigger: &Trigger,
    decision: Decision<Change>,
    exempt: bool,
) -> (Vec<Outcome>, Option<AwsError>) {
    let exempt_on = exempt.then_some("the role");
    decision::act(aws, settings, decision, exempt_on, |status, finding| {
        outcome(origin, trigger, status, finding)
    })
    .await
}

fn outcome(origin: &Origin, trigger: &Trigger, status: Status, finding: String) -> Outcome {
    let role = trigger.role();
    Outcome {
        rule: RULE.name,
        status,
        resource: ResourceRef {
            kind: "iam-role",
            id: role.to_owned(),
            arn: Some(format!(
                "arn:{}:iam::{}:role/{role}",
                crate::domain::partition(&origin.region),
                origin.account
            )),
        },
        finding,
        actions: Vec::new(),
        undo: None,
        note: None,
        origin: origin.clone(),
    }
}

/// A document as IAM returns it (URL-encoded), decoded for people and for the undo command.
fn decoded(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_decode_str(document)
        .decode_utf8()
        .map(|d| d.into_owned())
        .unwrap_or_else(|_| document.to_owned())
}
