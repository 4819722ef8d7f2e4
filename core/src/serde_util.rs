//! Serde helpers for Jan's loosely typed JSON files.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Accepts `"stop": "x"` as well as `"stop": ["x", "y"]` (OpenAI allows both; Jan writes arrays).
pub(crate) fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

/// Accepts whole numbers written as floats (`4096.0`), which JavaScript writers sometimes produce.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<serde_json::Number>::deserialize(d)?;
    v.map(|n| {
        n.as_u64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64).map(|f| f as u64))
            .ok_or_else(|| serde::de::Error::custom(format!("expected a whole non-negative number, got {n}")))
    })
    .transpose()
}

/// Like [`lenient_u64`] for signed values (timestamps, `ngl: -1`).
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<serde_json::Number>::deserialize(d)?;
    v.map(|n| {
        n.as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= i64::MAX as f64).map(|f| f as i64))
            .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number, got {n}")))
    })
    .transpose()
}

/// Overlays `top` on `base` key by key (one level deep); `null` in `top` leaves `base`'s value.
pub(crate) fn overlay(base: &mut Map<String, Value>, top: &Map<String, Value>) {
    for (k, v) in top {
        if !v.is_null() {
            base.insert(k.clone(), v.clone());
        }
    }
}

/// Serialises a value into a JSON object map (empty for non-objects).
pub(crate) fn to_map<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}
