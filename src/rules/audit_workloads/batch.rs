//! Judging one CloudWatch Logs delivery of a cluster's audit log.
//!
//! Every event is parsed and judged in order (one that cannot be read is logged and
//! skipped). A workload written several times in one batch is judged once, as it was last
//! stored. ClusterRoles are remembered as they are written, so a binding later in the batch,
//! or in a later one through `DEDUPE_TABLE`, is judged with its role's rules. Workload
//! alerts are deduplicated in `DEDUPE_TABLE`; RBAC and aws-auth alerts always go out.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::{info, info_span, warn, Instrument};

use super::detect::{self, Judged};
use super::RULE;
use crate::aws::Aws;
use crate::domain::kubernetes::audit::AuditEvent;
use crate::domain::kubernetes::aws_auth::MastersMapping;
use crate::domain::kubernetes::rbac::{Binding, BindingFinding};
use crate::domain::kubernetes::workload::{Finding, Workload, WorkloadKind};
use crate::error::{AwsError, HandlerError};
use crate::intake::audit_log::{self, AuditBatch, Delivery};
use crate::outcome::{ActorRef, EventRef, Origin, Outcome, ResourceRef, Status};
use crate::runtime;
use crate::settings::Settings;

/// The `event.source` of outcomes found in an audit log.
pub const AUDIT_SOURCE: &str = "kubernetes.audit";

/// A workload alert waiting for its dedupe check.
struct Pending {
    outcome: Outcome,
    /// Its key in `DEDUPE_TABLE`.
    key: String,
}

/// Reads a CloudWatch Logs delivery, judging each audit event as it is read, then sends the
/// batch's alerts. An alert that cannot be sent fails the invocation
/// (after the others were tried), so Lambda delivers the batch again; its dedupe record is
/// released first, so the retry alerts it.
pub async fn judge(
    aws: &Aws,
    settings: &Settings,
    delivery: Value,
    now: i64,
) -> Result<Vec<Outcome>, HandlerError> {
    let read = audit_log::read(&delivery, |message| read_event(message, settings))?;
    drop(delivery);
    let batch = match read {
        Delivery::Audit(batch) => batch,
        Delivery::Other { why } => {
            info!(why, "nothing to judge in this delivery");
            return Ok(Vec::new());
        }
    };
    let span = info_span!("audit-workloads", cluster = %batch.cluster, stream = %batch.log_stream);
    judge_batch(aws, settings, batch, now)
        .instrument(span)
        .await
}

/// One log event as read: its judgement, who made the request and which it was. Events
/// skipped on reading are not kept.
pub struct ReadEvent {
    judged: Judged,
    actor: ActorRef,
    event: EventRef,
}

/// Parses and judges one log event's message; `None` when there is nothing to keep.
fn read_event(message: &str, settings: &Settings) -> Option<ReadEvent> {
    let event: AuditEvent = match serde_json::from_str(message) {
        Ok(e) => e,
        Err(error) => {
            warn!(%error, "skipped: the log event is not an audit event");
            return None;
        }
    };
    let judged = detect::judge(&event, settings);
    if let Judged::Skip(_) = judged {
        return None;
    }
    if let Judged::Unreadable(why) = &judged {
        warn!(audit_id = %event.audit_id, why, "skipped: the object cannot be read");
    }
    let (actor, event) = origin_of(&event);
    Some(ReadEvent {
        judged,
        actor,
        event,
    })
}

async fn judge_batch(
    aws: &Aws,
    settings: &Settings,
    batch: AuditBatch<ReadEvent>,
    now: i64,
) -> Result<Vec<Outcome>, HandlerError> {
    let region = aws.region().await;
    let mut workloads: BTreeMap<String, Pending> = BTreeMap::new();
    let mut immediate = Vec::new();
    let mut roles: BTreeMap<String, bool> = BTreeMap::new();
    let (mut judged, mut unreadable) = (0usize, 0usize);
    for read in batch.read {
        let origin = || Origin {
            account: batch.account.clone(),
            region: region.clone(),
            actor: Some(read.actor.clone()),
            event: read.event.clone(),
        };
        match read.judged {
            Judged::Skip(_) => {}
            Judged::Unreadable(_) => unreadable += 1,
            Judged::WorkloadClear {
                kind,
                namespace,
                name,
                why,
            } => {
                judged += 1;
                let id = workload_id(&batch.cluster, &namespace, kind, &name);
                if workloads.remove(&id).is_some() {
                    info!(resource = %id, why, "an earlier write in the batch is no longer its state");
                }
            }
            Judged::Workload { workload, findings } => {
                judged += 1;
                let outcome = workload_outcome(&batch.cluster, &workload, &findings, origin());
                let key = dedupe_key(&batch.cluster, &workload, &findings);
                // The last write of a workload in the batch is what it is now.
                workloads.insert(outcome.resource.id.clone(), Pending { outcome, key });
            }
            Judged::ClusterRole { name, wildcard } => {
                judged += 1;
                remember_role(aws, settings, &batch.cluster, &name, wildcard).await;
                roles.insert(name, wildcard);
            }
            Judged::Binding {
                kind,
                binding,
                exempt,
            } => {
                judged += 1;
                let wildcard = match detect::role_to_look_up(&binding) {
                    None => false,
                    Some(role) => match roles.get(role) {
                        Some(known) => *known,
                        None => {
                            let known = recalled_role(aws, settings, &batch.cluster, role).await;
                            roles.insert(role.to_owned(), known);
                            known
                        }
                    },
                };
                for finding in detect::judge_binding(&binding, wildcard, settings) {
                    immediate.push(binding_outcome(
                        &batch.cluster,
                        kind,
                        &binding,
                        &finding,
                        exempt,
                        settings,
                        origin(),
                    ));
                }
            }
            Judged::AwsAuth { masters } => {
                judged += 1;
                immediate.push(aws_auth_outcome(&batch.cluster, &masters, origin()));
            }
        }
    }
    info!(cluster = %batch.cluster, events = batch.events, judged, unreadable,
        workloads = workloads.len(), "batch judged");
    let mut first_error = None;
    let mut outcomes = Vec::new();
    for outcome in immediate {
        if let Err(e) = send(aws, settings, &outcome).await {
            first_error.get_or_insert(e);
        }
        outcomes.push(outcome);
    }
    let pending: Vec<Pending> = workloads.into_values().collect();
    let sent = crate::bounded::each(pending, |p| async move {
        let fresh = claim(aws, settings, &p.key, now).await;
        if !fresh {
            info!(resource = %p.outcome.resource.id, "already alerted with these findings");
            return (None, None);
        }
        match send(aws, settings, &p.outcome).await {
            Ok(()) => (Some(p.outcome), None),
            Err(e) => {
                release(aws, settings, &p.key).await;
                (Some(p.outcome), Some(e))
            }
        }
    })
    .await;
    for (outcome, error) in sent {
        outcomes.extend(outcome);
        if let Some(e) = error {
            first_error.get_or_insert(e);
        }
    }
    // Logged and counted once, together: one metric line per status, not one per alert.
    runtime::record(settings, &outcomes);
    match first_error {
        None => Ok(outcomes),
        Some(e) => Err(HandlerError::Aws(e)),
    }
}

/// Publishes one alert, saying if the publish failed.
async fn send(aws: &Aws, settings: &Settings, outcome: &Outcome) -> Result<(), AwsError> {
    let result = runtime::try_alert(aws, settings, outcome).await;
    if let Err(error) = &result {
        warn!(%error, resource = %outcome.resource.id, "alert not sent");
    }
    result
}

/// Whether to alert `key` now: always without a table; with one, unless it was alerted
/// within `REALERT_DAYS`. A table that cannot be reached does not silence an alert.
async fn claim(aws: &Aws, settings: &Settings, key: &str, now: i64) -> bool {
    let Some(table) = settings.dedupe_table.as_deref() else {
        return true;
    };
    let window = i64::from(settings.realert_days) * 86_400;
    match aws
        .claim_alert(table, key, now, now - window, now + window)
        .await
    {
        Ok(fresh) => fresh,
        Err(error) => {
            warn!(%error, key, "dedupe table not reachable: alerting");
            true
        }
    }
}

async fn release(aws: &Aws, settings: &Settings, key: &str) {
    if let Some(table) = settings.dedupe_table.as_deref() {
        if let Err(error) = aws.release_alert(table, key).await {
            warn!(%error, key, "dedupe record not released: the next delivery may not alert");
        }
    }
}

/// The table key of a ClusterRole that allows everything.
fn role_key(cluster: &str, role: &str) -> String {
    format!("clusterrole#{cluster}#{role}")
}

async fn remember_role(aws: &Aws, settings: &Settings, cluster: &str, role: &str, wildcard: bool) {
    if let Some(table) = settings.dedupe_table.as_deref() {
        if let Err(error) = aws
            .remember_flag(table, &role_key(cluster, role), wildcard)
            .await
        {
            warn!(%error, role, "ClusterRole not remembered");
        }
    }
}

async fn recalled_role(aws: &Aws, settings: &Settings, cluster: &str, role: &str) -> bool {
    let Some(table) = settings.dedupe_table.as_deref() else {
        return false;
    };
    aws.has_flag(table, &role_key(cluster, role))
        .await
        .unwrap_or_else(|error| {
            warn!(%error, role, "ClusterRole not recalled: judged as not all-powerful");
            false
        })
}

/// The dedupe key of a workload with its findings: cluster, namespace, kind, name and a hash
/// of the findings, so a changed set of findings is news and an unchanged one is not.
pub fn dedupe_key(cluster: &str, workload: &Workload, findings: &[Finding]) -> String {
    let mut codes: Vec<String> = findings.iter().map(Finding::code).collect();
    codes.sort_unstable();
    let digest = Sha256::digest(codes.join("\n").as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!(
        "workload#{cluster}#{}#{}#{}#{hash}",
        workload.meta.namespace,
        workload.kind.as_str(),
        workload.meta.name
    )
}

/// Who made an audit event's request (the Kubernetes user, with the IAM principal EKS
/// authenticated) and which request it was: with the log group's account and the function's
/// region, where its outcomes come from.
fn origin_of(event: &AuditEvent) -> (ActorRef, EventRef) {
    let user = &event.user;
    let actor = ActorRef {
        arn: user.iam_arn().unwrap_or(&user.username).to_owned(),
        kind: "KubernetesUser".to_owned(),
        username: Some(user.username.clone()),
        groups: user.groups.clone(),
    };
    let event = EventRef {
        source: AUDIT_SOURCE.to_owned(),
        name: format!("{} {}", event.verb, event.object_ref.resource),
        id: event.audit_id.clone(),
        time: if event.stage_timestamp.is_empty() {
            event.request_received_timestamp.clone()
        } else {
            event.stage_timestamp.clone()
        },
    };
    (actor, event)
}

fn alert(resource: ResourceRef, finding: String, note: String, origin: Origin) -> Outcome {
    Outcome {
        rule: RULE.name,
        status: Status::Alert,
        resource,
        finding,
        actions: Vec::new(),
        undo: None,
        note: Some(note),
        origin,
    }
}

fn workload_outcome(cluster: &str, w: &Workload, findings: &[Finding], origin: Origin) -> Outcome {
    let (ns, name, kind) = (&w.meta.namespace, &w.meta.name, w.kind);
    let described: Vec<String> = findings.iter().map(Finding::describe).collect();
    let mut note = format!(
        "Fix it in the manifests (or kubectl edit {} {name} -n {ns}):\n",
        kind.resource()
    );
    for f in findings {
        note.push_str(&format!("- {}:\n{}\n", f.describe(), indent(&f.fix(kind))));
    }
    alert(
        ResourceRef {
            kind: "k8s-workload",
            id: workload_id(cluster, ns, kind, name),
            arn: None,
        },
        format!("{} {ns}/{name}: {}", kind.as_str(), described.join("; ")),
        note,
        origin,
    )
}

/// A workload's resource id in alerts: `<cluster>/<namespace>/<Kind>/<name>`.
fn workload_id(cluster: &str, namespace: &str, kind: WorkloadKind, name: &str) -> String {
    format!("{cluster}/{namespace}/{}/{name}", kind.as_str())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn binding_outcome(
    cluster: &str,
    kind: &'static str,
    binding: &Binding,
    finding: &BindingFinding,
    exempt: bool,
    settings: &Settings,
    origin: Origin,
) -> Outcome {
    let meta = &binding.metadata;
    let (id, kubectl) = if kind == "RoleBinding" {
        (
            format!("{cluster}/{}/{kind}/{}", meta.namespace, meta.name),
            format!("rolebinding {} -n {}", meta.name, meta.namespace),
        )
    } else {
        (
            format!("{cluster}/{kind}/{}", meta.name),
            format!("clusterrolebinding {}", meta.name),
        )
    };
    let note = match finding {
        BindingFinding::Admin { .. } => format!(
            "Remove those subjects (kubectl edit {kubectl}) or the binding (kubectl delete {kubectl}). \
             Who needs to administer the cluster belongs in K8S_ADMIN_SUBJECTS; prefer a narrower \
             role, or an EKS access entry with a namespaced access policy."
        ),
        BindingFinding::Public { .. } => format!(
            "Anyone who can reach the API server gets this role. Remove those subjects \
             (kubectl edit {kubectl}) or the binding (kubectl delete {kubectl}); only the \
             built-in discovery roles are meant for them."
        ),
    };
    let mut o = alert(
        ResourceRef {
            kind: "k8s-binding",
            id,
            arn: None,
        },
        format!("{kind} {}: {}", meta.name, finding.describe()),
        note,
        origin,
    );
    if exempt {
        o.status = Status::Exempt;
        o.note = Some(format!(
            "exempt by label or annotation {}=true. {}",
            settings.exempt_tag_key,
            o.note.take().unwrap_or_default()
        ));
    }
    o
}

fn aws_auth_outcome(cluster: &str, masters: &[MastersMapping], origin: Origin) -> Outcome {
    let who: Vec<String> = masters
        .iter()
        .map(|m| format!("{} ({})", m.arn, m.list))
        .collect();
    alert(
        ResourceRef {
            kind: "aws-auth",
            id: format!("{cluster}/kube-system/ConfigMap/aws-auth"),
            arn: None,
        },
        format!("aws-auth maps {} into system:masters", who.join(", ")),
        "system:masters is cluster-admin that no RBAC binding shows and no access entry lists. \
         Remove the group from those entries (kubectl edit configmap aws-auth -n kube-system), \
         grant access with access entries and access policies instead, or add the ARN to \
         CLUSTER_ADMIN_PRINCIPALS if it must stay."
            .to_owned(),
        origin,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dedupe_key_names_the_workload_and_changes_with_the_findings_only() {
        let w = Workload::parse(
            WorkloadKind::Deployment,
            r#"{"metadata":{"name":"web","namespace":"shop"},"spec":{"replicas":1}}"#,
        )
        .unwrap();
        let a = [Finding::SingleReplica, Finding::NoCpuRequest("web".into())];
        let b = [Finding::NoCpuRequest("web".into()), Finding::SingleReplica];
        let key = dedupe_key("prod", &w, &a);
        assert!(
            key.starts_with("workload#prod#shop#Deployment#web#"),
            "{key}"
        );
        assert_eq!(key, dedupe_key("prod", &w, &b));
        assert_ne!(key, dedupe_key("prod", &w, &a[..1]));
        assert_ne!(key, dedupe_key("staging", &w, &a));
    }
}
