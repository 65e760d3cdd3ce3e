//! IAM roles for service accounts (IRSA): which trust policies let pods of an EKS cluster's
//! OIDC provider assume a role, and whether they say precisely which service account may.
//!
//! A statement that trusts `oidc.eks.<region>.amazonaws.com/id/<id>` with
//! `sts:AssumeRoleWithWebIdentity` must pin the token's subject (`<provider>:sub`) to one
//! service account's namespace and name, and its audience (`<provider>:aud`) to
//! `sts.amazonaws.com`. Without a subject, every pod of the cluster whose service account has
//! a token can become the role; with a subject pattern such as `system:serviceaccount:*`,
//! every pod in every namespace. Only conditions that *allow* narrow a trust: `StringNotEquals`
//! or `Null` checks are not read as pins.

use serde_json::Value;

use super::policy::{json_of, statements_of, strings, PolicyError};

/// The audience EKS's pod identity webhook puts in IRSA tokens.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// What is imprecise about one statement's trust in an EKS OIDC provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gap {
    /// No condition on the subject: any service account of the cluster.
    NoSubject,
    /// Subject patterns that match service accounts of every namespace.
    BroadSubject(Vec<String>),
    /// No condition on the audience.
    NoAudience,
}

impl Gap {
    pub fn describe(&self) -> String {
        match self {
            Gap::NoSubject => {
                "no `sub` condition, so every service account of the cluster can assume it".into()
            }
            Gap::BroadSubject(values) => format!(
                "the `sub` condition {} matches service accounts in every namespace",
                values.join(", ")
            ),
            Gap::NoAudience => format!("no `aud` condition (expected {STS_AUDIENCE})"),
        }
    }
}

/// One trust statement of an EKS OIDC provider that is not precise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LooseTrust {
    /// The statement's `Sid`, or its position (`#1`, ...).
    pub statement: String,
    /// The provider as condition keys name it: `oidc.eks.<region>.amazonaws.com/id/<id>`.
    pub provider: String,
    pub gaps: Vec<Gap>,
    /// The exact subjects already pinned (`StringEquals`), kept in the corrected condition.
    pub exact_subjects: Vec<String>,
}

impl LooseTrust {
    /// The condition that makes the statement precise, as JSON for the trust policy.
    pub fn corrected_condition(&self) -> Value {
        let subject = match self.exact_subjects.as_slice() {
            [] => Value::from("system:serviceaccount:<namespace>:<service-account>"),
            [one] => Value::from(one.as_str()),
            many => Value::from(many.to_vec()),
        };
        serde_json::json!({
            "StringEquals": {
                format!("{}:sub", self.provider): subject,
                format!("{}:aud", self.provider): STS_AUDIENCE,
            }
        })
    }
}

/// The EKS OIDC provider a federated principal ARN names
/// (`arn:<partition>:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>`).
pub fn eks_oidc_provider(federated: &str) -> Option<&str> {
    let (_, provider) = federated.trim().split_once(":oidc-provider/")?;
    let host = provider.split('/').next()?;
    let is_eks = host.starts_with("oidc.eks.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"));
    (is_eks && provider.contains("/id/")).then_some(provider)
}

/// Every `Allow` statement of `document` (a trust policy, plain or URL-encoded) that trusts an
/// EKS OIDC provider without pinning subject and audience. Empty when there is none, or when
/// the role does not trust an EKS OIDC provider at all.
pub fn loose_trusts(document: &str) -> Result<Vec<LooseTrust>, PolicyError> {
    let value = json_of(document)?;
    let mut loose = Vec::new();
    for (i, statement) in statements_of(&value)?.into_iter().enumerate() {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        if !allows_web_identity(statement)? {
            continue;
        }
        let federated = strings(statement.get("Principal").and_then(|p| p.get("Federated")))?
            .unwrap_or_default();
        let conditions = Conditions::of(statement.get("Condition"));
        for provider in federated.iter().filter_map(|f| eks_oidc_provider(f)) {
            let gaps = conditions.gaps(provider);
            if !gaps.is_empty() {
                loose.push(LooseTrust {
                    statement: statement
                        .get("Sid")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map_or_else(|| format!("#{}", i + 1), str::to_owned),
                    provider: provider.to_owned(),
                    gaps,
                    exact_subjects: conditions.exact(provider, "sub"),
                });
            }
        }
    }
    Ok(loose)
}

/// Whether the statement's actions include `sts:AssumeRoleWithWebIdentity`.
fn allows_web_identity(statement: &Value) -> Result<bool, PolicyError> {
    let actions = strings(statement.get("Action"))?.unwrap_or_default();
    Ok(actions.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a == "*" || a == "sts:*" || a == "sts:assumerolewithwebidentity"
    }))
}

/// The positive string conditions of a statement: (operator, key, values), keys lowercased
/// (IAM compares condition keys without case).
struct Conditions(Vec<(String, String, Vec<String>)>);

/// Operators whose values a key must match for the statement to apply.
const EXACT: &[&str] = &[
    "stringequals",
    "stringequalsignorecase",
    "forallvalues:stringequals",
    "foranyvalue:stringequals",
];
const PATTERN: &[&str] = &[
    "stringlike",
    "forallvalues:stringlike",
    "foranyvalue:stringlike",
];

impl Conditions {
    fn of(condition: Option<&Value>) -> Conditions {
        let mut found = Vec::new();
        if let Some(Value::Object(operators)) = condition {
            for (operator, keys) in operators {
                let operator = operator.to_ascii_lowercase();
                let operator = operator.trim_end_matches("ifexists").to_owned();
                if !EXACT.contains(&operator.as_str()) && !PATTERN.contains(&operator.as_str()) {
                    continue;
                }
                let Value::Object(keys) = keys else { continue };
                for (key, values) in keys {
                    if let Ok(Some(values)) = strings(Some(values)) {
                        found.push((operator.clone(), key.to_ascii_lowercase(), values));
                    }
                }
            }
        }
        Conditions(found)
    }

    fn on<'a>(
        &'a self,
        provider: &str,
        claim: &str,
    ) -> impl Iterator<Item = &'a (String, String, Vec<String>)> + 'a {
        let key = format!("{}:{claim}", provider.to_ascii_lowercase());
        self.0.iter().filter(move |(_, k, _)| *k == key)
    }

    fn exact(&self, provider: &str, claim: &str) -> Vec<String> {
        self.on(provider, claim)
            .filter(|(op, _, _)| EXACT.contains(&op.as_str()))
            .flat_map(|(_, _, values)| values.iter().cloned())
            .collect()
    }

    fn gaps(&self, provider: &str) -> Vec<Gap> {
        let mut gaps = Vec::new();
        let subjects: Vec<_> = self.on(provider, "sub").collect();
        if subjects.is_empty() {
            gaps.push(Gap::NoSubject);
        } else {
            let broad: Vec<String> = subjects
                .iter()
                .filter(|(op, _, _)| PATTERN.contains(&op.as_str()))
                .flat_map(|(_, _, values)| values.iter())
                .filter(|v| spans_namespaces(v))
                .cloned()
                .collect();
            if !broad.is_empty() {
                gaps.push(Gap::BroadSubject(broad));
            }
        }
        if self.on(provider, "aud").next().is_none() {
            gaps.push(Gap::NoAudience);
        }
        gaps
    }
}

/// Whether a `StringLike` subject pattern matches service accounts in more than one namespace:
/// a wildcard anywhere before the service account's name. A pattern within one namespace
/// (`system:serviceaccount:team-a:*`) keeps the namespace boundary and is accepted.
fn spans_namespaces(pattern: &str) -> bool {
    const PREFIX: &str = "system:serviceaccount:";
    let wild = |s: &str| s.contains('*') || s.contains('?');
    match pattern.strip_prefix(PREFIX) {
        Some(rest) => match rest.split_once(':') {
            Some((namespace, _)) => wild(namespace),
            None => wild(rest),
        },
        // `*`, `system:*`, `system:serviceaccount*`: the prefix itself is a pattern.
        None => {
            let literal = pattern.split(['*', '?']).next().unwrap_or("");
            wild(pattern) && PREFIX.starts_with(literal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROVIDER: &str = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

    fn trust(condition: Value) -> String {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{PROVIDER}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]})
        .to_string()
    }

    fn gaps(condition: Value) -> Vec<Gap> {
        let found = loose_trusts(&trust(condition)).unwrap();
        found.into_iter().flat_map(|l| l.gaps).collect()
    }

    #[test]
    fn an_exact_subject_and_audience_is_precise() {
        let precise = json!({"StringEquals": {
            format!("{PROVIDER}:sub"): "system:serviceaccount:payments:payments-api",
            format!("{PROVIDER}:aud"): "sts.amazonaws.com",
        }});
        assert_eq!(gaps(precise), vec![]);
        let one_namespace = json!({
            "StringLike": {format!("{PROVIDER}:sub"): "system:serviceaccount:team-a:*"},
            "StringEquals": {format!("{PROVIDER}:aud"): "sts.amazonaws.com"},
        });
        assert_eq!(gaps(one_namespace), vec![]);
    }

    #[test]
    fn a_missing_subject_or_audience_is_a_gap() {
        let aud_only = json!({"StringEquals": {format!("{PROVIDER}:aud"): "sts.amazonaws.com"}});
        assert_eq!(gaps(aud_only), vec![Gap::NoSubject]);
        assert_eq!(gaps(json!({})), vec![Gap::NoSubject, Gap::NoAudience]);
        let negative = json!({"StringNotEquals": {format!("{PROVIDER}:sub"): "system:serviceaccount:x:y"},
            "StringEquals": {format!("{PROVIDER}:aud"): "sts.amazonaws.com"}});
        assert_eq!(
            gaps(negative),
            vec![Gap::NoSubject],
            "a negative condition pins nothing"
        );
    }

    #[test]
    fn subject_patterns_across_namespaces_are_a_gap_and_keys_ignore_case() {
        for pattern in [
            "system:serviceaccount:*",
            "*",
            "system:serviceaccount:*:api",
            "system:*",
        ] {
            let c = json!({"StringLike": {format!("{}:SUB", PROVIDER.to_uppercase()): pattern},
                "StringEquals": {format!("{PROVIDER}:aud"): "sts.amazonaws.com"}});
            assert_eq!(
                gaps(c),
                vec![Gap::BroadSubject(vec![pattern.to_owned()])],
                "{pattern}"
            );
        }
    }

    #[test]
    fn other_principals_and_actions_are_not_irsa() {
        let github = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity"}]});
        assert!(loose_trusts(&github.to_string()).unwrap().is_empty());
        let ec2 = json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}});
        assert!(loose_trusts(&ec2.to_string()).unwrap().is_empty());
        let denied = trust(json!({})).replace("\"Allow\"", "\"Deny\"");
        assert!(loose_trusts(&denied).unwrap().is_empty());
        assert!(loose_trusts("{").is_err());
    }

    #[test]
    fn the_corrected_condition_keeps_exact_subjects() {
        let c = json!({"StringEquals": {format!("{PROVIDER}:sub"): "system:serviceaccount:a:b"}});
        let found = loose_trusts(&trust(c)).unwrap();
        assert_eq!(found[0].gaps, vec![Gap::NoAudience]);
        assert_eq!(found[0].statement, "#1");
        assert_eq!(
            found[0].corrected_condition(),
            json!({"StringEquals": {
                format!("{PROVIDER}:sub"): "system:serviceaccount:a:b",
                format!("{PROVIDER}:aud"): "sts.amazonaws.com",
            }})
        );
        let encoded = percent_encoding::utf8_percent_encode(
            &trust(json!({})),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        assert_eq!(
            loose_trusts(&encoded).unwrap().len(),
            1,
            "URL-encoded as IAM returns it"
        );
    }

    #[test]
    fn only_eks_providers_count() {
        assert_eq!(
            eks_oidc_provider(&format!("arn:aws:iam::1:oidc-provider/{PROVIDER}")),
            Some(PROVIDER)
        );
        assert_eq!(
            eks_oidc_provider(
                "arn:aws-cn:iam::1:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/X"
            ),
            Some("oidc.eks.cn-north-1.amazonaws.com.cn/id/X")
        );
        assert_eq!(
            eks_oidc_provider("arn:aws:iam::1:oidc-provider/accounts.google.com"),
            None
        );
        assert_eq!(
            eks_oidc_provider("arn:aws:iam::1:oidc-provider/oidc.eks.evil.example.com/id/X"),
            None
        );
    }
}
