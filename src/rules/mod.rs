//! The rules, one module each, and the catalog entry type they all fill in.
//!
//! Each rule module follows the same layout: `mod.rs` (catalog entry and `handle`),
//! `event.rs` (triggers, parsed leniently), `detect.rs` (pure decisions) and `remediate.rs`
//! (plans with undo text, and their execution).

pub mod audit_workloads;
pub mod decision;
pub mod detach_node_policy;
pub mod enforce_cluster_config;
pub mod guard_cluster_access;
pub mod harden_nodes;
pub mod notify_eks_finding;
pub mod publish_findings;
pub mod restore_audit_trail;
pub mod revoke_open_ingress;

use crate::aws::warm_up::Warm;
use crate::intake::Incoming;
use crate::settings::Mode;

/// One EventBridge trigger of a rule.
#[derive(Clone, Copy, Debug)]
pub struct Trigger {
    /// EventBridge `source`, e.g. `aws.ec2`.
    pub source: &'static str,
    /// EventBridge `detail-type`.
    pub detail_type: &'static str,
    /// CloudTrail `eventName`s or GuardDuty finding types.
    pub names: &'static [&'static str],
}

/// A rule's catalog entry: what it is, what triggers it, what it may call and read.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo {
    /// The rule's one name: function, binary, events folder, template prefix.
    pub name: &'static str,
    pub summary: &'static str,
    pub triggers: &'static [Trigger],
    /// Every IAM action the function calls; the template's role grants exactly these.
    pub iam_actions: &'static [&'static str],
    /// The clients its function warms up before its first event, one per service of
    /// `iam_actions` (held so by a catalog test); see `aws::warm_up`.
    pub warm_up: &'static [Warm],
    /// The settings the rule reads.
    pub settings: &'static [&'static str],
    /// What the rule does by default when deployed with the template's defaults.
    pub default_mode: Mode,
    /// Whether an event is one of this rule's triggers; catalog tests use it to check that
    /// each sample event belongs to exactly one rule.
    pub is_trigger: fn(&Incoming) -> bool,
}
