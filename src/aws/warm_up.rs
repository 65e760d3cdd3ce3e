//! The one-time work of a function's clients, done while Lambda initialises it rather than
//! on its first event.
//!
//! The first call of a process pays for what every later call reuses: the SDK config and
//! the client, the HTTPS connector (rustls and the system's trust store: about 2 ms of
//! parsing certificates), and the lazily built parts of the request pipeline (endpoint
//! rules, signing, serialisation). Lambda runs a function's init phase with its full CPU
//! before the first event arrives, so `runtime::serve` has [`Aws::warm_up`] do that work on a
//! thread of its own beside the first poll for an event: the cold start does not wait for
//! it, and the first event finds it done.
//!
//! Each warm-up call is a real request of the client's, through the whole pipeline, sent to a
//! local port that nothing listens on: it is refused at once, reaches no AWS endpoint, needs
//! no permission, and is not retried. (The connector it builds is the one later calls use:
//! the SDK caches it by timeout settings, which the override leaves as they are.)

use aws_config::retry::RetryConfig;

use super::Aws;

/// The services whose IAM actions (`ec2:DescribeSecurityGroups`) appear in `actions`, each
/// once, in the order they first appear.
fn services<'a>(actions: &[&'a str]) -> Vec<&'a str> {
    let mut services: Vec<&str> = Vec::new();
    for service in actions
        .iter()
        .filter_map(|a| a.split_once(':').map(|(s, _)| s))
    {
        if !services.contains(&service) {
            services.push(service);
        }
    }
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

/// One cheap request of `$client`'s, overridden to go to `$endpoint` without retries; its
/// (certain) failure is the point, and is ignored.
macro_rules! rehearse {
    ($aws:expr, $client:ident, $sdk:ident, $endpoint:expr, $operation:ident) => {{
        let config = $sdk::config::Builder::default()
            .endpoint_url($endpoint)
            .retry_config(RetryConfig::disabled());
        let _ = $aws
            .$client()
            .await
            .$operation()
            .customize()
            .config_override(config)
            .send()
            .await;
    }};
}

impl Aws {
    /// Builds the clients of the services `actions` (a rule's IAM actions) name and makes
    /// one rehearsal request with each (see the module's comment). Services this library
    /// has no client for are skipped.
    pub async fn warm_up(&self, actions: &[&str]) {
        let Some(endpoint) = refusing_endpoint() else {
            return;
        };
        for service in services(actions) {
            match service {
                "cloudtrail" => {
                    rehearse!(
                        self,
                        cloudtrail,
                        aws_sdk_cloudtrail,
                        &endpoint,
                        describe_trails
                    )
                }
                "ec2" => rehearse!(self, ec2, aws_sdk_ec2, &endpoint, describe_security_groups),
                "eks" => rehearse!(self, eks, aws_sdk_eks, &endpoint, list_clusters),
                "guardduty" => {
                    rehearse!(
                        self,
                        guardduty,
                        aws_sdk_guardduty,
                        &endpoint,
                        list_detectors
                    )
                }
                "iam" => rehearse!(self, iam, aws_sdk_iam, &endpoint, list_roles),
                "sns" => rehearse!(self, sns, aws_sdk_sns, &endpoint, list_topics),
                "sqs" => rehearse!(self, sqs, aws_sdk_sqs, &endpoint, list_queues),
                "sts" => rehearse!(self, sts, aws_sdk_sts, &endpoint, get_caller_identity),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_once_in_order() {
        let actions = [
            "ec2:DescribeSecurityGroups",
            "ec2:RevokeSecurityGroupIngress",
            "eks:DescribeNodegroup",
            "sns:Publish",
            "kms:CreateGrant",
            "not an action",
        ];
        assert_eq!(services(&actions), ["ec2", "eks", "sns", "kms"]);
    }
}
