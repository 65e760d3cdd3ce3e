//! CloudWatch metrics in Embedded Metric Format: one log line per outcome, which CloudWatch
//! Logs turns into the `eks-remediator` / `Outcomes` metric by `Rule` and `Status`, with no
//! `PutMetricData` call, no extra permission and no latency. The template's dashboard and
//! alarms read it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::outcome::Outcome;

/// The CloudWatch namespace of every metric the functions emit.
pub const NAMESPACE: &str = "eks-remediator";
/// The metric: one count per outcome.
pub const OUTCOMES: &str = "Outcomes";

/// The EMF document for one outcome, stamped `millis` since the epoch.
pub fn document(outcome: &Outcome, millis: u128) -> Value {
    json!({
        "_aws": {
            "Timestamp": millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Rule", "Status"], ["Rule"]],
                "Metrics": [{"Name": OUTCOMES, "Unit": "Count"}],
            }],
        },
        "Rule": outcome.rule,
        "Status": outcome.status.as_str(),
        OUTCOMES: 1,
    })
}

/// Writes the EMF line for `outcome` to stdout, where Lambda sends it to CloudWatch Logs.
/// EMF needs the line to be the JSON document alone, so it bypasses the tracing formatter.
pub fn emit(outcome: &Outcome) {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    println!("{}", document(outcome, millis));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{EventRef, Origin, ResourceRef, Status};

    #[test]
    fn one_count_by_rule_and_status() {
        let outcome = Outcome {
            rule: "revoke-open-ingress",
            status: Status::WouldRemediate,
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
        };
        let doc = document(&outcome, 1_700_000_000_000);
        assert_eq!(doc["Rule"], "revoke-open-ingress");
        assert_eq!(doc["Status"], "would-remediate");
        assert_eq!(doc["Outcomes"], 1);
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
}
