//! The device's time zone, and turning the device's wall-clock times into UTC.
//!
//! Android writes many times as local wall-clock strings without an offset (dumpsys
//! appops and package times, battery stats, zip member times in a bugreport). MVT prints
//! them as they are and labels Android timelines "Device Local Timestamp", while other
//! Android times (AndroidQF file times, intrusion logs) are converted from UTC epochs to
//! local time or left in UTC depending on the module. bridle puts every time in UTC: a wall
//! time is converted with the device's zone from `persist.sys.timezone` when it is known,
//! and read as UTC when it is not; records carry `device_timezone` so a reader can tell
//! which was done.

use bridle_model::Timestamp;
use jiff::civil::DateTime;

/// The device's time zone as the acquisition states it.
#[derive(Debug, Clone, Default)]
pub struct DeviceTz {
    name: Option<String>,
    tz: Option<jiff::tz::TimeZone>,
}

impl DeviceTz {
    /// No known zone: wall times are read as UTC.
    pub fn unknown() -> Self {
        DeviceTz::default()
    }

    /// A zone from its IANA name (`persist.sys.timezone`). An unknown name gives a zone that
    /// reads wall times as UTC but keeps the name for the record.
    pub fn from_name(name: &str) -> Self {
        let name = name.trim();
        if name.is_empty() {
            return DeviceTz::default();
        }
        DeviceTz {
            name: Some(name.to_owned()),
            tz: jiff::tz::TimeZone::get(name).ok(),
        }
    }

    /// The zone's name, as the device gave it.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether the name was given but is not in the time-zone database.
    pub fn is_unresolved(&self) -> bool {
        self.name.is_some() && self.tz.is_none()
    }

    /// The value of the `device_timezone` record field.
    pub fn json(&self) -> serde_json::Value {
        self.name.as_ref().map_or(serde_json::Value::Null, |n| {
            serde_json::Value::from(n.as_str())
        })
    }

    /// The UTC instant of a device wall-clock time. In a repeated hour (autumn DST change)
    /// the earlier instant is taken; in a skipped hour, the time after the gap.
    pub fn wall_to_utc(&self, dt: DateTime) -> Option<Timestamp> {
        let tz = self.tz.clone().unwrap_or(jiff::tz::TimeZone::UTC);
        let ts = tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        Timestamp::from_unix_micros(ts.as_microsecond())
    }

    /// Parses a wall-clock time (`2021-05-19 22:02:52.054`, `2008-12-31 16:00:00`, or a
    /// date `2022-08-16`) and converts it to UTC.
    pub fn parse_wall(&self, s: &str) -> Option<Timestamp> {
        self.wall_to_utc(parse_civil(s)?)
    }
}

/// Parses `YYYY-mm-dd[ HH:MM:SS[.fraction]]` (the fraction up to nanoseconds).
pub fn parse_civil(s: &str) -> Option<DateTime> {
    let s = s.trim();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut d = date.splitn(3, '-');
    let year: i16 = d.next()?.parse().ok()?;
    let month: i8 = d.next()?.parse().ok()?;
    let day: i8 = d.next()?.parse().ok()?;
    let (mut h, mut mi, mut sec, mut nanos) = (0i8, 0i8, 0i8, 0i32);
    if let Some(t) = time {
        let (hms, frac) = match t.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (t, None),
        };
        let mut p = hms.splitn(3, ':');
        h = p.next()?.parse().ok()?;
        mi = p.next()?.parse().ok()?;
        sec = p.next()?.parse().ok()?;
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let padded = format!("{f:0<9}");
            nanos = padded.parse().ok()?;
        }
    }
    DateTime::new(year, month, day, h, mi, sec, nanos).ok()
}

/// Parses a time with an optional UTC offset (`2023-04-12 12:32:40.518290770+0200`,
/// `2021-09-29 17:43:49+0200`, `...Z`): with an offset it is converted exactly; without one
/// it is a device wall time.
pub fn parse_with_offset(s: &str, tz: &DeviceTz) -> Option<Timestamp> {
    let s = s.trim();
    if let Some(rest) = s.strip_suffix('Z') {
        let dt = parse_civil(rest)?;
        return DeviceTz::unknown().wall_to_utc(dt);
    }
    // An offset is a trailing `+HHMM`, `-HHMM`, `+HH:MM` or `-HH:MM` after the time.
    let tail_start = s.rfind(['+', '-']).filter(|i| *i > 10);
    if let Some(i) = tail_start {
        let (civil, off) = s.split_at(i);
        let sign: i32 = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off.chars().skip(1).filter(|c| *c != ':').collect();
        if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let hh: i32 = digits.get(..2)?.parse().ok()?;
            let mm: i32 = digits.get(2..)?.parse().ok()?;
            let dt = parse_civil(civil)?;
            let utc = DeviceTz::unknown().wall_to_utc(dt)?;
            let shift = i64::from(sign * (hh * 3600 + mm * 60)) * 1_000_000;
            return Timestamp::from_unix_micros(utc.unix_micros().checked_sub(shift)?);
        }
    }
    tz.parse_wall(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_convert_with_the_zone() {
        let utc = DeviceTz::unknown();
        assert_eq!(
            utc.parse_wall("2021-05-19 22:02:52.054").unwrap().to_mvt(),
            "2021-05-19 22:02:52.054000"
        );
        let paris = DeviceTz::from_name("Europe/Paris");
        assert_eq!(
            paris
                .parse_wall("2021-05-19 22:02:52.054")
                .unwrap()
                .to_mvt(),
            "2021-05-19 20:02:52.054000"
        );
        assert_eq!(paris.json(), serde_json::json!("Europe/Paris"));
        let bogus = DeviceTz::from_name("Mars/Olympus");
        assert!(bogus.is_unresolved());
        assert_eq!(
            bogus.parse_wall("2022-08-16").unwrap().to_mvt(),
            "2022-08-16 00:00:00.000000"
        );
        assert!(utc.parse_wall("2022-13-01").is_none());
        assert!(utc.parse_wall("garbage").is_none());
    }

    #[test]
    fn offsets_are_honoured() {
        let t =
            parse_with_offset("2023-04-12 12:32:40.518290770+0200", &DeviceTz::unknown()).unwrap();
        assert_eq!(t.to_mvt(), "2023-04-12 10:32:40.518290");
        let t = parse_with_offset("2021-09-29 17:43:49-05:30", &DeviceTz::unknown()).unwrap();
        assert_eq!(t.to_mvt(), "2021-09-29 23:13:49.000000");
        let t =
            parse_with_offset("2021-09-29 17:43:49", &DeviceTz::from_name("Asia/Tokyo")).unwrap();
        assert_eq!(t.to_mvt(), "2021-09-29 08:43:49.000000");
    }
}
