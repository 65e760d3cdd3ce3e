//! Rule `enforce-cluster-config`: an EKS cluster's API endpoint is not public (or only to an
//! allow-list), all five control-plane log types reach CloudWatch, Kubernetes secrets are
//! envelope-encrypted with KMS, and deletion protection, once on, stays on. Choosing extended
//! support (and its price) is reported.
//!
//! EKS creates clusters with a public endpoint and no logs by default, and anyone with
//! `eks:UpdateClusterConfig` can switch them back. EKS applies one update per call and one at
//! a time, and a new cluster is `CREATING` for ten minutes or more, so each attempt reads the
//! cluster, applies what is still needed in order, and hands the rest to [`crate::retry`]
//! when EKS is busy. The one alert goes out when everything is done or given up.

pub mod detect;
pub mod event;
pub mod hygiene;
pub mod remediate;

use serde_json::Value;
use tracing::{info, info_span, warn, Instrument};

use self::detect::{Assessment, Fix};
use self::event::Trigger;
use crate::aws::warm_up;
use crate::aws::Aws;
use crate::domain::{Cluster, Readiness};
use crate::error::{AwsError, AwsErrorKind, HandlerError};
use crate::guard;
use crate::intake::API_CALL;
use crate::outcome::{Deferred, Origin, Outcome, ResourceRef, Status, Summary};
use crate::retry::{self, Later, Progress};
use crate::rules::{RuleInfo, Trigger as CatalogTrigger};
use crate::runtime;
use crate::settings::{Mode, Settings};

/// The catalog entry.
pub static RULE: RuleInfo = RuleInfo {
    name: "enforce-cluster-config",
    summary: "Makes EKS API endpoints private (or allow-listed), re-enables control-plane logs and deletion protection, and reports or adds secrets encryption",
    triggers: &[CatalogTrigger {
        source: "aws.eks",
        detail_type: API_CALL,
        names: event::EVENT_NAMES,
    }],
    iam_actions: &[
        "eks:DescribeCluster",
        "eks:UpdateClusterConfig",
        "eks:AssociateEncryptionConfig",
        // EKS needs these from the caller of AssociateEncryptionConfig; granted only when
        // KMS_KEY_ARN is set.
        "kms:DescribeKey",
        "kms:CreateGrant",
        "sns:Publish",
        "sqs:SendMessage",
    ],
    warm_up: &[warm_up::EKS, warm_up::SNS, warm_up::SQS],
    settings: &[
        "MODE",
        "ALERT_TOPIC_ARN",
        "EXEMPT_TAG_KEY",
        "PUBLIC_ACCESS_CIDRS",
        "KMS_KEY_ARN",
        "DELETION_PROTECTION",
        "SELF_ROLE_ARNS",
        "RETRY_QUEUE_URL",
        "DEAD_LETTER_QUEUE_URL",
        "RETRY_DELAY_SECONDS",
        "RETRY_MAX_ATTEMPTS",
    ],
    default_mode: Mode::Remediate,
    is_trigger: |incoming| matches!(event::trigger(incoming), Ok(Some(_))),
};

/// What one event (or one retry of it) came to.
#[derive(Debug, Default)]
struct Run {
    outcomes: Vec<Outcome>,
    deferred: Vec<Deferred>,
}

/// Handles one EventBridge event, or one SQS batch from the retry queue: the function's entry
/// point. In a batch, each record that fails is reported in `batchItemFailures` so SQS
/// delivers it again, and the others are not repeated.
pub async fn handle(aws: &Aws, settings: &Settings, event: Value) -> Result<Summary, HandlerError> {
    if !retry::is_batch(&event) {
        let run = attempt(aws, settings, event, Progress::first()).await?;
        return Ok(summary(run));
    }
    let batch = retry::batch(event)?;
    let mut all = Run::default();
    let mut failed = Vec::new();
    for record in &batch.records {
        let id = record.message_id.clone().unwrap_or_default();
        let result = match retry::message(record, RULE.name) {
            Ok(Some(message)) => attempt(aws, settings, message.event, message.progress).await,
            Ok(None) => {
                info!(message_id = %id, "retry message for another rule; dropped");
                Ok(Run::default())
            }
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(run) => {
                all.outcomes.extend(run.outcomes);
                all.deferred.extend(run.deferred);
            }
            Err(error) => {
                warn!(message_id = %id, %error, "retry failed; SQS will deliver it again");
                failed.push(id);
            }
        }
    }
    Ok(Summary {
        batch_item_failures: Some(retry::failures(failed)),
        ..summary(all)
    })
}

/// Handles one EventBridge event and returns the full outcomes; the CLI's `replay` shows them.
pub async fn outcomes(
    aws: &Aws,
    settings: &Settings,
    event: Value,
) -> Result<Vec<Outcome>, HandlerError> {
    attempt(aws, settings, event, Progress::first())
        .await
        .map(|run| run.outcomes)
}

/// The sweep's scan: every cluster of the region judged as if it had just been created,
/// remediated or reported per `settings` like an event's. A busy cluster is reported by the
/// outcomes made so far and left to the next sweep (no retry queue for a sweep).
pub async fn scan(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
) -> Result<Vec<Outcome>, HandlerError> {
    let settings = Settings {
        retry_queue_url: None,
        dead_letter_queue_url: None,
        ..settings.clone()
    };
    let mut outcomes = Vec::new();
    for cluster in aws.list_clusters().await? {
        let trigger = Trigger {
            kind: event::Kind::Create,
            cluster: cluster.clone(),
            asked: event::Asked::default(),
        };
        let mut job = Job {
            aws,
            settings: &settings,
            origin: origin.clone(),
            event: Value::Null,
            progress: Progress::first(),
        };
        match job.run(&trigger).await {
            Ok(run) => outcomes.extend(run.outcomes),
            Err((partial, error)) => {
                warn!(%cluster, %error, "cluster left to the next sweep");
                outcomes.extend(partial);
            }
        }
    }
    Ok(outcomes)
}

/// The sweep's version hygiene over every cluster ([`hygiene`]): a Kubernetes version within
/// `SUPPORT_WARNING_DAYS` of the end of its standard support, in extended support or past its
/// end, and a `coredns` add-on not made for the cluster's version. Alerts only, judged on the
/// day of the sweep (`origin`'s time). moto implements none of `DescribeClusterVersions`,
/// `DescribeAddon` and `DescribeAddonVersions`; the tests answer them with recorded responses.
pub async fn scan_versions(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
) -> Result<Vec<Outcome>, HandlerError> {
    let today = crate::domain::versions::Day::parse_rfc3339(&origin.event.time)
        .unwrap_or_else(crate::domain::versions::Day::today);
    let names = aws.list_clusters().await?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let versions = aws.cluster_versions().await?;
    let clusters = crate::bounded::each(names, |name| async move {
        match aws.describe_cluster(&name).await {
            Err(e) if e.is_not_found() => Ok(None),
            other => other.map(Some),
        }
    })
    .await;
    let mut compatible = std::collections::BTreeMap::new();
    let mut outcomes = Vec::new();
    for cluster in clusters {
        let Some(cluster) = cluster? else { continue };
        let mut findings: Vec<hygiene::Finding> =
            hygiene::version_finding(&cluster, &versions, today, settings.support_warning_days)
                .into_iter()
                .collect();
        if let (Some(kubernetes), Some(installed)) = (
            cluster.version.clone(),
            aws.addon_version(&cluster.name, "coredns").await?,
        ) {
            if !compatible.contains_key(&kubernetes) {
                let listed = aws
                    .compatible_addon_versions("coredns", &kubernetes)
                    .await?;
                compatible.insert(kubernetes.clone(), listed);
            }
            let listed = compatible
                .get(&kubernetes)
                .map(Vec::as_slice)
                .unwrap_or_default();
            findings.extend(hygiene::coredns_finding(
                &cluster,
                &kubernetes,
                &installed,
                listed,
            ));
        }
        let exempt = guard::is_exempt(&cluster.tags, &settings.exempt_tag_key);
        for found in findings {
            outcomes.push(Outcome {
                rule: RULE.name,
                status: if exempt {
                    Status::Exempt
                } else {
                    Status::Alert
                },
                resource: cluster_ref(origin, &cluster.name, Some(&cluster)),
                finding: found.finding,
                actions: Vec::new(),
                undo: None,
                note: Some(found.note),
                origin: origin.clone(),
            });
        }
    }
    Ok(outcomes)
}

fn summary(run: Run) -> Summary {
    Summary {
        deferred: run.deferred,
        ..Summary::of(&run.outcomes)
    }
}

/// One attempt at one event: read the cluster, decide, act, and alert or defer.
async fn attempt(
    aws: &Aws,
    settings: &Settings,
    event: Value,
    progress: Progress,
) -> Result<Run, HandlerError> {
    let original = event.clone();
    let Some((_, trigger, origin)) = runtime::triggered(event, settings, event::trigger)? else {
        return Ok(Run::default());
    };
    let span = info_span!("enforce-cluster-config", event_id = %origin.event.id,
        event = %origin.event.name, cluster = %trigger.cluster, attempt = progress.attempt);
    async {
        if !detect::worth_a_look(&trigger, settings) {
            info!("the request left nothing unsafe");
            return Ok(Run::default());
        }
        let mut job = Job {
            aws,
            settings,
            origin,
            event: original,
            progress,
        };
        let run = job.run(&trigger).await;
        let outcomes = match &run {
            Ok(run) => &run.outcomes[..],
            Err((outcomes, _)) => &outcomes[..],
        };
        runtime::deliver(aws, settings, outcomes).await;
        run.map_err(|(_, error)| error)
    }
    .instrument(span)
    .await
}

/// An attempt under way: what it needs to act, alert and defer.
struct Job<'a> {
    aws: &'a Aws,
    settings: &'a Settings,
    origin: Origin,
    /// The original EventBridge event, for the retry and dead-letter queues.
    event: Value,
    progress: Progress,
}

/// Outcomes to deliver, and the error that fails the invocation after they are delivered.
type Failure = (Vec<Outcome>, HandlerError);

impl Job<'_> {
    async fn run(&mut self, trigger: &Trigger) -> Result<Run, Failure> {
        let cluster = match self.aws.describe_cluster(&trigger.cluster).await {
            Ok(cluster) => cluster,
            Err(e) if e.is_not_found() => {
                return Ok(self.finished_early(
                    &trigger.cluster,
                    None,
                    "the cluster no longer exists",
                ));
            }
            Err(e) => return Err((Vec::new(), e.into())),
        };
        if cluster.readiness() == Readiness::Gone {
            let why = format!(
                "the cluster is {}",
                cluster.status.as_deref().unwrap_or("gone")
            );
            return Ok(self.finished_early(&cluster.name, Some(&cluster), &why));
        }
        let assessment = detect::assess(&cluster, self.settings, trigger);
        if self.progress.found.is_empty() {
            self.progress.found = assessment.findings.clone();
        }
        if assessment.findings.is_empty() {
            return Ok(self.finished_early(&cluster.name, Some(&cluster), "already safe"));
        }
        if guard::is_exempt(&cluster.tags, &self.settings.exempt_tag_key) {
            let note = if assessment.fixes.is_empty() {
                format!(
                    "exempt by tag {}=true; without it this would be alerted",
                    self.settings.exempt_tag_key
                )
            } else {
                format!(
                    "exempt by tag {}=true; without it this would run: {}",
                    self.settings.exempt_tag_key,
                    actions(&assessment.fixes, &cluster.name).join(", ")
                )
            };
            return Ok(self.one(self.outcome(
                &cluster,
                &assessment,
                Status::Exempt,
                Vec::new(),
                Some(note),
            )));
        }
        if assessment.fixes.is_empty() {
            let outcome = self.outcome(&cluster, &assessment, Status::Alert, Vec::new(), None);
            return Ok(self.one(outcome));
        }
        if self.settings.mode == Mode::AlertOnly {
            let undo: Vec<String> = assessment
                .fixes
                .iter()
                .filter_map(|f| f.undo(&cluster.name, &self.origin.region))
                .collect();
            let mut note = vec!["alert-only mode: nothing was changed".to_owned()];
            note.extend(self.alert_notes(&cluster.name, &assessment));
            let mut outcome = self.outcome(
                &cluster,
                &assessment,
                Status::WouldRemediate,
                actions(&assessment.fixes, &cluster.name),
                Some(note.join("; ")),
            );
            outcome.undo = join_undo(&undo);
            return Ok(self.one(outcome));
        }
        if cluster.readiness() == Readiness::Busy {
            let why = AwsError {
                operation: "DescribeCluster",
                resource: cluster.name.clone(),
                kind: AwsErrorKind::InProgress,
                code: format!("Cluster{}", cluster.status.as_deref().unwrap_or("Busy")),
                message: format!(
                    "cluster is {}; EKS accepts no update until it is ACTIVE",
                    cluster.status.as_deref().unwrap_or("busy")
                ),
            };
            return self
                .defer(&cluster, &assessment, &assessment.fixes, why)
                .await;
        }
        for (i, fix) in assessment.fixes.iter().enumerate() {
            match fix.apply(self.aws, &cluster.name).await {
                Ok(()) => {
                    info!(action = %fix.action(&cluster.name), "applied");
                    self.progress.record(
                        fix.action(&cluster.name),
                        fix.undo(&cluster.name, &self.origin.region),
                    );
                }
                Err(e) if e.kind == AwsErrorKind::InProgress => {
                    return self
                        .defer(&cluster, &assessment, &assessment.fixes[i..], e)
                        .await;
                }
                Err(e) if e.is_not_found() => {
                    return Ok(self.finished_early(
                        &cluster.name,
                        Some(&cluster),
                        "the cluster no longer exists",
                    ));
                }
                Err(e) => {
                    let outcome = self.failed(
                        &cluster,
                        &assessment,
                        &assessment.fixes[i..],
                        &e.to_string(),
                    );
                    return Err((vec![outcome], e.into()));
                }
            }
        }
        let outcome = self.remediated(&cluster, &assessment);
        Ok(self.one(outcome))
    }

    fn one(&self, outcome: Outcome) -> Run {
        Run {
            outcomes: vec![outcome],
            deferred: Vec::new(),
        }
    }

    /// Nothing (more) to do: `remediated` if earlier attempts did something, else `resolved`.
    fn finished_early(&self, name: &str, cluster: Option<&Cluster>, why: &str) -> Run {
        let resource = self.resource(name, cluster);
        let status = if self.progress.done.is_empty() {
            Status::Resolved
        } else {
            Status::Remediated
        };
        self.one(Outcome {
            rule: RULE.name,
            status,
            resource,
            finding: self.finding(why),
            actions: self.progress.done.clone(),
            undo: join_undo(&self.progress.undo),
            note: Some(why.to_owned()),
            origin: self.origin.clone(),
        })
    }

    /// EKS is busy: send the event back for later, or give up when the attempts are used up.
    async fn defer(
        &self,
        cluster: &Cluster,
        assessment: &Assessment,
        pending: &[Fix],
        why: AwsError,
    ) -> Result<Run, Failure> {
        info!(%why, "cluster busy");
        match retry::later(
            self.aws,
            self.settings,
            RULE.name,
            &self.event,
            &self.progress,
        )
        .await
        {
            Ok(Later::Queued {
                attempt,
                delay_seconds,
            }) => Ok(Run {
                outcomes: Vec::new(),
                deferred: vec![Deferred {
                    rule: RULE.name,
                    resource: cluster.name.clone(),
                    attempt,
                    delay_seconds,
                    pending: actions(pending, &cluster.name),
                }],
            }),
            Ok(Later::NoQueue) => {
                // Lambda retries the whole event; report what is done now, or it is lost.
                let outcomes = if self.progress.done.is_empty() {
                    Vec::new()
                } else {
                    let mut outcome = self.remediated(cluster, assessment);
                    outcome.note = Some(format!(
                        "not done yet, EKS is busy: {}; Lambda will retry the event",
                        actions(pending, &cluster.name).join(", ")
                    ));
                    vec![outcome]
                };
                Err((outcomes, why.into()))
            }
            Ok(Later::Exhausted) => {
                let reason = format!(
                    "EKS stayed busy for {} attempts, {} s apart: {why}",
                    self.progress.attempt, self.settings.retry_delay_seconds
                );
                let kept =
                    retry::dead_letter(self.aws, self.settings, RULE.name, &self.event, &reason)
                        .await;
                let where_kept = match &kept {
                    Ok(true) => "the event is kept in the dead-letter queue",
                    _ => "Lambda keeps the event in its dead-letter queue",
                };
                let outcome = self.failed(
                    cluster,
                    assessment,
                    pending,
                    &format!("{reason}; {where_kept}"),
                );
                match kept {
                    Ok(true) => Ok(self.one(outcome)),
                    Ok(false) => Err((vec![outcome], why.into())),
                    Err(e) => Err((vec![outcome], e.into())),
                }
            }
            Err(e) => Err((Vec::new(), e.into())),
        }
    }

    fn remediated(&self, cluster: &Cluster, assessment: &Assessment) -> Outcome {
        let mut notes = Vec::new();
        if assessment
            .fixes
            .iter()
            .any(|f| matches!(f, Fix::Encrypt { .. }))
        {
            notes.push(
                "secrets encryption cannot be removed once associated; this part has no undo"
                    .to_owned(),
            );
        }
        notes.extend(self.alert_notes(&cluster.name, assessment));
        let mut outcome = self.outcome(
            cluster,
            assessment,
            Status::Remediated,
            self.progress.done.clone(),
            (!notes.is_empty()).then(|| notes.join("; ")),
        );
        outcome.undo = join_undo(&self.progress.undo);
        outcome
    }

    fn failed(
        &self,
        cluster: &Cluster,
        assessment: &Assessment,
        pending: &[Fix],
        why: &str,
    ) -> Outcome {
        let mut note = why.to_owned();
        if !self.progress.done.is_empty() {
            note = format!("done before: {}; {note}", self.progress.done.join(", "));
        }
        let mut outcome = self.outcome(
            cluster,
            assessment,
            Status::Failed,
            actions(pending, &cluster.name),
            Some(note),
        );
        outcome.undo = join_undo(&self.progress.undo);
        outcome
    }

    fn outcome(
        &self,
        cluster: &Cluster,
        assessment: &Assessment,
        status: Status,
        actions: Vec<String>,
        note: Option<String>,
    ) -> Outcome {
        let note = match (status, note) {
            (Status::Alert, None) => {
                let notes = self.alert_notes(&cluster.name, assessment);
                (!notes.is_empty()).then(|| notes.join("; "))
            }
            (_, note) => note,
        };
        Outcome {
            rule: RULE.name,
            status,
            resource: self.resource(&cluster.name, Some(cluster)),
            finding: self.finding(&assessment.findings.join("; ")),
            actions,
            undo: None,
            note,
            origin: self.origin.clone(),
        }
    }

    /// What people must decide about the parts of `assessment` this rule only reports.
    fn alert_notes(&self, cluster: &str, assessment: &Assessment) -> Vec<String> {
        let mut notes = Vec::new();
        if assessment.needs_key {
            notes.push(needs_key_note());
        }
        if assessment.unprotected {
            notes.push(unprotected_note(cluster, &self.origin.region));
        }
        if assessment.extended_support {
            notes.push(extended_support_note(cluster, &self.origin.region));
        }
        notes
    }

    /// What the first attempt found unsafe, or `fallback` when it found nothing.
    fn finding(&self, fallback: &str) -> String {
        if self.progress.found.is_empty() {
            fallback.to_owned()
        } else {
            self.progress.found.join("; ")
        }
    }

    fn resource(&self, name: &str, cluster: Option<&Cluster>) -> ResourceRef {
        cluster_ref(&self.origin, name, cluster)
    }
}

fn actions(fixes: &[Fix], cluster: &str) -> Vec<String> {
    fixes.iter().map(|f| f.action(cluster)).collect()
}

/// Undo commands, one per line, in the order to run them (EKS takes one update at a time).
fn join_undo(undo: &[String]) -> Option<String> {
    (!undo.is_empty()).then(|| undo.join("\n"))
}

fn needs_key_note() -> String {
    "no KMS_KEY_ARN is set, so secrets encryption was not added: choose a key and run \
     aws eks associate-encryption-config (it cannot be undone)"
        .to_owned()
}

/// Deletion protection is left to people unless `DELETION_PROTECTION=enforce`: it also stops
/// the cluster's owners from deleting it, which they may mean to do.
fn unprotected_note(cluster: &str, region: &str) -> String {
    format!(
        "DELETION_PROTECTION=alert, so deletion protection was not turned on: to protect the \
         cluster run aws eks update-cluster-config --region {region} --name {} \
         --deletion-protection (DELETION_PROTECTION=enforce turns it on for new clusters)",
        crate::domain::shell_quote(cluster)
    )
}

/// Extended support is a cost decision, never reverted: with `STANDARD`, EKS would upgrade the
/// control plane itself at the end of standard support.
fn extended_support_note(cluster: &str, region: &str) -> String {
    format!(
        "When its Kubernetes version leaves standard support the cluster stays on it in \
         extended support. {} This is not changed back automatically: with STANDARD, EKS \
         upgrades the control plane itself when standard support ends, which can break add-ons \
         and nodes left behind. To choose that: aws eks update-cluster-config --region {region} \
         --name {} --upgrade-policy supportType=STANDARD",
        hygiene::extended_support_cost(),
        crate::domain::shell_quote(cluster)
    )
}

/// A cluster as an outcome names it: its ARN from EKS, or built from the origin's account.
fn cluster_ref(o: &Origin, name: &str, cluster: Option<&Cluster>) -> ResourceRef {
    ResourceRef {
        kind: "eks-cluster",
        id: name.to_owned(),
        arn: cluster.and_then(|c| c.arn.clone()).or_else(|| {
            Some(format!(
                "arn:{}:eks:{}:{}:cluster/{name}",
                crate::domain::partition(&o.region),
                o.region,
                o.account
            ))
        }),
    }
}
