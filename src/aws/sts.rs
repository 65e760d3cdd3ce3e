//! STS: which account the caller's credentials belong to, and entering another account. The
//! functions read the account from their events; the CLI has no event, names the account in
//! what it reports, and enters an organisation's accounts through a role.

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;

use super::errors::classify;
use super::Aws;
use crate::error::AwsError;

/// The session name the CLI's assumed roles carry, so CloudTrail in each account shows who
/// read it.
pub const SCAN_SESSION: &str = "eks-remediator-scan";

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

    /// Enters `role_arn` (`AssumeRole`) and returns `base` with its temporary credentials: the
    /// same endpoint, HTTP client and retry policy, acting in the role's account. The call is
    /// made now, not on the first use of the credentials, so that a role that cannot be
    /// assumed is one clear error for its account rather than a failure of every scan in it.
    pub async fn enter(
        &self,
        base: &SdkConfig,
        role_arn: &str,
        external_id: Option<&str>,
    ) -> Result<SdkConfig, AwsError> {
        let out = self
            .sts()
            .await
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(SCAN_SESSION)
            .set_external_id(external_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify("AssumeRole", role_arn, e))?;
        let Some(issued) = out.credentials() else {
            return Err(AwsError {
                operation: "AssumeRole",
                resource: role_arn.to_owned(),
                kind: crate::error::AwsErrorKind::Other,
                code: "NoCredentials".to_owned(),
                message: "STS answered without credentials".to_owned(),
            });
        };
        let credentials = Credentials::new(
            issued.access_key_id(),
            issued.secret_access_key(),
            Some(issued.session_token().to_owned()),
            std::time::SystemTime::try_from(*issued.expiration()).ok(),
            "AssumeRole",
        );
        Ok(base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build())
    }
}
