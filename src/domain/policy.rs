//! IAM policy documents, read leniently, and the one question `detach-node-policy` asks of
//! them: does any statement grant admin-level or service-wide reach?
//!
//! A statement is over-broad when it is an `Allow` and
//! - uses `NotAction` (it grants everything not listed), or
//! - grants `*` or `*:*`, or
//! - applies to every resource (`Resource: "*"` or any `NotResource`) and grants a
//!   service-wide wildcard (`iam:*`, `s3:*`, ...) or `sts:AssumeRole`.
//!
//! Judging each statement on its own is deliberately conservative: a `Deny` elsewhere in the
//! document does not make an over-broad `Allow` acceptable on a node role, and conditions are
//! not trusted to narrow it. So adding statements never makes a document safe, and removing
//! the over-broad ones always does (both are property-tested).

use std::fmt;

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// A policy document that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("policy document is not readable: {0}")]
pub struct PolicyError(pub String);

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement, with the fields that decide its reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Vec<String>,
    pub not_actions: Option<Vec<String>>,
    pub resources: Vec<String>,
    pub not_resources: Option<Vec<String>>,
}

/// A parsed policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
}

/// Why a statement is over-broad.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breadth {
    /// The statement's `Sid`, or its position (`#1`, ...).
    pub statement: String,
    pub reason: String,
}

impl fmt::Display for Breadth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "statement {}: {}", self.statement, self.reason)
    }
}

/// A document as JSON, whether plain or URL-encoded.
pub(crate) fn json_of(text: &str) -> Result<Value, PolicyError> {
    let trimmed = text.trim();
    let decoded;
    let json = if trimmed.starts_with('{') {
        trimmed
    } else {
        decoded = percent_decode_str(trimmed)
            .decode_utf8()
            .map_err(|e| PolicyError(format!("bad URL encoding: {e}")))?;
        decoded.trim()
    };
    serde_json::from_str(json).map_err(|e| PolicyError(format!("not JSON: {e}")))
}

/// A document's statements: a list, or one object.
pub(crate) fn statements_of(value: &Value) -> Result<Vec<&Value>, PolicyError> {
    match value.get("Statement") {
        Some(Value::Array(items)) => Ok(items.iter().collect()),
        Some(item @ Value::Object(_)) => Ok(vec![item]),
        Some(_) => Err(PolicyError(
            "`Statement` is neither a list nor an object".into(),
        )),
        None => Err(PolicyError("no `Statement`".into())),
    }
}

/// The AWS services a role's trust policy lets assume it (`Principal.Service` of its `Allow`
/// statements): how the sweep tells, from `ListRoles` alone, which roles a node could run with.
pub fn trusted_services(trust: &str) -> Result<Vec<String>, PolicyError> {
    let value = json_of(trust)?;
    let mut services = Vec::new();
    for statement in statements_of(&value)? {
        if statement.get("Effect").and_then(Value::as_str) == Some("Allow") {
            let principal = statement.get("Principal");
            services.extend(strings(principal.and_then(|p| p.get("Service")))?.unwrap_or_default());
        }
    }
    Ok(services)
}

impl PolicyDocument {
    /// Parses a document as IAM returns it (URL-encoded, RFC 3986) or as CloudTrail logs it
    /// (plain JSON, or URL-encoded in some records).
    pub fn parse(text: &str) -> Result<PolicyDocument, PolicyError> {
        PolicyDocument::from_value(&json_of(text)?)
    }

    /// Reads a document already parsed as JSON.
    pub fn from_value(value: &Value) -> Result<PolicyDocument, PolicyError> {
        statements_of(value)?
            .into_iter()
            .map(statement)
            .collect::<Result<_, _>>()
            .map(|statements| PolicyDocument { statements })
    }

    /// Every over-broad statement, with why.
    pub fn over_broad(&self) -> Vec<Breadth> {
        self.statements
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.breadth().map(|reason| Breadth {
                    statement: s.sid.clone().unwrap_or_else(|| format!("#{}", i + 1)),
                    reason,
                })
            })
            .collect()
    }
}

impl Statement {
    /// Why this statement is over-broad, if it is.
    pub fn breadth(&self) -> Option<String> {
        if self.effect != Effect::Allow {
            return None;
        }
        if self.not_actions.is_some() {
            return Some("Allow with NotAction grants every action not listed".to_owned());
        }
        if let Some(all) = self
            .actions
            .iter()
            .find(|a| matches!(a.as_str(), "*" | "*:*"))
        {
            return Some(format!("allows every action ({all})"));
        }
        let every_resource =
            self.not_resources.is_some() || self.resources.iter().any(|r| r.trim() == "*");
        if !every_resource {
            return None;
        }
        let on = if self.not_resources.is_some() {
            "NotResource"
        } else {
            "*"
        };
        if let Some(wide) = self.actions.iter().find(|a| is_service_wide(a)) {
            return Some(format!("allows {wide} on {on}"));
        }
        self.actions
            .iter()
            .find(|a| a.eq_ignore_ascii_case("sts:AssumeRole"))
            .map(|a| format!("allows {a} on {on}"))
    }
}

/// `service:*` (any case), the whole of one service.
fn is_service_wide(action: &str) -> bool {
    action
        .split_once(':')
        .is_some_and(|(service, rest)| !service.is_empty() && rest == "*")
}

pub(crate) fn strings(value: Option<&Value>) -> Result<Option<Vec<String>>, PolicyError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.trim().to_owned()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| s.trim().to_owned())
                    .ok_or_else(|| PolicyError(format!("{i} is not a string")))
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(other) => Err(PolicyError(format!("{other} is not a string or a list"))),
    }
}

fn statement(value: &Value) -> Result<Statement, PolicyError> {
    let effect = match value.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(PolicyError(format!("statement with Effect {other:?}"))),
    };
    let actions = strings(value.get("Action"))?;
    let not_actions = strings(value.get("NotAction"))?;
    if actions.is_none() && not_actions.is_none() {
        return Err(PolicyError("statement without Action or NotAction".into()));
    }
    Ok(Statement {
        sid: value.get("Sid").and_then(Value::as_str).map(str::to_owned),
        effect,
        actions: actions.unwrap_or_default(),
        not_actions,
        resources: strings(value.get("Resource"))?.unwrap_or_default(),
        not_resources: strings(value.get("NotResource"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn trusted_services_reads_plain_and_url_encoded_trust_policies() {
        let ec2 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(trusted_services(ec2).unwrap(), vec!["ec2.amazonaws.com"]);
        let encoded = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%5B%22ssm.amazonaws.com%22%2C%22ec2.amazonaws.com%22%5D%7D%7D%7D";
        assert_eq!(
            trusted_services(encoded).unwrap(),
            vec!["ssm.amazonaws.com", "ec2.amazonaws.com"]
        );
        let denied = r#"{"Statement":[{"Effect":"Deny","Principal":{"Service":"ec2.amazonaws.com"}},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"}}]}"#;
        assert!(trusted_services(denied).unwrap().is_empty());
        assert!(trusted_services("not json").is_err());
    }

    fn broad(doc: Value) -> Vec<String> {
        PolicyDocument::from_value(&doc)
            .unwrap()
            .over_broad()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn admin_and_wildcards_are_caught() {
        assert_eq!(
            broad(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})),
            ["statement #1: allows every action (*)"]
        );
        assert_eq!(
            broad(
                json!({"Statement": [{"Sid": "Iam", "Effect": "Allow", "Action": ["ec2:Describe*", "iam:*"], "Resource": "*"}]})
            ),
            ["statement Iam: allows iam:* on *"]
        );
        assert_eq!(
            broad(
                json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ["*"]}]})
            ),
            ["statement #1: allows sts:AssumeRole on *"]
        );
        assert_eq!(
            broad(
                json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
            ),
            ["statement #1: Allow with NotAction grants every action not listed"]
        );
        assert_eq!(
            broad(
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::logs/*"}]})
            ),
            ["statement #1: allows s3:* on NotResource"]
        );
    }

    #[test]
    fn scoped_and_denying_statements_are_not() {
        for doc in [
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::my-bucket/*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"], "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::1:role/x"}]}),
        ] {
            assert!(broad(doc.clone()).is_empty(), "{doc}");
        }
    }

    #[test]
    fn url_encoded_and_plain_documents_parse_alike() {
        let plain = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        assert_eq!(
            PolicyDocument::parse(plain).unwrap(),
            PolicyDocument::parse(encoded).unwrap()
        );
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for text in [
            "",
            "not json",
            "%E0%A4%A",
            "%ZZ",
            "{}",
            r#"{"Statement": 5}"#,
            r#"{"Statement": [{"Effect": "Allow"}]}"#,
            r#"{"Statement": [{"Effect": "Maybe", "Action": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Action": [1, 2], "Resource": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": {"a": 1}}]}"#,
        ] {
            assert!(PolicyDocument::parse(text).is_err(), "{text}");
        }
    }

    /// Statements drawn from a small vocabulary that mixes safe and over-broad grants.
    fn any_statement() -> impl Strategy<Value = Value> {
        let actions = prop::sample::select(vec![
            "*",
            "*:*",
            "iam:*",
            "s3:*",
            "sts:AssumeRole",
            "s3:GetObject",
            "ec2:Describe*",
            "ecr:BatchGetImage",
            "logs:PutLogEvents",
        ]);
        let resources = prop::sample::select(vec![
            "*",
            "arn:aws:s3:::bucket/*",
            "arn:aws:iam::123456789012:role/x",
        ]);
        (
            prop::bool::ANY,
            prop::bool::ANY,
            prop::collection::vec(actions, 1..4),
            prop::collection::vec(resources, 1..3),
        )
            .prop_map(|(allow, not_action, actions, resources)| {
                let mut s =
                    json!({"Effect": if allow { "Allow" } else { "Deny" }, "Resource": resources});
                s[if not_action { "NotAction" } else { "Action" }] = json!(actions);
                s
            })
    }

    fn document(statements: &[Value]) -> PolicyDocument {
        PolicyDocument::from_value(&json!({"Version": "2012-10-17", "Statement": statements}))
            .unwrap()
    }

    proptest! {
        #[test]
        fn adding_statements_never_makes_an_over_broad_document_safe(
            base in prop::collection::vec(any_statement(), 1..5),
            extra in prop::collection::vec(any_statement(), 0..5),
            at in 0usize..5,
        ) {
            prop_assume!(!document(&base).over_broad().is_empty());
            let mut grown = base.clone();
            for (i, s) in extra.into_iter().enumerate() {
                grown.insert((at + i).min(grown.len()), s);
            }
            prop_assert!(!document(&grown).over_broad().is_empty());
        }

        #[test]
        fn removing_the_over_broad_statements_always_makes_it_safe(
            statements in prop::collection::vec(any_statement(), 1..8),
        ) {
            let kept: Vec<Value> = statements
                .into_iter()
                .filter(|s| document(std::slice::from_ref(s)).over_broad().is_empty())
                .collect();
            prop_assert!(document(&kept).over_broad().is_empty());
        }
    }
}
