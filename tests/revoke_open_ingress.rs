//! Integration tests of `revoke-open-ingress`: the real SDK against moto's server, events from
//! `events/revoke-open-ingress/`, state and alerts read back from moto.

mod support;

use eks_remediator::rules::revoke_open_ingress::handle;
use eks_remediator::rules::revoke_open_ingress::RULE as RULE_INFO;
use eks_remediator::settings::{IngressScope, Mode};
use serde_json::{json, Value};
use support::{event, World};

const RULE: &str = "revoke-open-ingress";
const SG: &str = "sg-0123456789abcdef0";
const SGR1: &str = "sgr-0aaaaaaaaaaaaaaa1";
const SGR2: &str = "sgr-0aaaaaaaaaaaaaaa2";

fn statuses(summary: &Value) -> Vec<String> {
    summary["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Opens tcp/3389 to the world on `sg`; returns the rule id and the CLI-form event that did it.
async fn rdp_opened(w: &World, sg: &str) -> (String, Value) {
    let open = w.allow(sg, "tcp", Some((3389, 3389)), "0.0.0.0/0").await;
    let e = event(RULE, "authorize-cli-flat.json", &[(SG, sg), (SGR1, &open)]);
    (open, e)
}

async fn run(world: &World, settings: &eks_remediator::settings::Settings, event: Value) -> Value {
    support::summary(&RULE_INFO, handle(&world.aws, settings, event)).await
}

#[tokio::test]
async fn world_open_ssh_is_revoked_by_rule_id_and_private_neighbour_stays() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let open = w.allow(&sg, "tcp", Some((22, 22)), "0.0.0.0/0").await;
    let private = w.allow(&sg, "tcp", Some((22, 22)), "10.0.0.0/8").await;
    let e = event(
        RULE,
        "authorize-ipv4-open-ssh.json",
        &[(SG, &sg), (SGR1, &open), (SGR2, &private)],
    );

    let summary = run(&w, &w.settings(), e).await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(
        summary["outcomes"][0]["actions"],
        json!([format!("RevokeSecurityGroupIngress {open}")])
    );
    assert_eq!(w.rule_ids(&sg).await, std::slice::from_ref(&private));
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["rule"], RULE);
    assert_eq!(a["status"], "remediated");
    assert_eq!(a["resource"]["type"], "security-group");
    assert_eq!(a["resource"]["id"], sg.as_str());
    assert_eq!(
        a["resource"]["arn"],
        format!("arn:aws:ec2:us-east-1:123456789012:security-group/{sg}")
    );
    assert_eq!(a["finding"], "tcp/22 open to 0.0.0.0/0");
    assert_eq!(
        a["actor"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/platform-admin/jdoe"
    );
    assert_eq!(a["actor"]["type"], "AssumedRole");
    assert_eq!(a["event"]["source"], "aws.ec2");
    assert_eq!(a["event"]["name"], "AuthorizeSecurityGroupIngress");
    assert_eq!(a["account"], "123456789012");
    assert_eq!(a["region"], "us-east-1");
    let undo = a["undo"].as_str().unwrap();
    assert!(undo.starts_with(&format!(
        "aws ec2 authorize-security-group-ingress --group-id {sg} --ip-permissions '"
    )));
    assert!(
        undo.contains(r#""CidrIp":"0.0.0.0/0""#) && undo.contains(r#""FromPort":22"#),
        "{undo}"
    );
    assert!(
        undo.contains(r#""Description":"added by test""#),
        "undo restores the description: {undo}"
    );
    let subject = a["_subject"].as_str().unwrap();
    assert!(
        subject.starts_with("[eks-remediator]") && subject.len() <= 100,
        "{subject}"
    );
}

#[tokio::test]
async fn undo_command_restores_the_revoked_rule() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let open = w.allow(&sg, "tcp", Some((22, 22)), "0.0.0.0/0").await;
    let private = w.allow(&sg, "tcp", Some((22, 22)), "10.0.0.0/8").await;
    let e = event(
        RULE,
        "authorize-ipv4-open-ssh.json",
        &[(SG, &sg), (SGR1, &open), (SGR2, &private)],
    );
    run(&w, &w.settings(), e).await;
    let undo = w.alerts().await[0]["undo"].as_str().unwrap().to_owned();

    // Replay the undo's --ip-permissions through the SDK, as the AWS CLI would send them.
    let json_text = undo
        .split_once("--ip-permissions '")
        .unwrap()
        .1
        .trim_end_matches('\'');
    let permissions: Value = serde_json::from_str(json_text).unwrap();
    let p = &permissions[0];
    let range = aws_sdk_ec2::types::IpRange::builder()
        .cidr_ip(p["IpRanges"][0]["CidrIp"].as_str().unwrap())
        .description(p["IpRanges"][0]["Description"].as_str().unwrap())
        .build();
    let permission = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol(p["IpProtocol"].as_str().unwrap())
        .from_port(p["FromPort"].as_i64().unwrap() as i32)
        .to_port(p["ToPort"].as_i64().unwrap() as i32)
        .ip_ranges(range)
        .build();
    w.aws
        .ec2()
        .await
        .authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(permission)
        .send()
        .await
        .unwrap();

    let cidrs: Vec<String> = w
        .ingress(&sg)
        .await
        .into_iter()
        .map(|(_, _, c)| c)
        .collect();
    assert!(
        cidrs.contains(&"0.0.0.0/0".to_owned()) && cidrs.contains(&"10.0.0.0/8".to_owned()),
        "{cidrs:?}"
    );
}

#[tokio::test]
async fn world_open_ipv6_is_revoked() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let open = w.allow(&sg, "tcp", Some((443, 8443)), "::/0").await;
    let summary = run(
        &w,
        &w.settings(),
        event(
            RULE,
            "authorize-ipv6-open.json",
            &[(SG, &sg), (SGR1, &open)],
        ),
    )
    .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(w.rule_ids(&sg).await.is_empty());
    assert_eq!(w.alerts().await[0]["finding"], "tcp/443-8443 open to ::/0");
}

#[tokio::test]
async fn all_traffic_rule_without_ports_is_revoked() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let open = w.allow(&sg, "-1", None, "0.0.0.0/0").await;
    let summary = run(
        &w,
        &w.settings(),
        event(
            RULE,
            "authorize-all-traffic.json",
            &[(SG, &sg), (SGR1, &open)],
        ),
    )
    .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(w.rule_ids(&sg).await.is_empty());
    let alert = &w.alerts().await[0];
    assert_eq!(alert["finding"], "all traffic open to 0.0.0.0/0");
    assert_eq!(alert["actor"]["type"], "IAMUser");
}

#[tokio::test]
async fn cli_flat_form_is_revoked() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let (_, e) = rdp_opened(&w, &sg).await;
    let summary = run(&w, &w.settings(), e).await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(w.rule_ids(&sg).await.is_empty());
}

#[tokio::test]
async fn event_without_rule_ids_reads_the_group_and_revokes_only_the_requested_rule() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let older = w.allow(&sg, "tcp", Some((5432, 5432)), "0.0.0.0/0").await;
    let open = w.allow(&sg, "tcp", Some((22, 22)), "0.0.0.0/0").await;
    let summary = run(
        &w,
        &w.settings(),
        event(RULE, "authorize-no-rule-ids.json", &[(SG, &sg)]),
    )
    .await;
    assert_eq!(
        summary["outcomes"][0]["actions"],
        json!([format!("RevokeSecurityGroupIngress {open}")])
    );
    // The older world-open rule was not part of this call; the sweep, not this event, owns it.
    assert_eq!(w.rule_ids(&sg).await, [older]);
}

#[tokio::test]
async fn modify_that_opens_a_rule_to_the_world_is_revoked() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let rule = w.allow(&sg, "tcp", Some((3389, 3389)), "10.0.0.0/8").await;
    let spec = aws_sdk_ec2::types::SecurityGroupRuleRequest::builder()
        .ip_protocol("tcp")
        .from_port(3389)
        .to_port(3389)
        .cidr_ipv4("0.0.0.0/0")
        .build();
    let update = aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
        .security_group_rule_id(&rule)
        .security_group_rule(spec)
        .build();
    w.aws
        .ec2()
        .await
        .modify_security_group_rules()
        .group_id(&sg)
        .security_group_rules(update)
        .send()
        .await
        .unwrap();

    let summary = run(
        &w,
        &w.settings(),
        event(
            RULE,
            "modify-rules-open-rdp.json",
            &[(SG, &sg), (SGR1, &rule)],
        ),
    )
    .await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(w.rule_ids(&sg).await.is_empty());
    assert_eq!(
        w.alerts().await[0]["event"]["name"],
        "ModifySecurityGroupRules"
    );
}

#[tokio::test]
async fn modify_that_narrows_a_rule_changes_nothing() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let rule = w.allow(&sg, "tcp", Some((3389, 3389)), "10.0.0.0/8").await;
    let mut e = event(
        RULE,
        "modify-rules-open-rdp.json",
        &[(SG, &sg), (SGR1, &rule)],
    );
    e["detail"]["requestParameters"]["ModifySecurityGroupRulesRequest"]["SecurityGroupRule"]
        ["SecurityGroupRule"]["CidrIpv4"] = json!("10.0.0.0/8");
    let summary = run(&w, &w.settings(), e).await;
    assert!(statuses(&summary).is_empty());
    assert_eq!(w.rule_ids(&sg).await, [rule]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn allow_listed_port_stays_open() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let (open, e) = rdp_opened(&w, &sg).await;
    let settings = eks_remediator::settings::Settings {
        allowed_ingress_ports: [443, 3389].into(),
        ..w.settings()
    };
    let summary = run(&w, &settings, e).await;
    assert!(statuses(&summary).is_empty());
    assert_eq!(w.rule_ids(&sg).await, [open]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn group_outside_eks_is_untouched_unless_scope_is_all() {
    let w = World::new().await;
    let vpc = w.vpc().await;
    let sg = w.group(&vpc, &[("team", "web")]).await;
    let (open, e) = rdp_opened(&w, &sg).await;

    let summary = run(&w, &w.settings(), e.clone()).await;
    assert!(statuses(&summary).is_empty());
    assert_eq!(w.rule_ids(&sg).await, std::slice::from_ref(&open));
    assert!(w.alerts().await.is_empty());

    let all = eks_remediator::settings::Settings {
        ingress_scope: IngressScope::All,
        ..w.settings()
    };
    let summary = run(&w, &all, e).await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(w.rule_ids(&sg).await.is_empty());
}

#[tokio::test]
async fn exempt_group_is_left_unchanged_and_reported() {
    let w = World::new().await;
    let vpc = w.vpc().await;
    let sg = w
        .group(
            &vpc,
            &[
                ("aws:eks:cluster-name", "prod"),
                ("eks-remediator:exempt", "true"),
            ],
        )
        .await;
    let (open, e) = rdp_opened(&w, &sg).await;
    let summary = run(&w, &w.settings(), e).await;
    assert_eq!(statuses(&summary), ["exempt"]);
    assert_eq!(w.rule_ids(&sg).await, [open]);
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["status"], "exempt");
    assert_eq!(alerts[0]["actions"], json!([]));
}

#[tokio::test]
async fn alert_only_changes_nothing_and_says_what_it_would_do() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let (open, e) = rdp_opened(&w, &sg).await;
    let settings = eks_remediator::settings::Settings {
        mode: Mode::AlertOnly,
        ..w.settings()
    };
    let summary = run(&w, &settings, e).await;
    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert_eq!(w.rule_ids(&sg).await, std::slice::from_ref(&open));
    let alert = &w.alerts().await[0];
    assert_eq!(alert["status"], "would-remediate");
    assert_eq!(
        alert["actions"],
        json!([format!("RevokeSecurityGroupIngress {open}")])
    );
    assert!(
        alert["undo"].is_null(),
        "nothing was changed, so nothing to undo"
    );
}

#[tokio::test]
async fn own_role_and_failed_calls_are_ignored() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let (open, e) = rdp_opened(&w, &sg).await;

    let mut own = e.clone();
    own["detail"]["userIdentity"] = json!({"type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/eks-remediator-RevokeOpenIngressRole-X1/revoke-open-ingress",
        "sessionContext": {"sessionIssuer": {}}});
    let mut failed = e.clone();
    failed["detail"]["errorCode"] = json!("Client.InvalidPermission.Duplicate");

    for e in [own, failed] {
        let summary = run(&w, &w.settings(), e).await;
        assert!(statuses(&summary).is_empty());
    }
    assert_eq!(w.rule_ids(&sg).await, [open]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn rule_or_group_already_gone_is_resolved_without_error_or_alert() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let (open, e) = rdp_opened(&w, &sg).await;
    w.aws
        .ec2()
        .await
        .revoke_security_group_ingress()
        .group_id(&sg)
        .security_group_rule_ids(&open)
        .send()
        .await
        .unwrap();
    assert_eq!(
        statuses(&run(&w, &w.settings(), e.clone()).await),
        ["resolved"]
    );

    w.aws
        .ec2()
        .await
        .delete_security_group()
        .group_id(&sg)
        .send()
        .await
        .unwrap();
    assert_eq!(statuses(&run(&w, &w.settings(), e).await), ["resolved"]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn same_event_twice_or_concurrently_makes_one_change_and_one_alert() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let (_, e) = rdp_opened(&w, &sg).await;
    let settings = w.settings();
    let (a, b) = tokio::join!(
        handle(&w.aws, &settings, e.clone()),
        handle(&w.aws, &settings, e.clone())
    );
    let c = handle(&w.aws, &settings, e).await;
    let mut all: Vec<String> = [a, b, c]
        .into_iter()
        .flat_map(|r| {
            r.expect("no error")
                .outcomes
                .into_iter()
                .map(|o| o.status.as_str().to_owned())
        })
        .collect();
    all.sort();
    assert_eq!(all, ["remediated", "resolved", "resolved"]);
    assert!(w.rule_ids(&sg).await.is_empty());
    assert_eq!(w.alerts().await.len(), 1);
}

#[tokio::test]
async fn node_group_remote_access_group_is_closed() {
    let w = World::new().await;
    let vpc = w.vpc().await;
    let cluster = support::unique("prod");
    let eks = w.aws.eks().await;
    let role = "arn:aws:iam::123456789012:role/eks-cluster";
    let vpc_config = aws_sdk_eks::types::VpcConfigRequest::builder()
        .subnet_ids("subnet-0123456789abcdef0")
        .build();
    eks.create_cluster()
        .name(&cluster)
        .role_arn(role)
        .resources_vpc_config(vpc_config)
        .send()
        .await
        .unwrap();
    let remote = aws_sdk_eks::types::RemoteAccessConfig::builder()
        .ec2_ssh_key("ops-key")
        .build();
    eks.create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name("ng-ssh")
        .node_role("arn:aws:iam::123456789012:role/eks-node")
        .subnets("subnet-0123456789abcdef0")
        .remote_access(remote)
        .send()
        .await
        .unwrap();
    // moto reports an invented remoteAccessSecurityGroup id that does not exist in its EC2;
    // AWS creates the group and tags it with the cluster and node group, which is what we
    // seed here and what the function falls back to.
    let sg = w
        .group(
            &vpc,
            &[
                ("eks:cluster-name", &cluster),
                ("eks:nodegroup-name", "ng-ssh"),
            ],
        )
        .await;
    let ssh = w.allow(&sg, "tcp", Some((22, 22)), "0.0.0.0/0").await;
    let private = w.allow(&sg, "tcp", Some((22, 22)), "10.0.0.0/8").await;

    let e = event(
        RULE,
        "create-nodegroup-remote-access.json",
        &[("\"prod\"", &format!("\"{cluster}\""))],
    );
    let summary = run(&w, &w.settings(), e).await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert_eq!(w.rule_ids(&sg).await, [private]);
    assert_eq!(
        summary["outcomes"][0]["actions"],
        json!([format!("RevokeSecurityGroupIngress {ssh}")])
    );
}

#[tokio::test]
async fn node_group_with_source_security_groups_is_not_a_trigger() {
    let w = World::new().await;
    let mut e = event(RULE, "create-nodegroup-remote-access.json", &[]);
    e["detail"]["requestParameters"]["remoteAccess"]["sourceSecurityGroups"] =
        json!(["sg-0fedcba9876543210"]);
    assert!(statuses(&run(&w, &w.settings(), e).await).is_empty());
}

async fn attacked_group(w: &World) -> (String, [String; 4]) {
    let sg = w.eks_group().await;
    let ssh = w.allow(&sg, "tcp", Some((22, 22)), "0.0.0.0/0").await;
    let rdp = w.allow(&sg, "tcp", Some((3389, 3389)), "0.0.0.0/0").await;
    let pg = w.allow(&sg, "tcp", Some((5432, 5432)), "0.0.0.0/0").await;
    let https = w.allow(&sg, "tcp", Some((443, 443)), "0.0.0.0/0").await;
    (sg, [ssh, rdp, pg, https])
}

#[tokio::test]
async fn guardduty_findings_close_exactly_the_attacked_ports() {
    for (file, revoked) in [
        ("guardduty-ssh-bruteforce.json", vec![0]),
        ("guardduty-rdp-bruteforce.json", vec![1]),
        ("guardduty-portprobe.json", vec![0, 2]),
    ] {
        let w = World::new().await;
        let (sg, rules) = attacked_group(&w).await;
        let summary = run(&w, &w.settings(), event(RULE, file, &[(SG, &sg)])).await;
        assert_eq!(statuses(&summary), ["remediated"], "{file}");
        let mut expected: Vec<String> = (0..4)
            .filter(|i| !revoked.contains(i))
            .map(|i| rules[i].clone())
            .collect();
        expected.sort();
        assert_eq!(w.rule_ids(&sg).await, expected, "{file}");
        let alert = &w.alerts().await[0];
        assert_eq!(alert["event"]["source"], "aws.guardduty", "{file}");
        assert!(alert["actor"].is_null(), "{file}");
    }
}

#[tokio::test]
async fn outbound_brute_force_is_not_a_trigger() {
    let w = World::new().await;
    let (sg, rules) = attacked_group(&w).await;
    let mut e = event(RULE, "guardduty-ssh-bruteforce.json", &[(SG, &sg)]);
    e["detail"]["service"]["action"]["networkConnectionAction"]["connectionDirection"] =
        json!("OUTBOUND");
    assert!(statuses(&run(&w, &w.settings(), e).await).is_empty());
    assert_eq!(w.rule_ids(&sg).await.len(), rules.len());
}

#[tokio::test]
async fn load_balancer_rule_made_by_kubernetes_is_alerted_not_revoked() {
    let w = World::new().await;
    let vpc = w.vpc().await;
    let sg = w
        .group(
            &vpc,
            &[
                ("elbv2.k8s.aws/cluster", "prod"),
                ("service.k8s.aws/stack", "default/web"),
            ],
        )
        .await;
    let (open, mut e) = rdp_opened(&w, &sg).await;
    e["detail"]["userAgent"] =
        json!("elbv2.k8s.aws/v2.8.1 aws-sdk-go/1.55.5 (go1.22.5; linux; amd64)");
    let summary = run(&w, &w.settings(), e.clone()).await;
    assert_eq!(statuses(&summary), ["alert"]);
    assert_eq!(w.rule_ids(&sg).await, std::slice::from_ref(&open));
    assert_eq!(w.alerts().await[0]["status"], "alert");

    // The same marks do not shield a rule that a person added from the CLI.
    e["detail"]["userAgent"] =
        json!("aws-cli/2.17.60 md/command#ec2.authorize-security-group-ingress");
    assert_eq!(statuses(&run(&w, &w.settings(), e).await), ["remediated"]);
    assert!(w.rule_ids(&sg).await.is_empty());
}

#[tokio::test]
async fn malformed_events_are_errors_and_change_nothing() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let (open, good) = rdp_opened(&w, &sg).await;
    let mut no_detail = good.clone();
    no_detail.as_object_mut().unwrap().remove("detail");
    let mut wrong_types = good.clone();
    wrong_types["detail"]["requestParameters"] = json!("groupId=sg-1");
    let mut no_group = good.clone();
    no_group["detail"]["requestParameters"] = json!({"ipPermissions": {}});
    no_group["detail"]["responseElements"] = json!(null);
    for bad in [
        json!([1, 2]),
        json!("x"),
        json!({}),
        no_detail,
        wrong_types,
        no_group,
        json!({"detail-type": 3}),
    ] {
        let result = handle(&w.aws, &w.settings(), bad.clone()).await;
        let error = result.expect_err(&format!("{bad} is malformed"));
        assert_eq!(error.error_type(), "EventError", "{error}");
    }
    assert!(
        eks_remediator::intake::parse_bytes(br#"{"version":"0","detail-type":"AWS API"#).is_err()
    );
    assert_eq!(w.rule_ids(&sg).await, [open]);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn other_events_return_an_empty_summary() {
    let w = World::new().await;
    let e = event(RULE, "not-for-me-createsecuritygroup.json", &[]);
    assert!(statuses(&run(&w, &w.settings(), e).await).is_empty());
    let scheduled = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-28T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
    assert!(statuses(&run(&w, &w.settings(), scheduled).await).is_empty());
}

#[tokio::test]
async fn failing_alert_never_blocks_the_remediation() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let (_, e) = rdp_opened(&w, &sg).await;
    let settings = eks_remediator::settings::Settings {
        alert_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:does-not-exist".into()),
        ..w.settings()
    };
    let summary = run(&w, &settings, e).await;
    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(w.rule_ids(&sg).await.is_empty());
}

/// A function's config comes from the variables Lambda sets. Without credentials among them
/// (never so in Lambda, but a hand-made run can forget them) the first call fails with the
/// SDK's own error: the invocation fails, so Lambda retries it, and nothing changes.
#[tokio::test]
async fn without_credentials_in_the_environment_the_invocation_fails_and_changes_nothing() {
    use aws_config::retry::RetryConfig;
    use eks_remediator::aws::{lambda_config, Aws};

    let w = World::new().await;
    let sg = w.eks_group().await;
    let (open, e) = rdp_opened(&w, &sg).await;
    let config = lambda_config::config(
        |name| match name {
            "AWS_ENDPOINT_URL" => Some(support::moto_url().to_owned()),
            "AWS_REGION" => Some(support::REGION.to_owned()),
            _ => None,
        },
        RetryConfig::standard(),
    );
    let no_credentials = Aws::with_config(config);

    let error = handle(&no_credentials, &w.settings(), e)
        .await
        .expect_err("no call can be signed");

    assert_eq!(error.error_type(), "AwsError", "{error}");
    let message = error.to_string();
    assert!(message.contains("DescribeSecurityGroups"), "{message}");
    assert!(message.contains("no identity resolver"), "{message}");
    assert_eq!(w.rule_ids(&sg).await, [open]);
    assert!(
        w.alerts().await.is_empty(),
        "the alert cannot be signed either"
    );
}
