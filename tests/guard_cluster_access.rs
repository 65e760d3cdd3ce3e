//! Integration tests of `guard-cluster-access`: the real SDK against moto's server through the
//! test proxy, with events from `events/guard-cluster-access/`.
//!
//! moto has no access entries, access policies, Pod Identity associations or add-ons: the
//! proxy's `EksAccess` model stands in for those EKS APIs, shaped as the EKS API reference
//! gives them (`tests/eks_access_model.rs` checks the model with the SDK). Clusters, their
//! tags, and IAM roles, policies and trust documents are moto's.

mod support;

use eks_remediator::aws::Aws;
use eks_remediator::error::HandlerError;
use eks_remediator::rules::guard_cluster_access::{handle, RULE as RULE_INFO};
use eks_remediator::settings::{Mode, Settings};
use serde_json::Value;
use std::sync::Arc;
use support::eks_access::EksAccess;
use support::proxy::Proxy;
use support::{event, unique, World};

const RULE: &str = "guard-cluster-access";
const CLUSTER_ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const CONTRACTOR: &str = "arn:aws:iam::123456789012:role/contractor";
const BOB: &str = "arn:aws:iam::123456789012:user/bob";

/// A world whose function talks to moto through the proxy with the access model in front;
/// seeding and assertions go to moto and the model directly.
struct Lab {
    w: World,
    proxy: Proxy,
    model: Arc<EksAccess>,
    aws: Aws,
    cluster: String,
}

impl Lab {
    async fn new() -> Lab {
        let w = World::new().await;
        let proxy = Proxy::start(support::moto_url()).await;
        let model = Arc::new(EksAccess::new());
        proxy.respond_with(model.clone());
        let aws = Aws::with_config(support::sdk_config_at(&proxy.url));
        let cluster = support::cluster(&w.aws, false, "1.32", true).await;
        model.cluster(&cluster);
        Lab {
            w,
            proxy,
            model,
            aws,
            cluster,
        }
    }

    fn settings(&self) -> Settings {
        Settings {
            cluster_admin_principals: vec![
                eks_remediator::domain::access::PrincipalPattern::parse(
                    "arn:aws:iam::123456789012:role/platform-*",
                )
                .unwrap(),
            ],
            ..self.w.settings()
        }
    }

    /// `events/guard-cluster-access/<file>` about this lab's cluster, with more substitutions.
    fn event(&self, file: &str, more: &[(&str, &str)]) -> Value {
        let mut all = vec![("example-cluster", self.cluster.as_str())];
        all.extend_from_slice(more);
        event(RULE, file, &all)
    }

    async fn run(&self, settings: &Settings, event: Value) -> Value {
        support::summary(&RULE_INFO, handle(&self.aws, settings, event)).await
    }

    /// How many requests the function sent (all go through the proxy).
    fn calls(&self) -> usize {
        self.proxy.requests("").len()
    }

    async fn tag_cluster(&self, key: &str) {
        let eks = self.w.aws.eks().await;
        let arn = eks
            .describe_cluster()
            .name(&self.cluster)
            .send()
            .await
            .unwrap()
            .cluster()
            .unwrap()
            .arn()
            .unwrap()
            .to_owned();
        eks.tag_resource()
            .resource_arn(arn)
            .tags(key, "true")
            .send()
            .await
            .unwrap();
    }
}

fn statuses(summary: &Value) -> Vec<String> {
    summary["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_outsiders_cluster_admin_policy_is_disassociated_and_the_rest_of_the_entry_stays() {
    let lab = Lab::new().await;
    lab.model
        .entry(&lab.cluster, CONTRACTOR, "STANDARD", None, &[]);
    lab.model
        .associate(&lab.cluster, CONTRACTOR, CLUSTER_ADMIN, "cluster", &[]);
    lab.model
        .associate(&lab.cluster, CONTRACTOR, VIEW, "namespace", &["team-a"]);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event("associate-cluster-admin-console.json", &[]),
        )
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    let left = lab.model.associated(&lab.cluster, CONTRACTOR);
    assert_eq!(
        left,
        [(
            VIEW.to_owned(),
            "namespace".to_owned(),
            vec!["team-a".to_owned()]
        )]
    );
    assert!(
        lab.model.has_entry(&lab.cluster, CONTRACTOR),
        "the access entry stays"
    );
    let alerts = lab.w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(alert["status"], "remediated");
    assert_eq!(alert["resource"]["type"], "eks-access-entry");
    assert_eq!(
        alert["actor"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/platform-admin/alice"
    );
    let undo = alert["undo"].as_str().unwrap();
    assert!(
        undo.starts_with("aws eks associate-access-policy"),
        "{undo}"
    );
    assert!(
        undo.contains("'type=cluster'") && undo.contains(CLUSTER_ADMIN),
        "{undo}"
    );
    assert_eq!(
        lab.proxy.requests("/access-policies/arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSClusterAdminPolicy").len(),
        1,
        "one DisassociateAccessPolicy, for exactly that policy"
    );
}

#[tokio::test]
async fn a_namespace_admin_over_kube_system_given_to_a_user_is_taken_back_with_its_scope_in_the_undo(
) {
    let lab = Lab::new().await;
    lab.model.entry(&lab.cluster, BOB, "STANDARD", None, &[]);
    lab.model.associate(
        &lab.cluster,
        BOB,
        ADMIN,
        "namespace",
        &["kube-system", "default"],
    );

    let summary = lab
        .run(
            &lab.settings(),
            lab.event("associate-cluster-admin-cli.json", &[]),
        )
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(lab.model.associated(&lab.cluster, BOB).is_empty());
    let alert = &lab.w.alerts().await[0];
    let undo = alert["undo"].as_str().unwrap();
    assert!(
        undo.contains("'type=namespace,namespaces=kube-system,default'"),
        "{undo}"
    );
    assert!(undo.contains(BOB), "{undo}");
}

#[tokio::test]
async fn an_allow_listed_principal_keeps_its_admin_access_without_a_call() {
    let lab = Lab::new().await;
    let admins = "arn:aws:iam::123456789012:role/platform-admins";
    lab.model.entry(&lab.cluster, admins, "STANDARD", None, &[]);
    lab.model
        .associate(&lab.cluster, admins, CLUSTER_ADMIN, "cluster", &[]);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event("associate-admin-allowlisted.json", &[]),
        )
        .await;

    assert!(statuses(&summary).is_empty());
    assert_eq!(lab.calls(), 0);
    assert_eq!(lab.model.associated(&lab.cluster, admins).len(), 1);
}

/// Events whose request alone shows nothing unsafe: judged without a single AWS call.
#[tokio::test]
async fn safe_requests_are_judged_without_an_aws_call() {
    for file in [
        "associate-view-namespace.json",
        "create-access-entry-standard.json",
        "create-cluster-no-bootstrap.json",
        "not-for-me-delete-access-entry.json",
    ] {
        let lab = Lab::new().await;
        let summary = lab.run(&lab.settings(), lab.event(file, &[])).await;
        assert!(statuses(&summary).is_empty(), "{file}: {summary}");
        assert_eq!(lab.calls(), 0, "{file}");
    }
}

#[tokio::test]
async fn alert_only_mode_reports_what_it_would_do_and_changes_nothing() {
    let lab = Lab::new().await;
    lab.model
        .entry(&lab.cluster, CONTRACTOR, "STANDARD", None, &[]);
    lab.model
        .associate(&lab.cluster, CONTRACTOR, CLUSTER_ADMIN, "cluster", &[]);
    let settings = Settings {
        mode: Mode::AlertOnly,
        ..lab.settings()
    };

    let summary = lab
        .run(
            &settings,
            lab.event("associate-cluster-admin-console.json", &[]),
        )
        .await;

    assert_eq!(statuses(&summary), ["would-remediate"]);
    assert_eq!(lab.model.associated(&lab.cluster, CONTRACTOR).len(), 1);
    assert!(lab.proxy.requests("/access-policies/arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSClusterAdminPolicy").is_empty());
    assert_eq!(lab.w.alerts().await[0]["status"], "would-remediate");
}

#[tokio::test]
async fn an_exempt_cluster_is_reported_and_left_alone() {
    let lab = Lab::new().await;
    lab.tag_cluster("eks-remediator:exempt").await;
    lab.model
        .entry(&lab.cluster, CONTRACTOR, "STANDARD", None, &[]);
    lab.model
        .associate(&lab.cluster, CONTRACTOR, CLUSTER_ADMIN, "cluster", &[]);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event("associate-cluster-admin-console.json", &[]),
        )
        .await;

    assert_eq!(statuses(&summary), ["exempt"]);
    assert_eq!(lab.model.associated(&lab.cluster, CONTRACTOR).len(), 1);
}

#[tokio::test]
async fn an_association_already_gone_or_narrowed_is_resolved_without_an_alert() {
    let lab = Lab::new().await;
    let gone = lab
        .run(
            &lab.settings(),
            lab.event("associate-cluster-admin-console.json", &[]),
        )
        .await;
    assert_eq!(statuses(&gone), ["resolved"]);

    lab.model
        .entry(&lab.cluster, CONTRACTOR, "STANDARD", None, &[]);
    lab.model.associate(
        &lab.cluster,
        CONTRACTOR,
        CLUSTER_ADMIN,
        "namespace",
        &["team-a"],
    );
    let narrowed = lab
        .run(
            &lab.settings(),
            lab.event("associate-cluster-admin-console.json", &[]),
        )
        .await;
    assert_eq!(statuses(&narrowed), ["resolved"]);
    assert_eq!(lab.model.associated(&lab.cluster, CONTRACTOR).len(), 1);
    assert!(
        lab.w.alerts().await.is_empty(),
        "resolved outcomes are not alerted"
    );
}

#[tokio::test]
async fn a_node_access_entry_for_a_role_that_is_no_node_is_deleted() {
    let lab = Lab::new().await;
    let runner = support::role(&lab.w.aws, "ec2.amazonaws.com", &[], &[], None).await;
    let arn = format!("arn:aws:iam::123456789012:role/{runner}");
    lab.model.entry(&lab.cluster, &arn, "EC2_LINUX", None, &[]);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event(
                "create-access-entry-ec2-linux.json",
                &[("role/ci-runner", &format!("role/{runner}"))],
            ),
        )
        .await;

    assert_eq!(statuses(&summary), ["remediated"]);
    assert!(!lab.model.has_entry(&lab.cluster, &arn));
    let alert = &lab.w.alerts().await[0];
    let undo = alert["undo"].as_str().unwrap();
    assert!(
        undo.starts_with("aws eks create-access-entry") && undo.contains("'EC2_LINUX'"),
        "{undo}"
    );
}

#[tokio::test]
async fn a_node_access_entry_for_a_real_node_role_stays() {
    let lab = Lab::new().await;
    let nodes = support::role(
        &lab.w.aws,
        "ec2.amazonaws.com",
        &["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"],
        &[],
        None,
    )
    .await;
    let arn = format!("arn:aws:iam::123456789012:role/{nodes}");
    lab.model.entry(&lab.cluster, &arn, "EC2_LINUX", None, &[]);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event(
                "create-access-entry-ec2-linux.json",
                &[("role/ci-runner", &format!("role/{nodes}"))],
            ),
        )
        .await;

    assert!(statuses(&summary).is_empty());
    assert!(lab.model.has_entry(&lab.cluster, &arn));
}

#[tokio::test]
async fn a_role_that_runs_a_managed_node_group_keeps_its_node_access_entry() {
    let lab = Lab::new().await;
    // No worker-node policy and no tag: only the node group shows it is a node role.
    let nodes = support::role(&lab.w.aws, "ec2.amazonaws.com", &[], &[], None).await;
    let arn = format!("arn:aws:iam::123456789012:role/{nodes}");
    lab.w
        .aws
        .eks()
        .await
        .create_nodegroup()
        .cluster_name(&lab.cluster)
        .nodegroup_name("workers")
        .node_role(&arn)
        .subnets("subnet-0123456789abcdef0")
        .send()
        .await
        .unwrap();
    lab.model.entry(&lab.cluster, &arn, "EC2_LINUX", None, &[]);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event(
                "create-access-entry-ec2-linux.json",
                &[("role/ci-runner", &format!("role/{nodes}"))],
            ),
        )
        .await;

    assert!(statuses(&summary).is_empty(), "{summary}");
    assert!(lab.model.has_entry(&lab.cluster, &arn));
    assert!(
        !lab.proxy.requests("/node-groups/workers").is_empty(),
        "the node group was read"
    );
}

#[tokio::test]
async fn a_bootstrap_admin_outside_the_allow_list_is_alerted_with_the_command_that_removes_it() {
    let lab = Lab::new().await;
    let creator = "arn:aws:iam::123456789012:role/ci-deployer";
    lab.model
        .entry(&lab.cluster, creator, "STANDARD", None, &[]);
    lab.model
        .associate(&lab.cluster, creator, CLUSTER_ADMIN, "cluster", &[]);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event("create-cluster-bootstrap-admin.json", &[]),
        )
        .await;

    assert_eq!(statuses(&summary), ["alert"]);
    let alert = &lab.w.alerts().await[0];
    assert_eq!(alert["resource"]["type"], "eks-cluster");
    assert!(alert["finding"].as_str().unwrap().contains(creator));
    assert!(alert["undo"].is_null(), "nothing was changed");
    assert_eq!(
        lab.model.associated(&lab.cluster, creator).len(),
        1,
        "nothing changed"
    );

    // Once the creator's entry is gone, the same event is resolved.
    lab.aws
        .delete_access_entry(&lab.cluster, creator)
        .await
        .unwrap();
    let later = lab
        .run(
            &lab.settings(),
            lab.event("create-cluster-bootstrap-admin.json", &[]),
        )
        .await;
    assert_eq!(statuses(&later), ["resolved"]);
}

#[tokio::test]
async fn a_config_map_cluster_is_alerted_with_the_one_way_switch() {
    let lab = Lab::new().await;
    let summary = lab
        .run(
            &lab.settings(),
            lab.event("create-cluster-config-map.json", &[]),
        )
        .await;
    assert_eq!(statuses(&summary), ["alert"]);
    let alert = &lab.w.alerts().await[0];
    assert!(alert["finding"].as_str().unwrap().contains("CONFIG_MAP"));
    assert!(
        lab.proxy.requests("/access-entries").is_empty(),
        "a CONFIG_MAP cluster's bootstrap admin is not an access entry"
    );
}

#[tokio::test]
async fn a_pod_identity_role_with_admin_policies_is_alerted_and_left_alone() {
    let lab = Lab::new().await;
    let role = support::role(
        &lab.w.aws,
        "pods.eks.amazonaws.com",
        &["arn:aws:iam::aws:policy/AdministratorAccess"],
        &[],
        None,
    )
    .await;
    let arn = format!("arn:aws:iam::123456789012:role/{role}");
    let id = lab
        .model
        .pod_identity(&lab.cluster, "payments", "payments-api", &arn);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event(
                "create-pod-identity-admin.json",
                &[
                    ("a-abcdefghijklmnop1", &id),
                    ("role/payments-pod-role", &format!("role/{role}")),
                ],
            ),
        )
        .await;

    assert_eq!(statuses(&summary), ["alert"]);
    let alert = &lab.w.alerts().await[0];
    let finding = alert["finding"].as_str().unwrap();
    assert!(
        finding.contains("payments/payments-api") && finding.contains("AdministratorAccess"),
        "{finding}"
    );
    let attached = lab.w.aws.attached_role_policies(&role).await.unwrap();
    assert_eq!(attached.len(), 1, "never changed automatically");
}

#[tokio::test]
async fn a_pod_identity_role_with_narrow_policies_is_not_alerted() {
    let lab = Lab::new().await;
    let narrow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::payments/*"}]}"#;
    let role = support::role(&lab.w.aws, "pods.eks.amazonaws.com", &[], &[], Some(narrow)).await;
    let arn = format!("arn:aws:iam::123456789012:role/{role}");
    let id = lab
        .model
        .pod_identity(&lab.cluster, "payments", "payments-api", &arn);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event("update-pod-identity.json", &[("a-abcdefghijklmnop1", &id)]),
        )
        .await;

    assert!(statuses(&summary).is_empty());
    assert!(lab.w.alerts().await.is_empty());
}

#[tokio::test]
async fn a_pod_identity_role_with_a_wildcard_customer_policy_is_alerted_by_its_document() {
    let lab = Lab::new().await;
    let wide = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let policy = support::customer_policy(&lab.w.aws, wide).await;
    let role = support::role(&lab.w.aws, "pods.eks.amazonaws.com", &[&policy], &[], None).await;
    let arn = format!("arn:aws:iam::123456789012:role/{role}");
    let id = lab
        .model
        .pod_identity(&lab.cluster, "payments", "payments-api", &arn);

    let summary = lab
        .run(
            &lab.settings(),
            lab.event("update-pod-identity.json", &[("a-abcdefghijklmnop1", &id)]),
        )
        .await;

    assert_eq!(statuses(&summary), ["alert"]);
    let finding = lab.w.alerts().await[0]["finding"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        finding.contains(&policy) && finding.contains("s3:*"),
        "{finding}"
    );
}

/// Creates the role an IAM trust event names, with the document it logged; returns the name.
async fn trust_role(lab: &Lab, file: &str) -> (String, Value) {
    let name = unique("irsa");
    let original = event(RULE, file, &[]);
    let request = &original["detail"]["requestParameters"];
    let logged = request["roleName"].as_str().unwrap().to_owned();
    let document = request["assumeRolePolicyDocument"]
        .as_str()
        .or(request["policyDocument"].as_str())
        .unwrap();
    lab.w
        .aws
        .iam()
        .await
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(document)
        .send()
        .await
        .unwrap();
    (
        name.clone(),
        event(RULE, file, &[(logged.as_str(), name.as_str())]),
    )
}

#[tokio::test]
async fn an_irsa_trust_without_a_subject_is_alerted_with_the_corrected_condition() {
    let lab = Lab::new().await;
    let (role, event) = trust_role(&lab, "iam-create-role-irsa-no-sub.json").await;

    let summary = lab.run(&lab.settings(), event).await;

    assert_eq!(statuses(&summary), ["alert"]);
    let alert = &lab.w.alerts().await[0];
    assert_eq!(alert["resource"]["id"], role);
    assert!(alert["finding"]
        .as_str()
        .unwrap()
        .contains("no `sub` condition"));
    let text = alert.to_string();
    assert!(
        text.contains("system:serviceaccount:<namespace>:<service-account>"),
        "{text}"
    );
}

#[tokio::test]
async fn an_irsa_trust_with_a_wildcard_subject_is_alerted() {
    let lab = Lab::new().await;
    let (_, event) = trust_role(&lab, "iam-update-trust-wildcard-sub.json").await;
    let summary = lab.run(&lab.settings(), event).await;
    assert_eq!(statuses(&summary), ["alert"]);
    let finding = lab.w.alerts().await[0]["finding"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        finding.contains("every namespace") && finding.contains("no `aud`"),
        "{finding}"
    );
}

#[tokio::test]
async fn an_exact_irsa_trust_is_not_looked_at() {
    let lab = Lab::new().await;
    let (_, event) = trust_role(&lab, "iam-create-role-irsa-exact.json").await;
    let summary = lab.run(&lab.settings(), event).await;
    assert!(statuses(&summary).is_empty());
    assert_eq!(lab.calls(), 0);
}

#[tokio::test]
async fn a_malformed_association_is_an_error_and_changes_nothing() {
    let lab = Lab::new().await;
    lab.model
        .entry(&lab.cluster, CONTRACTOR, "STANDARD", None, &[]);
    lab.model
        .associate(&lab.cluster, CONTRACTOR, CLUSTER_ADMIN, "cluster", &[]);
    let mut bad = lab.event("associate-cluster-admin-console.json", &[]);
    bad["detail"]["requestParameters"]["accessScope"] = serde_json::json!({"type": 7});

    let result = handle(&lab.aws, &lab.settings(), bad).await;

    assert!(matches!(result, Err(HandlerError::Event(_))), "{result:?}");
    assert_eq!(lab.calls(), 0);
    assert_eq!(lab.model.associated(&lab.cluster, CONTRACTOR).len(), 1);
}

#[tokio::test]
async fn the_cli_replay_shows_what_it_would_do_without_changing_anything() {
    let lab = Lab::new().await;
    lab.model
        .entry(&lab.cluster, CONTRACTOR, "STANDARD", None, &[]);
    lab.model
        .associate(&lab.cluster, CONTRACTOR, CLUSTER_ADMIN, "cluster", &[]);
    let settings = eks_remediator::cli::replay_settings(lab.settings(), false);

    let results = eks_remediator::cli::replay(
        &lab.aws,
        &settings,
        lab.event("associate-cluster-admin-console.json", &[]),
    )
    .await
    .unwrap();

    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, RULE);
    let report = eks_remediator::cli::report(&results);
    assert!(
        report.starts_with("guard-cluster-access: would-remediate"),
        "{report}"
    );
    assert!(report.contains("DisassociateAccessPolicy"), "{report}");
    assert_eq!(lab.model.associated(&lab.cluster, CONTRACTOR).len(), 1);
    assert!(lab.w.alerts().await.is_empty(), "replay sends no alert");
}
