//! Values written the way Python's `str()` writes them.
//!
//! MVT builds its timeline descriptions with f-strings, so a missing value reads `None`, a
//! float `253438.0` and a boolean `True`. Parity tests compare those strings, so the modules
//! that copy MVT's descriptions format their values through here rather than through Rust's
//! `Display`, which writes `253438` and `true`.

use bridle_model::Timestamp;
use bridle_model::time::COCOA_EPOCH_OFFSET;
use serde_json::Value as Json;

/// Seconds beyond which no timestamp is valid (year 9999 is ~2.5e11 s): checked before the
/// float is turned into an integer.
const MAX_ABS_SECONDS: f64 = 1e12;

/// Unix seconds as a float, rounded to the microsecond the way Python's
/// `datetime.fromtimestamp` rounds (the fractional part, half to even), so that dates read
/// the same as in MVT's output to the last digit. `Timestamp::from_unix_seconds_f64` rounds
/// the whole product instead, which differs by one microsecond on about one value in ten.
pub(crate) fn unix_seconds(t: f64) -> Option<Timestamp> {
    if !t.is_finite() || t.abs() > MAX_ABS_SECONDS {
        return None;
    }
    let mut whole = t.trunc();
    let mut us = (t.fract() * 1e6).round_ties_even();
    if us >= 1e6 {
        us -= 1e6;
        whole += 1.0;
    } else if us < 0.0 {
        us += 1e6;
        whole -= 1.0;
    }
    // Both are integral and bounded by MAX_ABS_SECONDS and 1e6: exact as integers.
    #[allow(clippy::cast_possible_truncation)]
    let (secs, us) = (whole as i64, us as i64);
    secs.checked_mul(1_000_000)
        .and_then(|v| v.checked_add(us))
        .and_then(Timestamp::from_unix_micros)
}

/// Mac absolute time (seconds since 2001-01-01) as a float, as MVT converts it: the epoch
/// offset is added in floating point first, then rounded as [`unix_seconds`].
pub(crate) fn mac_seconds(t: f64) -> Option<Timestamp> {
    #[allow(clippy::cast_precision_loss)]
    unix_seconds(t + COCOA_EPOCH_OFFSET as f64)
}

/// A Mac time read from a database or plist value, as MVT's `convert_mactime_to_iso`:
/// 0 and non-numbers are no date; an integer of 18 digits is nanoseconds.
pub(crate) fn mac_json(v: &Json) -> Option<Timestamp> {
    let Json::Number(n) = v else { return None };
    if let Some(i) = n.as_i64() {
        return (i != 0).then(|| Timestamp::from_cocoa_int(i)).flatten();
    }
    n.as_f64().filter(|f| *f != 0.0).and_then(mac_seconds)
}

/// A plist date, rounded to the microsecond half to even as Python's plistlib does.
pub(crate) fn plist_date(d: plist::Date) -> Option<Timestamp> {
    let st: std::time::SystemTime = d.into();
    let (sign, dur) = match st.duration_since(std::time::UNIX_EPOCH) {
        Ok(dur) => (1i64, dur),
        Err(e) => (-1i64, e.duration()),
    };
    let secs = i64::try_from(dur.as_secs()).ok()?;
    let nanos = i64::from(dur.subsec_nanos());
    let (mut us, rest) = (nanos / 1000, nanos % 1000);
    if rest > 500 || (rest == 500 && us % 2 == 1) {
        us += 1;
    }
    let total = secs.checked_mul(1_000_000)?.checked_add(us)?;
    Timestamp::from_unix_micros(sign.checked_mul(total)?)
}

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
    fn times_round_like_python() {
        // A ZFIRSTTIMESTAMP from a generated DataUsage; Python (and so MVT) writes .352257.
        assert_eq!(
            mac_seconds(690_258_866.352_257_4).unwrap().to_mvt(),
            "2022-11-16 02:34:26.352257"
        );
        assert_eq!(
            unix_seconds(1_634_560_030.768_62).unwrap().to_mvt(),
            "2021-10-18 12:27:10.768620"
        );
        assert_eq!(
            unix_seconds(-0.5).unwrap().to_mvt(),
            "1969-12-31 23:59:59.500000"
        );
        assert_eq!(
            unix_seconds(0.999_999_9).unwrap().to_mvt(),
            "1970-01-01 00:00:01.000000"
        );
        assert_eq!(unix_seconds(f64::NAN), None);
        assert_eq!(unix_seconds(1e300), None);
        assert_eq!(mac_json(&serde_json::json!(0)), None);
        assert_eq!(mac_json(&serde_json::json!(0.0)), None);
        assert_eq!(mac_json(&serde_json::json!("x")), None);
        assert_eq!(
            mac_json(&serde_json::json!(726_100_000.0))
                .unwrap()
                .to_mvt(),
            "2024-01-04 22:26:40.000000"
        );
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
