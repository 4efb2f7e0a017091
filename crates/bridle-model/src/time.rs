//! Timestamp conversions for the clocks phones use.
//!
//! Every time bridle outputs is UTC. Internally a [`Timestamp`] is microseconds since the Unix
//! epoch, which covers every epoch below without loss at the precision the artifacts have.
//!
//! | clock | unit | epoch | where |
//! | --- | --- | --- | --- |
//! | Cocoa / Mac absolute time | seconds (float) or nanoseconds (int) | 2001-01-01 | sms.db, Safari, most Core Data stores |
//! | Unix | seconds, milliseconds, nanoseconds | 1970-01-01 | TCC, Firefox, Android |
//! | WebKit / Chrome | microseconds | 1601-01-01 | Chrome History, Favicons |
//!
//! Conversions are total: an out-of-range or non-finite input gives `None`, never a panic,
//! because the numbers come from evidence.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Seconds between 1970-01-01 and 2001-01-01 (the Cocoa epoch).
pub const COCOA_EPOCH_OFFSET: i64 = 978_307_200;
/// Seconds between 1601-01-01 and 1970-01-01 (the WebKit/Chrome epoch).
pub const WEBKIT_EPOCH_OFFSET: i64 = 11_644_473_600;

/// The latest instant we accept: year 9999 (jiff's range, and beyond any real artifact).
const MAX_MICROS: i64 = 253_402_300_799_999_999;
/// The earliest: year 0001.
const MIN_MICROS: i64 = -62_135_596_800_000_000;

/// A UTC instant with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From microseconds since the Unix epoch, if within years 1..=9999.
    pub fn from_unix_micros(us: i64) -> Option<Timestamp> {
        (MIN_MICROS..=MAX_MICROS)
            .contains(&us)
            .then_some(Timestamp(us))
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (floor).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// From (possibly fractional) seconds since the Unix epoch.
    pub fn from_unix_seconds_f64(s: f64) -> Option<Timestamp> {
        if !s.is_finite() {
            return None;
        }
        let us = (s * 1_000_000.0).round();
        if us < MIN_MICROS as f64 || us > MAX_MICROS as f64 {
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        Timestamp::from_unix_micros(us as i64)
    }

    /// From whole seconds since the Unix epoch.
    pub fn from_unix_seconds(s: i64) -> Option<Timestamp> {
        s.checked_mul(1_000_000)
            .and_then(Timestamp::from_unix_micros)
    }

    /// From milliseconds since the Unix epoch (Android).
    pub fn from_unix_millis(ms: i64) -> Option<Timestamp> {
        ms.checked_mul(1_000).and_then(Timestamp::from_unix_micros)
    }

    /// From nanoseconds since the Unix epoch (truncated to microseconds).
    pub fn from_unix_nanos(ns: i64) -> Option<Timestamp> {
        Timestamp::from_unix_micros(ns.div_euclid(1_000))
    }

    /// From Cocoa (Mac absolute) time given as a float of seconds since 2001-01-01.
    pub fn from_cocoa_seconds_f64(s: f64) -> Option<Timestamp> {
        Timestamp::from_unix_seconds_f64(s + COCOA_EPOCH_OFFSET as f64)
    }

    /// From Cocoa time stored as an integer, with MVT's rule for newer databases: an integer
    /// of exactly 18 digits is nanoseconds (sms.db since iOS 11), anything else seconds.
    ///
    /// MVT keeps the first 9 digits of an 18-digit value, which is the same as integer
    /// division by 10^9; we keep microseconds too, so the fraction is exact rather than lost.
    pub fn from_cocoa_int(v: i64) -> Option<Timestamp> {
        if (100_000_000_000_000_000..1_000_000_000_000_000_000).contains(&v) {
            let us = v / 1_000;
            return us
                .checked_add(COCOA_EPOCH_OFFSET * 1_000_000)
                .and_then(Timestamp::from_unix_micros);
        }
        v.checked_add(COCOA_EPOCH_OFFSET)
            .and_then(Timestamp::from_unix_seconds)
    }

    /// From WebKit/Chrome time: microseconds since 1601-01-01.
    pub fn from_webkit_micros(us: i64) -> Option<Timestamp> {
        us.checked_sub(WEBKIT_EPOCH_OFFSET * 1_000_000)
            .and_then(Timestamp::from_unix_micros)
    }

    /// MVT's rendering, `YYYY-mm-dd HH:MM:SS.ffffff`, in UTC. Parity tests compare these.
    pub fn to_mvt(self) -> String {
        self.civil_text(' ')
    }

    /// Formats by hand: this runs for every record of every large table, and strftime's
    /// generality costs several times more.
    fn civil_text(self, sep: char) -> String {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut out = String::with_capacity(27);
        push_digits(&mut out, y, 4);
        out.push('-');
        push_digits(&mut out, m, 2);
        out.push('-');
        push_digits(&mut out, d, 2);
        out.push(sep);
        push_digits(&mut out, tod / 3600, 2);
        out.push(':');
        push_digits(&mut out, tod % 3600 / 60, 2);
        out.push(':');
        push_digits(&mut out, tod % 60, 2);
        out.push('.');
        push_digits(&mut out, micros, 6);
        out
    }

    /// RFC 3339 with microseconds and `Z`, as Timesketch and JSON consumers expect.
    pub fn to_rfc3339(self) -> String {
        let mut s = self.civil_text('T');
        s.push('Z');
        s
    }

    /// Parses MVT's `YYYY-mm-dd HH:MM:SS[.ffffff]` (UTC) back, or RFC 3339.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        if let Ok(ts) = s.parse::<jiff::Timestamp>() {
            return Timestamp::from_unix_micros(ts.as_microsecond());
        }
        let dt = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S%.f", s)
            .or_else(|_| jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", s))
            .ok()?;
        let ts = jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()?;
        Timestamp::from_unix_micros(ts.as_microsecond())
    }
}

/// Appends `v` (0 <= v, within the range the constructors allow) zero-padded to `width`
/// digits.
fn push_digits(out: &mut String, v: i64, width: u32) {
    let mut div = 10i64.pow(width.saturating_sub(1));
    let mut v = v.max(0);
    // Values wider than `width` (never produced here) still print every digit.
    while div > 0 && v / div >= 10 {
        div *= 10;
    }
    while div > 0 {
        let digit = (v / div) % 10;
        out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        v %= div;
        div /= 10;
    }
}

/// Proleptic Gregorian date from days since 1970-01-01 (Howard Hinnant's algorithm). The
/// constructors keep timestamps within years 1..=9999, so the arithmetic cannot overflow.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_mvt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_and_cocoa_agree() {
        // MVT's own test: 1626566400 -> 2021-07-18 00:00:00.000000, same instant as Mac time.
        let a = Timestamp::from_unix_seconds(1_626_566_400).unwrap();
        assert_eq!(a.to_mvt(), "2021-07-18 00:00:00.000000");
        let b = Timestamp::from_cocoa_int(1_626_566_400 - COCOA_EPOCH_OFFSET).unwrap();
        assert_eq!(a, b);
        let c = Timestamp::from_cocoa_seconds_f64((1_626_566_400 - COCOA_EPOCH_OFFSET) as f64);
        assert_eq!(Some(a), c);
    }

    #[test]
    fn cocoa_nanoseconds_have_18_digits() {
        let ns: i64 = 588_808_410_123_456_789; // 18 digits
        let t = Timestamp::from_cocoa_int(ns).unwrap();
        assert_eq!(t.to_mvt(), "2019-08-29 21:53:30.123456");
        // 17 digits are seconds, and out of range: refused rather than wrapped.
        assert_eq!(Timestamp::from_cocoa_int(99_999_999_999_999_999), None);
    }

    #[test]
    fn webkit_epoch() {
        let t = Timestamp::from_webkit_micros(13_270_000_000_000_000).unwrap();
        assert_eq!(t.to_rfc3339(), "2021-07-05T23:06:40.000000Z");
        assert_eq!(Timestamp::from_webkit_micros(i64::MIN), None);
    }

    #[test]
    fn hostile_values_give_none() {
        assert_eq!(Timestamp::from_unix_seconds(i64::MAX), None);
        assert_eq!(Timestamp::from_unix_seconds_f64(f64::NAN), None);
        assert_eq!(Timestamp::from_unix_seconds_f64(1e300), None);
        assert_eq!(Timestamp::from_unix_millis(i64::MIN), None);
        assert_eq!(Timestamp::from_cocoa_seconds_f64(f64::INFINITY), None);
    }

    #[test]
    fn hand_formatting_agrees_with_jiff() {
        for us in [
            0i64,
            -1,
            951_782_400_000_000,
            1_700_000_000_123_456,
            -62_135_596_800_000_000,
            253_402_207_200_000_000,
            4_107_542_400_000_001,
        ] {
            let t = Timestamp::from_unix_micros(us).unwrap();
            let j = jiff::Timestamp::from_microsecond(us).unwrap();
            assert_eq!(t.to_mvt(), j.strftime("%Y-%m-%d %H:%M:%S%.6f").to_string());
            assert_eq!(
                t.to_rfc3339(),
                j.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
        }
        let last = Timestamp::from_unix_micros(MAX_MICROS).unwrap();
        assert_eq!(last.to_mvt(), "9999-12-31 23:59:59.999999");
    }

    #[test]
    fn parse_round_trip() {
        let t = Timestamp::from_unix_micros(1_700_000_000_123_456).unwrap();
        assert_eq!(Timestamp::parse(&t.to_mvt()), Some(t));
        assert_eq!(Timestamp::parse(&t.to_rfc3339()), Some(t));
        assert_eq!(Timestamp::parse("not a date"), None);
    }
}
