//! Lenient `serde` helpers for the shapes real CloudTrail and GuardDuty records take.
//!
//! CloudTrail converts EC2's XML to JSON, so an empty list is logged as `{}`, a list is
//! wrapped as `{"items": [...]}`, and a list of one may collapse into a bare object
//! (see `ec2-modifysecuritygrouprules-open-rdp.cloudtrail.json` in the reference events).
//! GuardDuty writes numbers as strings in some fields (`organization.asn`) and strings as
//! numbers in others. These helpers accept every such form and fall back to "absent".

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A list given as `[...]`, `{"items": [...]}`, a single object, `{}` or `null`.
pub fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    list_from_value(value).map_err(serde::de::Error::custom)
}

/// The same as [`list`], for a value already in hand.
pub fn list_from_value<T: DeserializeOwned>(value: Value) -> Result<Vec<T>, serde_json::Error> {
    let elements = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("items") {
            Some(inner) if map.is_empty() => return list_from_value(inner),
            Some(inner) => {
                map.insert("items".to_owned(), inner);
                vec![Value::Object(map)]
            }
            None if map.is_empty() => Vec::new(),
            None => vec![Value::Object(map)],
        },
        scalar => vec![scalar],
    };
    elements.into_iter().map(serde_json::from_value).collect()
}

/// A string that may be logged as a number or boolean; anything else is absent.
pub fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// An integer that may be logged as a string (`"22"`) or a float (`22.0`).
pub fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A float that may be logged as a string.
pub fn opt_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A boolean that may be logged as `"true"`, as `sessionCredentialFromConsole` is.
pub fn opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(bool_of(Some(&Value::deserialize(deserializer)?)))
}

/// [`opt_bool`] for a value already in hand, e.g. a field read by JSON pointer.
pub fn bool_of(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The elements of a value that should be a list, read as [`list_from_value`] reads them
/// (`{}`, `{"items": [...]}` and a lone element all count); absent or unreadable: none.
pub fn values(value: Option<&Value>) -> Vec<Value> {
    value
        .cloned()
        .and_then(|v| list_from_value::<Value>(v).ok())
        .unwrap_or_default()
}

/// An object that may be `null`, `{}` or absent; anything that is not an object is treated as
/// absent, so a field we only read a few keys from can never fail a whole record.
pub fn opt_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(deserializer)? {
        value @ Value::Object(_) => serde_json::from_value(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Holder {
        #[serde(default, deserialize_with = "list")]
        xs: Vec<Item>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Item {
        #[serde(default, deserialize_with = "opt_i64")]
        n: Option<i64>,
    }

    fn check(input: Value, expected: &[Option<i64>]) {
        let holder: Holder = serde_json::from_value(input).unwrap();
        let got: Vec<Option<i64>> = holder.xs.into_iter().map(|i| i.n).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn every_list_shape_is_accepted() {
        check(json!({}), &[]);
        check(json!({"xs": null}), &[]);
        check(json!({"xs": {}}), &[]);
        check(json!({"xs": []}), &[]);
        check(json!({"xs": [{"n": 1}, {"n": "2"}]}), &[Some(1), Some(2)]);
        check(json!({"xs": {"items": [{"n": 3}]}}), &[Some(3)]);
        check(json!({"xs": {"items": {}}}), &[]);
        check(json!({"xs": {"n": 4.0}}), &[Some(4)]);
        check(json!({"xs": [{"n": "x"}]}), &[None]);
    }

    #[test]
    fn a_list_of_wrong_types_is_an_error_not_a_panic() {
        assert!(serde_json::from_value::<Holder>(json!({"xs": [{"n": 1}, 5]})).is_err());
    }
}
