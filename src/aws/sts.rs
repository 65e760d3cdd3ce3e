//! STS: which account the caller's credentials belong to. The functions read it from their
//! events; the CLI has no event, and names the account in what it reports.

use super::errors::classify;
use super::Aws;
use crate::error::AwsError;

impl Aws {
    /// The account of the caller's credentials (`GetCallerIdentity`, which needs no permission).
    pub async fn account_id(&self) -> Result<String, AwsError> {
        let out = self
            .sts()
            .await
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| classify("GetCallerIdentity", "caller", e))?;
        Ok(out.account().unwrap_or_default().to_owned())
    }
}
