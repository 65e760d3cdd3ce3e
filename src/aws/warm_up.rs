//! The one-time work of a function's clients, done while Lambda initialises it rather than
//! on its first event.
//!
//! The first call of a process pays for what every later call reuses: the SDK config and
//! the client, the HTTPS connector (rustls and the system's trust store: about 2 ms of
//! parsing certificates), and the lazily built parts of the request pipeline (endpoint
//! rules, signing, serialisation). Lambda runs a function's init phase with its full CPU,
//! and an invocation of a small function with a fraction of one, so `runtime::serve` has
//! [`Aws::warm_up`] do that work before its first poll for an event.
//!
//! It builds the config and each client the function calls, then makes one real request
//! through the whole pipeline with the alert client (every function has one): that builds
//! the HTTP connector all clients share, the signer and the rest of the pipeline's lazy parts.
//! The request goes to a local port that nothing listens on: it is refused at once, reaches
//! no AWS endpoint, needs no permission, and is not retried. (The connector it builds is the
//! one later calls use: the SDK caches it by timeout settings, which the override leaves as
//! they are.) One rehearsal per client was measured too: each costs about 0.1 ms of init, the
//! same as a warm request, and saved the first event less than that.
//!
//! A rule names its clients ([`Warm`] entries, in its catalog entry) rather than passing
//! service names to a `match`: a binary then links only the clients it calls, where a match
//! would put every service's client into every function (1.2 MB more each).

use std::future::Future;
use std::pin::Pin;

use aws_config::retry::RetryConfig;

use super::Aws;

/// A client being built: it borrows the context.
type Building<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// One client a function warms up.
#[derive(Clone, Copy)]
pub struct Warm {
    /// The service, as IAM actions name it (`ec2`): the catalog test holds each rule's
    /// entries to the services of its `iam_actions`.
    pub service: &'static str,
    build: for<'a> fn(&'a Aws) -> Building<'a>,
}

impl std::fmt::Debug for Warm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.service)
    }
}

/// The [`Warm`] entry of one client.
macro_rules! warm {
    ($name:ident, $client:ident) => {
        pub const $name: Warm = Warm {
            service: stringify!($client),
            build: |aws| {
                Box::pin(async move {
                    aws.$client().await;
                })
            },
        };
    };
}

warm!(CLOUDTRAIL, cloudtrail);
warm!(DYNAMODB, dynamodb);
warm!(EC2, ec2);
warm!(EKS, eks);
warm!(GUARDDUTY, guardduty);
warm!(IAM, iam);
warm!(LOGS, logs);
warm!(SECURITYHUB, securityhub);
warm!(SNS, sns);
warm!(SQS, sqs);

/// The services whose IAM actions (`ec2:DescribeSecurityGroups`) appear in `actions` and
/// that have a client here (not KMS, which only EKS calls, on the function's behalf), each
/// once, sorted: what a rule's `warm_up` entries must cover.
pub fn services_with_clients<'a>(actions: &[&'a str]) -> Vec<&'a str> {
    let mut services: Vec<&str> = actions
        .iter()
        .filter_map(|a| a.split_once(':').map(|(s, _)| s))
        .filter(|s| *s != "kms")
        .collect();
    services.sort_unstable();
    services.dedup();
    services
}

/// An address on this host that refuses connections: a port the system just handed out and
/// took back.
fn refusing_endpoint() -> Option<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    let port = listener.local_addr().ok()?.port();
    drop(listener);
    Some(format!("http://127.0.0.1:{port}"))
}

impl Aws {
    /// Builds the config and the clients of `clients`, then makes the rehearsal request
    /// (see the module's comment).
    pub async fn warm_up(&self, clients: &[Warm]) {
        for client in clients {
            (client.build)(self).await;
        }
        let Some(endpoint) = refusing_endpoint() else {
            return;
        };
        let config = aws_sdk_sns::config::Builder::default()
            .endpoint_url(endpoint)
            .retry_config(RetryConfig::disabled());
        let _ = self
            .sns()
            .await
            .publish()
            .topic_arn("arn:aws:sns:us-east-1:000000000000:eks-remediator-warm-up")
            .message("warm-up")
            .customize()
            .config_override(config)
            .send()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_named_once_sorted_and_without_kms() {
        let actions = [
            "sns:Publish",
            "ec2:DescribeSecurityGroups",
            "ec2:RevokeSecurityGroupIngress",
            "eks:DescribeNodegroup",
            "kms:CreateGrant",
            "not an action",
        ];
        assert_eq!(services_with_clients(&actions), ["ec2", "eks", "sns"]);
    }
}
