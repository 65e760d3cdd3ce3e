//! The regions an account has enabled, for `eks-remediator scan --regions all` and to tell a
//! region the account has not opted in to from one whose scan failed.

use super::errors::classify;
use super::Aws;
use crate::error::AwsError;

impl Aws {
    /// The account's enabled regions (`DescribeRegions`), sorted. Without `AllRegions` AWS
    /// lists only enabled ones; a region still marked `not-opted-in` is dropped here too,
    /// because some emulators (moto) list every region whatever is asked.
    pub async fn enabled_regions(&self) -> Result<Vec<String>, AwsError> {
        let out = self
            .ec2()
            .await
            .describe_regions()
            .send()
            .await
            .map_err(|e| classify("DescribeRegions", "account", e))?;
        let mut regions: Vec<String> = out
            .regions()
            .iter()
            .filter(|r| r.opt_in_status() != Some("not-opted-in"))
            .filter_map(|r| r.region_name().map(str::to_owned))
            .collect();
        regions.sort();
        Ok(regions)
    }
}
