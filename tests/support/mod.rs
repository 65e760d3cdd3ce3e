//! Test support: one moto server per test binary, SDK clients pointed at it, seeding helpers,
//! events built from `events/`, and alerts read back through an SQS queue subscribed to SNS.
//!
//! moto is started with the Python in `MOTO_PYTHON` (set by `scripts/tools.sh`, default
//! `python3`) as a child that exits when our stdin closes, so no server outlives the tests.

#![allow(dead_code)]

pub mod call_record;
pub mod cluster_extras;
pub mod eks_access;
pub mod proxy;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification,
};
use eks_remediator::aws::{lambda_config, Aws};
use eks_remediator::settings::{Mode, Settings};
use serde_json::{json, Map, Value};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

struct Moto {
    url: String,
    _child: Mutex<Child>,
}

/// Python that runs moto's threaded server on a port the system picks, says which, and runs
/// until stdin closes. The server binds the port itself: a port found free here and handed
/// over could be taken by another test binary's server in between.
const MOTO_SCRIPT: &str = "import sys\n\
from moto.server import ThreadedMotoServer\n\
s = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n\
s.start()\n\
print('ready', s.get_host_and_port()[1], flush=True)\n\
sys.stdin.read()\n\
s.stop()\n";

/// The base URL of this test process's moto server, started on first use.
pub fn moto_url() -> &'static str {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    &MOTO
        .get_or_init(|| {
            let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".to_owned());
            let mut child = Command::new(&python)
                .args(["-c", MOTO_SCRIPT])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start moto with {python}: {e}; run scripts/test")
                });
            let stdout = child.stdout.take().expect("moto stdout");
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("moto output");
            let port: u16 = match line.trim().split_once(' ') {
                Some(("ready", port)) => port.parse().expect("moto's port"),
                _ => {
                    panic!("moto did not start ({line:?}); is moto[server] installed for {python}?")
                }
            };
            // Keep stdin open for the life of the test process; closing it stops moto.
            if let Some(stdin) = child.stdin.as_mut() {
                let _ = stdin.flush();
            }
            Moto {
                url: format!("http://127.0.0.1:{port}"),
                _child: Mutex::new(child),
            }
        })
        .url
}

/// An SDK config for moto, with fixed test credentials and region.
pub fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_at(moto_url())
}

/// An SDK config for an endpoint in front of moto (the fault-injecting proxy).
pub fn sdk_config_at(url: &str) -> aws_config::SdkConfig {
    function_config(url, REGION, "testing", "testing", None)
}

/// An SDK config for an endpoint in front of moto (a proxy), in `region`.
pub fn sdk_config_via(url: &str, region: &str) -> aws_config::SdkConfig {
    function_config(url, region, "testing", "testing", None)
}

/// An SDK config for moto in another region, for tests of region-wide state (a region has
/// at most one GuardDuty detector) that must not see other tests' resources.
pub fn sdk_config_in(region: &str) -> aws_config::SdkConfig {
    function_config(moto_url(), region, "testing", "testing", None)
}

/// The config a function builds in Lambda ([`lambda_config::config`]), from the variables
/// Lambda would set, so that the tests run the SDK exactly as the functions ship it.
fn function_config(
    url: &str,
    region: &str,
    key: &str,
    secret: &str,
    token: Option<&str>,
) -> aws_config::SdkConfig {
    let vars = [
        ("AWS_ENDPOINT_URL", Some(url)),
        ("AWS_REGION", Some(region)),
        ("AWS_ACCESS_KEY_ID", Some(key)),
        ("AWS_SECRET_ACCESS_KEY", Some(secret)),
        ("AWS_SESSION_TOKEN", token),
    ];
    lambda_config::config(
        |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .and_then(|(_, v)| v.map(str::to_owned))
        },
        RetryConfig::standard(),
    )
}

/// One test's world: clients, and an alert topic with a queue subscribed to it.
pub struct World {
    pub aws: Aws,
    pub sqs: aws_sdk_sqs::Client,
    pub topic_arn: String,
    pub queue_url: String,
}

impl World {
    pub async fn new() -> World {
        World::in_account(sdk_config(), REGION, ACCOUNT).await
    }

    /// A world whose clients, topic and queue are in `region` of `account` (`config`'s).
    pub async fn in_account(config: aws_config::SdkConfig, region: &str, account: &str) -> World {
        let aws = Aws::with_config(config.clone());
        let sqs = aws_sdk_sqs::Client::new(&config);
        let name = unique("alerts");
        let topic_arn = aws
            .sns()
            .await
            .create_topic()
            .name(&name)
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_owned();
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        let queue_arn = format!("arn:aws:sqs:{region}:{account}:{name}");
        aws.sns()
            .await
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
        World {
            aws,
            sqs,
            topic_arn,
            queue_url,
        }
    }

    /// Settings for remediation with alerts to this world's topic.
    pub fn settings(&self) -> Settings {
        Settings {
            mode: Mode::Remediate,
            alert_topic_arn: Some(self.topic_arn.clone()),
            self_role_arns: vec![format!(
                "arn:aws:iam::{ACCOUNT}:role/eks-remediator-RevokeOpenIngressRole-X1"
            )],
            ..Settings::default()
        }
    }

    pub async fn vpc(&self) -> String {
        vpc(&self.aws, "10.0.0.0/16").await
    }

    /// A security group in `vpc` with `tags`, and no ingress.
    pub async fn group(&self, vpc: &str, tags: &[(&str, &str)]) -> String {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::SecurityGroup);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        let mut request = self
            .aws
            .ec2()
            .await
            .create_security_group()
            .group_name(unique("sg"))
            .description("test group")
            .vpc_id(vpc);
        if !tags.is_empty() {
            request = request.tag_specifications(spec.build());
        }
        request.send().await.unwrap().group_id().unwrap().to_owned()
    }

    /// A group tagged as an EKS cluster security group.
    pub async fn eks_group(&self) -> String {
        let vpc = self.vpc().await;
        self.group(&vpc, &[("aws:eks:cluster-name", "prod")]).await
    }

    /// Adds one ingress rule and returns its rule id. `cidr` may be IPv4 or IPv6.
    pub async fn allow(
        &self,
        group: &str,
        protocol: &str,
        ports: Option<(i32, i32)>,
        cidr: &str,
    ) -> String {
        let mut permission = IpPermission::builder().ip_protocol(protocol);
        if let Some((from, to)) = ports {
            permission = permission.from_port(from).to_port(to);
        }
        permission = if cidr.contains(':') {
            permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build())
        } else {
            permission.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .description("added by test")
                    .build(),
            )
        };
        let out = self
            .aws
            .ec2()
            .await
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(permission.build())
            .send()
            .await
            .unwrap();
        out.security_group_rules()[0]
            .security_group_rule_id()
            .unwrap()
            .to_owned()
    }

    /// The group's ingress rules as `(rule id, protocol, cidr)`, sorted.
    pub async fn ingress(&self, group: &str) -> Vec<(String, String, String)> {
        let out = self
            .aws
            .ec2()
            .await
            .describe_security_group_rules()
            .filters(Filter::builder().name("group-id").values(group).build())
            .send()
            .await
            .unwrap();
        let mut rules: Vec<_> = out
            .security_group_rules()
            .iter()
            .filter(|r| r.is_egress() != Some(true))
            .map(|r| {
                (
                    r.security_group_rule_id().unwrap_or_default().to_owned(),
                    r.ip_protocol().unwrap_or_default().to_owned(),
                    r.cidr_ipv4()
                        .or(r.cidr_ipv6())
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        rules.sort();
        rules
    }

    /// The rule ids of the group's ingress rules.
    pub async fn rule_ids(&self, group: &str) -> Vec<String> {
        self.ingress(group)
            .await
            .into_iter()
            .map(|(id, _, _)| id)
            .collect()
    }

    /// Every alert published so far (the `default` JSON documents), draining the queue.
    pub async fn alerts(&self) -> Vec<Value> {
        let mut alerts = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = out.messages();
            if messages.is_empty() {
                if Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            for m in messages {
                let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                let mut doc: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
                doc["_subject"] = envelope["Subject"].clone();
                alerts.push(doc);
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        alerts
    }
}

/// A name unique within this test process.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `events/<rule>/<file>` with each `(placeholder, value)` substituted.
pub fn event(rule: &str, file: &str, substitutions: &[(&str, &str)]) -> Value {
    let path = format!("{}/events/{rule}/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (from, to) in substitutions {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Creates an S3 bucket in moto (CloudTrail trails need one) with a plain `PUT /bucket`, which
/// moto's server routes to S3, so the tests need no S3 SDK crate.
pub async fn bucket(name: &str) {
    raw("PUT", &format!("/{name}"), "", "").await;
}

/// A CloudTrail trail writing to a bucket of its own, with `tags`, logging if `logging`;
/// returns its name.
pub async fn trail(aws: &Aws, logging: bool, tags: &[(&str, &str)]) -> String {
    let name = unique("trail");
    let logs = unique("audit-logs");
    bucket(&logs).await;
    let client = aws.cloudtrail().await;
    let mut request = client.create_trail().name(&name).s3_bucket_name(&logs);
    for (k, v) in tags {
        request = request.tags_list(
            aws_sdk_cloudtrail::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap(),
        );
    }
    request.send().await.unwrap();
    if logging {
        client.start_logging().name(&name).send().await.unwrap();
    }
    name
}

/// One plain HTTP request to moto's server, asserting a 200; returns the whole answer.
async fn raw(method: &str, path: &str, headers: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = moto_url().trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("moto");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("answer");
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "{answer}"
    );
    answer
}

/// Credentials of a role in another account, from moto's STS.
pub struct Keys {
    pub id: String,
    pub secret: String,
    pub token: String,
}

/// Credentials for `account`: moto's STS hands out credentials for a role in any account, and
/// calls made with them see only that account's resources. (Plain HTTP to STS keeps the SDK's
/// STS crate out of the tests.)
pub async fn assumed(account: &str) -> Keys {
    let body = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleSessionName=tests&RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2Ftests"
    );
    let answer = query("testing", "us-east-1", "sts", &body).await;
    let field = |name: &str| {
        let start = answer.find(&format!("<{name}>")).expect(name) + name.len() + 2;
        let end = answer[start..].find('<').expect(name) + start;
        answer[start..end].to_owned()
    };
    Keys {
        id: field("AccessKeyId"),
        secret: field("SecretAccessKey"),
        token: field("SessionToken"),
    }
}

/// The body of moto's answer to one AWS query-protocol call (form-encoded `body`), made with
/// access key `key` in `region`; moto routes on the service named in the credential scope.
pub async fn query(key: &str, region: &str, service: &str, body: &str) -> String {
    let headers = format!(
        "Content-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential={key}/20261128/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n"
    );
    let answer = raw("POST", "/", &headers, body).await;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or(answer)
}

/// Credentials for another `account` and an SDK config for moto in `region` with them, for
/// tests that must see exactly their own resources, IAM roles included (IAM is global in an
/// account). The keys serve the CLI's environment and configs through a proxy.
pub async fn in_account(region: &str, account: &str) -> (Keys, aws_config::SdkConfig) {
    let keys = assumed(account).await;
    let config = sdk_config_with(moto_url(), region, &keys);
    (keys, config)
}

/// An SDK config for `url` (moto, or a proxy in front of it) with `keys`.
pub fn sdk_config_with(url: &str, region: &str, keys: &Keys) -> aws_config::SdkConfig {
    function_config(url, region, &keys.id, &keys.secret, Some(&keys.token))
}

/// A VPC with `cidr` in `aws`'s region; returns its id.
pub async fn vpc(aws: &Aws, cidr: &str) -> String {
    let out = aws
        .ec2()
        .await
        .create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .unwrap();
    out.vpc().unwrap().vpc_id().unwrap().to_owned()
}

/// A running EC2 instance (an EKS node when `tags` say so) with `tags` and these metadata options; returns its id.
pub async fn instance(aws: &Aws, tags: &[(&str, &str)], tokens: &str, hop: i32) -> String {
    let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
    for (k, v) in tags {
        spec = spec.tags(Tag::builder().key(*k).value(*v).build());
    }
    let out = aws
        .ec2()
        .await
        .run_instances()
        .image_id("ami-0fedcba9876543210")
        .instance_type(aws_sdk_ec2::types::InstanceType::M6iLarge)
        .min_count(1)
        .max_count(1)
        .tag_specifications(spec.build())
        .metadata_options(
            aws_sdk_ec2::types::InstanceMetadataOptionsRequest::builder()
                .http_tokens(aws_sdk_ec2::types::HttpTokensState::from(tokens))
                .http_put_response_hop_limit(hop)
                .http_endpoint(aws_sdk_ec2::types::InstanceMetadataEndpointState::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_owned()
}

/// A customer managed policy with `document`; returns its ARN.
pub async fn customer_policy(aws: &Aws, document: &str) -> String {
    aws.iam()
        .await
        .create_policy()
        .policy_name(unique("policy"))
        .policy_document(document)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

/// A security group in `vpc` with tcp/22 open to `cidr`, tagged as an EKS cluster's when
/// `eks` (the default scope of revoke-open-ingress); returns its id.
pub async fn ssh_group(aws: &Aws, vpc: &str, eks: bool, cidr: &str) -> String {
    use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, Tag, TagSpecification};
    let ec2 = aws.ec2().await;
    let mut request = ec2
        .create_security_group()
        .group_name(unique("ssh-sg"))
        .description("ssh test group")
        .vpc_id(vpc);
    if eks {
        request = request.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(
                    Tag::builder()
                        .key("aws:eks:cluster-name")
                        .value("prod")
                        .build(),
                )
                .build(),
        );
    }
    let id = request.send().await.unwrap().group_id().unwrap().to_owned();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    id
}

/// A role `service` may assume, with these managed policies, tags and inline policy.
pub async fn role(
    aws: &Aws,
    service: &str,
    attached: &[&str],
    tags: &[(&str, &str)],
    inline: Option<&str>,
) -> String {
    let name = unique("role");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let iam = aws.iam().await;
    let mut request = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust);
    for (k, v) in tags {
        request = request.tags(
            aws_sdk_iam::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap(),
        );
    }
    request.send().await.unwrap();
    for arn in attached {
        iam.attach_role_policy()
            .role_name(&name)
            .policy_arn(*arn)
            .send()
            .await
            .unwrap();
    }
    if let Some(document) = inline {
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("extras")
            .policy_document(document)
            .send()
            .await
            .unwrap();
    }
    name
}

/// A cluster on Kubernetes `version` with all five log types, public or private, its secrets
/// encrypted or not; returns its name.
pub async fn cluster(aws: &Aws, public: bool, version: &str, encrypted: bool) -> String {
    let name = unique("cluster");
    #[allow(deprecated)]
    let encryption = aws_sdk_eks::types::EncryptionConfig::builder()
        .resources("secrets")
        .provider(
            aws_sdk_eks::types::Provider::builder()
                .key_arn(
                    "arn:aws:kms:eu-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                )
                .build(),
        )
        .build();
    aws.eks()
        .await
        .create_cluster()
        .set_encryption_config(encrypted.then(|| vec![encryption]))
        .name(&name)
        .version(version)
        .role_arn("arn:aws:iam::123456789012:role/eks-cluster-role")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-0123456789abcdef0")
                .endpoint_public_access(public)
                .endpoint_private_access(!public)
                .public_access_cidrs("0.0.0.0/0")
                .build(),
        )
        .logging(
            aws_sdk_eks::types::Logging::builder()
                .cluster_logging(
                    aws_sdk_eks::types::LogSetup::builder()
                        .set_types(Some(
                            [
                                "api",
                                "audit",
                                "authenticator",
                                "controllerManager",
                                "scheduler",
                            ]
                            .map(aws_sdk_eks::types::LogType::from)
                            .to_vec(),
                        ))
                        .enabled(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    name
}

/// `tests/fixtures/reference-events/`: published samples, see its SOURCES.md.
pub fn reference_events_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-events")
}

/// `GetFindings` output is PascalCase; EventBridge delivers camelCase.
pub fn camel_case(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = chars
                        .next()
                        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                        .unwrap_or_default();
                    (key, camel_case(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case).collect()),
        other => other,
    }
}

/// A reference sample as EventBridge would deliver it: bare records and findings wrapped in
/// an envelope, PascalCase `GetFindings` output turned to camelCase.
pub fn reference_event(name: &str) -> Value {
    let text = std::fs::read_to_string(reference_events_dir().join(name)).unwrap();
    let sample: Value = serde_json::from_str(&text).unwrap();
    let wrap = |detail_type: &str, source: &str, detail: Value| {
        json!({"version": "0", "id": "test", "detail-type": detail_type, "source": source,
            "account": "123456789012", "time": "2026-11-28T00:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail})
    };
    if name.ends_with(".eventbridge.json") {
        sample
    } else if name.ends_with(".cloudtrail.json") {
        let service = sample["eventSource"]
            .as_str()
            .unwrap()
            .trim_end_matches(".amazonaws.com")
            .to_owned();
        wrap(
            "AWS API Call via CloudTrail",
            &format!("aws.{service}"),
            sample,
        )
    } else if name.ends_with(".bare.json") {
        wrap("GuardDuty Finding", "aws.guardduty", sample)
    } else if name.ends_with(".partial-envelope.json") {
        wrap(
            "GuardDuty Finding",
            "aws.guardduty",
            sample["detail"].clone(),
        )
    } else if name.ends_with(".getfindings-cli.json") {
        wrap(
            "GuardDuty Finding",
            "aws.guardduty",
            camel_case(sample["Findings"][0].clone()),
        )
    } else {
        panic!("unknown form: {name}")
    }
}

/// Runs one handler call for `rule`, asserts that every AWS action it made is one the rule
/// declares (and `tests/catalog.rs` proves its template role grants exactly those), and
/// records the actions in `<target>/tmp/least-privilege/` ([`call_record`]), from which
/// `scripts/least_privilege.py` lists granted actions no test exercised.
pub async fn granted<F: std::future::Future>(
    rule: &eks_remediator::rules::RuleInfo,
    work: F,
) -> F::Output {
    granted_as(rule.name, rule.iam_actions, work).await
}

/// [`granted`] for a function that is not a rule (the sweep): `name` and its declared actions.
pub async fn granted_as<F: std::future::Future>(
    name: &str,
    iam_actions: &[&str],
    work: F,
) -> F::Output {
    // Boxed: a handler's future is large in debug builds, and test threads have 2 MiB stacks.
    let (output, calls) = eks_remediator::aws::calls::record_calls(Box::pin(work)).await;
    for call in &calls {
        assert!(
            iam_actions.contains(&call.as_str()),
            "{name} called {call}, which its role does not grant"
        );
    }
    call_record::record(&call_record::default_dir(), name, &calls);
    output
}

/// One successful handler call for `rule` through [`granted`], as the JSON summary Lambda
/// would get.
pub async fn summary<F>(rule: &eks_remediator::rules::RuleInfo, work: F) -> Value
where
    F: std::future::Future<
        Output = Result<eks_remediator::outcome::Summary, eks_remediator::error::HandlerError>,
    >,
{
    let summary = granted(rule, work).await.expect("handler succeeds");
    serde_json::to_value(summary).expect("a summary is JSON")
}

/// One plain HTTP request to moto's server; returns the status code and the whole answer.
async fn http(method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = moto_url().trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("moto");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// An empty zip archive (its end-of-central-directory record only), base64-encoded.
const EMPTY_ZIP: &str = "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==";

/// A Lambda function `name` in moto, in `region` of the account of access key `key`
/// (`testing`: [`ACCOUNT`]; an [`assumed`] key: that account), run by `role_arn` (an IAM role
/// of that account: moto checks it exists), with an empty zip; returns its ARN. moto never
/// runs it: it is a destination that exists, as CloudWatch Logs' `PutSubscriptionFilter`
/// requires (moto checks that too). Plain HTTP to moto's Lambda REST API keeps the Lambda SDK
/// crate out of the tests.
pub async fn lambda_function(key: &str, region: &str, name: &str, role_arn: &str) -> String {
    let body = json!({
        "FunctionName": name,
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Role": role_arn,
        "Code": {"ZipFile": EMPTY_ZIP},
    })
    .to_string();
    let headers = format!(
        "Content-Type: application/json\r\nAuthorization: AWS4-HMAC-SHA256 Credential={key}/20261128/{region}/lambda/aws4_request, SignedHeaders=host, Signature=0\r\n"
    );
    let (status, answer) = http("POST", "/2015-03-31/functions", &headers, &body).await;
    assert_eq!(status, 201, "{answer}");
    let account = role_arn.split(':').nth(4).expect("the role's account");
    let arn = format!("arn:aws:lambda:{region}:{account}:function:{name}");
    assert!(answer.contains(&arn), "{answer}");
    arn
}
