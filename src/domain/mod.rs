//! Domain types shared by rules and the AWS adapters.
//!
//! Only `crate::aws` converts SDK types into these; rules and detection see nothing else, so
//! pure code can be tested without the SDK and cannot call AWS by accident.

pub mod access;
pub mod audit;
pub mod cluster;
pub mod kubernetes;
pub mod node;
pub mod policy;
pub mod security_group;
pub mod trust;
pub mod versions;

use std::collections::BTreeMap;

pub use cluster::{Cluster, EndpointAccess, LogType, Readiness};
pub use security_group::{
    IngressRule, PortRange, Protocol, SecurityGroup, SecurityGroupId, SecurityGroupRuleId, Source,
};

/// Resource tags, key to value.
pub type Tags = BTreeMap<String, String>;

/// Quotes `text` for a POSIX shell, for the `undo` commands in alerts.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The ARN partition of a region, for ARNs built from an event's region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
