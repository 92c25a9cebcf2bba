//! Limits on what the verifiers and issuers read: sizes and nesting depth, checked before any
//! other work so that oversized or deeply nested input costs little and changes nothing.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// The deepest JSON nesting accepted anywhere (objects and arrays), in levels.
pub const JSON_DEPTH_MAX: usize = 16;
/// The largest credential accepted, in bytes of its serialised form.
pub const CREDENTIAL_BYTES_MAX: usize = 64 * 1024;

/// The nesting depth of `value`: 0 for a scalar, 1 for a flat object or array.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, level)) = stack.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Object(map) => stack.extend(map.values().map(|v| (v, level + 1))),
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, level + 1))),
            _ => {}
        }
        if level > JSON_DEPTH_MAX {
            break;
        }
    }
    deepest
}

/// Refuses a value nested deeper than [`JSON_DEPTH_MAX`].
pub fn check_depth(value: &Value, what: &'static str) -> Result<(), Error> {
    if depth(value) > JSON_DEPTH_MAX {
        return Err(Error::TooDeep {
            what,
            limit: JSON_DEPTH_MAX,
        });
    }
    Ok(())
}

/// Parses JSON bytes into `T` after checking size and depth.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T, Error> {
    if bytes.len() > CREDENTIAL_BYTES_MAX {
        return Err(Error::TooLarge {
            what,
            limit: CREDENTIAL_BYTES_MAX,
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        if error.to_string().contains("recursion limit") {
            Error::TooDeep {
                what,
                limit: JSON_DEPTH_MAX,
            }
        } else {
            Error::Malformed {
                what,
                reason: error.to_string(),
            }
        }
    })?;
    check_depth(&value, what)?;
    serde_json::from_value(value).map_err(|error| Error::Malformed {
        what,
        reason: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_levels_and_refuses_deep_nesting() {
        assert_eq!(depth(&serde_json::json!(1)), 0);
        assert_eq!(depth(&serde_json::json!({"a": [1, {"b": 2}]})), 3);
        let deep = "[".repeat(40) + &"]".repeat(40);
        assert!(matches!(
            parse_json::<Value>(deep.as_bytes(), "x"),
            Err(Error::TooDeep { .. })
        ));
        let huge = format!("\"{}\"", "a".repeat(CREDENTIAL_BYTES_MAX));
        assert!(matches!(
            parse_json::<Value>(huge.as_bytes(), "x"),
            Err(Error::TooLarge { .. })
        ));
    }
}
