//! Values written the way Python's `str()` writes them.
//!
//! MVT builds its timeline descriptions with f-strings, so a missing value reads `None`, a
//! float `253438.0` and a boolean `True`. Parity tests compare those strings, so the modules
//! that copy MVT's descriptions format their values through here rather than through Rust's
//! `Display`, which writes `253438` and `true`.

use serde_json::Value as Json;

/// Python's `repr(float)`: the shortest digits that round-trip, fixed notation when the
/// decimal exponent is in `-4..16` (always with a fractional part, `100.0`), scientific
/// otherwise (`1e+16`, `1.5e-05`); `nan`, `inf`, `-inf` as Python writes them.
pub(crate) fn float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits in scientific form: `-2.53438e5`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
        let body = if exp < 0 {
            let zeros = usize::try_from(-exp - 1).unwrap_or(0);
            format!("0.{}{digits}", "0".repeat(zeros))
        } else if exp + 1 >= n {
            let zeros = usize::try_from(exp + 1 - n).unwrap_or(0);
            format!("{digits}{}.0", "0".repeat(zeros))
        } else {
            let point = usize::try_from(exp + 1).unwrap_or(0);
            let (int, frac) = digits.split_at(point.min(digits.len()));
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let mant = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.unsigned_abs())
    }
}

/// A JSON value as Python's `str()` of the value MVT held: `None`, `True`/`False`, integers
/// as digits, floats per [`float`], strings unquoted. Lists and dictionaries (rare in
/// descriptions) are written as JSON.
pub(crate) fn value(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => {
            if n.is_f64() {
                n.as_f64().map_or_else(|| n.to_string(), float)
            } else {
                n.to_string()
            }
        }
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An optional string as Python's `str()`: the string, or `None`.
pub(crate) fn opt(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), str::to_owned)
}

/// Python truthiness of a JSON value read from a database or plist.
pub(crate) fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python_repr() {
        let cases = [
            (253438.0, "253438.0"),
            (0.0, "0.0"),
            (100.0, "100.0"),
            (123.456, "123.456"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1634560030.76862, "1634560030.76862"),
            (f64::NAN, "nan"),
        ];
        for (f, want) in cases {
            assert_eq!(float(f), want, "{f}");
        }
    }

    #[test]
    fn values_like_python_str() {
        assert_eq!(value(&Json::Null), "None");
        assert_eq!(value(&serde_json::json!(true)), "True");
        assert_eq!(value(&serde_json::json!(32)), "32");
        assert_eq!(value(&serde_json::json!(415.0)), "415.0");
        assert_eq!(value(&serde_json::json!("x")), "x");
        assert!(!truthy(&serde_json::json!(0)));
        assert!(!truthy(&serde_json::json!("")));
        assert!(truthy(&serde_json::json!(5)));
    }
}
