//! Integration tests of the EKS access model (`support::eks_access`): the real
//! `aws_sdk_eks::Client` through the recording proxy, with the model answering the access
//! entry, access policy, Pod Identity and add-on calls that moto lacks, and moto the rest.
//!
//! They hold the model to what the SDK expects of EKS (paths, bodies, pagination, typed
//! errors), so that tests of the rules can trust it as they trust moto.

mod support;

use std::sync::Arc;

use aws_sdk_eks::operation::describe_addon::DescribeAddonError;
use aws_sdk_eks::types::{AccessScope, AccessScopeType, AddonStatus};
use eks_remediator::aws::Aws;
use serde_json::{json, Value};
use support::eks_access::{EksAccess, DEFAULT_ADDON_VERSION};
use support::proxy::{ok_json, Canned, Fault, Proxy, Responder};
use support::ACCOUNT;

const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const EDIT: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/// A cluster in moto, registered with a model of its own behind a proxy of its own, and an
/// EKS client talking to the proxy.
struct Lab {
    proxy: Proxy,
    model: Arc<EksAccess>,
    eks: aws_sdk_eks::Client,
    cluster: String,
}

impl Lab {
    async fn new() -> Lab {
        let moto = Aws::with_config(support::sdk_config());
        let cluster = support::cluster(&moto, false, "1.34", false).await;
        let proxy = Proxy::start(support::moto_url()).await;
        let model = Arc::new(EksAccess::new());
        model.cluster(&cluster);
        proxy.respond_with(model.clone());
        let eks = aws_sdk_eks::Client::new(&support::sdk_config_at(&proxy.url));
        Lab {
            proxy,
            model,
            eks,
            cluster,
        }
    }

    /// One page of `ListAccessEntries`: the principals and the next token.
    async fn entries_page(
        &self,
        max: Option<i32>,
        token: Option<String>,
    ) -> (Vec<String>, Option<String>) {
        let out = self
            .eks
            .list_access_entries()
            .cluster_name(&self.cluster)
            .set_max_results(max)
            .set_next_token(token)
            .send()
            .await
            .expect("ListAccessEntries");
        (
            out.access_entries().to_vec(),
            out.next_token().map(str::to_owned),
        )
    }
}

fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn access_entries_are_created_listed_in_pages_described_and_deleted() {
    let lab = Lab::new().await;
    let c = lab.cluster.as_str();
    // A role with a path: its ARN's `/`s travel as `%2F` in DescribeAccessEntry's path.
    let admin = role("team/admin");
    let dev = format!("arn:aws:iam::{ACCOUNT}:user/dev");
    let node = role("node");

    let created = lab
        .eks
        .create_access_entry()
        .cluster_name(c)
        .principal_arn(&admin)
        .kubernetes_groups("admins")
        .tags("team", "platform")
        .send()
        .await
        .expect("CreateAccessEntry");
    let entry = created.access_entry().expect("accessEntry");
    assert_eq!(entry.cluster_name(), Some(c));
    assert_eq!(entry.principal_arn(), Some(admin.as_str()));
    assert_eq!(entry.r#type(), Some("STANDARD"));
    assert_eq!(
        entry.username(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/admin/{{{{SessionName}}}}").as_str()),
        "EKS's default username for a role"
    );
    assert_eq!(entry.kubernetes_groups(), ["admins"]);
    lab.eks
        .create_access_entry()
        .cluster_name(c)
        .principal_arn(&dev)
        .username("dev")
        .send()
        .await
        .expect("CreateAccessEntry of a user");
    lab.eks
        .create_access_entry()
        .cluster_name(c)
        .principal_arn(&node)
        .r#type("EC2_LINUX")
        .send()
        .await
        .expect("CreateAccessEntry of a node role");

    let again = lab
        .eks
        .create_access_entry()
        .cluster_name(c)
        .principal_arn(&admin)
        .send()
        .await
        .expect_err("a second entry for the same principal");
    assert!(again.into_service_error().is_resource_in_use_exception());

    let (first, token) = lab.entries_page(Some(2), None).await;
    assert_eq!(first.len(), 2);
    let token = token.expect("a next page");
    let (second, last) = lab.entries_page(Some(2), Some(token)).await;
    assert_eq!(second.len(), 1);
    assert_eq!(last, None);
    let mut all = [first, second].concat();
    all.sort();
    let mut expected = vec![admin.clone(), dev.clone(), node.clone()];
    expected.sort();
    assert_eq!(all, expected);
    let paged: Vec<String> = lab
        .eks
        .list_access_entries()
        .cluster_name(c)
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("the SDK's paginator");
    assert_eq!(paged, expected);

    let described = lab
        .eks
        .describe_access_entry()
        .cluster_name(c)
        .principal_arn(&admin)
        .send()
        .await
        .expect("DescribeAccessEntry");
    let entry = described.access_entry().expect("accessEntry");
    assert_eq!(entry.principal_arn(), Some(admin.as_str()));
    assert_eq!(entry.kubernetes_groups(), ["admins"]);
    assert_eq!(
        entry.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("platform")
    );
    assert!(entry.created_at().is_some() && entry.modified_at().is_some());
    assert!(
        lab.proxy
            .requests("/access-entries/arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fteam%2Fadmin")
            .iter()
            .all(|r| r.answered),
        "the SDK percent-encodes the principal, and the model answered"
    );
    let node_entry = lab
        .eks
        .describe_access_entry()
        .cluster_name(c)
        .principal_arn(&node)
        .send()
        .await
        .expect("DescribeAccessEntry of the node role");
    let node_entry = node_entry.access_entry().expect("accessEntry");
    assert_eq!(node_entry.r#type(), Some("EC2_LINUX"));
    assert_eq!(
        node_entry.username(),
        Some("system:node:{{EC2PrivateDNSName}}")
    );
    assert_eq!(node_entry.kubernetes_groups(), ["system:nodes"]);
    let arn_prefix =
        format!("arn:aws:eks:us-east-1:{ACCOUNT}:access-entry/{c}/role/{ACCOUNT}/node/");
    assert!(node_entry
        .access_entry_arn()
        .is_some_and(|arn| arn.starts_with(&arn_prefix)));

    lab.eks
        .delete_access_entry()
        .cluster_name(c)
        .principal_arn(&dev)
        .send()
        .await
        .expect("DeleteAccessEntry");
    assert!(!lab.model.has_entry(c, &dev));
    let gone = lab
        .eks
        .describe_access_entry()
        .cluster_name(c)
        .principal_arn(&dev)
        .send()
        .await
        .expect_err("a deleted entry");
    assert!(gone.into_service_error().is_resource_not_found_exception());
    let (left, _) = lab.entries_page(None, None).await;
    assert_eq!(left.len(), 2);
}

#[tokio::test]
async fn access_policies_are_associated_replaced_listed_and_disassociated() {
    let lab = Lab::new().await;
    let c = lab.cluster.as_str();
    let viewer = role("viewer");
    let other = role("other");
    lab.model.entry(c, &viewer, "STANDARD", None, &[]);
    lab.model
        .entry(c, &other, "STANDARD", Some("other"), &["readers"]);
    lab.model.associate(c, &viewer, VIEW, "cluster", &[]);

    let out = lab
        .eks
        .associate_access_policy()
        .cluster_name(c)
        .principal_arn(&viewer)
        .policy_arn(EDIT)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Namespace)
                .namespaces("apps")
                .namespaces("web")
                .build(),
        )
        .send()
        .await
        .expect("AssociateAccessPolicy");
    assert_eq!(out.cluster_name(), Some(c));
    assert_eq!(out.principal_arn(), Some(viewer.as_str()));
    let associated = out
        .associated_access_policy()
        .expect("associatedAccessPolicy");
    assert_eq!(associated.policy_arn(), Some(EDIT));
    let scope = associated.access_scope().expect("accessScope");
    assert_eq!(scope.r#type(), Some(&AccessScopeType::Namespace));
    assert_eq!(scope.namespaces(), ["apps", "web"]);
    assert!(associated.associated_at().is_some());

    // Associating the same policy again replaces its scope.
    lab.eks
        .associate_access_policy()
        .cluster_name(c)
        .principal_arn(&viewer)
        .policy_arn(VIEW)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Namespace)
                .namespaces("apps")
                .build(),
        )
        .send()
        .await
        .expect("AssociateAccessPolicy again");
    assert_eq!(
        lab.model.associated(c, &viewer),
        vec![
            (
                EDIT.to_owned(),
                "namespace".to_owned(),
                strings(&["apps", "web"])
            ),
            (VIEW.to_owned(), "namespace".to_owned(), strings(&["apps"])),
        ]
    );

    let page = lab
        .eks
        .list_associated_access_policies()
        .cluster_name(c)
        .principal_arn(&viewer)
        .max_results(1)
        .send()
        .await
        .expect("ListAssociatedAccessPolicies");
    assert_eq!(page.cluster_name(), Some(c));
    assert_eq!(page.principal_arn(), Some(viewer.as_str()));
    let policies: Vec<_> = page
        .associated_access_policies()
        .iter()
        .map(|p| p.policy_arn())
        .collect();
    assert_eq!(policies, [Some(EDIT)]);
    let rest = lab
        .eks
        .list_associated_access_policies()
        .cluster_name(c)
        .principal_arn(&viewer)
        .max_results(1)
        .set_next_token(page.next_token().map(str::to_owned))
        .send()
        .await
        .expect("ListAssociatedAccessPolicies, page 2");
    let policies: Vec<_> = rest
        .associated_access_policies()
        .iter()
        .map(|p| p.policy_arn())
        .collect();
    assert_eq!(policies, [Some(VIEW)]);
    assert_eq!(rest.next_token(), None);

    let filtered = lab
        .eks
        .list_access_entries()
        .cluster_name(c)
        .associated_policy_arn(EDIT)
        .send()
        .await
        .expect("ListAccessEntries by policy");
    assert_eq!(filtered.access_entries(), std::slice::from_ref(&viewer));

    lab.eks
        .disassociate_access_policy()
        .cluster_name(c)
        .principal_arn(&viewer)
        .policy_arn(EDIT)
        .send()
        .await
        .expect("DisassociateAccessPolicy");
    assert_eq!(
        lab.model.associated(c, &viewer),
        vec![(VIEW.to_owned(), "namespace".to_owned(), strings(&["apps"]))]
    );
    let again = lab
        .eks
        .disassociate_access_policy()
        .cluster_name(c)
        .principal_arn(&viewer)
        .policy_arn(EDIT)
        .send()
        .await
        .expect_err("a policy no longer associated");
    assert!(again.into_service_error().is_resource_not_found_exception());

    // An access entry's associations go with it.
    lab.eks
        .delete_access_entry()
        .cluster_name(c)
        .principal_arn(&viewer)
        .send()
        .await
        .expect("DeleteAccessEntry");
    assert!(lab.model.associated(c, &viewer).is_empty());
    assert!(lab.model.has_entry(c, &other));
}

#[tokio::test]
async fn missing_entries_policies_associations_and_addons_are_resource_not_found() {
    let lab = Lab::new().await;
    let c = lab.cluster.as_str();
    let missing = role("nobody");
    let present = role("somebody");
    lab.model.entry(c, &present, "STANDARD", None, &[]);
    let eks = &lab.eks;

    let describe = eks
        .describe_access_entry()
        .cluster_name(c)
        .principal_arn(&missing)
        .send()
        .await
        .expect_err("DescribeAccessEntry");
    assert!(describe
        .into_service_error()
        .is_resource_not_found_exception());
    let delete = eks
        .delete_access_entry()
        .cluster_name(c)
        .principal_arn(&missing)
        .send()
        .await
        .expect_err("DeleteAccessEntry");
    assert!(delete
        .into_service_error()
        .is_resource_not_found_exception());
    let associate = eks
        .associate_access_policy()
        .cluster_name(c)
        .principal_arn(&missing)
        .policy_arn(ADMIN)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Cluster)
                .build(),
        )
        .send()
        .await
        .expect_err("AssociateAccessPolicy");
    assert!(associate
        .into_service_error()
        .is_resource_not_found_exception());
    let list = eks
        .list_associated_access_policies()
        .cluster_name(c)
        .principal_arn(&missing)
        .send()
        .await
        .expect_err("ListAssociatedAccessPolicies");
    assert!(list.into_service_error().is_resource_not_found_exception());
    let disassociate = eks
        .disassociate_access_policy()
        .cluster_name(c)
        .principal_arn(&present)
        .policy_arn(ADMIN)
        .send()
        .await
        .expect_err("DisassociateAccessPolicy of a policy never associated");
    assert!(disassociate
        .into_service_error()
        .is_resource_not_found_exception());

    let id = "a-abcdefghijklmnop1";
    let describe = eks
        .describe_pod_identity_association()
        .cluster_name(c)
        .association_id(id)
        .send()
        .await
        .expect_err("DescribePodIdentityAssociation");
    assert!(describe
        .into_service_error()
        .is_resource_not_found_exception());
    let update = eks
        .update_pod_identity_association()
        .cluster_name(c)
        .association_id(id)
        .role_arn(role("any"))
        .send()
        .await
        .expect_err("UpdatePodIdentityAssociation");
    assert!(update
        .into_service_error()
        .is_resource_not_found_exception());
    let delete = eks
        .delete_pod_identity_association()
        .cluster_name(c)
        .association_id(id)
        .send()
        .await
        .expect_err("DeletePodIdentityAssociation");
    assert!(delete
        .into_service_error()
        .is_resource_not_found_exception());

    let addon = eks
        .describe_addon()
        .cluster_name(c)
        .addon_name("vpc-cni")
        .send()
        .await
        .expect_err("DescribeAddon");
    match addon.into_service_error() {
        DescribeAddonError::ResourceNotFoundException(e) => {
            assert_eq!(e.cluster_name(), Some(c));
            assert_eq!(e.addon_name(), Some("vpc-cni"));
            assert!(e.message().is_some());
        }
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
}

#[tokio::test]
async fn pod_identity_associations_are_created_listed_described_updated_and_deleted() {
    let lab = Lab::new().await;
    let c = lab.cluster.as_str();
    let seeded = lab
        .model
        .pod_identity(c, "kube-system", "aws-node", &role("vpc-cni"));
    assert!(
        seeded.len() == 19
            && seeded.starts_with("a-")
            && seeded[2..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "an id shaped like EKS's: {seeded}"
    );

    let created = lab
        .eks
        .create_pod_identity_association()
        .cluster_name(c)
        .namespace("apps")
        .service_account("web")
        .role_arn(role("web"))
        .tags("team", "web")
        .send()
        .await
        .expect("CreatePodIdentityAssociation");
    let association = created.association().expect("association");
    let web = association
        .association_id()
        .expect("associationId")
        .to_owned();
    assert_eq!(association.cluster_name(), Some(c));
    assert_eq!(association.namespace(), Some("apps"));
    assert_eq!(association.service_account(), Some("web"));
    assert_eq!(association.role_arn(), Some(role("web").as_str()));
    assert_eq!(
        association.association_arn(),
        Some(format!("arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/{c}/{web}").as_str())
    );
    assert!(association.created_at().is_some());
    lab.eks
        .create_pod_identity_association()
        .cluster_name(c)
        .namespace("apps")
        .service_account("worker")
        .role_arn(role("worker"))
        .send()
        .await
        .expect("CreatePodIdentityAssociation of another service account");
    let twice = lab
        .eks
        .create_pod_identity_association()
        .cluster_name(c)
        .namespace("apps")
        .service_account("web")
        .role_arn(role("other"))
        .send()
        .await
        .expect_err("a second association for the same service account");
    assert!(twice.into_service_error().is_resource_in_use_exception());

    let all: Vec<_> = lab
        .eks
        .list_pod_identity_associations()
        .cluster_name(c)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("ListPodIdentityAssociations, every page");
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .all(|s| s.cluster_name() == Some(c) && s.owner_arn().is_none()));
    let first = lab
        .eks
        .list_pod_identity_associations()
        .cluster_name(c)
        .max_results(2)
        .send()
        .await
        .expect("ListPodIdentityAssociations, page 1");
    assert_eq!(first.associations().len(), 2);
    assert!(first.next_token().is_some());
    let in_apps = lab
        .eks
        .list_pod_identity_associations()
        .cluster_name(c)
        .namespace("apps")
        .send()
        .await
        .expect("ListPodIdentityAssociations in a namespace");
    assert_eq!(in_apps.associations().len(), 2);
    let web_only = lab
        .eks
        .list_pod_identity_associations()
        .cluster_name(c)
        .namespace("apps")
        .service_account("web")
        .send()
        .await
        .expect("ListPodIdentityAssociations of a service account");
    let summary = web_only.associations();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].association_id(), Some(web.as_str()));
    assert_eq!(summary[0].service_account(), Some("web"));

    let updated = lab
        .eks
        .update_pod_identity_association()
        .cluster_name(c)
        .association_id(&web)
        .role_arn(role("web-v2"))
        .send()
        .await
        .expect("UpdatePodIdentityAssociation");
    assert_eq!(
        updated.association().and_then(|a| a.role_arn()),
        Some(role("web-v2").as_str())
    );
    let described = lab
        .eks
        .describe_pod_identity_association()
        .cluster_name(c)
        .association_id(&web)
        .send()
        .await
        .expect("DescribePodIdentityAssociation");
    let association = described.association().expect("association");
    assert_eq!(association.role_arn(), Some(role("web-v2").as_str()));
    assert_eq!(
        association
            .tags()
            .and_then(|t| t.get("team"))
            .map(String::as_str),
        Some("web")
    );
    assert!(association.modified_at() >= association.created_at());

    let deleted = lab
        .eks
        .delete_pod_identity_association()
        .cluster_name(c)
        .association_id(&web)
        .send()
        .await
        .expect("DeletePodIdentityAssociation");
    assert_eq!(
        deleted.association().and_then(|a| a.association_id()),
        Some(web.as_str())
    );
    let ids: Vec<String> = lab
        .model
        .pod_identities(c)
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&seeded) && !ids.contains(&web));
}

#[tokio::test]
async fn addons_are_listed_in_pages_and_described() {
    let lab = Lab::new().await;
    let c = lab.cluster.as_str();
    lab.model.addon(c, "vpc-cni");
    lab.model.addon_at(c, "coredns", "v1.11.1-eksbuild.9");
    lab.model.addon(c, "kube-proxy");

    let first = lab
        .eks
        .list_addons()
        .cluster_name(c)
        .max_results(2)
        .send()
        .await
        .expect("ListAddons");
    assert_eq!(first.addons(), ["coredns", "kube-proxy"]);
    let rest = lab
        .eks
        .list_addons()
        .cluster_name(c)
        .max_results(2)
        .set_next_token(first.next_token().map(str::to_owned))
        .send()
        .await
        .expect("ListAddons, page 2");
    assert_eq!(rest.addons(), ["vpc-cni"]);
    assert_eq!(rest.next_token(), None);

    let coredns = lab
        .eks
        .describe_addon()
        .cluster_name(c)
        .addon_name("coredns")
        .send()
        .await
        .expect("DescribeAddon");
    let addon = coredns.addon().expect("addon");
    assert_eq!(addon.addon_name(), Some("coredns"));
    assert_eq!(addon.cluster_name(), Some(c));
    assert_eq!(addon.status(), Some(&AddonStatus::Active));
    assert_eq!(addon.addon_version(), Some("v1.11.1-eksbuild.9"));
    let vpc_cni = lab
        .eks
        .describe_addon()
        .cluster_name(c)
        .addon_name("vpc-cni")
        .send()
        .await
        .expect("DescribeAddon");
    assert_eq!(
        vpc_cni.addon().and_then(|a| a.addon_version()),
        Some(DEFAULT_ADDON_VERSION)
    );
}

#[tokio::test]
async fn malformed_requests_are_invalid_parameter() {
    let lab = Lab::new().await;
    let c = lab.cluster.as_str();

    // A body the SDK would never send, straight to the model.
    let answer = lab
        .model
        .answer(
            "POST",
            &format!("/clusters/{c}/access-entries"),
            "",
            "{not json",
        )
        .expect("the model answers for its cluster");
    assert_eq!(answer.status, 400);
    assert!(answer
        .headers
        .iter()
        .any(|(k, v)| k == "x-amzn-ErrorType" && v == "InvalidParameterException"));
    let body: Value = serde_json::from_str(&answer.body).expect("a JSON error body");
    assert_eq!(body["clusterName"], json!(c));
    assert!(body["message"].is_string());

    let bad_type = lab
        .eks
        .create_access_entry()
        .cluster_name(c)
        .principal_arn(role("x"))
        .r#type("ROOT")
        .send()
        .await
        .expect_err("an unknown access entry type");
    assert!(bad_type
        .into_service_error()
        .is_invalid_parameter_exception());
    let node_groups = lab
        .eks
        .create_access_entry()
        .cluster_name(c)
        .principal_arn(role("node"))
        .r#type("EC2_LINUX")
        .kubernetes_groups("admins")
        .send()
        .await
        .expect_err("groups on a node entry");
    assert!(node_groups
        .into_service_error()
        .is_invalid_parameter_exception());
    lab.model.entry(c, &role("viewer"), "STANDARD", None, &[]);
    let no_namespaces = lab
        .eks
        .associate_access_policy()
        .cluster_name(c)
        .principal_arn(role("viewer"))
        .policy_arn(VIEW)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Namespace)
                .build(),
        )
        .send()
        .await
        .expect_err("a namespace scope without namespaces");
    assert!(no_namespaces
        .into_service_error()
        .is_invalid_parameter_exception());
    let too_many = lab
        .eks
        .list_access_entries()
        .cluster_name(c)
        .max_results(101)
        .send()
        .await
        .expect_err("maxResults past 100");
    assert!(too_many
        .into_service_error()
        .is_invalid_parameter_exception());
    let bad_token = lab
        .eks
        .list_addons()
        .cluster_name(c)
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("a token the model never gave");
    assert!(bad_token
        .into_service_error()
        .is_invalid_parameter_exception());
    assert!(!lab.model.has_entry(c, &role("x")) && !lab.model.has_entry(c, &role("node")));
}

#[tokio::test]
async fn requests_the_model_does_not_claim_reach_moto() {
    let lab = Lab::new().await;
    let c = lab.cluster.as_str();
    let moto = Aws::with_config(support::sdk_config());
    let unregistered = support::cluster(&moto, false, "1.34", false).await;

    // moto has no access entries at all: it answers with an error of its own.
    let result = lab
        .eks
        .list_access_entries()
        .cluster_name(&unregistered)
        .send()
        .await;
    assert!(result.is_err(), "moto lacks ListAccessEntries: {result:?}");
    let seen = lab
        .proxy
        .requests(&format!("/clusters/{unregistered}/access-entries"));
    assert!(!seen.is_empty() && seen.iter().all(|r| !r.answered));

    // The registered cluster itself is moto's.
    let described = lab
        .eks
        .describe_cluster()
        .name(c)
        .send()
        .await
        .expect("DescribeCluster through the proxy");
    assert_eq!(described.cluster().and_then(|k| k.name()), Some(c));
    assert!(lab
        .proxy
        .requests(&format!("/clusters/{c}"))
        .iter()
        .all(|r| !r.answered));
}

#[tokio::test]
async fn injected_faults_take_precedence_over_the_model() {
    let lab = Lab::new().await;
    let c = lab.cluster.as_str();
    let throttled = role("throttled");
    lab.model.entry(c, &throttled, "STANDARD", None, &[]);

    let from_fault = role("from-the-fault");
    lab.proxy.inject(Fault {
        path_suffix: format!("/clusters/{c}/access-entries"),
        body_contains: None,
        times: 1,
        answer: ok_json(json!({ "accessEntries": [from_fault] })),
    });
    let (first, _) = lab.entries_page(None, None).await;
    assert_eq!(first, [from_fault]);
    let (second, _) = lab.entries_page(None, None).await;
    assert_eq!(second, std::slice::from_ref(&throttled));

    lab.proxy.inject(Fault {
        path_suffix: "%3Arole%2Fthrottled".into(),
        body_contains: None,
        times: 1,
        answer: Canned {
            status: 400,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("x-amzn-ErrorType".into(), "ThrottlingException".into()),
            ],
            body: json!({"message": "Rate exceeded"}).to_string(),
        },
    });
    lab.eks
        .describe_access_entry()
        .cluster_name(c)
        .principal_arn(&throttled)
        .send()
        .await
        .expect("DescribeAccessEntry, retried after the throttle");
    let seen = lab.proxy.requests("%3Arole%2Fthrottled");
    assert_eq!(seen.len(), 2, "the throttle, then the model's answer");
    assert!(seen.iter().all(|r| r.answered));
}
