//! Rule `guard-cluster-access`: who can administer a cluster. Cluster-admin access policies
//! given to a principal outside `CLUSTER_ADMIN_PRINCIPALS` are disassociated (exactly that
//! policy; the access entry and its other policies stay); node access entries given to a
//! role that is no node are deleted; clusters created with a bootstrap admin or with the
//! unauditable aws-auth ConfigMap, Pod Identity roles with over-broad policies, and IRSA
//! trust policies without a precise subject and audience are alerted with their fix.
//!
//! Cluster admins can read every secret and run anything on every node, so a grant to the
//! wrong principal is an account-level risk that no other tool watches as it happens.

pub mod detect;
pub mod event;
pub mod remediate;
mod scan;

pub use self::scan::scan;

use serde_json::Value;
use tracing::{info, info_span, Instrument};

use self::detect::{Grant, RoleFacts, CONFIG_MAP};
use self::event::Trigger;
use self::remediate::Change;
use crate::aws::warm_up;
use crate::aws::Aws;
use crate::domain::access::{
    access_policy_name, is_allowed, AccessEntry, AccessScope, Principal, NODE_ENTRY_TYPES,
};
use crate::domain::shell_quote;
use crate::domain::trust::loose_trusts;
use crate::error::{AwsError, HandlerError};
use crate::guard;
use crate::intake::{Incoming, API_CALL};
use crate::outcome::{Origin, Outcome, ResourceRef, Status, Summary};
use crate::rules::decision::{self, Decision};
use crate::rules::detach_node_policy::detect::{judge, Judgement};
use crate::rules::detach_node_policy::managed_policy_judgement;
use crate::rules::{RuleInfo, Trigger as CatalogTrigger};
use crate::runtime;
use crate::settings::{Mode, Settings};

/// The catalog entry.
pub static RULE: RuleInfo = RuleInfo {
    name: "guard-cluster-access",
    summary: "Takes cluster-admin access policies from principals outside CLUSTER_ADMIN_PRINCIPALS and node access entries from non-node roles; alerts on bootstrap admins, CONFIG_MAP clusters, over-broad Pod Identity roles and loose IRSA trust",
    triggers: &[
        CatalogTrigger {
            source: "aws.eks",
            detail_type: API_CALL,
            names: event::EKS_EVENT_NAMES,
        },
        CatalogTrigger {
            source: "aws.iam",
            detail_type: API_CALL,
            names: event::IAM_EVENT_NAMES,
        },
    ],
    iam_actions: &[
        "eks:DescribeCluster",
        "eks:ListAccessEntries",
        "eks:DescribeAccessEntry",
        "eks:ListAssociatedAccessPolicies",
        "eks:DisassociateAccessPolicy",
        "eks:DeleteAccessEntry",
        "eks:DescribePodIdentityAssociation",
        "eks:ListClusters",
        "eks:ListNodegroups",
        "eks:DescribeNodegroup",
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:ListRoleTags",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "sns:Publish",
    ],
    warm_up: &[warm_up::EKS, warm_up::IAM, warm_up::SNS],
    settings: &[
        "MODE",
        "ALERT_TOPIC_ARN",
        "EXEMPT_TAG_KEY",
        "CLUSTER_ADMIN_PRINCIPALS",
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
    let Some((incoming, trigger, origin)) = runtime::triggered(event, settings, event::trigger)?
    else {
        return Ok(Vec::new());
    };
    let creator = creator(&incoming);
    let span = info_span!("guard-cluster-access", event_id = %origin.event.id,
        event = %origin.event.name, subject = %trigger.subject());
    async {
        if let Some(why) = detect::needs_no_look(&trigger, creator.as_deref(), settings) {
            info!(why, "nothing to do");
            return Ok(Vec::new());
        }
        let (decision, exempt, resource) =
            decide(aws, settings, &origin, &trigger, creator.as_deref()).await?;
        let (outcomes, error) =
            decision::act(aws, settings, decision, exempt, |status, finding| {
                outcome(&origin, resource.clone(), status, finding)
            })
            .await;
        runtime::conclude(aws, settings, outcomes, error).await
    }
    .instrument(span)
    .await
}

/// The IAM principal that made the call: the role behind an assumed-role session (as
/// `sessionIssuer` names it, with its path), or the user.
fn creator(incoming: &Incoming) -> Option<String> {
    let Incoming::ApiCall(call) = incoming else {
        return None;
    };
    let actor = call.record.user_identity.as_ref()?;
    let issuer = actor
        .session_context
        .as_ref()
        .and_then(|c| c.session_issuer.as_ref())
        .filter(|i| i.kind.as_deref() == Some("Role"))
        .and_then(|i| i.arn.clone());
    issuer.or_else(|| actor.arn.clone())
}

/// A decision, where the exemption tag was found (if it was), and the resource it is about.
type Decided = (Decision<Change>, Option<&'static str>, ResourceRef);

async fn decide(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    trigger: &Trigger,
    creator: Option<&str>,
) -> Result<Decided, AwsError> {
    if let Trigger::Trust { role, .. } = trigger {
        return trust(aws, settings, origin, role).await;
    }
    let Some(cluster) = trigger.cluster() else {
        let unknown = ResourceRef {
            kind: "eks-cluster",
            id: "unknown".to_owned(),
            arn: None,
        };
        return Ok((
            Decision::Nothing("the trigger names no cluster"),
            None,
            unknown,
        ));
    };
    let described = match aws.describe_cluster(cluster).await {
        Ok(c) => Some(c),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    let arn = described.as_ref().and_then(|c| c.arn.clone()).or_else(|| {
        Some(format!(
            "arn:{}:eks:{}:{}:cluster/{cluster}",
            crate::domain::partition(&origin.region),
            origin.region,
            origin.account
        ))
    });
    let exempt = described
        .as_ref()
        .is_some_and(|c| guard::is_exempt(&c.tags, &settings.exempt_tag_key))
        .then_some("the cluster");
    let resource = match trigger {
        Trigger::Associate { principal, .. } | Trigger::CreateEntry { principal, .. } => {
            ResourceRef {
                kind: "eks-access-entry",
                id: format!("{cluster}/{principal}"),
                arn,
            }
        }
        Trigger::PodIdentity { association_id, .. } => ResourceRef {
            kind: "eks-pod-identity-association",
            id: format!(
                "{cluster}/{}",
                association_id.as_deref().unwrap_or("unknown")
            ),
            arn,
        },
        _ => ResourceRef {
            kind: "eks-cluster",
            id: cluster.to_owned(),
            arn,
        },
    };
    if described.is_none() {
        let gone = Decision::Resolved(format!("cluster {cluster} no longer exists"));
        return Ok((gone, None, resource));
    }
    let decision = match trigger {
        Trigger::Associate {
            principal,
            policy_arn,
            ..
        } => associated(aws, cluster, principal, policy_arn).await?,
        Trigger::CreateEntry { principal, .. } => node_entry(aws, cluster, principal).await?,
        Trigger::CreateCluster {
            bootstrap_admin,
            authentication_mode,
            ..
        } => {
            created(
                aws,
                settings,
                cluster,
                *bootstrap_admin,
                authentication_mode,
                creator,
            )
            .await?
        }
        Trigger::PodIdentity { association_id, .. } => {
            let Some(id) = association_id else {
                let why = "the record names no association id";
                return Ok((Decision::Nothing(why), exempt, resource));
            };
            let (decision, role_exempt) = pod_identity(aws, settings, cluster, id).await?;
            return Ok((decision, exempt.or(role_exempt), resource));
        }
        Trigger::Trust { .. } => Decision::Nothing("not a cluster trigger"),
    };
    Ok((decision, exempt, resource))
}

/// An admin access policy given to a principal outside the allow-list: taken away if it is
/// still associated and still admin-level in its current scope.
async fn associated(
    aws: &Aws,
    cluster: &str,
    principal: &str,
    policy_arn: &str,
) -> Result<Decision<Change>, AwsError> {
    let current = match aws.associated_access_policies(cluster, principal).await {
        Ok(found) => found,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e),
    };
    let name = access_policy_name(policy_arn).unwrap_or(policy_arn);
    Ok(match detect::current_grant(&current, policy_arn) {
        Grant::Gone => {
            Decision::Resolved(format!("{name} is no longer associated with {principal}"))
        }
        Grant::Narrowed(scope) => Decision::Resolved(format!(
            "{name} now applies to {} only: no longer cluster admin",
            scope.describe()
        )),
        Grant::Admin(scope) => admin_change(cluster, principal, policy_arn, scope),
    })
}

/// Taking an admin access policy from a principal outside the allow-list.
fn admin_change(
    cluster: &str,
    principal: &str,
    policy_arn: &str,
    scope: AccessScope,
) -> Decision<Change> {
    let name = access_policy_name(policy_arn).unwrap_or(policy_arn);
    Decision::Change {
        finding: format!(
            "{name} over {} given to {principal} on cluster {cluster}; the principal is not in CLUSTER_ADMIN_PRINCIPALS",
            scope.describe()
        ),
        change: Change::Disassociate {
            cluster: cluster.to_owned(),
            principal: principal.to_owned(),
            policy_arn: policy_arn.to_owned(),
            scope,
        },
        note: Some(
            "Only this access policy is taken; the access entry and its other policies stay. \
             If the principal should administer the cluster, add it to CLUSTER_ADMIN_PRINCIPALS \
             and associate the policy again (the undo command)."
                .to_owned(),
        ),
    }
}

/// A node access entry: deleted unless its principal is a node (or Fargate) role.
async fn node_entry(
    aws: &Aws,
    cluster: &str,
    principal: &str,
) -> Result<Decision<Change>, AwsError> {
    let entry = match aws.access_entry(cluster, principal).await {
        Ok(entry) => entry,
        Err(e) if e.is_not_found() => {
            return Ok(Decision::Resolved(format!(
                "the access entry of {principal} no longer exists"
            )))
        }
        Err(e) => return Err(e),
    };
    if !NODE_ENTRY_TYPES.contains(&entry.kind.as_str()) {
        return Ok(Decision::Resolved(format!(
            "the access entry is now of type {}",
            entry.kind
        )));
    }
    node_entry_decision(aws, cluster, entry).await
}

/// A node access entry that exists: deleted unless its principal is a node (or Fargate) role.
async fn node_entry_decision(
    aws: &Aws,
    cluster: &str,
    entry: AccessEntry,
) -> Result<Decision<Change>, AwsError> {
    let principal = entry.principal_arn.clone();
    let parsed = Principal::parse(&principal);
    let sign = match &parsed {
        Some(p) if p.kind == crate::domain::access::PrincipalKind::Role => {
            role_sign(aws, &entry.kind, p).await?
        }
        _ => None,
    };
    if let Some(sign) = sign {
        info!(%sign, "a node role");
        return Ok(Decision::Nothing("the principal is a node role"));
    }
    let kind = entry.kind.clone();
    Ok(Decision::Change {
        finding: format!(
            "access entry of type {kind} on cluster {cluster} gives node identity to {principal}, \
             which is no node role (no worker-node or Fargate policy, node-role tag or node group)"
        ),
        change: Change::DeleteEntry {
            cluster: cluster.to_owned(),
            entry,
        },
        note: Some(format!(
            "A node's identity lets its holder read the secrets of the pods on every node and pose \
             as a node to the API server. If this role does run nodes, tag it {}=true and \
             recreate the entry with the undo command.",
            crate::rules::detach_node_policy::detect::NODE_ROLE_MARK
        )),
    })
}

/// Why the role is a node role, reading only what the cheaper signs leave open.
async fn role_sign(
    aws: &Aws,
    kind: &str,
    principal: &Principal,
) -> Result<Option<String>, AwsError> {
    let role = principal.name.as_str();
    let attached = match aws.attached_role_policies(role).await {
        Ok(a) => a,
        // A role that no longer exists runs nothing.
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let facts = match aws.role_trust(role).await {
        Ok(f) => f,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let cheap = RoleFacts {
        attached: &attached,
        tags: &facts.tags,
        trust: facts.trust.as_deref(),
        nodegroups: &[],
    };
    if let Some(sign) = detect::node_role_sign(kind, principal, Some(cheap)) {
        return Ok(Some(sign));
    }
    if kind == "FARGATE_LINUX" {
        return Ok(None);
    }
    let nodegroups = aws.nodegroup_roles().await?;
    let all = RoleFacts {
        attached: &attached,
        tags: &facts.tags,
        trust: facts.trust.as_deref(),
        nodegroups: &nodegroups,
    };
    Ok(detect::node_role_sign(kind, principal, Some(all)))
}

/// A new cluster: the bootstrap admin (while it still holds its access entry) and the
/// aws-auth-only authentication mode are alerted, never changed (the first would lock
/// everyone out, the second is one-way).
async fn created(
    aws: &Aws,
    settings: &Settings,
    cluster: &str,
    bootstrap_admin: bool,
    mode: &str,
    creator: Option<&str>,
) -> Result<Decision<Change>, AwsError> {
    let mut findings = Vec::new();
    let mut fixes = Vec::new();
    let q = shell_quote(cluster);
    let creator_unlisted = creator.filter(|c| !is_allowed(c, &settings.cluster_admin_principals));
    if let (true, Some(who)) = (bootstrap_admin, creator_unlisted) {
        let still_there = if mode == CONFIG_MAP {
            true
        } else {
            match aws.access_entries(cluster).await {
                Ok(entries) => {
                    let who = Principal::parse(who);
                    entries.iter().any(|e| Principal::parse(e) == who)
                }
                Err(e) if e.is_not_found() => false,
                Err(e) => return Err(e),
            }
        };
        if still_there {
            findings.push(format!(
                "{who} created cluster {cluster} and was made its cluster admin \
                 (bootstrapClusterCreatorAdminPermissions)"
            ));
            fixes.push(if mode == CONFIG_MAP {
                "The creator's admin access cannot be removed while the cluster uses CONFIG_MAP; \
                 switch the authentication mode first (below)."
                    .to_owned()
            } else {
                format!(
                    "Once a principal in CLUSTER_ADMIN_PRINCIPALS has an access entry with \
                     AmazonEKSClusterAdminPolicy, remove the creator's: aws eks delete-access-entry \
                     --cluster-name {q} --principal-arn {}",
                    shell_quote(who)
                )
            });
        }
    }
    if mode == CONFIG_MAP {
        let (finding, fix) = config_map(cluster);
        findings.push(finding);
        fixes.push(fix);
    }
    if findings.is_empty() {
        return Ok(Decision::Resolved(
            "the creator's bootstrap access entry is already gone".to_owned(),
        ));
    }
    Ok(Decision::Alert {
        finding: findings.join("; "),
        note: fixes.join(" "),
    })
}

/// The finding and the fix for a cluster whose access is set in the aws-auth ConfigMap only.
fn config_map(cluster: &str) -> (String, String) {
    (
        format!(
            "cluster {cluster} uses authentication mode CONFIG_MAP: who can administer it is set in \
             the aws-auth ConfigMap, which the AWS API cannot audit"
        ),
        format!(
            "Switch to access entries (one-way, so never done automatically): aws eks \
             update-cluster-config --name {} --access-config authenticationMode=API_AND_CONFIG_MAP, \
             then move aws-auth's mappings to access entries.",
            shell_quote(cluster)
        ),
    )
}

/// A service account given a role through Pod Identity: its attached and inline policies are
/// judged as detach-node-policy judges a node role's. Alerted only: narrowing the role would
/// break the workload. Returns also whether the role carries the exemption tag.
async fn pod_identity(
    aws: &Aws,
    settings: &Settings,
    cluster: &str,
    id: &str,
) -> Result<(Decision<Change>, Option<&'static str>), AwsError> {
    let association = match aws.pod_identity(cluster, id).await {
        Ok(a) => a,
        Err(e) if e.is_not_found() => {
            return Ok((
                Decision::Resolved(format!("association {id} no longer exists")),
                None,
            ))
        }
        Err(e) => return Err(e),
    };
    let Some(role) = Principal::parse(&association.role_arn) else {
        return Ok((Decision::Nothing("the association names no IAM role"), None));
    };
    let name = role.name.as_str();
    let gone = |e: AwsError| -> Result<(Decision<Change>, Option<&'static str>), AwsError> {
        if e.is_not_found() {
            Ok((
                Decision::Resolved(format!("role {name} no longer exists")),
                None,
            ))
        } else {
            Err(e)
        }
    };
    let tags = match aws.role_tags(name).await {
        Ok(t) => t,
        Err(e) => return gone(e),
    };
    let exempt = guard::is_exempt(&tags, &settings.exempt_tag_key).then_some("the role");
    let attached = match aws.attached_role_policies(name).await {
        Ok(a) => a,
        Err(e) => return gone(e),
    };
    let mut broad = Vec::new();
    let mut unreadable = Vec::new();
    for arn in &attached {
        if let Some(judgement) = managed_policy_judgement(aws, arn).await? {
            note_judgement(arn, judgement, &mut broad, &mut unreadable);
        }
    }
    let inline = match aws.role_inline_policies(name).await {
        Ok(i) => i,
        Err(e) => return gone(e),
    };
    for policy in &inline {
        match aws.role_policy_document(name, policy).await {
            Ok(document) => note_judgement(
                &format!("inline {policy}"),
                judge(&document),
                &mut broad,
                &mut unreadable,
            ),
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        }
    }
    if broad.is_empty() && unreadable.is_empty() {
        return Ok((
            Decision::Nothing("the role's policies are not over-broad"),
            exempt,
        ));
    }
    let mut finding = format!(
        "service account {}/{} on cluster {cluster} runs with role {name} (Pod Identity association {id})",
        association.namespace, association.service_account
    );
    if !broad.is_empty() {
        finding.push_str(&format!(
            ", whose policies are over-broad: {}",
            broad.join("; ")
        ));
    }
    if !unreadable.is_empty() {
        finding.push_str(&format!(
            ", and whose policies could not be read: {}",
            unreadable.join("; ")
        ));
    }
    let note = format!(
        "Not changed automatically: the workload would lose access. Narrow role {name} to the \
         actions and resources the workload uses (IAM Access Analyzer can generate a policy from \
         its CloudTrail activity), attach that, then remove each listed policy, e.g. aws iam \
         detach-role-policy --role-name {} --policy-arn <arn> or aws iam delete-role-policy \
         --role-name {} --policy-name <name>.",
        shell_quote(name),
        shell_quote(name)
    );
    Ok((Decision::Alert { finding, note }, exempt))
}

fn note_judgement(
    label: &str,
    judgement: Judgement,
    broad: &mut Vec<String>,
    unreadable: &mut Vec<String>,
) {
    match judgement {
        Judgement::Safe => {}
        Judgement::OverBroad(reasons) => broad.push(format!("{label} ({})", reasons.join(", "))),
        Judgement::Unreadable(why) => unreadable.push(format!("{label} ({why})")),
    }
}

/// A role whose trust policy was written: alerted while it trusts an EKS OIDC provider without
/// a precise subject and audience, with the corrected condition.
async fn trust(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    role: &str,
) -> Result<Decided, AwsError> {
    let resource = ResourceRef {
        kind: "iam-role",
        id: role.to_owned(),
        arn: Some(format!(
            "arn:{}:iam::{}:role/{role}",
            crate::domain::partition(&origin.region),
            origin.account
        )),
    };
    let current = match aws.role_trust(role).await {
        Ok(c) => c,
        Err(e) if e.is_not_found() => {
            return Ok((
                Decision::Resolved(format!("role {role} no longer exists")),
                None,
                resource,
            ))
        }
        Err(e) => return Err(e),
    };
    let exempt = guard::is_exempt(&current.tags, &settings.exempt_tag_key).then_some("the role");
    let Some(document) = current.trust else {
        return Ok((
            Decision::Nothing("the role has no trust policy"),
            exempt,
            resource,
        ));
    };
    let loose = match loose_trusts(&document) {
        Ok(l) => l,
        Err(e) => {
            let decision = Decision::Alert {
                finding: format!("the trust policy of role {role} could not be read"),
                note: format!("{e}; check it by hand"),
            };
            return Ok((decision, exempt, resource));
        }
    };
    if loose.is_empty() {
        let why = format!("the trust policy of role {role} is precise now");
        return Ok((Decision::Resolved(why), exempt, resource));
    }
    let finding = format!(
        "role {role} trusts an EKS cluster's OIDC provider loosely: {}",
        loose
            .iter()
            .map(|l| format!(
                "statement {} ({}): {}",
                l.statement,
                l.provider,
                l.gaps
                    .iter()
                    .map(|g| g.describe())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let corrected = loose
        .iter()
        .map(|l| {
            format!(
                "statement {}: \"Condition\": {}",
                l.statement,
                l.corrected_condition()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let note = format!(
        "Not changed automatically: the workloads that assume it would break. Pin each statement \
         to one service account and the STS audience ({corrected}), then aws iam \
         update-assume-role-policy --role-name {} --policy-document file://trust.json",
        shell_quote(role)
    );
    Ok((Decision::Alert { finding, note }, exempt, resource))
}

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
