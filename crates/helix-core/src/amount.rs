//! Amounts (`u128` base units) in serialized events. Events are read back
//! through serde's buffered path (the flattened event kind), which cannot
//! take a `u128` directly, so amounts are read from any integer, or from a
//! decimal string, and refused when negative, fractional or too large.

use serde::Deserializer;
use serde::de::{self, Visitor};

struct AmountVisitor;

impl Visitor<'_> for AmountVisitor {
    type Value = u128;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a non-negative integer amount")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u128, E> {
        Ok(u128::from(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u128, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u128, E> {
        u128::try_from(v).map_err(|_| E::custom(format!("negative amount {v}")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u128, E> {
        v.parse()
            .map_err(|_| E::custom(format!("not an amount: {v:?}")))
    }
}

/// Reads an amount.
pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
    d.deserialize_any(AmountVisitor)
}

struct OptVisitor;

impl<'de> Visitor<'de> for OptVisitor {
    type Value = Option<u128>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an optional amount")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        de(d).map(Some)
    }
}

/// Reads an optional amount.
pub fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
    d.deserialize_option(OptVisitor)
}

/// Writes an amount: a number when it fits 64 bits (as JSON readers
/// expect), else a decimal string, so it reads back exactly.
pub fn ser<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
    match u64::try_from(*v) {
        Ok(n) => s.serialize_u64(n),
        Err(_) => s.serialize_str(&v.to_string()),
    }
}

/// Writes an optional amount (see [`ser`]).
pub fn ser_opt<S: serde::Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&Wrapped(*v)),
        None => s.serialize_none(),
    }
}

struct Wrapped(u128);

impl serde::Serialize for Wrapped {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser(&self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, EventKind};
    use crate::signal::ErrorSignal;

    /// Events go through serde's buffered path when read back (the kind is
    /// flattened): amounts of any size must survive it exactly.
    #[test]
    fn amounts_in_events_read_back_exactly() {
        for amount in [
            0,
            500_000,
            u128::from(u64::MAX),
            u128::from(u64::MAX) + 1,
            u128::MAX,
        ] {
            let mut signal = ErrorSignal::message("insufficient");
            signal.facts.payer_balance = Some(amount);
            let e = Event {
                repair_id: 1,
                seq: 0,
                at: 0,
                kind: EventKind::Observed { signal },
            };
            let text = serde_json::to_string(&e).unwrap();
            let back: Event = serde_json::from_str(&text).unwrap();
            assert_eq!(back, e, "{text}");
        }
        let negative = r#"{"repair_id":1,"seq":0,"at":0,"event":"observed","signal":{"message":"x","facts":{"payer_balance":-1}}}"#;
        assert!(serde_json::from_str::<Event>(negative).is_err());
    }
}
