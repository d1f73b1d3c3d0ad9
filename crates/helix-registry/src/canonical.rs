//! The canonical form of what an agent signs: JSON with object keys sorted
//! at every depth and no whitespace, so the signer and the registry hash
//! the same bytes whatever order a serializer keeps keys in (the workspace
//! builds serde_json with `preserve_order`).

use alloy::primitives::{B256, keccak256};
use serde::Serialize;
use serde_json::Value;

/// The canonical bytes of `v`.
pub fn canonical_bytes<T: Serialize>(v: &T) -> Result<Vec<u8>, serde_json::Error> {
    let value = serde_json::to_value(v)?;
    let mut out = Vec::with_capacity(256);
    write(&value, &mut out)?;
    Ok(out)
}

/// keccak256 of the canonical bytes.
pub fn canonical_hash<T: Serialize>(v: &T) -> Result<B256, serde_json::Error> {
    Ok(keccak256(canonical_bytes(v)?))
}

fn write(v: &Value, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k)?;
                out.push(b':');
                write(&map[k], out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_bytes() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"q":2,"p":3}],"x":"s"}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":{"x":"s","y":[1,{"p":3,"q":2}]},"b":1}"#).unwrap();
        let bytes = canonical_bytes(&a).unwrap();
        assert_eq!(bytes, canonical_bytes(&b).unwrap());
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"a":{"x":"s","y":[1,{"p":3,"q":2}]},"b":1}"#
        );
    }

    #[test]
    fn different_values_hash_differently() {
        let h1 = canonical_hash(&json!({"a": 1})).unwrap();
        let h2 = canonical_hash(&json!({"a": 2})).unwrap();
        assert_ne!(h1, h2);
    }
}
