//! Typed settings, read once from the environment at start-up.
//!
//! Every function validates all of its variables before it polls for the first event, so a
//! typo in a deployment parameter stops the function with a message naming the variable
//! instead of silently remediating with defaults.
//! Nothing else in the crate reads the environment.

use std::collections::BTreeSet;
use std::fmt;

use ipnet::IpNet;

use crate::domain::access::PrincipalPattern;
use crate::domain::kubernetes::rbac::SubjectPattern;

/// Whether a function changes resources or only reports what it would change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Remediate,
    AlertOnly,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Remediate => "remediate",
            Mode::AlertOnly => "alert-only",
        }
    }
}

/// Which security groups `revoke-open-ingress` may act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngressScope {
    /// Only groups that belong to EKS clusters, node groups and nodes.
    Eks,
    /// Every security group in the account and region.
    All,
}

/// The value of the exemption tag that exempts a resource.
pub const EXEMPT_TAG_VALUE: &str = "true";
/// Default key of the exemption tag.
pub const DEFAULT_EXEMPT_TAG_KEY: &str = "eks-remediator:exempt";
/// Default minimum GuardDuty severity that is alerted rather than logged (Medium).
pub const DEFAULT_MIN_SEVERITY: f64 = 4.0;

/// Default wait between two attempts on a busy EKS cluster.
pub const DEFAULT_RETRY_DELAY_SECONDS: u32 = 300;
/// Default number of attempts on a busy cluster: 36 x 5 min = 3 hours, enough for a new
/// cluster (`CREATING` for 10 to 20 minutes) and a few updates of several minutes each.
pub const DEFAULT_RETRY_MAX_ATTEMPTS: u32 = 36;

/// Default namespaces whose workloads `audit-workloads` does not judge: the add-ons EKS runs.
pub const DEFAULT_IGNORED_NAMESPACES: &[&str] = &["kube-system"];
/// Default days after which a workload with unchanged findings is alerted again.
pub const DEFAULT_REALERT_DAYS: u32 = 7;
/// CloudWatch Logs' limit on a filter pattern's length.
pub const FILTER_PATTERN_LIMIT: usize = 1024;

/// Default days before the end of a Kubernetes version's standard support that the sweep
/// starts warning.
pub const DEFAULT_SUPPORT_WARNING_DAYS: u32 = 60;

/// Default number of violations above which a sweep sends one digest.
pub const DEFAULT_SWEEP_DIGEST_OVER: u32 = 10;

/// What `enforce-cluster-config` does about a cluster created without deletion protection.
/// Turning protection off is always reverted, whatever this says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionProtection {
    /// Report it: protection also stops the cluster's owners from deleting it, which they
    /// may mean to do (a short-lived test cluster).
    Alert,
    /// Turn it on.
    Enforce,
}

/// All settings of DESIGN.md, parsed and validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    pub alert_topic_arn: Option<String>,
    pub exempt_tag_key: String,
    pub allowed_ingress_ports: BTreeSet<u16>,
    pub ingress_scope: IngressScope,
    pub public_access_cidrs: Vec<IpNet>,
    pub node_policy_allowlist: Vec<String>,
    /// IAM principals that may hold cluster-admin access (`guard-cluster-access`).
    pub cluster_admin_principals: Vec<PrincipalPattern>,
    /// Kubernetes users, groups and service accounts that may be bound to cluster-admin
    /// (`audit-workloads`).
    pub k8s_admin_subjects: Vec<SubjectPattern>,
    /// Namespaces whose workloads `audit-workloads` does not judge.
    pub ignored_namespaces: Vec<String>,
    /// Days before a workload with unchanged findings is alerted again.
    pub realert_days: u32,
    /// The DynamoDB table of alerted workload findings; none: every finding is alerted.
    pub dedupe_table: Option<String>,
    /// The subscription filter pattern on clusters' audit logs (the template holds it).
    pub audit_filter_pattern: Option<String>,
    /// The `audit-workloads` function, for the sweep's subscriptions; the function itself
    /// knows its own ARN from its invocation.
    pub audit_function_arn: Option<String>,
    pub revoke_exfiltrated_sessions: bool,
    /// Recreate a deleted GuardDuty detector (its findings history is lost either way).
    pub recreate_detector: bool,
    pub kms_key_arn: Option<String>,
    pub min_severity: f64,
    /// The instance metadata hop limit nodes may have (1 or 2): larger ones are lowered by
    /// `harden-nodes`. None: hop limits are only reported, since a limit of 1 cuts off pods
    /// that still read the node's credentials.
    pub node_imds_hop_limit: Option<u8>,
    /// Clusters created without deletion protection: alerted or protected.
    pub deletion_protection: DeletionProtection,
    /// Days before a version's end of standard support that the sweep warns.
    pub support_warning_days: u32,
    /// Whether `publish-findings` imports each alert into Security Hub.
    pub security_hub: bool,
    /// Whether `resolved` outcomes are published too (with the message attribute
    /// `status=resolved`), for Security Hub to close findings; people's e-mail filters them.
    pub report_resolved: bool,
    /// The topic `publish-findings` sends chat notifications to (Amazon Q Developer).
    pub chat_topic_arn: Option<String>,
    /// A topic in another account (the organisation's security account) that also gets every
    /// alert.
    pub central_alert_topic_arn: Option<String>,
    pub self_role_arns: Vec<String>,
    /// Where a function sends an event to try again later (EKS busy); none: the invocation
    /// fails and Lambda's own retries and dead-letter queue keep the event.
    pub retry_queue_url: Option<String>,
    /// Where an event goes when its retries are used up.
    pub dead_letter_queue_url: Option<String>,
    /// Seconds between attempts (SQS message delay, 0 to 900).
    pub retry_delay_seconds: u32,
    /// Attempts in all, the first one included.
    pub retry_max_attempts: u32,
    /// A sweep that finds more violations than this sends one digest instead of one alert
    /// each.
    pub sweep_digest_over: u32,
    /// Whether the sweep reads IAM node roles. IAM is global while the sweep runs in every
    /// region it is deployed to, so the template sets this only where IAM's events arrive
    /// (`IamEvents`); one region's sweep then speaks for the account's roles.
    pub sweep_iam: bool,
    /// Whether to write EMF metric lines: only inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` is
    /// set), so the CLI's output stays clean.
    pub emit_metrics: bool,
}

impl Default for Settings {
    /// The fail-safe defaults of DESIGN.md: alert-only, no topic, `eks` scope.
    fn default() -> Self {
        Settings {
            mode: Mode::AlertOnly,
            alert_topic_arn: None,
            exempt_tag_key: DEFAULT_EXEMPT_TAG_KEY.to_owned(),
            allowed_ingress_ports: BTreeSet::new(),
            ingress_scope: IngressScope::Eks,
            public_access_cidrs: Vec::new(),
            node_policy_allowlist: Vec::new(),
            cluster_admin_principals: Vec::new(),
            k8s_admin_subjects: Vec::new(),
            ignored_namespaces: DEFAULT_IGNORED_NAMESPACES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            realert_days: DEFAULT_REALERT_DAYS,
            dedupe_table: None,
            audit_filter_pattern: None,
            audit_function_arn: None,
            revoke_exfiltrated_sessions: false,
            recreate_detector: false,
            kms_key_arn: None,
            min_severity: DEFAULT_MIN_SEVERITY,
            node_imds_hop_limit: None,
            deletion_protection: DeletionProtection::Alert,
            support_warning_days: DEFAULT_SUPPORT_WARNING_DAYS,
            security_hub: false,
            report_resolved: false,
            chat_topic_arn: None,
            central_alert_topic_arn: None,
            self_role_arns: Vec::new(),
            retry_queue_url: None,
            dead_letter_queue_url: None,
            retry_delay_seconds: DEFAULT_RETRY_DELAY_SECONDS,
            retry_max_attempts: DEFAULT_RETRY_MAX_ATTEMPTS,
            sweep_digest_over: DEFAULT_SWEEP_DIGEST_OVER,
            sweep_iam: true,
            emit_metrics: false,
        }
    }
}

/// A variable that is set to a value we cannot use.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid setting {variable}={value:?}: {reason}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub value: String,
    pub reason: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    /// An empty value counts as unset, because CloudFormation passes empty parameters as "".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let defaults = Settings::default();
        Ok(Settings {
            mode: match get("MODE") {
                None => defaults.mode,
                Some(v) => parse_mode(&v)?,
            },
            alert_topic_arn: match get("ALERT_TOPIC_ARN") {
                None => None,
                Some(v) if v.starts_with("arn:") => Some(v),
                Some(v) => return Err(invalid("ALERT_TOPIC_ARN", &v, "expected an SNS topic ARN")),
            },
            exempt_tag_key: get("EXEMPT_TAG_KEY").unwrap_or(defaults.exempt_tag_key),
            allowed_ingress_ports: match get("ALLOWED_INGRESS_PORTS") {
                None => BTreeSet::new(),
                Some(v) => parse_ports(&v)?,
            },
            ingress_scope: match get("INGRESS_SCOPE").as_deref() {
                None | Some("eks") => IngressScope::Eks,
                Some("all") => IngressScope::All,
                Some(v) => return Err(invalid("INGRESS_SCOPE", v, "expected `eks` or `all`")),
            },
            public_access_cidrs: match get("PUBLIC_ACCESS_CIDRS") {
                None => Vec::new(),
                Some(v) => parse_cidrs(&v)?,
            },
            node_policy_allowlist: match get("NODE_POLICY_ALLOWLIST") {
                None => Vec::new(),
                Some(v) => parse_arns("NODE_POLICY_ALLOWLIST", &v)?,
            },
            cluster_admin_principals: match get("CLUSTER_ADMIN_PRINCIPALS") {
                None => Vec::new(),
                Some(v) => items(&v)
                    .map(|item| {
                        PrincipalPattern::parse(item).map_err(|why| {
                            invalid("CLUSTER_ADMIN_PRINCIPALS", &v, format!("{item:?}: {why}"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            k8s_admin_subjects: match get("K8S_ADMIN_SUBJECTS") {
                None => Vec::new(),
                Some(v) => items(&v)
                    .map(|item| {
                        SubjectPattern::parse(item).map_err(|why| {
                            invalid("K8S_ADMIN_SUBJECTS", &v, format!("{item:?}: {why}"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            ignored_namespaces: match get("IGNORED_NAMESPACES") {
                None => defaults.ignored_namespaces,
                Some(v) if v == "-" => Vec::new(),
                Some(v) => items(&v).map(str::to_owned).collect(),
            },
            realert_days: match get("REALERT_DAYS") {
                None => defaults.realert_days,
                Some(v) => parse_number("REALERT_DAYS", &v, 1, 365)?,
            },
            dedupe_table: get("DEDUPE_TABLE"),
            audit_filter_pattern: match get("AUDIT_FILTER_PATTERN") {
                None => None,
                Some(v) if v.len() > FILTER_PATTERN_LIMIT => {
                    return Err(invalid(
                        "AUDIT_FILTER_PATTERN",
                        &v,
                        format!("longer than CloudWatch Logs' {FILTER_PATTERN_LIMIT} characters"),
                    ))
                }
                Some(v) => Some(v),
            },
            audit_function_arn: match get("AUDIT_WORKLOADS_FUNCTION_ARN") {
                None => None,
                Some(v) if v.starts_with("arn:") && v.contains(":lambda:") => Some(v),
                Some(v) => {
                    return Err(invalid(
                        "AUDIT_WORKLOADS_FUNCTION_ARN",
                        &v,
                        "expected a Lambda function ARN",
                    ))
                }
            },
            revoke_exfiltrated_sessions: match get("REVOKE_EXFILTRATED_SESSIONS") {
                None => false,
                Some(v) => parse_bool("REVOKE_EXFILTRATED_SESSIONS", &v)?,
            },
            recreate_detector: match get("RECREATE_DETECTOR") {
                None => false,
                Some(v) => parse_bool("RECREATE_DETECTOR", &v)?,
            },
            kms_key_arn: match get("KMS_KEY_ARN") {
                None => None,
                Some(v) if v.starts_with("arn:") => Some(v),
                Some(v) => return Err(invalid("KMS_KEY_ARN", &v, "expected a KMS key ARN")),
            },
            min_severity: match get("MIN_SEVERITY") {
                None => defaults.min_severity,
                Some(v) => match v.parse::<f64>() {
                    Ok(n) if (0.0..=10.0).contains(&n) => n,
                    _ => {
                        return Err(invalid(
                            "MIN_SEVERITY",
                            &v,
                            "expected a number from 0 to 10",
                        ))
                    }
                },
            },
            node_imds_hop_limit: match get("NODE_IMDS_HOP_LIMIT") {
                None => None,
                Some(v) => Some(parse_number("NODE_IMDS_HOP_LIMIT", &v, 1, 2)? as u8),
            },
            deletion_protection: match get("DELETION_PROTECTION").as_deref() {
                None | Some("alert") => DeletionProtection::Alert,
                Some("enforce") => DeletionProtection::Enforce,
                Some(v) => {
                    return Err(invalid(
                        "DELETION_PROTECTION",
                        v,
                        "expected `alert` or `enforce`",
                    ))
                }
            },
            support_warning_days: match get("SUPPORT_WARNING_DAYS") {
                None => defaults.support_warning_days,
                Some(v) => parse_number("SUPPORT_WARNING_DAYS", &v, 0, 365)?,
            },
            security_hub: match get("SECURITY_HUB") {
                None => false,
                Some(v) => parse_bool("SECURITY_HUB", &v)?,
            },
            report_resolved: match get("REPORT_RESOLVED") {
                None => false,
                Some(v) => parse_bool("REPORT_RESOLVED", &v)?,
            },
            central_alert_topic_arn: match get("CENTRAL_ALERT_TOPIC_ARN") {
                None => None,
                Some(v) if v.starts_with("arn:") && v.contains(":sns:") => Some(v),
                Some(v) => {
                    return Err(invalid(
                        "CENTRAL_ALERT_TOPIC_ARN",
                        &v,
                        "expected an SNS topic ARN",
                    ))
                }
            },
            chat_topic_arn: match get("CHAT_TOPIC_ARN") {
                None => None,
                Some(v) if v.starts_with("arn:") && v.contains(":sns:") => Some(v),
                Some(v) => return Err(invalid("CHAT_TOPIC_ARN", &v, "expected an SNS topic ARN")),
            },
            self_role_arns: match get("SELF_ROLE_ARNS") {
                None => Vec::new(),
                Some(v) => parse_arns("SELF_ROLE_ARNS", &v)?,
            },
            retry_queue_url: get("RETRY_QUEUE_URL")
                .map(|v| parse_queue_url("RETRY_QUEUE_URL", v))
                .transpose()?,
            dead_letter_queue_url: get("DEAD_LETTER_QUEUE_URL")
                .map(|v| parse_queue_url("DEAD_LETTER_QUEUE_URL", v))
                .transpose()?,
            retry_delay_seconds: match get("RETRY_DELAY_SECONDS") {
                None => defaults.retry_delay_seconds,
                Some(v) => parse_number("RETRY_DELAY_SECONDS", &v, 0, 900)?,
            },
            retry_max_attempts: match get("RETRY_MAX_ATTEMPTS") {
                None => defaults.retry_max_attempts,
                Some(v) => parse_number("RETRY_MAX_ATTEMPTS", &v, 1, 1000)?,
            },
            sweep_digest_over: match get("SWEEP_DIGEST_OVER") {
                None => defaults.sweep_digest_over,
                Some(v) => parse_number("SWEEP_DIGEST_OVER", &v, 0, 10_000)?,
            },
            sweep_iam: match get("SWEEP_IAM") {
                None => defaults.sweep_iam,
                Some(v) => parse_bool("SWEEP_IAM", &v)?,
            },
            emit_metrics: get("AWS_LAMBDA_FUNCTION_NAME").is_some(),
        })
    }
}

fn invalid(variable: &'static str, value: &str, reason: impl fmt::Display) -> SettingsError {
    SettingsError {
        variable,
        value: value.to_owned(),
        reason: reason.to_string(),
    }
}

fn items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_mode(value: &str) -> Result<Mode, SettingsError> {
    match value {
        "remediate" => Ok(Mode::Remediate),
        "alert-only" => Ok(Mode::AlertOnly),
        _ => Err(invalid(
            "MODE",
            value,
            "expected `remediate` or `alert-only`",
        )),
    }
}

/// Accepts single ports and inclusive ranges: `443,80,8000-8080`.
fn parse_ports(value: &str) -> Result<BTreeSet<u16>, SettingsError> {
    let mut ports = BTreeSet::new();
    for item in items(value) {
        let bad = |why: &str| invalid("ALLOWED_INGRESS_PORTS", value, format!("{item:?}: {why}"));
        let (from, to) = match item.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (item, item),
        };
        let from: u16 = from.parse().map_err(|_| bad("not a port number"))?;
        let to: u16 = to.parse().map_err(|_| bad("not a port number"))?;
        if from > to {
            return Err(bad("range runs backwards"));
        }
        ports.extend(from..=to);
    }
    Ok(ports)
}

/// An allow-list for the public API endpoint. A CIDR with prefix 0 would restrict nothing,
/// so it is refused rather than read as "keep the endpoint open to the world".
fn parse_cidrs(value: &str) -> Result<Vec<IpNet>, SettingsError> {
    items(value)
        .map(|item| {
            let bad = |why: &str| invalid("PUBLIC_ACCESS_CIDRS", value, format!("{item:?} {why}"));
            match item.parse::<IpNet>() {
                Err(_) => Err(bad("is not a CIDR")),
                Ok(net) if net.prefix_len() == 0 => Err(bad(
                    "allows the whole internet; leave the setting empty to make endpoints private",
                )),
                Ok(net) => Ok(net.trunc()),
            }
        })
        .collect()
}

fn parse_queue_url(variable: &'static str, value: String) -> Result<String, SettingsError> {
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value)
    } else {
        Err(invalid(variable, &value, "expected an SQS queue URL"))
    }
}

fn parse_number(
    variable: &'static str,
    value: &str,
    min: u32,
    max: u32,
) -> Result<u32, SettingsError> {
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(
            variable,
            value,
            format!("expected a whole number from {min} to {max}"),
        )),
    }
}

fn parse_arns(variable: &'static str, value: &str) -> Result<Vec<String>, SettingsError> {
    items(value)
        .map(|item| {
            if item.starts_with("arn:") {
                Ok(item.to_owned())
            } else {
                Err(invalid(variable, value, format!("{item:?} is not an ARN")))
            }
        })
        .collect()
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool, SettingsError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(variable, value, "expected `true` or `false`")),
    }
}

/// A lookup in a table of variables, for the unit tests of everything read from the
/// environment (settings, the SDK config, logging), which must not touch the process's.
#[cfg(test)]
pub(crate) fn table<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(table(vars))
    }

    #[test]
    fn unset_environment_is_fail_safe() {
        let s = check(&[]).unwrap();
        assert_eq!(s.mode, Mode::AlertOnly);
        assert_eq!(s.ingress_scope, IngressScope::Eks);
        assert_eq!(s.exempt_tag_key, "eks-remediator:exempt");
        assert_eq!(s.min_severity, 4.0);
        assert!(s.alert_topic_arn.is_none());
        assert_eq!(s.retry_delay_seconds, 300);
        assert_eq!(s.retry_max_attempts, 36);
        assert!(s.retry_queue_url.is_none());
    }

    #[test]
    fn cluster_admin_principals_take_name_wildcards_and_refuse_other_arns() {
        let s = check(&[(
            "CLUSTER_ADMIN_PRINCIPALS",
            "arn:aws:iam::123456789012:role/platform-*, arn:aws:iam::123456789012:user/bob",
        )])
        .unwrap();
        assert_eq!(s.cluster_admin_principals.len(), 2);
        let e = check(&[("CLUSTER_ADMIN_PRINCIPALS", "arn:aws:iam::*:role/admin")]).unwrap_err();
        assert_eq!(e.variable, "CLUSTER_ADMIN_PRINCIPALS");
        assert!(check(&[("CLUSTER_ADMIN_PRINCIPALS", "admins")]).is_err());
    }

    #[test]
    fn audit_settings_default_to_kube_system_a_week_and_no_table() {
        let s = check(&[]).unwrap();
        assert_eq!(s.ignored_namespaces, ["kube-system"]);
        assert_eq!(s.realert_days, 7);
        assert!(s.dedupe_table.is_none() && s.k8s_admin_subjects.is_empty());
        let s = check(&[
            ("IGNORED_NAMESPACES", "kube-system, monitoring"),
            (
                "K8S_ADMIN_SUBJECTS",
                "platform-admins, system:serviceaccount:argocd:*",
            ),
            ("REALERT_DAYS", "30"),
        ])
        .unwrap();
        assert_eq!(s.ignored_namespaces, ["kube-system", "monitoring"]);
        assert_eq!(s.k8s_admin_subjects.len(), 2);
        assert_eq!(s.realert_days, 30);
        assert!(check(&[("IGNORED_NAMESPACES", "-")])
            .unwrap()
            .ignored_namespaces
            .is_empty());
        let long = format!("{{ $.verb = \"{}\" }}", "x".repeat(FILTER_PATTERN_LIMIT));
        assert_eq!(
            check(&[("AUDIT_FILTER_PATTERN", &long)])
                .unwrap_err()
                .variable,
            "AUDIT_FILTER_PATTERN"
        );
    }

    #[test]
    fn node_and_cluster_settings_default_to_reporting() {
        let s = check(&[]).unwrap();
        assert_eq!(s.node_imds_hop_limit, None);
        assert_eq!(s.deletion_protection, DeletionProtection::Alert);
        assert_eq!(s.support_warning_days, 60);
        let s = check(&[
            ("NODE_IMDS_HOP_LIMIT", "1"),
            ("DELETION_PROTECTION", "enforce"),
            ("SUPPORT_WARNING_DAYS", "90"),
        ])
        .unwrap();
        assert_eq!(s.node_imds_hop_limit, Some(1));
        assert_eq!(s.deletion_protection, DeletionProtection::Enforce);
        assert_eq!(s.support_warning_days, 90);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let s = check(&[
            ("MODE", ""),
            ("ALLOWED_INGRESS_PORTS", " "),
            ("EXEMPT_TAG_KEY", ""),
        ])
        .unwrap();
        assert_eq!(s.mode, Mode::AlertOnly);
        assert!(s.allowed_ingress_ports.is_empty());
        assert_eq!(s.exempt_tag_key, DEFAULT_EXEMPT_TAG_KEY);
    }

    #[test]
    fn ports_and_ranges_are_parsed() {
        let s = check(&[
            ("ALLOWED_INGRESS_PORTS", "443, 80,8000-8002"),
            ("MODE", "remediate"),
        ])
        .unwrap();
        assert_eq!(
            s.allowed_ingress_ports,
            BTreeSet::from([80, 443, 8000, 8001, 8002])
        );
        assert_eq!(s.mode, Mode::Remediate);
    }

    #[test]
    fn metrics_are_emitted_inside_lambda_only() {
        assert!(!check(&[]).unwrap().emit_metrics);
        assert!(
            check(&[("AWS_LAMBDA_FUNCTION_NAME", "fn")])
                .unwrap()
                .emit_metrics
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("MODE", "fix-it"),
            ("ALLOWED_INGRESS_PORTS", "22,http"),
            ("ALLOWED_INGRESS_PORTS", "90-80"),
            ("ALLOWED_INGRESS_PORTS", "70000"),
            ("INGRESS_SCOPE", "vpc"),
            ("PUBLIC_ACCESS_CIDRS", "10.0.0.0/33"),
            ("PUBLIC_ACCESS_CIDRS", "203.0.113.0/24,0.0.0.0/0"),
            ("RETRY_QUEUE_URL", "my-queue"),
            ("DEAD_LETTER_QUEUE_URL", "arn:aws:sqs:us-east-1:1:q"),
            ("RETRY_DELAY_SECONDS", "901"),
            ("RETRY_MAX_ATTEMPTS", "0"),
            ("REVOKE_EXFILTRATED_SESSIONS", "yes"),
            ("SWEEP_IAM", "1"),
            ("RECREATE_DETECTOR", "1"),
            ("MIN_SEVERITY", "eleven"),
            ("MIN_SEVERITY", "11"),
            ("SELF_ROLE_ARNS", "my-role"),
            ("ALERT_TOPIC_ARN", "alerts"),
            ("K8S_ADMIN_SUBJECTS", "alice,*"),
            ("REALERT_DAYS", "0"),
            ("NODE_IMDS_HOP_LIMIT", "3"),
            ("NODE_IMDS_HOP_LIMIT", "0"),
            ("DELETION_PROTECTION", "on"),
            ("SUPPORT_WARNING_DAYS", "366"),
            ("SECURITY_HUB", "yes"),
            ("REPORT_RESOLVED", "1"),
            ("CENTRAL_ALERT_TOPIC_ARN", "security-alerts"),
            ("CHAT_TOPIC_ARN", "arn:aws:sqs:us-east-1:1:q"),
            (
                "AUDIT_WORKLOADS_FUNCTION_ARN",
                "arn:aws:sns:us-east-1:1:topic",
            ),
        ] {
            let err = check(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var);
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}
