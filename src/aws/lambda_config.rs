//! The SDK config of a function, read from the variables Lambda sets for it.
//!
//! Lambda gives a function everything it needs in its environment: the role's credentials
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and `AWS_REGION`;
//! our tests and the demo add `AWS_ENDPOINT_URL`. aws-config's loader would look for the
//! same things through its whole default chain (profile files, SSO, web identity through
//! STS, ECS, IMDS), none of which a function ever uses, and that chain is linked into every
//! binary that calls the loader: building the config here keeps it out of the functions'
//! deployment packages and their first event. The CLI, which runs on people's machines
//! with profiles, still uses the loader ([`super::config_loader`]).

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;

/// Where the credentials came from, as the SDK reports it in its logs and errors.
const CREDENTIALS_SOURCE: &str = "Lambda environment";

/// The config for a function, from `lookup` (the process environment in Lambda, a table in
/// tests). Empty values count as unset. Nothing here can fail: a missing region or missing
/// credentials make each AWS call fail with the SDK's own clear error, and the invocation
/// with it, which is what Lambda's retries and the dead-letter queue are for.
pub fn config(lookup: impl Fn(&str) -> Option<String>, retries: RetryConfig) -> SdkConfig {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let endpoint = get("AWS_ENDPOINT_URL");
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(super::https_client(endpoint.as_deref()))
        .retry_config(retries);
    builder.set_region(
        get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .map(Region::new),
    );
    if let (Some(key), Some(secret)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        let credentials = Credentials::new(
            key,
            secret,
            get("AWS_SESSION_TOKEN"),
            None,
            CREDENTIALS_SOURCE,
        );
        builder.set_credentials_provider(Some(SharedCredentialsProvider::new(credentials)));
    }
    builder.set_endpoint_url(endpoint);
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::ProvideCredentials;

    fn from(vars: &[(&str, &str)]) -> SdkConfig {
        config(crate::settings::table(vars), RetryConfig::standard())
    }

    #[tokio::test]
    async fn lambda_variables_make_the_config() {
        let config = from(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        let provider = config.credentials_provider().expect("credentials are set");
        let credentials = provider.provide_credentials().await.expect("static");
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
        assert!(config.http_client().is_some());
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(3));
    }

    #[test]
    fn the_default_region_stands_in_and_empty_values_are_unset() {
        let config = from(&[
            ("AWS_REGION", " "),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_ENDPOINT_URL", ""),
        ]);
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert!(config.endpoint_url().is_none());
        assert!(
            config.credentials_provider().is_none(),
            "a key without its secret is no credentials"
        );
    }
}
