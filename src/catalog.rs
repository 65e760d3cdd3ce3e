//! The rule catalog: every rule in one static table, read by the CLI and the tests.
//!
//! Rules are fixed at compile time, so a table the compiler checks replaces a run-time
//! registry: [`Rule`] names each rule, and a `match` on it (exhaustive, so a new rule cannot
//! be forgotten) reaches its code.

use serde_json::Value;

use crate::aws::Aws;
use crate::error::HandlerError;
use crate::outcome::Outcome;
use crate::rules::{
    audit_workloads, detach_node_policy, enforce_cluster_config, guard_cluster_access,
    harden_nodes, notify_eks_finding, publish_findings, restore_audit_trail, revoke_open_ingress,
    RuleInfo,
};
use crate::settings::Settings;

/// Every rule that has code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    RevokeOpenIngress,
    EnforceClusterConfig,
    DetachNodePolicy,
    RestoreAuditTrail,
    NotifyEksFinding,
    GuardClusterAccess,
    AuditWorkloads,
    HardenNodes,
    PublishFindings,
}

impl Rule {
    /// Every rule, in the order of DESIGN.md's catalog.
    pub const ALL: &'static [Rule] = &[
        Rule::RevokeOpenIngress,
        Rule::EnforceClusterConfig,
        Rule::DetachNodePolicy,
        Rule::RestoreAuditTrail,
        Rule::NotifyEksFinding,
        Rule::GuardClusterAccess,
        Rule::AuditWorkloads,
        Rule::HardenNodes,
        Rule::PublishFindings,
    ];

    pub fn info(self) -> &'static RuleInfo {
        match self {
            Rule::RevokeOpenIngress => &revoke_open_ingress::RULE,
            Rule::EnforceClusterConfig => &enforce_cluster_config::RULE,
            Rule::DetachNodePolicy => &detach_node_policy::RULE,
            Rule::RestoreAuditTrail => &restore_audit_trail::RULE,
            Rule::NotifyEksFinding => &notify_eks_finding::RULE,
            Rule::GuardClusterAccess => &guard_cluster_access::RULE,
            Rule::AuditWorkloads => &audit_workloads::RULE,
            Rule::HardenNodes => &harden_nodes::RULE,
            Rule::PublishFindings => &publish_findings::RULE,
        }
    }

    /// Runs the rule on one event and returns its outcomes (alerts sent per `settings`).
    pub async fn outcomes(
        self,
        aws: &Aws,
        settings: &Settings,
        event: Value,
    ) -> Result<Vec<Outcome>, HandlerError> {
        match self {
            Rule::RevokeOpenIngress => revoke_open_ingress::outcomes(aws, settings, event).await,
            Rule::EnforceClusterConfig => {
                enforce_cluster_config::outcomes(aws, settings, event).await
            }
            Rule::DetachNodePolicy => detach_node_policy::outcomes(aws, settings, event).await,
            Rule::RestoreAuditTrail => restore_audit_trail::outcomes(aws, settings, event).await,
            Rule::NotifyEksFinding => notify_eks_finding::outcomes(aws, settings, event).await,
            Rule::GuardClusterAccess => guard_cluster_access::outcomes(aws, settings, event).await,
            Rule::AuditWorkloads => audit_workloads::outcomes(aws, settings, event).await,
            Rule::HardenNodes => harden_nodes::outcomes(aws, settings, event).await,
            // It has no outcomes of its own: it carries the rules' alerts on.
            Rule::PublishFindings => publish_findings::handle(aws, settings, event)
                .await
                .map(|_| Vec::new()),
        }
    }
}

/// Every rule's catalog entry, in the order of [`Rule::ALL`].
pub static RULES: &[&RuleInfo] = &[
    &revoke_open_ingress::RULE,
    &enforce_cluster_config::RULE,
    &detach_node_policy::RULE,
    &restore_audit_trail::RULE,
    &notify_eks_finding::RULE,
    &guard_cluster_access::RULE,
    &audit_workloads::RULE,
    &harden_nodes::RULE,
    &publish_findings::RULE,
];

/// The rule named `name`, in kebab case.
pub fn find(name: &str) -> Option<Rule> {
    Rule::ALL.iter().copied().find(|r| r.info().name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_enum_agree() {
        let names: Vec<&str> = Rule::ALL.iter().map(|r| r.info().name).collect();
        let table: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        assert_eq!(names, table);
        assert_eq!(find("revoke-open-ingress"), Some(Rule::RevokeOpenIngress));
        assert_eq!(
            find("enforce-cluster-config"),
            Some(Rule::EnforceClusterConfig)
        );
        assert_eq!(find("nope"), None);
    }
}
