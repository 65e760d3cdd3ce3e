//! Pure decisions of `notify-eks-finding`: GuardDuty's severity label, whether a finding is
//! alerted, and the first containment steps for its family.

use super::event::EksFinding;
use crate::settings::Settings;

/// Repeats of a finding are alerted from this severity up (GuardDuty's High).
pub const REPEAT_ALERT_SEVERITY: f64 = 7.0;

/// GuardDuty's label for a severity number.
pub fn severity_label(severity: f64) -> &'static str {
    if severity >= 9.0 {
        "Critical"
    } else if severity >= 7.0 {
        "High"
    } else if severity >= 4.0 {
        "Medium"
    } else {
        "Low"
    }
}

/// Why a finding is only logged, or `None` when it is alerted. GuardDuty re-publishes a
/// finding each time it sees the activity again (same id, higher `service.count`): a new
/// finding is alerted, repeats only from High up. The count travels in the finding, so no
/// state store is needed.
pub fn logged_only(finding: &EksFinding, settings: &Settings) -> Option<&'static str> {
    if finding.severity < settings.min_severity {
        return Some("below MIN_SEVERITY");
    }
    if finding.count > 1 && finding.severity < REPEAT_ALERT_SEVERITY {
        return Some("a repeat of a finding below High");
    }
    None
}

/// The first containment steps for the finding's family, in our words.
pub fn first_steps(f: &EksFinding) -> String {
    let kind = f.kind.as_str();
    let workload = match (&f.workload, &f.namespace) {
        (Some(w), Some(ns)) => format!("{w} in namespace {ns}"),
        (Some(w), None) => w.clone(),
        _ => "the workload".to_owned(),
    };
    let user = f.user.as_deref().unwrap_or("the caller");
    if kind.starts_with("AttackSequence:EKS/") {
        return "Treat this as an active incident: open the finding and follow its signals; \
                contain each workload and identity it names; rotate every credential the \
                cluster can reach; keep the affected nodes for forensics."
            .to_owned();
    }
    if kind.contains("Anonymous") {
        return "Remove every ClusterRoleBinding and RoleBinding whose subjects include \
                system:anonymous or system:unauthenticated (kubectl get \
                clusterrolebindings,rolebindings -A -o wide), then make the API endpoint \
                private or restrict its CIDRs."
            .to_owned();
    }
    if kind.contains("ExposedDashboard") || kind.contains("DashboardExposed") {
        return "Make the dashboard's Service internal (ClusterIP or an internal load balancer) \
                or delete it, and look for workloads nobody deployed."
            .to_owned();
    }
    if kind.starts_with("CredentialAccess:") {
        let what = f
            .api_call
            .as_deref()
            .map(|c| format!(" named in the request ({c})"))
            .unwrap_or_default();
        return format!(
            "Rotate the secrets{what}; find every identity that read them in the EKS audit \
             log; remove {user}'s access if it was not expected."
        );
    }
    if kind.contains(":Runtime/") {
        let node = f
            .instance
            .as_deref()
            .map(|i| format!(" {i}"))
            .unwrap_or_default();
        return format!(
            "Isolate {workload}: a deny-all NetworkPolicy on the pod, cordon the node{node} and \
             keep it (snapshot its volume) for forensics; then replace the node and rebuild the \
             image from a trusted source."
        );
    }
    if kind.contains("PrivilegedContainer")
        || kind.contains("SensitiveMount")
        || kind.starts_with("PrivilegeEscalation:")
    {
        let image = f
            .images
            .first()
            .map(|i| format!(" and where image {i} came from"))
            .unwrap_or_default();
        return format!(
            "Scale down or delete {workload}; check who deployed it{image}; enforce Pod \
             Security Admission (restricted) on the namespace."
        );
    }
    if kind.contains("ExecInKubeSystemPod") || kind.starts_with("Execution:Kubernetes/") {
        return format!(
            "Find out why {user} ran commands in {workload}; remove pods/exec from their role \
             if it was not expected; inspect the pod for changes."
        );
    }
    if kind.contains("AdminAccessToDefaultServiceAccount") {
        return "Remove the binding that gives the default service account admin rights; give \
                workloads their own service accounts with least privilege."
            .to_owned();
    }
    format!(
        "Review {user}'s API calls{from} in the EKS audit log; revoke access that is not \
         expected; block the source if it is unknown.",
        from = f
            .remote_ip
            .as_deref()
            .map(|ip| format!(" from {ip}"))
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: &str, severity: f64, count: i64) -> EksFinding {
        EksFinding {
            kind: kind.into(),
            severity,
            count,
            ..EksFinding::default()
        }
    }

    #[test]
    fn labels_follow_guardduty_bands() {
        for (n, label) in [
            (1.0, "Low"),
            (3.9, "Low"),
            (4.0, "Medium"),
            (6.9, "Medium"),
            (7.0, "High"),
            (8.9, "High"),
            (9.0, "Critical"),
            (10.0, "Critical"),
        ] {
            assert_eq!(severity_label(n), label, "{n}");
        }
    }

    #[test]
    fn repeats_are_alerted_from_high_up_and_low_findings_logged() {
        let s = Settings::default();
        assert_eq!(logged_only(&finding("X:Kubernetes/Y", 5.0, 1), &s), None);
        assert!(logged_only(&finding("X:Kubernetes/Y", 5.0, 2), &s).is_some());
        assert_eq!(logged_only(&finding("X:Kubernetes/Y", 8.0, 9), &s), None);
        assert!(logged_only(&finding("X:Kubernetes/Y", 2.0, 1), &s).is_some());
    }

    #[test]
    fn each_family_gets_its_own_first_steps() {
        let steps = |kind: &str| first_steps(&finding(kind, 5.0, 1));
        assert!(steps("Policy:Kubernetes/AnonymousAccessGranted").contains("system:anonymous"));
        assert!(steps("Policy:Kubernetes/ExposedDashboard").contains("internal"));
        assert!(
            steps("CredentialAccess:Kubernetes/MaliciousIPCaller").contains("Rotate the secrets")
        );
        assert!(steps("Execution:Runtime/ReverseShell").contains("cordon"));
        assert!(
            steps("PrivilegeEscalation:Kubernetes/PrivilegedContainer").contains("Pod Security")
        );
        assert!(steps("AttackSequence:EKS/CompromisedCluster").contains("incident"));
        assert!(steps("Discovery:Kubernetes/TorIPCaller").contains("audit log"));
    }
}
