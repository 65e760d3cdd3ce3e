//! One alert document as a finding in the AWS Security Finding Format, for Security Hub's
//! `BatchImportFindings`. Pure: the caller gives the time of the import.
//!
//! Choices, each from the ASFF reference:
//! - `Id` is stable per rule, account, region and resource (`eks-remediator/<rule>/<region>/
//!   <account>/<resource type>/<resource id>`), so a repeat updates the finding instead of
//!   adding one, and a later `remediated` or `resolved` outcome of the same rule closes it.
//!   Security Hub keys findings by `Id` and `ProductArn` and applies an import only when its
//!   `UpdatedAt` is newer, so `UpdatedAt` is the time of the import, not of the event.
//!   `CreatedAt` is that time too: knowing the first import's would take a `GetFindings`
//!   before each import, which Security Hub allows 3 times a second (a sweep's alerts come
//!   faster) and whose answer types add a megabyte to the package; `FirstObservedAt` and
//!   `LastObservedAt` are the event's time.
//! - `ProductArn` is the account's default product (`product/<account>/default`), which a
//!   custom integration may only use for its own account: the function runs in every account
//!   it reports on, and the organisation's administrator account aggregates.
//! - `Severity` and `Types` are also sent in `FindingProviderFields`, where a provider's later
//!   imports may still change them; `Workflow.Status` is set as the issue asks, though Security
//!   Hub ignores it on an existing finding, where `Compliance.Status` `PASSED` resolves it.
//! - Strings are cut, on character boundaries, to the reference's limits: `Title` 256,
//!   `Description` 1024, `Remediation.Recommendation.Text` 512, `ProductFields` values 2048.

use std::collections::BTreeMap;

use super::event::AlertDoc;
use crate::domain::partition;

/// The ASFF schema version Security Hub accepts.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `RecordState`: the finding is live; Security Hub archives it after 90 days without an
/// update.
pub const RECORD_STATE: &str = "ACTIVE";
const TITLE_LIMIT: usize = 256;
const DESCRIPTION_LIMIT: usize = 1024;
const RECOMMENDATION_LIMIT: usize = 512;
const ID_LIMIT: usize = 512;
const PRODUCT_FIELD_LIMIT: usize = 2048;

/// The finding `Id` for an alert: the same for every outcome of one rule on one resource.
pub fn finding_id(doc: &AlertDoc) -> String {
    let id = format!(
        "eks-remediator/{}/{}/{}/{}/{}",
        doc.rule, doc.region, doc.account, doc.resource.kind, doc.resource.id
    );
    cut(&id, ID_LIMIT)
}

/// The account's default product for custom findings.
pub fn product_arn(doc: &AlertDoc) -> String {
    format!(
        "arn:{}:securityhub:{}:{}:product/{}/default",
        partition(&doc.region),
        doc.region,
        doc.account,
        doc.account
    )
}

/// `Severity.Label` of an alert: GuardDuty's own label for `notify-eks-finding` (the first
/// word of its finding, written by `notify_eks_finding::alert`), otherwise the rule's.
pub fn severity(doc: &AlertDoc) -> &'static str {
    if doc.rule == "notify-eks-finding" {
        return match doc.finding.split_whitespace().next() {
            Some("Critical") => "CRITICAL",
            Some("High") => "HIGH",
            Some("Low") => "LOW",
            _ => "MEDIUM",
        };
    }
    match (doc.rule.as_str(), doc.resource.kind.as_str()) {
        ("revoke-open-ingress" | "detach-node-policy" | "restore-audit-trail", _) => "HIGH",
        ("guard-cluster-access", _) => "HIGH",
        ("audit-workloads", "k8s-binding" | "aws-auth") => "HIGH",
        ("audit-workloads", _) => "MEDIUM",
        ("enforce-cluster-config", _) if doc.finding.contains("public API endpoint") => "HIGH",
        ("harden-nodes", "ec2-instance" | "launch-template") => "MEDIUM",
        ("harden-nodes", _) => "LOW",
        _ => "MEDIUM",
    }
}

/// `Types` of a rule's findings, in the ASFF taxonomy.
fn types(rule: &str) -> Vec<&'static str> {
    match rule {
        "revoke-open-ingress" => {
            vec!["Software and Configuration Checks/AWS Security Best Practices/Network Reachability"]
        }
        "restore-audit-trail" => vec![
            "Software and Configuration Checks/AWS Security Best Practices",
            "TTPs/Defense Evasion",
        ],
        "notify-eks-finding" => vec!["Unusual Behaviors"],
        _ => vec!["Software and Configuration Checks/AWS Security Best Practices"],
    }
}

/// The ASFF resource type of one of our resource kinds; `Other` where ASFF has none.
pub fn resource_type(kind: &str) -> &'static str {
    match kind {
        "security-group" => "AwsEc2SecurityGroup",
        "eks-cluster" => "AwsEksCluster",
        "iam-role" => "AwsIamRole",
        "iam-policy" => "AwsIamPolicy",
        "guardduty-detector" => "AwsGuardDutyDetector",
        "cloudtrail-trail" => "AwsCloudTrailTrail",
        "ec2-instance" => "AwsEc2Instance",
        "launch-template" => "AwsEc2LaunchTemplate",
        "account" => "AwsAccount",
        _ => "Other",
    }
}

/// `Compliance.Status` and `Workflow.Status` of an outcome status: unsafe and new while it is
/// reported, passed and resolved once fixed or gone, a warning while exempt.
fn states(status: &str) -> (&'static str, &'static str) {
    match status {
        "remediated" | "resolved" => ("PASSED", "RESOLVED"),
        "exempt" => ("WARNING", "NEW"),
        _ => ("FAILED", "NEW"),
    }
}

/// A finding, with the ASFF fields this function sets (`src/aws/securityhub.rs` makes the
/// SDK's `AwsSecurityFinding` of it).
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub types: Vec<&'static str>,
    pub created_at: String,
    pub updated_at: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    /// `Severity.Label`, also `FindingProviderFields.Severity.Label`.
    pub severity: &'static str,
    /// `Severity.Original`: the outcome's status.
    pub severity_original: String,
    pub title: String,
    pub description: String,
    pub resource: Resource,
    /// `Compliance.Status`.
    pub compliance: &'static str,
    /// `Workflow.Status`.
    pub workflow: &'static str,
    /// `Remediation.Recommendation.Text`.
    pub recommendation: Option<String>,
    pub product_fields: BTreeMap<String, String>,
}

/// The one resource of a finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// An ASFF resource type, or `Other`.
    pub kind: &'static str,
    /// The ARN when there is one, else our id.
    pub id: String,
    pub partition: &'static str,
    pub region: String,
    /// `Details.Other`, for resources ASFF has no type for.
    pub other: BTreeMap<String, String>,
}

/// The finding for `doc`, imported at `now` (RFC 3339, UTC).
pub fn finding(doc: &AlertDoc, now: &str) -> Finding {
    let (compliance, workflow) = states(&doc.status);
    let kind = resource_type(&doc.resource.kind);
    let mut other = BTreeMap::new();
    if kind == "Other" {
        other.insert(
            "eks-remediator/type".to_owned(),
            cut(&doc.resource.kind, 1000),
        );
        other.insert("eks-remediator/id".to_owned(), cut(&doc.resource.id, 1000));
    }
    let observed = doc
        .event
        .as_ref()
        .and_then(|e| e.time.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| now.to_owned());
    Finding {
        id: finding_id(doc),
        product_arn: product_arn(doc),
        generator_id: format!("eks-remediator/{}", doc.rule),
        aws_account_id: doc.account.clone(),
        types: types(&doc.rule),
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
        first_observed_at: observed.clone(),
        last_observed_at: observed,
        severity: severity(doc),
        severity_original: doc.status.clone(),
        title: cut(&format!("{}: {}", doc.rule, doc.finding), TITLE_LIMIT),
        description: cut(&description(doc), DESCRIPTION_LIMIT),
        resource: Resource {
            kind,
            id: doc
                .resource
                .arn
                .clone()
                .unwrap_or_else(|| doc.resource.id.clone()),
            partition: partition(&doc.region),
            region: doc.region.clone(),
            other,
        },
        compliance,
        workflow,
        recommendation: recommendation(doc).map(|text| cut(&text, RECOMMENDATION_LIMIT)),
        product_fields: product_fields(doc),
    }
}

/// What happened and what was done, for people reading the finding.
fn description(doc: &AlertDoc) -> String {
    let mut parts = vec![format!("{} ({}).", doc.finding, doc.status)];
    if !doc.actions.is_empty() {
        let verb = if doc.status == "remediated" {
            "Done"
        } else {
            "Would do"
        };
        parts.push(format!("{verb}: {}.", doc.actions.join("; ")));
    }
    if let Some(actor) = doc.actor.as_ref().and_then(|a| a.arn.as_deref()) {
        parts.push(format!("By {actor}."));
    }
    if let Some(event) = &doc.event {
        if let (Some(name), Some(source)) = (&event.name, &event.source) {
            parts.push(format!("Event {name} from {source}."));
        }
    }
    parts.join(" ")
}

/// The recommendation: the undo of a fix, the fix alert-only mode left undone, or the note's
/// first steps.
fn recommendation(doc: &AlertDoc) -> Option<String> {
    let note = doc.note.as_deref().filter(|n| !n.trim().is_empty());
    match (&doc.undo, note) {
        (Some(undo), _) if doc.status == "remediated" => Some(format!("Fixed. To undo: {undo}")),
        _ if doc.status == "would-remediate" && !doc.actions.is_empty() => Some(format!(
            "Not changed (alert-only mode). The fix: {}.{}",
            doc.actions.join("; "),
            note.map(|n| format!(" {n}")).unwrap_or_default()
        )),
        (_, Some(note)) => Some(note.to_owned()),
        (Some(undo), None) => Some(format!("To undo: {undo}")),
        _ => None,
    }
}

fn product_fields(doc: &AlertDoc) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            fields.insert(
                format!("eks-remediator/{key}"),
                cut(value, PRODUCT_FIELD_LIMIT),
            );
        }
    };
    put("rule", &doc.rule);
    put("status", &doc.status);
    put("actions", &doc.actions.join("; "));
    if let Some(undo) = &doc.undo {
        put("undo", undo);
    }
    if let Some(actor) = &doc.actor {
        put("actor", actor.arn.as_deref().unwrap_or_default());
    }
    if let Some(event) = &doc.event {
        put("event", event.name.as_deref().unwrap_or_default());
        put("event-id", event.id.as_deref().unwrap_or_default());
    }
    fields
}

/// `text` cut to `limit` bytes on a character boundary, marked with an ellipsis when cut.
fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::publish_findings::event::{alert_doc, EventDoc, ResourceDoc};

    fn doc(rule: &str, status: &str, kind: &str, id: &str) -> AlertDoc {
        AlertDoc {
            rule: rule.into(),
            status: status.into(),
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            resource: ResourceDoc {
                kind: kind.into(),
                id: id.into(),
                arn: None,
            },
            finding: "tcp/22 open to 0.0.0.0/0".into(),
            event: Some(EventDoc {
                time: Some("2026-12-01T10:00:00Z".into()),
                ..EventDoc::default()
            }),
            ..AlertDoc::default()
        }
    }

    #[test]
    fn a_repeat_and_its_fix_share_one_id_and_the_fix_resolves_it() {
        let found = finding(
            &doc("revoke-open-ingress", "alert", "security-group", "sg-1"),
            "2026-12-01T10:00:01Z",
        );
        let fixed = finding(
            &doc(
                "revoke-open-ingress",
                "remediated",
                "security-group",
                "sg-1",
            ),
            "2026-12-01T10:05:00Z",
        );
        assert_eq!(found.id, fixed.id);
        assert_eq!(
            found.id,
            "eks-remediator/revoke-open-ingress/eu-west-1/123456789012/security-group/sg-1"
        );
        assert_eq!((found.compliance, found.workflow), ("FAILED", "NEW"));
        assert_eq!((fixed.compliance, fixed.workflow), ("PASSED", "RESOLVED"));
        assert_eq!(
            fixed.product_arn,
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
        );
        assert_eq!(fixed.resource.kind, "AwsEc2SecurityGroup");
        assert_eq!(fixed.severity, "HIGH");
        assert_eq!(fixed.first_observed_at, "2026-12-01T10:00:00Z");
        assert_eq!(fixed.created_at, fixed.updated_at);
    }

    #[test]
    fn alert_only_names_the_fix_it_did_not_make() {
        let mut d = doc(
            "revoke-open-ingress",
            "would-remediate",
            "security-group",
            "sg-1",
        );
        d.actions = vec!["RevokeSecurityGroupIngress sgr-1".into()];
        d.note = Some("alert-only mode: nothing was changed".into());
        let f = finding(&d, "2026-12-02T08:00:00Z");
        assert_eq!(
            f.recommendation.as_deref(),
            Some("Not changed (alert-only mode). The fix: RevokeSecurityGroupIngress sgr-1. alert-only mode: nothing was changed")
        );
    }

    #[test]
    fn kubernetes_objects_are_other_resources_with_details() {
        let f = finding(
            &doc("audit-workloads", "alert", "k8s-binding", "prod/rb"),
            "2026-12-01T10:00:00Z",
        );
        assert_eq!(f.resource.kind, "Other");
        assert_eq!(f.resource.other["eks-remediator/id"], "prod/rb");
        assert_eq!(f.severity, "HIGH");
    }

    #[test]
    fn guardduty_severity_is_carried_through() {
        let mut d = doc("notify-eks-finding", "alert", "eks-cluster", "prod");
        d.finding = "Critical PrivilegeEscalation:Kubernetes/PrivilegedContainer".into();
        assert_eq!(severity(&d), "CRITICAL");
        d.finding = "Low Policy:Kubernetes/AnonymousAccessGranted".into();
        assert_eq!(severity(&d), "LOW");
        assert_eq!(
            finding(&d, "2026-12-01T10:00:00Z").types,
            ["Unusual Behaviors"]
        );
    }

    #[test]
    fn long_text_is_cut_to_the_limits_on_character_boundaries() {
        let mut d = doc("harden-nodes", "alert", "ec2-instance", "i-1");
        d.finding = "é".repeat(400);
        d.note = Some("ü".repeat(600));
        let f = finding(&d, "2026-12-01T10:00:00Z");
        assert!(f.title.len() <= TITLE_LIMIT);
        assert!(f.description.len() <= DESCRIPTION_LIMIT);
        let text = f.recommendation.unwrap();
        assert!(text.len() <= RECOMMENDATION_LIMIT && text.ends_with("..."));
    }

    #[test]
    fn an_alert_document_from_the_topic_maps_field_by_field() {
        let parsed = alert_doc(Some(
            r#"{"rule":"detach-node-policy","status":"remediated","account":"123456789012",
            "region":"us-east-1","resource":{"type":"iam-role","id":"node","arn":"arn:aws:iam::123456789012:role/node"},
            "finding":"AdministratorAccess attached","actor":{"arn":"arn:aws:iam::123456789012:user/bob","type":"IAMUser"},
            "event":{"source":"aws.iam","name":"AttachRolePolicy","id":"e-1","time":"2026-12-01T09:00:00Z"},
            "actions":["DetachRolePolicy node arn:aws:iam::aws:policy/AdministratorAccess"],
            "undo":"aws iam attach-role-policy --role-name node --policy-arn arn:aws:iam::aws:policy/AdministratorAccess","note":null}"#,
        ))
        .unwrap();
        let f = finding(&parsed, "2026-12-01T09:00:02Z");
        assert_eq!(f.resource.id, "arn:aws:iam::123456789012:role/node");
        assert_eq!(f.resource.kind, "AwsIamRole");
        assert_eq!(
            f.product_fields["eks-remediator/actor"],
            "arn:aws:iam::123456789012:user/bob"
        );
        assert!(f.description.contains("Done: DetachRolePolicy node"));
        assert!(f
            .recommendation
            .unwrap()
            .starts_with("Fixed. To undo: aws iam attach-role-policy"));
    }
}
