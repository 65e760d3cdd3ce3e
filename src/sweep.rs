//! The sweep: every rule's scan of current state, for what already existed before the
//! functions were deployed or what an event missed (CloudTrail delivery to EventBridge is
//! best effort). A scan differs from an event only in where the candidates come from: each
//! rule's `scan` reuses its own detection and remediation, and so its mode, guards and alerts.
//!
//! `notify-eks-finding` has no scan: findings are events by nature.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use tokio::time::Instant;
use tracing::info;

use crate::aws::warm_up::{self, Warm};
use crate::aws::Aws;
use crate::error::{EventError, HandlerError};
use crate::outcome::{EventRef, Origin, Outcome, ResourceRef, Status, Summary};
use crate::rules::{
    audit_workloads, detach_node_policy, enforce_cluster_config, guard_cluster_access,
    harden_nodes, restore_audit_trail, revoke_open_ingress,
};
use crate::runtime;
use crate::settings::Settings;

/// One scan of current state: one per rule that has one, and the clusters' version hygiene
/// (alerts of `enforce-cluster-config`). An exhaustive `match` reaches each one's code, as
/// [`crate::catalog::Rule`] does for events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    OpenIngress,
    ClusterConfig,
    ClusterVersions,
    NodeRoles,
    AuditTrail,
    ClusterAccess,
    AuditSubscriptions,
    Nodes,
}

impl Scan {
    /// Every scan, in the order they run.
    pub const ALL: &'static [Scan] = &[
        Scan::OpenIngress,
        Scan::ClusterConfig,
        Scan::ClusterVersions,
        Scan::NodeRoles,
        Scan::AuditTrail,
        Scan::ClusterAccess,
        Scan::AuditSubscriptions,
        Scan::Nodes,
    ];

    /// Every scan of a region's resources: all but [`Scan::NodeRoles`], which reads IAM, a
    /// global service, and so runs once per account (`eks-remediator scan` across regions).
    pub const REGIONAL: &'static [Scan] = &[
        Scan::OpenIngress,
        Scan::ClusterConfig,
        Scan::ClusterVersions,
        Scan::AuditTrail,
        Scan::ClusterAccess,
        Scan::AuditSubscriptions,
        Scan::Nodes,
    ];

    /// The name progress and failures are reported under: the rule's, or `cluster-versions`.
    pub fn name(self) -> &'static str {
        match self {
            Scan::OpenIngress => revoke_open_ingress::RULE.name,
            Scan::ClusterConfig => enforce_cluster_config::RULE.name,
            Scan::ClusterVersions => "cluster-versions",
            Scan::NodeRoles => detach_node_policy::RULE.name,
            Scan::AuditTrail => restore_audit_trail::RULE.name,
            Scan::ClusterAccess => guard_cluster_access::RULE.name,
            Scan::AuditSubscriptions => audit_workloads::scan::NAME,
            Scan::Nodes => harden_nodes::scan::NAME,
        }
    }

    async fn run(
        self,
        aws: &Aws,
        settings: &Settings,
        origin: &Origin,
        fixes_until: Option<Instant>,
    ) -> Result<Vec<Outcome>, HandlerError> {
        match self {
            Scan::OpenIngress => {
                revoke_open_ingress::scan(aws, settings, origin, fixes_until).await
            }
            Scan::ClusterConfig => enforce_cluster_config::scan(aws, settings, origin).await,
            Scan::ClusterVersions => {
                enforce_cluster_config::scan_versions(aws, settings, origin).await
            }
            Scan::NodeRoles => detach_node_policy::scan(aws, settings, origin).await,
            Scan::AuditTrail => restore_audit_trail::scan(aws, settings, origin).await,
            Scan::ClusterAccess => guard_cluster_access::scan(aws, settings, origin).await,
            Scan::AuditSubscriptions => audit_workloads::scan::scan(aws, settings, origin).await,
            Scan::Nodes => harden_nodes::scan::scan(aws, settings, origin, fixes_until).await,
        }
    }
}

/// Every AWS action the sweep calls: what the template's `SweepRole` grants (proved by
/// `tests/catalog.rs`) and what its tests record (`tests/support::granted_as`). Reads of every
/// resource kind, the scanned rules' fixes, and the alert.
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:DescribeInstances",
    "ec2:ModifyInstanceMetadataOptions",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "eks:ListClusters",
    "eks:DescribeCluster",
    "eks:UpdateClusterConfig",
    "eks:AssociateEncryptionConfig",
    // Only with KMS_KEY_ARN (a template condition): EKS uses the key on the caller's behalf.
    "kms:DescribeKey",
    "kms:CreateGrant",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
    "eks:DescribeClusterVersions",
    "eks:DescribeAddon",
    "eks:DescribeAddonVersions",
    "eks:ListAddons",
    "eks:ListAccessEntries",
    "eks:DescribeAccessEntry",
    "eks:ListAssociatedAccessPolicies",
    "eks:DisassociateAccessPolicy",
    "eks:DeleteAccessEntry",
    "eks:ListPodIdentityAssociations",
    "eks:DescribePodIdentityAssociation",
    "iam:ListRoles",
    "iam:GetRole",
    "iam:ListOpenIDConnectProviders",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListRoleTags",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DeleteRolePolicy",
    "guardduty:ListDetectors",
    "guardduty:GetDetector",
    "guardduty:UpdateDetector",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrail",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:ListTags",
    "cloudtrail:StartLogging",
    "logs:DescribeSubscriptionFilters",
    "logs:PutSubscriptionFilter",
    "logs:ListTagsForResource",
    "sns:Publish",
];

/// The clients the sweep function warms up before its first event (`aws::warm_up`): one per
/// service of [`IAM_ACTIONS`], as a catalog test holds them.
pub const WARM_UP: &[Warm] = &[
    warm_up::CLOUDTRAIL,
    warm_up::EC2,
    warm_up::EKS,
    warm_up::GUARDDUTY,
    warm_up::IAM,
    warm_up::LOGS,
    warm_up::SNS,
];

/// What a sweep found and did.
#[derive(Debug, Default)]
pub struct Report {
    /// Every outcome except `resolved` (safe resources are not news).
    pub outcomes: Vec<Outcome>,
    /// Scans that could not finish, with why; the other scans' results still count.
    pub errors: Vec<(&'static str, String)>,
}

impl Report {
    /// Whether anything unsafe remains or was found.
    pub fn has_violations(&self) -> bool {
        self.violations().next().is_some()
    }

    /// The outcomes that are news ([`Status::is_violation`]). Exempt resources are listed by
    /// a scan but not alerted by every sweep: someone chose them.
    pub fn violations(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.status.is_violation())
    }
}

/// The origin of a sweep's outcomes: no actor, an event named `Sweep`.
pub fn origin(account: &str, region: &str, id: &str, time: &str) -> Origin {
    Origin {
        account: account.to_owned(),
        region: region.to_owned(),
        actor: None,
        event: EventRef {
            source: "eks-remediator".to_owned(),
            name: "Sweep".to_owned(),
            id: id.to_owned(),
            time: time.to_owned(),
        },
    }
}

/// The origin of a sweep started by a scheduled EventBridge event: its account, region, id
/// and time (versions are judged on that time, not the clock). Only the envelope is read.
pub fn scheduled_origin(event: Value) -> Result<Origin, EventError> {
    let envelope: EventBridgeEvent<Value> =
        serde_json::from_value(event).map_err(EventError::Envelope)?;
    Ok(origin(
        envelope.account.as_deref().unwrap_or_default(),
        envelope.region.as_deref().unwrap_or_default(),
        envelope.id.as_deref().unwrap_or_default(),
        &envelope.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
    ))
}

/// Runs every scan, telling `progress` which one starts. Remediates or reports per
/// `settings` (the CLI passes alert-only settings); alerts are the caller's to send. No fix
/// of many (the open-ingress scan's revocations) starts after `fixes_until`.
pub async fn run(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    fixes_until: Option<Instant>,
    progress: impl Fn(&str),
) -> Report {
    run_scans(aws, settings, origin, fixes_until, Scan::ALL, progress).await
}

/// Runs `scans` as [`run`] runs them all.
pub async fn run_scans(
    aws: &Aws,
    settings: &Settings,
    origin: &Origin,
    fixes_until: Option<Instant>,
    scans: &[Scan],
    progress: impl Fn(&str),
) -> Report {
    let mut report = Report::default();
    for &scan in scans {
        progress(scan.name());
        // Boxed: the scans' futures nest deep enough that, inline, the sweep binary's main
        // future passes rustc's layout depth limit. One allocation per scan per sweep.
        match Box::pin(scan.run(aws, settings, origin, fixes_until)).await {
            Ok(outcomes) => report.outcomes.extend(
                outcomes
                    .into_iter()
                    .filter(|o| o.status != Status::Resolved),
            ),
            Err(error) => report.errors.push((scan.name(), error.to_string())),
        }
    }
    report
}

/// The `sweep` function's entry point: an EventBridge scheduled event runs every scan in the
/// function's mode, then sends one alert per violation, or one digest when there are more
/// than `SWEEP_DIGEST_OVER`; fails when a scan could not finish.
pub async fn handle(aws: &Aws, settings: &Settings, event: Value) -> Result<Summary, HandlerError> {
    let origin = scheduled_origin(event)?;
    let fixes_until = runtime::deadline().map(fixes_until);
    let report = run(aws, settings, &origin, fixes_until, |rule| {
        info!(rule, "scanning")
    })
    .await;
    for (rule, error) in &report.errors {
        tracing::warn!(rule, %error, "scan failed; the other rules' results still count");
    }
    // Every outcome is logged and counted; only violations are alerted, one each or a digest.
    runtime::record(settings, &report.outcomes);
    if report.violations().count() > settings.sweep_digest_over as usize {
        runtime::send_alert(aws, settings, &digest(&report, &origin)).await;
    } else {
        for violation in report.violations() {
            runtime::send_alert(aws, settings, violation).await;
        }
    }
    // A scan that failed (a permission missing, an API down) fails the invocation once every
    // other scan's outcomes are delivered, so that the function's error alarm says so.
    match report.errors.first() {
        None => Ok(Summary::of(&report.outcomes)),
        Some((rule, error)) => Err(HandlerError::Scans {
            failed: report.errors.len(),
            first: format!("{rule}: {error}"),
        }),
    }
}

/// When the sweep stops starting fixes, given when its invocation must end: three quarters of
/// the way there, leaving the rest for the other scans and the alerts (a throttled account
/// revokes a few rules a second, so thousands can take longer than the function may run).
pub fn fixes_until(deadline: Instant) -> Instant {
    let now = Instant::now();
    now + deadline.saturating_duration_since(now).mul_f64(0.75)
}

/// The most violations a digest lists line by line. A thousand remediated groups would make
/// a message (e-mail text and JSON, each with every line) past SNS's 256 KB limit, so that the
/// digest itself could not be sent; the rest are counted, and each is in the sweep's log.
pub const DIGEST_LINES: usize = 100;

/// One alert for many violations: a line each, status first, the first [`DIGEST_LINES`].
pub fn digest(report: &Report, origin: &Origin) -> Outcome {
    let total = report.violations().count();
    let listed = || report.violations().take(DIGEST_LINES);
    let mut lines: Vec<String> = listed()
        .map(|o| {
            format!(
                "{} {} {} {}: {}",
                o.status.as_str(),
                o.rule,
                o.resource.kind,
                o.resource.id,
                o.finding
            )
        })
        .collect();
    if total > DIGEST_LINES {
        lines.push(format!(
            "... and {} more: `eks-remediator scan` lists every violation left, and the \
             sweep's log has an outcome line for each",
            total - DIGEST_LINES
        ));
    }
    Outcome {
        rule: "sweep",
        status: Status::Alert,
        resource: ResourceRef {
            kind: "account",
            id: origin.account.clone(),
            arn: None,
        },
        finding: format!("the sweep found {total} violation(s)"),
        actions: listed().flat_map(|o| o.actions.clone()).collect(),
        undo: None,
        note: Some(lines.join("\n")),
        origin: origin.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regional_scans_are_every_scan_but_iams() {
        let mut regional = Scan::REGIONAL.to_vec();
        regional.push(Scan::NodeRoles);
        for scan in Scan::ALL {
            assert_eq!(
                regional.iter().filter(|s| *s == scan).count(),
                1,
                "{scan:?}"
            );
        }
        assert_eq!(regional.len(), Scan::ALL.len());
    }

    #[test]
    fn a_digest_of_a_thousand_violations_fits_in_one_sns_message() {
        let origin = origin("123456789012", "eu-west-1", "id", "2026-12-01T00:00:00Z");
        let violation = |i: usize| Outcome {
            rule: "revoke-open-ingress",
            status: Status::Remediated,
            resource: ResourceRef {
                kind: "security-group",
                id: format!("sg-{i:017x}"),
                arn: None,
            },
            finding: "tcp/22 open to 0.0.0.0/0".to_owned(),
            actions: vec![format!("RevokeSecurityGroupIngress sgr-{i:017x}")],
            undo: Some("aws ec2 authorize-security-group-ingress ...".to_owned()),
            note: None,
            origin: origin.clone(),
        };
        let report = Report {
            outcomes: (0..1000).map(violation).collect(),
            errors: Vec::new(),
        };
        let digest = digest(&report, &origin);
        assert_eq!(digest.finding, "the sweep found 1000 violation(s)");
        let note = digest.note.clone().unwrap_or_default();
        assert_eq!(note.lines().count(), DIGEST_LINES + 1);
        assert!(
            note.ends_with("sweep's log has an outcome line for each"),
            "{note}"
        );
        assert!(note.contains("... and 900 more"), "{note}");
        assert_eq!(digest.actions.len(), DIGEST_LINES);
        let message = crate::alert::render(&digest).message;
        assert!(message.len() < 256 * 1024, "{} bytes", message.len());
    }
}
