//! The only module that talks to the AWS SDK.
//!
//! [`Aws`] holds one lazily built client per service, created from one shared `SdkConfig`
//! on first use, or before a function's first event by [`warm_up`], and reused (with its
//! connections) while the function is warm. The submodules translate SDK types into
//! `crate::domain` types and SDK errors into [`crate::error::AwsError`].

pub mod calls;
pub mod cloudtrail;
pub mod dynamodb;
pub mod ec2;
pub mod eks;
mod eks_access;
mod errors;
pub mod guardduty;
pub mod iam;
pub mod lambda_config;
pub mod logs;
pub mod nodes;
pub mod organizations;
mod regions;
pub mod securityhub;
pub mod sns;
pub mod sqs;
pub mod sts;
pub mod warm_up;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tokio::sync::OnceCell;

/// Shared AWS context: one config, one client per service.
///
/// A function's context ([`Aws::from_env`]) builds its config from the Lambda environment
/// ([`lambda_config`]); the CLI and the tests hand in one of their own ([`Aws::with_config`]).
#[derive(Debug, Default)]
pub struct Aws {
    config: OnceCell<SdkConfig>,
    cloudtrail: OnceCell<aws_sdk_cloudtrail::Client>,
    dynamodb: OnceCell<aws_sdk_dynamodb::Client>,
    ec2: OnceCell<aws_sdk_ec2::Client>,
    eks: OnceCell<aws_sdk_eks::Client>,
    guardduty: OnceCell<aws_sdk_guardduty::Client>,
    iam: OnceCell<aws_sdk_iam::Client>,
    logs: OnceCell<aws_sdk_cloudwatchlogs::Client>,
    organizations: OnceCell<aws_sdk_organizations::Client>,
    securityhub: OnceCell<aws_sdk_securityhub::Client>,
    sns: OnceCell<aws_sdk_sns::Client>,
    sqs: OnceCell<aws_sdk_sqs::Client>,
    sts: OnceCell<aws_sdk_sts::Client>,
    /// The retry policy when not the SDK's standard one (scans).
    retries: Option<RetryConfig>,
}

impl Aws {
    /// A function's context: its config is built on first use from the variables Lambda
    /// sets (credentials, region) and `AWS_ENDPOINT_URL` (the emulator in tests and the
    /// demo); see [`lambda_config`].
    pub fn from_env() -> Self {
        Aws::default()
    }

    /// Like [`Aws::from_env`], retrying as scans do ([`scan_retries`]): the sweep function.
    pub fn from_env_for_scans() -> Self {
        Aws {
            retries: Some(scan_retries()),
            ..Aws::default()
        }
    }

    /// A context with a config built by the caller (tests, the CLI's `--profile`).
    pub fn with_config(config: SdkConfig) -> Self {
        Aws {
            config: OnceCell::new_with(Some(config)),
            ..Aws::default()
        }
    }

    /// The region every client calls: where the function runs, for outcomes whose event does
    /// not say (a CloudWatch Logs delivery names its account, not its region).
    pub async fn region(&self) -> String {
        self.config()
            .await
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| async {
                let retries = self.retries.clone().unwrap_or_else(RetryConfig::standard);
                lambda_config::config(|name| std::env::var(name).ok(), retries)
            })
            .await
    }
}

/// A lazily built client of one SDK crate, carrying the [`calls::CallLog`] interceptor.
macro_rules! client {
    ($name:ident, $sdk:ident) => {
        impl Aws {
            pub async fn $name(&self) -> &$sdk::Client {
                let config = self.config().await;
                self.$name
                    .get_or_init(|| async {
                        $sdk::Client::from_conf(
                            $sdk::config::Builder::from(config)
                                .interceptor(calls::CallLog)
                                .build(),
                        )
                    })
                    .await
            }
        }
    };
}

client!(cloudtrail, aws_sdk_cloudtrail);
client!(dynamodb, aws_sdk_dynamodb);
client!(ec2, aws_sdk_ec2);
client!(eks, aws_sdk_eks);
client!(guardduty, aws_sdk_guardduty);
client!(iam, aws_sdk_iam);
client!(logs, aws_sdk_cloudwatchlogs);
client!(organizations, aws_sdk_organizations);
client!(securityhub, aws_sdk_securityhub);
client!(sns, aws_sdk_sns);
client!(sqs, aws_sdk_sqs);
client!(sts, aws_sdk_sts);

/// How scans retry: up to 8 attempts instead of an event's 3, with the standard exponential
/// backoff and jitter (capped at 20 s), because a sweep makes hundreds of calls in a burst,
/// shares the account's API rate with everything else, and has minutes to spare. Not the
/// adaptive mode: its client-side rate limiter kept slowing every later call long after two
/// throttles (a two-minute scan in our test), which risks the sweep's timeout.
pub fn scan_retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(8)
}

/// aws-config's loader, with its whole default chain (profiles, SSO, ...), for the CLI and
/// the tests, which add a profile, region or endpoint before loading. Functions do not use
/// it: see [`lambda_config`].
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client(None))
}

/// The HTTPS client of every config: rustls with ring, which is smaller and quicker to build
/// than the SDK's default aws-lc, and so keeps the deployment packages small.
///
/// It trusts the system's root certificates, read when the first connection is made, unless
/// every call goes to `endpoint` and that is plain HTTP (an emulator, `AWS_ENDPOINT_URL=
/// http://127.0.0.1:5000`): then TLS has nothing to verify, and reading and parsing the trust
/// store, about 2 ms of CPU, is skipped.
fn https_client(endpoint: Option<&str>) -> SharedHttpClient {
    let plain_http = endpoint.is_some_and(|url| {
        url.get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
    });
    let mut builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::Ring,
    ));
    if plain_http {
        let nothing_to_verify = tls::TrustStore::empty().with_native_roots(false);
        if let Ok(context) = tls::TlsContext::builder()
            .with_trust_store(nothing_to_verify)
            .build()
        {
            builder = builder.tls_context(context);
        }
    }
    builder.build_https()
}
