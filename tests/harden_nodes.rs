//! Integration tests of `harden-nodes`: the real SDK against moto's server, events from
//! `events/harden-nodes/`, instances, launch templates, subnets, route tables, clusters and
//! node groups made in moto, alerts read back through SQS.
//!
//! moto launches no instances for a node group, so the tests start the nodes themselves with
//! the tags EKS puts on them; and it does not apply a launch template's metadata options to
//! an instance run from it, so each node is given its options directly.

mod support;

use aws_sdk_ec2::types::{
    LaunchTemplateHttpTokensState, LaunchTemplateInstanceMetadataOptionsRequest,
    RequestLaunchTemplateData, ResourceType, Tag,
};
use eks_remediator::aws::calls::record_calls;
use eks_remediator::aws::Aws;
use eks_remediator::rules::harden_nodes::{handle, scan, RULE as RULE_INFO};
use eks_remediator::settings::{Mode, Settings};
use serde_json::Value;
use support::{event, unique, World};

const RULE: &str = "harden-nodes";
const INSTANCE: &str = "i-0123456789abcdef0";
const TEMPLATE: &str = "lt-0123456789abcdef0";

async fn run(w: &World, settings: &Settings, event: Value) -> Value {
    run_with(&w.aws, settings, event).await
}

async fn run_with(aws: &Aws, settings: &Settings, event: Value) -> Value {
    support::summary(&RULE_INFO, handle(aws, settings, event)).await
}

fn statuses(summary: &Value) -> Vec<&str> {
    summary["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect()
}

const NODE_TAGS: &[(&str, &str)] = &[
    ("eks:cluster-name", "prod"),
    ("eks:nodegroup-name", "ng-workers"),
    ("kubernetes.io/cluster/prod", "owned"),
];

/// A running instance with `tags` and these metadata options; returns its id.
async fn instance(aws: &Aws, tags: &[(&str, &str)], tokens: &str, hop: i32) -> String {
    support::instance(aws, tags, tokens, hop).await
}

/// An instance's `HttpTokens` and hop limit, as EC2 reports them now.
async fn metadata(aws: &Aws, id: &str) -> (String, i32) {
    let found = aws.describe_instance(id).await.unwrap();
    (
        found.metadata.http_tokens.unwrap(),
        found.metadata.hop_limit.unwrap(),
    )
}

fn running(id: &str) -> Value {
    event(RULE, "node-running.json", &[(INSTANCE, id)])
}

fn settings(w: &World) -> Settings {
    w.settings()
}

#[tokio::test]
async fn an_imdsv1_node_is_switched_to_imdsv2_as_it_starts_and_its_hop_limit_kept() {
    let w = World::new().await;
    let id = instance(&w.aws, NODE_TAGS, "optional", 2).await;
    let summary = run(&w, &settings(&w), running(&id)).await;
    assert_eq!(statuses(&summary), ["remediated"]);
    // moto resets the options a ModifyInstanceMetadataOptions leaves out (the hop limit
    // would drop to 1); AWS keeps them. The function names them all, so both end the same.
    assert_eq!(metadata(&w.aws, &id).await, ("required".to_owned(), 2));
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(alert["resource"]["type"], "ec2-instance");
    assert_eq!(alert["resource"]["id"], id.as_str());
    assert!(
        alert["actor"].is_null(),
        "EC2's notification names no caller"
    );
    assert_eq!(
        alert["event"]["name"],
        "EC2 Instance State-change Notification"
    );
    let finding = alert["finding"].as_str().unwrap();
    assert!(
        finding.contains("cluster prod, node group ng-workers")
            && finding.contains("HttpTokens=optional"),
        "{finding}"
    );
    assert_eq!(
        alert["actions"][0],
        format!("ModifyInstanceMetadataOptions {id} HttpTokens=required HttpPutResponseHopLimit=2")
    );
    assert_eq!(
        alert["undo"],
        format!(
            "aws ec2 modify-instance-metadata-options --region us-east-1 --instance-id {id} \
             --http-tokens optional --http-put-response-hop-limit 2"
        )
    );
}

#[tokio::test]
async fn the_hop_limit_setting_lowers_a_node_already_on_imdsv2() {
    let w = World::new().await;
    let id = instance(&w.aws, NODE_TAGS, "required", 2).await;
    let settings = Settings {
        node_imds_hop_limit: Some(1),
        ..settings(&w)
    };
    let summary = run(&w, &settings, running(&id)).await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(metadata(&w.aws, &id).await, ("required".to_owned(), 1));
    let alerts = w.alerts().await;
    assert!(alerts[0]["finding"]
        .as_str()
        .unwrap()
        .contains("hop limit 2 is above NODE_IMDS_HOP_LIMIT=1"));
}

#[tokio::test]
async fn a_node_already_on_imdsv2_costs_one_read_and_no_alert() {
    let w = World::new().await;
    let id = instance(&w.aws, NODE_TAGS, "required", 2).await;
    let (summary, calls) = record_calls(handle(&w.aws, &settings(&w), running(&id))).await;
    assert!(summary.unwrap().outcomes.is_empty());
    assert_eq!(calls, ["ec2:DescribeInstances"]);
    assert_eq!(metadata(&w.aws, &id).await, ("required".to_owned(), 2));
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn an_instance_that_is_not_an_eks_node_is_left_alone() {
    let w = World::new().await;
    let id = instance(&w.aws, &[("Name", "bastion")], "optional", 1).await;
    let summary = run(&w, &settings(&w), running(&id)).await;
    assert!(statuses(&summary).is_empty());
    assert_eq!(metadata(&w.aws, &id).await, ("optional".to_owned(), 1));
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn karpenter_and_self_managed_nodes_are_nodes_too() {
    let w = World::new().await;
    let karpenter = instance(
        &w.aws,
        &[
            ("karpenter.sh/nodepool", "default"),
            ("kubernetes.io/cluster/prod", "owned"),
        ],
        "optional",
        2,
    )
    .await;
    let self_managed = instance(
        &w.aws,
        &[("kubernetes.io/cluster/legacy", "owned")],
        "optional",
        2,
    )
    .await;
    for id in [&karpenter, &self_managed] {
        let summary = run(&w, &settings(&w), running(id)).await;
        assert_eq!(statuses(&summary), ["remediated"], "{id}");
        assert_eq!(metadata(&w.aws, id).await.0, "required");
    }
    let alerts = w.alerts().await;
    assert!(alerts[0]["finding"]
        .as_str()
        .unwrap()
        .contains("Karpenter node pool default"));
}

#[tokio::test]
async fn an_exempt_node_is_reported_and_unchanged() {
    let w = World::new().await;
    let mut tags = NODE_TAGS.to_vec();
    tags.push(("eks-remediator:exempt", "true"));
    let id = instance(&w.aws, &tags, "optional", 2).await;
    let summary = run(&w, &settings(&w), running(&id)).await;
    assert_eq!(statuses(&summary), ["exempt"]);
    assert_eq!(metadata(&w.aws, &id).await, ("optional".to_owned(), 2));
    let alerts = w.alerts().await;
    assert!(alerts[0]["undo"].is_null());
}

#[tokio::test]
async fn alert_only_reports_the_call_and_changes_nothing() {
    let w = World::new().await;
    let id = instance(&w.aws, NODE_TAGS, "optional", 2).await;
    let settings = Settings {
        mode: Mode::AlertOnly,
        ..settings(&w)
    };
    let summary = run(&w, &settings, running(&id)).await;
    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert_eq!(metadata(&w.aws, &id).await, ("optional".to_owned(), 2));
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0]["actions"][0]
        .as_str()
        .unwrap()
        .starts_with("ModifyInstanceMetadataOptions"));
}

#[tokio::test]
async fn a_node_gone_before_the_event_is_resolved_without_an_alert() {
    let w = World::new().await;
    let summary = run(&w, &settings(&w), running("i-0000000000000dead")).await;
    assert_eq!(statuses(&summary), ["resolved"]);
    let id = instance(&w.aws, NODE_TAGS, "optional", 2).await;
    w.aws
        .ec2()
        .await
        .terminate_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let summary = run(&w, &settings(&w), running(&id)).await;
    assert_eq!(statuses(&summary), ["resolved"]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn the_same_start_twice_changes_once_and_alerts_once() {
    let w = World::new().await;
    let id = instance(&w.aws, NODE_TAGS, "optional", 2).await;
    assert_eq!(
        statuses(&run(&w, &settings(&w), running(&id)).await),
        ["remediated"]
    );
    assert!(statuses(&run(&w, &settings(&w), running(&id)).await).is_empty());
    assert_eq!(w.alerts().await.len(), 1);
}

/// A launch template with these metadata options (none: not set) and tags; returns its id.
async fn template(
    aws: &Aws,
    tokens: Option<&str>,
    hop: Option<i32>,
    tags: &[(&str, &str)],
) -> String {
    let mut data = RequestLaunchTemplateData::builder().image_id("ami-0fedcba9876543210");
    if tokens.is_some() || hop.is_some() {
        data = data.metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .set_http_tokens(tokens.map(LaunchTemplateHttpTokensState::from))
                .set_http_put_response_hop_limit(hop)
                .build(),
        );
    }
    let mut call = aws
        .ec2()
        .await
        .create_launch_template()
        .launch_template_name(unique("nodes"))
        .launch_template_data(data.build());
    if !tags.is_empty() {
        let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(ResourceType::LaunchTemplate);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        call = call.tag_specifications(spec.build());
    }
    let out = call.send().await.unwrap();
    out.launch_template()
        .unwrap()
        .launch_template_id()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_node_launch_template_allowing_imdsv1_is_alerted_with_the_command_that_fixes_it() {
    let w = World::new().await;
    let id = template(
        &w.aws,
        Some("optional"),
        Some(2),
        &[("eks:cluster-name", "prod")],
    )
    .await;
    let sample = event(
        RULE,
        "create-launch-template-imdsv1.json",
        &[(TEMPLATE, &id)],
    );
    let summary = run(&w, &settings(&w), sample).await;
    assert_eq!(statuses(&summary), ["alert"]);
    let alerts = w.alerts().await;
    let alert = &alerts[0];
    assert_eq!(alert["resource"]["type"], "launch-template");
    assert_eq!(alert["resource"]["id"], id.as_str());
    assert!(alert["finding"]
        .as_str()
        .unwrap()
        .contains("allows IMDSv1 (HttpTokens=optional)"));
    let note = alert["note"].as_str().unwrap_or_default();
    let text = alert.to_string();
    assert!(
        text.contains(&format!(
            "aws ec2 create-launch-template-version --region us-east-1 --launch-template-id {id} --source-version 1"
        )),
        "{note} {text}"
    );
    assert!(text.contains(r#"\"HttpTokens\":\"required\""#), "{text}");
    assert!(alert["actions"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_launch_template_no_eks_node_uses_is_left_alone() {
    let w = World::new().await;
    let id = template(&w.aws, Some("optional"), Some(1), &[("team", "web")]).await;
    let sample = event(
        RULE,
        "create-launch-template-imdsv1.json",
        &[(TEMPLATE, &id)],
    );
    let summary = run(&w, &settings(&w), sample).await;
    assert!(statuses(&summary).is_empty());
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn a_request_that_requires_imdsv2_costs_no_call() {
    let w = World::new().await;
    let mut sample = event(RULE, "create-launch-template-imdsv1.json", &[]);
    let options = &mut sample["detail"]["requestParameters"]["CreateLaunchTemplateRequest"]
        ["LaunchTemplateData"]["MetadataOptions"];
    options["HttpTokens"] = "required".into();
    options["HttpPutResponseHopLimit"] = 1.into();
    let (summary, calls) = record_calls(handle(&w.aws, &settings(&w), sample)).await;
    assert!(summary.unwrap().outcomes.is_empty());
    assert!(calls.is_empty(), "{calls:?}");
}

#[tokio::test]
async fn an_exempt_launch_template_is_reported_as_exempt() {
    let w = World::new().await;
    let id = template(
        &w.aws,
        None,
        None,
        &[
            ("eks:cluster-name", "prod"),
            ("eks-remediator:exempt", "true"),
        ],
    )
    .await;
    let sample = event(
        RULE,
        "create-launch-template-imdsv1.json",
        &[(TEMPLATE, &id)],
    );
    let summary = run(&w, &settings(&w), sample).await;
    assert_eq!(statuses(&summary), ["exempt"]);
}

/// A VPC with one subnet per `(zone, public IP on launch, default route to an internet
/// gateway)`; returns the subnet ids.
async fn subnets(aws: &Aws, spec: &[(&str, bool, bool)]) -> Vec<String> {
    let ec2 = aws.ec2().await;
    let vpc = support::vpc(aws, "10.20.0.0/16").await;
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_owned();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let public_table = ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_owned();
    ec2.create_route()
        .route_table_id(&public_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (i, (zone, public_ip, routed)) in spec.iter().enumerate() {
        let id = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.20.{i}.0/24"))
            .availability_zone(*zone)
            .send()
            .await
            .unwrap()
            .subnet()
            .unwrap()
            .subnet_id()
            .unwrap()
            .to_owned();
        if *public_ip {
            ec2.modify_subnet_attribute()
                .subnet_id(&id)
                .map_public_ip_on_launch(
                    aws_sdk_ec2::types::AttributeBooleanValue::builder()
                        .value(true)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        if *routed {
            ec2.associate_route_table()
                .route_table_id(&public_table)
                .subnet_id(&id)
                .send()
                .await
                .unwrap();
        }
        ids.push(id);
    }
    ids
}

/// A cluster and a node group in `subnets`, on launch template `template` if given;
/// returns `(cluster, node group)`.
async fn nodegroup(
    aws: &Aws,
    subnets: &[String],
    template: Option<&str>,
    tags: &[(&str, &str)],
) -> (String, String) {
    let cluster = support::cluster(aws, false, "1.33", true).await;
    let name = unique("ng");
    aws.eks()
        .await
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&name)
        .node_role("arn:aws:iam::123456789012:role/eks-node-role")
        .set_subnets(Some(subnets.to_vec()))
        .set_launch_template(template.map(|id| {
            aws_sdk_eks::types::LaunchTemplateSpecification::builder()
                .id(id)
                .version("1")
                .build()
        }))
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    (cluster, name)
}

fn create_nodegroup(cluster: &str, nodegroup: &str) -> Value {
    let mut sample = event(RULE, "create-nodegroup-launch-template.json", &[]);
    sample["detail"]["requestParameters"]["name"] = cluster.into();
    sample["detail"]["requestParameters"]["nodegroupName"] = nodegroup.into();
    sample
}

#[tokio::test]
async fn a_node_group_in_one_zone_and_public_subnets_is_alerted_with_how_to_replace_it() {
    let w = World::new().await;
    let ids = subnets(
        &w.aws,
        &[("us-east-1a", true, true), ("us-east-1a", false, false)],
    )
    .await;
    let (cluster, name) = nodegroup(&w.aws, &ids, None, &[]).await;
    let summary = run(&w, &settings(&w), create_nodegroup(&cluster, &name)).await;
    assert_eq!(statuses(&summary), ["alert"]);
    let alerts = w.alerts().await;
    let alert = &alerts[0];
    assert_eq!(alert["resource"]["type"], "eks-nodegroup");
    assert_eq!(alert["resource"]["id"], format!("{cluster}/{name}"));
    let finding = alert["finding"].as_str().unwrap();
    assert!(
        finding.contains("one Availability Zone (us-east-1a)"),
        "{finding}"
    );
    assert!(
        finding.contains(&format!("{} gives nodes public IP addresses", ids[0])),
        "{finding}"
    );
    assert!(finding.contains("internet gateway"), "{finding}");
    assert!(
        !finding.contains(&format!("{} to igw", ids[1])),
        "{finding}"
    );
    assert!(alert.to_string().contains("create a replacement"));
}

#[tokio::test]
async fn a_node_group_across_three_private_zones_is_fine() {
    let w = World::new().await;
    let ids = subnets(
        &w.aws,
        &[
            ("us-east-1a", false, false),
            ("us-east-1b", false, false),
            ("us-east-1c", false, false),
        ],
    )
    .await;
    let (cluster, name) = nodegroup(&w.aws, &ids, None, &[]).await;
    let summary = run(&w, &settings(&w), create_nodegroup(&cluster, &name)).await;
    assert!(statuses(&summary).is_empty());
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn a_node_group_on_an_imdsv1_launch_template_is_alerted_and_a_new_version_names_it() {
    let w = World::new().await;
    let ids = subnets(
        &w.aws,
        &[("us-east-1a", false, false), ("us-east-1b", false, false)],
    )
    .await;
    // Untagged: only the node group that names it makes it a node template.
    let id = template(&w.aws, Some("optional"), Some(2), &[]).await;
    let (cluster, name) = nodegroup(&w.aws, &ids, Some(&id), &[]).await;
    let summary = run(&w, &settings(&w), create_nodegroup(&cluster, &name)).await;
    assert_eq!(statuses(&summary), ["alert"]);
    let version = event(
        RULE,
        "create-launch-template-version.json",
        &[(TEMPLATE, &id)],
    );
    // moto's version 2 is made by the test, with the request's data only (moto ignores
    // SourceVersion), so it too leaves HttpTokens unset.
    w.aws
        .ec2()
        .await
        .create_launch_template_version()
        .launch_template_id(&id)
        .source_version("1")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .instance_type(aws_sdk_ec2::types::InstanceType::M6iXlarge)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let summary = run(&w, &settings(&w), version).await;
    assert_eq!(statuses(&summary), ["alert"]);
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 2);
    let on_create = alerts[0]["finding"].as_str().unwrap();
    assert!(
        on_create.contains(&format!("its launch template {id} version 1 allows IMDSv1")),
        "{on_create}"
    );
    let on_version = alerts[1]["finding"].as_str().unwrap();
    assert!(
        on_version.contains(&format!("version 2, used by node group {cluster}/{name}")),
        "{on_version}"
    );
    assert!(
        alerts[1].to_string().contains(&format!(
            "aws eks update-nodegroup-version --region us-east-1 --cluster-name '{cluster}'"
        )),
        "{}",
        alerts[1]
    );
}

#[tokio::test]
async fn an_exempt_node_group_is_reported_as_exempt() {
    let w = World::new().await;
    let ids = subnets(&w.aws, &[("us-east-1a", false, false)]).await;
    let (cluster, name) = nodegroup(&w.aws, &ids, None, &[("eks-remediator:exempt", "true")]).await;
    let summary = run(&w, &settings(&w), create_nodegroup(&cluster, &name)).await;
    assert_eq!(statuses(&summary), ["exempt"]);
}

#[tokio::test]
async fn malformed_and_foreign_events_change_nothing() {
    let w = World::new().await;
    let mut nameless = event(RULE, "create-nodegroup-launch-template.json", &[]);
    nameless["detail"]["requestParameters"] = serde_json::json!({});
    nameless["detail"]["responseElements"] = serde_json::json!({});
    assert!(handle(&w.aws, &settings(&w), nameless).await.is_err());
    let mut stateless = event(RULE, "node-running.json", &[]);
    stateless["detail"] = serde_json::json!({"instance-id": INSTANCE});
    assert!(handle(&w.aws, &settings(&w), stateless).await.is_err());
    let pending = event(RULE, "not-for-me-node-pending.json", &[]);
    let (summary, calls) = record_calls(handle(&w.aws, &settings(&w), pending)).await;
    assert!(summary.unwrap().outcomes.is_empty());
    assert!(calls.is_empty());
}

#[tokio::test]
async fn the_sweep_fixes_running_nodes_and_reports_node_groups() {
    let (region, account) = ("eu-west-3", "210987654321");
    let (_, config) = support::in_account(region, account).await;
    let w = World::in_account(config, region, account).await;
    let unsafe_node = instance(&w.aws, NODE_TAGS, "optional", 2).await;
    let safe_node = instance(&w.aws, NODE_TAGS, "required", 2).await;
    let other = instance(&w.aws, &[("Name", "bastion")], "optional", 1).await;
    let ids = subnets(
        &w.aws,
        &[("eu-west-3a", false, false), ("eu-west-3a", false, false)],
    )
    .await;
    let lt = template(&w.aws, Some("optional"), Some(2), &[]).await;
    let (cluster, name) = nodegroup(&w.aws, &ids, Some(&lt), &[]).await;
    let origin = eks_remediator::sweep::origin(account, region, "sweep", "2026-12-01T00:00:00Z");
    let outcomes = support::granted_as(
        "sweep",
        eks_remediator::sweep::IAM_ACTIONS,
        scan::scan(&w.aws, &w.settings(), &origin, None),
    )
    .await
    .unwrap();
    let found: Vec<(&str, &str)> = outcomes
        .iter()
        .map(|o| (o.status.as_str(), o.resource.id.as_str()))
        .collect();
    let group = format!("{cluster}/{name}");
    assert_eq!(
        found,
        [
            ("remediated", unsafe_node.as_str()),
            ("alert", group.as_str())
        ]
    );
    let group_finding = &outcomes[1].finding;
    assert!(
        group_finding.contains("one Availability Zone")
            && group_finding.contains(&format!("its launch template {lt} version 1 allows IMDSv1")),
        "{group_finding}"
    );
    assert_eq!(metadata(&w.aws, &unsafe_node).await.0, "required");
    assert_eq!(
        metadata(&w.aws, &safe_node).await,
        ("required".to_owned(), 2)
    );
    assert_eq!(metadata(&w.aws, &other).await, ("optional".to_owned(), 1));
    assert!(eks_remediator::sweep::Scan::ALL.contains(&eks_remediator::sweep::Scan::Nodes));
}
