//! Lenient GuardDuty findings, as EventBridge delivers them in `detail` (camelCase).
//!
//! Severity may be an integer or a float, `organization.asn` a number or a string, and a
//! `Recon:EC2/PortProbeUnprotectedPort` finding may carry `NETWORK_CONNECTION` instead of a
//! `portProbeAction` (reference-events/SOURCES.md, note 8), so every field is optional except
//! the finding's type.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::Tags;
use crate::error::EventError;
use crate::lenient;
use crate::outcome::{EventRef, Origin};

/// A GuardDuty finding with the fields the rules read.
#[derive(Clone, Debug)]
pub struct Finding {
    pub source: String,
    pub account: String,
    pub region: String,
    pub detail: Detail,
    /// The whole `detail`, for rules that read more of it than [`Detail`] types (the
    /// Kubernetes context of EKS findings).
    pub raw: Value,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub severity: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub updated_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub resource: Option<Resource>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub service: Option<Service>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub resource_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub instance_details: Option<InstanceDetails>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub eks_cluster_details: Option<EksClusterDetails>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub access_key_details: Option<AccessKeyDetails>,
}

/// The credentials a finding is about (`resource.accessKeyDetails`): for an instance's
/// credentials used elsewhere, the principal is the node role's session.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyDetails {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub access_key_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub principal_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_type: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDetails {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub instance_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub tags: Vec<Tag>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub network_interfaces: Vec<NetworkInterface>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Tag {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    #[serde(default, deserialize_with = "lenient::list")]
    pub security_groups: Vec<GroupRef>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub group_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct EksClusterDetails {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub arn: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub action: Option<Action>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub action_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub network_connection_action: Option<NetworkConnectionAction>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub port_probe_action: Option<PortProbeAction>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConnectionAction {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub connection_direction: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub local_port_details: Option<PortDetails>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortProbeAction {
    #[serde(default, deserialize_with = "lenient::list")]
    pub port_probe_details: Vec<PortProbeDetail>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortProbeDetail {
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub local_port_details: Option<PortDetails>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PortDetails {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub port: Option<i64>,
}

impl Finding {
    pub(crate) fn from_envelope(envelope: EventBridgeEvent<Value>) -> Result<Self, EventError> {
        let raw = envelope.detail.clone();
        let detail: Detail = super::detail(envelope.detail, "GuardDuty finding")?;
        let account = envelope
            .account
            .or_else(|| detail.account_id.clone())
            .unwrap_or_default();
        let region = envelope
            .region
            .or_else(|| detail.region.clone())
            .unwrap_or_default();
        Ok(Finding {
            source: envelope.source,
            account,
            region,
            detail,
            raw,
        })
    }

    pub fn kind(&self) -> &str {
        &self.detail.kind
    }

    pub fn severity(&self) -> f64 {
        self.detail.severity.unwrap_or(0.0)
    }

    fn instance(&self) -> Option<&InstanceDetails> {
        self.detail.resource.as_ref()?.instance_details.as_ref()
    }

    /// The EC2 instance the finding is about.
    pub fn instance_id(&self) -> Option<&str> {
        self.instance()?.instance_id.as_deref()
    }

    /// The EKS cluster the finding is about.
    pub fn cluster(&self) -> Option<&EksClusterDetails> {
        self.detail.resource.as_ref()?.eks_cluster_details.as_ref()
    }

    /// The access key the finding is about.
    pub fn access_key(&self) -> Option<&AccessKeyDetails> {
        self.detail.resource.as_ref()?.access_key_details.as_ref()
    }

    /// Security groups of all the instance's network interfaces, without repeats.
    pub fn security_group_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        let interfaces = self
            .instance()
            .map(|i| i.network_interfaces.as_slice())
            .unwrap_or(&[]);
        for group in interfaces.iter().flat_map(|n| &n.security_groups) {
            if let Some(id) = &group.group_id {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        ids
    }

    /// The instance's tags, as GuardDuty copied them into the finding.
    pub fn instance_tags(&self) -> Tags {
        let tags = self.instance().map(|i| i.tags.as_slice()).unwrap_or(&[]);
        tags.iter()
            .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
            .collect()
    }

    /// Local ports that were attacked or probed, from either action shape.
    pub fn local_ports(&self) -> Vec<u16> {
        let Some(action) = self.detail.service.as_ref().and_then(|s| s.action.as_ref()) else {
            return Vec::new();
        };
        let connection = action
            .network_connection_action
            .iter()
            .filter_map(|c| c.local_port_details.as_ref());
        let probes = action
            .port_probe_action
            .iter()
            .flat_map(|p| &p.port_probe_details)
            .filter_map(|d| d.local_port_details.as_ref());
        let mut ports: Vec<u16> = connection
            .chain(probes)
            .filter_map(|d| d.port.and_then(|p| u16::try_from(p).ok()))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    pub fn origin(&self) -> Origin {
        Origin {
            account: self.account.clone(),
            region: self.region.clone(),
            actor: None,
            event: EventRef {
                source: self.source.clone(),
                name: self.detail.kind.clone(),
                id: self.detail.id.clone().unwrap_or_default(),
                time: self.detail.updated_at.clone().unwrap_or_default(),
            },
        }
    }
}
