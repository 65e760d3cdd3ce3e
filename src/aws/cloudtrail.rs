//! CloudTrail: a trail's identity, status, tags and event selectors, and restarting it.

use super::errors::classify;
use super::Aws;
use crate::domain::audit::{BasicSelector, FieldSelector, Selectors, Trail};
use crate::domain::Tags;
use crate::error::AwsError;

impl Aws {
    /// The trail named `name` (a name or an ARN): its name, ARN and whether it logs, with its
    /// tags (three calls: `GetTrail`, `GetTrailStatus`, `ListTags`).
    pub async fn get_trail(&self, name: &str) -> Result<Trail, AwsError> {
        let client = self.cloudtrail().await;
        let out = client
            .get_trail()
            .name(name)
            .send()
            .await
            .map_err(|e| classify("GetTrail", name, e))?;
        let trail = out.trail();
        let trail_name = trail.and_then(|t| t.name()).unwrap_or(name).to_owned();
        let arn = trail.and_then(|t| t.trail_arn()).map(str::to_owned);
        let status = client
            .get_trail_status()
            .name(&trail_name)
            .send()
            .await
            .map_err(|e| classify("GetTrailStatus", trail_name.as_str(), e))?;
        let mut tags = Tags::new();
        if let Some(arn) = &arn {
            let listed = client
                .list_tags()
                .resource_id_list(arn)
                .send()
                .await
                .map_err(|e| classify("ListTags", arn.as_str(), e))?;
            tags = listed
                .resource_tag_list()
                .iter()
                .flat_map(|r| r.tags_list())
                .map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned()))
                .collect();
        }
        Ok(Trail {
            name: trail_name,
            arn,
            logging: status.is_logging() == Some(true),
            tags,
        })
    }

    /// The names of the trails this region's API reports (its own and shadow copies of
    /// multi-region trails), by ARN when they live elsewhere.
    pub async fn list_trail_names(&self) -> Result<Vec<String>, AwsError> {
        let out = self
            .cloudtrail()
            .await
            .describe_trails()
            .include_shadow_trails(false)
            .send()
            .await
            .map_err(|e| classify("DescribeTrails", "*", e))?;
        Ok(out
            .trail_list()
            .iter()
            .filter_map(|t| t.name().map(str::to_owned))
            .collect())
    }

    pub async fn start_logging(&self, name: &str) -> Result<(), AwsError> {
        self.cloudtrail()
            .await
            .start_logging()
            .name(name)
            .send()
            .await
            .map_err(|e| classify("StartLogging", name, e))?;
        Ok(())
    }

    pub async fn event_selectors(&self, name: &str) -> Result<Selectors, AwsError> {
        let out = self
            .cloudtrail()
            .await
            .get_event_selectors()
            .trail_name(name)
            .send()
            .await
            .map_err(|e| classify("GetEventSelectors", name, e))?;
        Ok(Selectors {
            basic: out
                .event_selectors()
                .iter()
                .map(|s| BasicSelector {
                    read_write_type: s.read_write_type().map(|t| t.as_str().to_owned()),
                    include_management_events: s.include_management_events(),
                })
                .collect(),
            advanced: out
                .advanced_event_selectors()
                .iter()
                .map(|s| {
                    s.field_selectors()
                        .iter()
                        .map(|f| FieldSelector {
                            field: f.field().to_owned(),
                            equals: f.equals().to_vec(),
                            not_equals: f.not_equals().to_vec(),
                        })
                        .collect()
                })
                .collect(),
        })
    }
}
