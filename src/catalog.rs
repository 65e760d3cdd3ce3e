//! The rule catalog: every rule in one static table, read by the CLI and the tests.
//!
//! Rules are fixed at compile time, so a table the compiler checks replaces a run-time
//! registry; catalog tests walk it to check binaries, events, template and README.

use crate::rules::{revoke_open_ingress, RuleInfo};

/// Every rule, in the order of DESIGN.md's catalog.
pub static RULES: &[&RuleInfo] = &[&revoke_open_ingress::RULE];

/// The rule named `name`, in kebab case.
pub fn find(name: &str) -> Option<&'static RuleInfo> {
    RULES.iter().copied().find(|r| r.name == name)
}
