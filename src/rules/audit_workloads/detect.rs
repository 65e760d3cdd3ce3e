//! What `audit-workloads` makes of one audit event, without calling AWS: skipped (and why),
//! or the workload, binding, ClusterRole or aws-auth ConfigMap it wrote, judged.

use crate::domain::kubernetes::audit::AuditEvent;
use crate::domain::kubernetes::aws_auth::{self, ConfigMap, MastersMapping};
use crate::domain::kubernetes::rbac::{
    binding_findings, Binding, BindingFinding, ClusterRole, AGGREGATED_ROLES, CLUSTER_ADMIN,
    DISCOVERY_ROLES,
};
use crate::domain::kubernetes::workload::{Finding, Workload, WorkloadKind};
use crate::settings::Settings;

/// One audit event, judged.
#[derive(Debug)]
pub enum Judged {
    /// Nothing to judge, and why.
    Skip(&'static str),
    /// A write this rule judges whose object cannot be read.
    Unreadable(String),
    /// A workload as stored, with what it lacks (never empty).
    Workload {
        workload: Workload,
        findings: Vec<Finding>,
    },
    /// A workload as stored that is not to be alerted (nothing wrong, or exempt): an earlier
    /// write of it in the same batch is no longer what it is.
    WorkloadClear {
        kind: WorkloadKind,
        namespace: String,
        name: String,
        why: &'static str,
    },
    /// A binding, judged once the rules of the ClusterRole it names are known.
    Binding {
        /// `ClusterRoleBinding` or `RoleBinding`.
        kind: &'static str,
        binding: Binding,
        exempt: bool,
    },
    /// A ClusterRole was written: whether it allows everything is remembered for bindings.
    ClusterRole { name: String, wildcard: bool },
    /// The aws-auth ConfigMap maps principals outside the allow-list into `system:masters`.
    AwsAuth { masters: Vec<MastersMapping> },
}

/// Judges one event.
pub fn judge(event: &AuditEvent, settings: &Settings) -> Judged {
    if !event.is_completed_write() {
        return Judged::Skip("not a completed write of an object");
    }
    if event.user.is_system() {
        return Judged::Skip("a change by EKS, a node or a kube-system component");
    }
    let object = event.stored_object();
    let resource = event.object_ref.resource.as_str();
    if let Some(kind) = WorkloadKind::from_resource(resource) {
        if settings
            .ignored_namespaces
            .contains(&event.object_ref.namespace)
        {
            return Judged::Skip("namespace in IGNORED_NAMESPACES");
        }
        let Some(json) = object else {
            return Judged::Skip("the audit level recorded no stored object");
        };
        let workload = match Workload::parse(kind, json) {
            Ok(w) => w,
            Err(e) => return Judged::Unreadable(format!("{resource}: {e}")),
        };
        let findings = workload.findings();
        let clear = if workload.meta.is_marked(&settings.exempt_tag_key) {
            "the workload is exempt by label or annotation"
        } else if findings.is_empty() {
            "the workload has everything in place"
        } else {
            return Judged::Workload { workload, findings };
        };
        return Judged::WorkloadClear {
            kind,
            namespace: workload.meta.namespace,
            name: workload.meta.name,
            why: clear,
        };
    }
    let Some(json) = object else {
        return Judged::Skip("the audit level recorded no stored object");
    };
    match resource {
        "clusterrolebindings" | "rolebindings" => match serde_json::from_str::<Binding>(json) {
            Ok(binding) => Judged::Binding {
                kind: if resource == "rolebindings" {
                    "RoleBinding"
                } else {
                    "ClusterRoleBinding"
                },
                exempt: binding.metadata.is_marked(&settings.exempt_tag_key),
                binding,
            },
            Err(e) => Judged::Unreadable(format!("{resource}: {e}")),
        },
        "clusterroles" => match serde_json::from_str::<ClusterRole>(json) {
            Ok(role) => Judged::ClusterRole {
                wildcard: role.is_wildcard(),
                name: role.metadata.name,
            },
            Err(e) => Judged::Unreadable(format!("{resource}: {e}")),
        },
        "configmaps"
            if event.object_ref.namespace == aws_auth::NAMESPACE
                && event.object_ref.name == aws_auth::NAME =>
        {
            let config = match serde_json::from_str::<ConfigMap>(json) {
                Ok(c) => c,
                Err(e) => return Judged::Unreadable(format!("aws-auth: {e}")),
            };
            match aws_auth::outsider_masters(&config, &settings.cluster_admin_principals) {
                Ok(masters) if masters.is_empty() => {
                    Judged::Skip("aws-auth maps no outsider into system:masters")
                }
                Ok(masters) => Judged::AwsAuth { masters },
                Err(why) => Judged::Unreadable(format!("aws-auth: {why}")),
            }
        }
        _ => Judged::Skip("not a resource this rule watches"),
    }
}

/// The ClusterRole whose rules decide a binding, when they must be looked up: not
/// cluster-admin (known), not a discovery or aggregated built-in role (never all-powerful),
/// not a namespaced Role.
pub fn role_to_look_up(binding: &Binding) -> Option<&str> {
    let role = &binding.role_ref;
    let name = role.name.as_str();
    (role.kind == "ClusterRole"
        && name != CLUSTER_ADMIN
        && !DISCOVERY_ROLES.contains(&name)
        && !AGGREGATED_ROLES.contains(&name))
    .then_some(name)
}

/// Judges a binding once its ClusterRole is known to allow everything (`wildcard`) or not.
pub fn judge_binding(
    binding: &Binding,
    wildcard: bool,
    settings: &Settings,
) -> Vec<BindingFinding> {
    binding_findings(binding, wildcard, &settings.k8s_admin_subjects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> AuditEvent {
        let path = format!(
            "{}/events/audit-workloads/audit-log/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn judged(name: &str) -> Judged {
        judge(&sample(name), &Settings::default())
    }

    #[test]
    fn the_samples_are_judged_as_their_names_say() {
        assert!(
            matches!(judged("deployment-apply-no-probes.json"), Judged::Workload { ref findings, .. }
            if findings.contains(&Finding::NoReadinessProbe("web".into())))
        );
        assert!(matches!(
            judged("deployment-helm-update-good.json"),
            Judged::WorkloadClear { .. }
        ));
        assert!(
            matches!(judged("deployment-argocd-create.json"), Judged::Workload { ref findings, .. }
            if findings.contains(&Finding::SingleReplica))
        );
        assert!(
            matches!(judged("pod-privileged-create.json"), Judged::Workload { ref findings, .. }
            if findings.contains(&Finding::Privileged("debug".into())))
        );
        assert!(matches!(
            judged("clusterrolebinding-cluster-admin-outsider.json"),
            Judged::Binding { .. }
        ));
        assert!(matches!(
            judged("clusterrole-wildcard.json"),
            Judged::ClusterRole { wildcard: true, .. }
        ));
        assert!(
            matches!(judged("configmap-aws-auth-masters.json"), Judged::AwsAuth { ref masters } if masters.len() == 3)
        );
        for skipped in [
            "deployment-scale-subresource.json",
            "deployment-status-update.json",
            "replicaset-controller-pod-create.json",
            "addon-manager-daemonset-update.json",
            "deployment-patch-request-level.json",
            "metadata-level-get.json",
            "request-received-stage.json",
        ] {
            assert!(
                matches!(judged(skipped), Judged::Skip(_)),
                "{skipped}: {:?}",
                judged(skipped)
            );
        }
    }

    #[test]
    fn ignored_namespaces_and_exempt_workloads_are_skipped() {
        let event = sample("deployment-apply-no-probes.json");
        let settings = Settings {
            ignored_namespaces: vec![event.object_ref.namespace.clone()],
            ..Settings::default()
        };
        assert!(matches!(judge(&event, &settings), Judged::Skip(why) if why.contains("IGNORED")));
        let settings = Settings {
            exempt_tag_key: "team/no-audit".into(),
            ..Settings::default()
        };
        let path = format!(
            "{}/events/audit-workloads/audit-log/deployment-apply-no-probes.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        value["responseObject"]["metadata"]["labels"] =
            serde_json::json!({"team/no-audit": "true"});
        let text = value.to_string();
        let exempt: AuditEvent = serde_json::from_str(&text).unwrap();
        assert!(
            matches!(judge(&exempt, &settings), Judged::WorkloadClear { why, .. } if why.contains("exempt"))
        );
    }

    #[test]
    fn bindings_to_cluster_admin_or_discovery_roles_need_no_look_up() {
        let Judged::Binding { binding, .. } =
            judged("clusterrolebinding-cluster-admin-outsider.json")
        else {
            panic!("not a binding")
        };
        assert_eq!(role_to_look_up(&binding), None);
        assert_eq!(
            judge_binding(&binding, false, &Settings::default()).len(),
            1
        );
        let Judged::Binding { binding, .. } = judged("clusterrolebinding-wildcard-role.json")
        else {
            panic!("not a binding")
        };
        assert_eq!(role_to_look_up(&binding), Some("super-operator"));
        let edit: Binding = serde_json::from_str(
            r#"{"metadata":{"name":"team-edit","namespace":"shop"},"roleRef":{"kind":"ClusterRole","name":"edit"},
            "subjects":[{"kind":"Group","name":"shop-devs"}]}"#,
        )
        .unwrap();
        assert_eq!(role_to_look_up(&edit), None);
        assert_eq!(judge_binding(&binding, false, &Settings::default()), vec![]);
        assert_eq!(judge_binding(&binding, true, &Settings::default()).len(), 1);
    }
}
