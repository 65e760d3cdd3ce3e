//! The only module that talks to the AWS SDK.
//!
//! [`Aws`] holds one lazily built client per service, created on first use from one shared
//! `SdkConfig`, so that start-up only reads settings (cold-start budget) and a warm
//! invocation reuses connections. The submodules translate SDK types into `crate::domain`
//! types and SDK errors into [`crate::error::AwsError`].

pub mod calls;
pub mod cloudtrail;
pub mod ec2;
pub mod eks;
mod errors;
pub mod guardduty;
pub mod iam;
pub mod sns;
pub mod sqs;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use tokio::sync::OnceCell;

/// Shared AWS context: one config, one client per service.
#[derive(Debug, Default)]
pub struct Aws {
    config: OnceCell<SdkConfig>,
    cloudtrail: OnceCell<aws_sdk_cloudtrail::Client>,
    ec2: OnceCell<aws_sdk_ec2::Client>,
    eks: OnceCell<aws_sdk_eks::Client>,
    guardduty: OnceCell<aws_sdk_guardduty::Client>,
    iam: OnceCell<aws_sdk_iam::Client>,
    sns: OnceCell<aws_sdk_sns::Client>,
    sqs: OnceCell<aws_sdk_sqs::Client>,
}

impl Aws {
    /// A context whose config is loaded on first use from the environment: credentials,
    /// region, and `AWS_ENDPOINT_URL` (the emulator in tests and the demo).
    pub fn from_env() -> Self {
        Aws::default()
    }

    /// A context with a config built by the caller (tests, the CLI's `--profile`).
    pub fn with_config(config: SdkConfig) -> Self {
        Aws {
            config: OnceCell::new_with(Some(config)),
            ..Aws::default()
        }
    }

    async fn config(&self) -> &SdkConfig {
        self.config.get_or_init(load_config).await
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
client!(ec2, aws_sdk_ec2);
client!(eks, aws_sdk_eks);
client!(guardduty, aws_sdk_guardduty);
client!(iam, aws_sdk_iam);
client!(sns, aws_sdk_sns);
client!(sqs, aws_sdk_sqs);

/// Loads the default config with a rustls/ring HTTPS client: ring is smaller and quicker to
/// build than the SDK's default aws-lc, which keeps the deployment package small.
pub async fn load_config() -> SdkConfig {
    config_loader().load().await
}

/// The default loader, for callers that add a profile or region before loading.
pub fn config_loader() -> aws_config::ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http)
}
