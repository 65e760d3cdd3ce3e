//! The sweep's `guard-cluster-access` scan, through the test proxy with the `EksAccess` model
//! standing in for the EKS access-entry, Pod Identity and add-on APIs that moto lacks.
//! Clusters, IAM roles, policies and OIDC providers are moto's. The scan runs inside the whole
//! sweep (`sweep::run`); only this rule's outcomes are judged here.
//!
//! moto differs from AWS twice here, so the proxy answers `DescribeCluster` for two clusters in
//! the shape of the EKS API reference: moto has no `accessConfig` (cluster D must read as
//! `CONFIG_MAP`), and it gives every cluster the same OIDC issuer (cluster B must have one of
//! its own, for which no IAM provider exists).

mod support;

use std::sync::Arc;

use eks_remediator::aws::Aws;
use eks_remediator::outcome::Status;
use eks_remediator::settings::{Mode, Settings};
use eks_remediator::sweep;
use support::eks_access::EksAccess;
use support::proxy::{ok_json, Fault, Proxy};
use support::{cluster, role};

const CLUSTER_ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const WORKER: &str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// This rule's outcomes of a report: (status, resource id), sorted.
fn found(report: &sweep::Report) -> Vec<(Status, String)> {
    let found: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| o.rule == "guard-cluster-access")
        .map(|o| (o.status, o.resource.id.clone()))
        .collect();
    sorted(found)
}

fn sorted(mut found: Vec<(Status, String)>) -> Vec<(Status, String)> {
    found.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    found
}

#[tokio::test]
async fn the_sweep_takes_back_admin_and_node_access_and_alerts_what_only_people_can_fix() {
    let (region, account) = ("ap-south-1", "100000000009");
    let (keys, config) = support::in_account(region, account).await;
    let direct = Aws::with_config(config);
    let arn = |kind: &str, name: &str| format!("arn:aws:iam::{account}:{kind}/{name}");

    // Cluster A: the Pod Identity agent is on; an outsider with cluster admin, an allow-listed
    // admin, a node entry for a role that is no node and one for a real node role, and a
    // service account whose role is an administrator.
    let a = cluster(&direct, false, "1.32", true).await;
    // Cluster B: pods have no way to an IAM role of their own.
    let b = cluster(&direct, false, "1.32", true).await;
    // Cluster C: an IAM OIDC provider for its issuer (IRSA).
    let c = cluster(&direct, false, "1.32", true).await;
    // Cluster D: access set in aws-auth only.
    let d = cluster(&direct, false, "1.32", true).await;

    let runner = role(&direct, "ec2.amazonaws.com", &[], &[], None).await;
    let nodes = role(&direct, "ec2.amazonaws.com", &[WORKER], &[], None).await;
    let payments = role(&direct, "pods.eks.amazonaws.com", &[ADMIN], &[], None).await;
    let issuer = direct
        .eks()
        .await
        .describe_cluster()
        .name(&c)
        .send()
        .await
        .unwrap()
        .cluster()
        .unwrap()
        .identity()
        .unwrap()
        .oidc()
        .unwrap()
        .issuer()
        .unwrap()
        .to_owned();
    direct
        .iam()
        .await
        .create_open_id_connect_provider()
        .url(&issuer)
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap();

    let model = Arc::new(EksAccess::in_account(region, account));
    for name in [&a, &b, &c, &d] {
        model.cluster(name);
    }
    model.addon(&a, "eks-pod-identity-agent");
    model.addon(&d, "eks-pod-identity-agent");
    let contractor = arn("role", "contractor");
    let platform = arn("role", "platform-admin");
    model.entry(&a, &contractor, "STANDARD", None, &[]);
    model.associate(&a, &contractor, CLUSTER_ADMIN, "cluster", &[]);
    model.associate(&a, &contractor, VIEW, "namespace", &["team-a"]);
    model.entry(&a, &platform, "STANDARD", None, &[]);
    model.associate(&a, &platform, CLUSTER_ADMIN, "cluster", &[]);
    model.entry(&a, &arn("role", &runner), "EC2_LINUX", None, &[]);
    model.entry(&a, &arn("role", &nodes), "EC2_LINUX", None, &[]);
    let association = model.pod_identity(&a, "payments", "api", &arn("role", &payments));

    let proxy = Proxy::start(support::moto_url()).await;
    proxy.respond_with(model.clone());
    let described = |name: &str, issuer: &str, mode: &str| Fault {
        path_suffix: format!("/clusters/{name}"),
        body_contains: None,
        times: 100,
        answer: ok_json(serde_json::json!({"cluster": {
            "name": name,
            "arn": format!("arn:aws:eks:{region}:{account}:cluster/{name}"),
            "status": "ACTIVE",
            "version": "1.32",
            "resourcesVpcConfig": {"endpointPublicAccess": false, "endpointPrivateAccess": true},
            "logging": {"clusterLogging": [{"enabled": true, "types": ["api", "audit", "authenticator", "controllerManager", "scheduler"]}]},
            "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": format!("arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab")}}],
            "identity": {"oidc": {"issuer": issuer}},
            "accessConfig": {"authenticationMode": mode},
            "tags": {},
        }})),
    };
    let own_issuer =
        format!("https://oidc.eks.{region}.amazonaws.com/id/B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0");
    proxy.inject(described(&b, &own_issuer, "API_AND_CONFIG_MAP"));
    proxy.inject(described(&d, &issuer, "CONFIG_MAP"));
    let aws = Aws::with_config(support::sdk_config_with(&proxy.url, region, &keys));
    let origin = sweep::origin(account, region, "test", "2026-12-01T06:00:00Z");
    let allow_platform = vec![
        eks_remediator::domain::access::PrincipalPattern::parse(&format!(
            "arn:aws:iam::{account}:role/platform-*"
        ))
        .unwrap(),
    ];
    let run = |settings: Settings| {
        let aws = &aws;
        let origin = &origin;
        async move {
            support::granted_as(
                "sweep",
                sweep::IAM_ACTIONS,
                sweep::run(aws, &settings, origin, None, |_| ()),
            )
            .await
        }
    };

    let look = run(Settings {
        cluster_admin_principals: allow_platform.clone(),
        ..Settings::default()
    })
    .await;
    let outsider = format!("{a}/{contractor}");
    let stray_node = format!("{a}/{}", arn("role", &runner));
    let pod = format!("{a}/{association}");
    assert_eq!(
        found(&look),
        sorted(vec![
            (Status::Alert, b.clone()),
            (Status::Alert, d.clone()),
            (Status::Alert, pod.clone()),
            (Status::WouldRemediate, outsider.clone()),
            (Status::WouldRemediate, stray_node.clone()),
        ])
    );
    assert_eq!(
        model.associated(&a, &contractor).len(),
        2,
        "a read-only scan changes nothing"
    );

    let fix = run(Settings {
        mode: Mode::Remediate,
        cluster_admin_principals: allow_platform.clone(),
        ..Settings::default()
    })
    .await;
    assert_eq!(
        found(&fix),
        sorted(vec![
            (Status::Alert, b.clone()),
            (Status::Alert, d.clone()),
            (Status::Alert, pod.clone()),
            (Status::Remediated, outsider.clone()),
            (Status::Remediated, stray_node.clone()),
        ])
    );
    assert_eq!(
        model.associated(&a, &contractor),
        [(
            VIEW.to_owned(),
            "namespace".to_owned(),
            vec!["team-a".to_owned()]
        )]
    );
    assert_eq!(
        model.associated(&a, &platform).len(),
        1,
        "the allow-listed admin keeps it"
    );
    assert!(!model.has_entry(&a, &arn("role", &runner)));
    assert!(
        model.has_entry(&a, &arn("role", &nodes)),
        "a real node role keeps its entry"
    );

    let again = run(Settings {
        mode: Mode::Remediate,
        cluster_admin_principals: allow_platform,
        ..Settings::default()
    })
    .await;
    assert_eq!(
        found(&again),
        sorted(vec![
            (Status::Alert, b),
            (Status::Alert, d),
            (Status::Alert, pod),
        ]),
        "what was fixed stays fixed; what only people can fix is alerted again"
    );
}
