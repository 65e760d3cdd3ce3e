//! CloudWatch metrics in Embedded Metric Format: log lines that CloudWatch Logs turns into
//! the `eks-remediator` / `Outcomes` metric by `Rule` and `Status`, with no `PutMetricData`
//! call, no extra permission and no latency. The template's dashboard and alarms read it.
//!
//! One line per rule and status of an invocation, holding their count, not one per outcome:
//! a sweep that fixes a thousand groups writes a handful of lines, and the metric's `Sum` is
//! the same.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::outcome::{Outcome, Status};

/// The CloudWatch namespace of every metric the functions emit.
pub const NAMESPACE: &str = "eks-remediator";
/// The metric: the count of outcomes.
pub const OUTCOMES: &str = "Outcomes";

/// The EMF document counting `count` outcomes of `rule` with `status`, stamped `millis`
/// since the epoch.
pub fn document(rule: &str, status: Status, count: usize, millis: u128) -> Value {
    json!({
        "_aws": {
            "Timestamp": millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Rule", "Status"], ["Rule"]],
                "Metrics": [{"Name": OUTCOMES, "Unit": "Count"}],
            }],
        },
        "Rule": rule,
        "Status": status.as_str(),
        OUTCOMES: count,
    })
}

/// How many of `outcomes` each rule and status has, in the order they first appear.
fn counts(outcomes: &[Outcome]) -> Vec<(&'static str, Status, usize)> {
    let mut counts: Vec<(&'static str, Status, usize)> = Vec::new();
    for outcome in outcomes {
        match counts
            .iter_mut()
            .find(|(rule, status, _)| *rule == outcome.rule && *status == outcome.status)
        {
            Some((_, _, count)) => *count += 1,
            None => counts.push((outcome.rule, outcome.status, 1)),
        }
    }
    counts
}

/// Writes the EMF lines for `outcomes` to stdout, where Lambda sends them to CloudWatch Logs.
/// EMF needs each line to be the JSON document alone, so it bypasses the tracing formatter.
pub fn emit(outcomes: &[Outcome]) {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    for (rule, status, count) in counts(outcomes) {
        println!("{}", document(rule, status, count, millis));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{EventRef, Origin, ResourceRef};

    fn outcome(rule: &'static str, status: Status) -> Outcome {
        Outcome {
            rule,
            status,
            resource: ResourceRef {
                kind: "security-group",
                id: "sg-1".into(),
                arn: None,
            },
            finding: "tcp/22 open to 0.0.0.0/0".into(),
            actions: vec![],
            undo: None,
            note: None,
            origin: Origin {
                account: "1".into(),
                region: "us-east-1".into(),
                actor: None,
                event: EventRef {
                    source: "aws.ec2".into(),
                    name: "X".into(),
                    id: "e".into(),
                    time: "t".into(),
                },
            },
        }
    }

    #[test]
    fn one_document_counts_a_rule_and_status() {
        let doc = document(
            "revoke-open-ingress",
            Status::WouldRemediate,
            3,
            1_700_000_000_000,
        );
        assert_eq!(doc["Rule"], "revoke-open-ingress");
        assert_eq!(doc["Status"], "would-remediate");
        assert_eq!(doc["Outcomes"], 3);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "eks-remediator"
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "Outcomes"
        );
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    #[test]
    fn outcomes_are_counted_by_rule_and_status_in_first_seen_order() {
        let outcomes = [
            outcome("revoke-open-ingress", Status::Remediated),
            outcome("harden-nodes", Status::Alert),
            outcome("revoke-open-ingress", Status::Remediated),
            outcome("revoke-open-ingress", Status::Exempt),
            outcome("revoke-open-ingress", Status::Remediated),
        ];
        assert_eq!(
            counts(&outcomes),
            vec![
                ("revoke-open-ingress", Status::Remediated, 3),
                ("harden-nodes", Status::Alert, 1),
                ("revoke-open-ingress", Status::Exempt, 1),
            ]
        );
        assert!(counts(&[]).is_empty());
    }
}
