//! RFC 3339 timestamps as the real Psy nodes send them (chrono's `DateTime<Utc>` serde form).
//!
//! The real service stores them in Postgres `TIMESTAMPTZ` columns (reference §1.2), whose
//! precision is the microsecond; [`Timestamp`] keeps the same precision, truncating finer digits.
//! Parsing is written here rather than taken from a time crate so `shared` gains no dependency.

use crate::error::{Error, Result};

/// Microseconds in one second.
const MICROS: i64 = 1_000_000;
/// Seconds in one day.
const DAY: i64 = 86_400;

/// An instant in unix microseconds, written and read as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `micros` microseconds after the unix epoch.
    pub fn from_unix_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// The instant `seconds` seconds after the unix epoch (saturating).
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds.saturating_mul(MICROS))
    }

    /// Unix microseconds.
    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// Unix seconds, rounded down.
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(MICROS)
    }

    /// Unix milliseconds, rounded down.
    pub fn unix_millis(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`, `z` and a space separator accepted),
    /// years 0001 to 9999; `field` names the value in the error.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        parse_rfc3339(text).ok_or_else(|| {
            Error::field(field, format!("expected an RFC 3339 time such as 2024-01-01T00:00:00Z, got {:?}", clip(text)))
        })
    }
}

/// At most 64 characters of `text`, for error messages.
fn clip(text: &str) -> &str {
    text.char_indices().nth(64).map_or(text, |(end, _)| &text[..end])
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in `month` of `year`.
fn month_days(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A fixed-width decimal number at `bytes[at..at + width]`.
fn digits(bytes: &[u8], at: usize, width: usize) -> Option<i64> {
    let slice = bytes.get(at..at + width)?;
    slice.iter().try_fold(0i64, |acc, b| b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0')))
}

fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() > 40 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (year, month, day) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if year == 0 || !(1..=12).contains(&month) || day < 1 || day > month_days(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut micros = 0i64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 6 {
                micros = micros * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start)..6 {
            micros *= 10;
        }
    }
    let offset = match b.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (digits(b, at + 1, 2)?, digits(b, at + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let offset = oh * 3600 + om * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * DAY + hour * 3600 + minute * 60 + second - offset;
    Some(Timestamp(seconds * MICROS + micros))
}

impl std::fmt::Display for Timestamp {
    /// Writes UTC with a `Z`, no fraction on whole seconds, else milliseconds or microseconds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = self.0.div_euclid(MICROS);
        let micros = self.0.rem_euclid(MICROS);
        let (year, month, day) = civil_from_days(seconds.div_euclid(DAY));
        let in_day = seconds.rem_euclid(DAY);
        write!(f, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", in_day / 3600, in_day / 60 % 60, in_day % 60)?;
        match micros {
            0 => {}
            m if m % 1000 == 0 => write!(f, ".{:03}", m / 1000)?,
            m => write!(f, ".{m:06}")?,
        }
        f.write_str("Z")
    }
}

impl std::str::FromStr for Timestamp {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Self::parse("timestamp", text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
        parse_rfc3339(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected an RFC 3339 time such as 2024-01-01T00:00:00Z, got {:?}",
                clip(&text)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        Timestamp::parse("t", text).map(Timestamp::unix_micros).unwrap_or(i64::MIN)
    }

    #[test]
    fn parses_known_instants() {
        assert_eq!(at("1970-01-01T00:00:00Z"), 0);
        assert_eq!(at("2024-01-01T00:00:00Z"), 1_704_067_200 * MICROS);
        assert_eq!(at("2024-01-01T01:00:00+01:00"), 1_704_067_200 * MICROS);
        assert_eq!(at("2023-12-31T19:30:00-04:30"), 1_704_067_200 * MICROS);
        assert_eq!(at("2024-02-29T12:00:00.5Z"), 1_709_208_000 * MICROS + 500_000);
        // chrono writes nanoseconds; the store keeps microseconds.
        assert_eq!(at("2024-02-29T12:00:00.123456789Z"), 1_709_208_000 * MICROS + 123_456);
        assert_eq!(at("1969-12-31T23:59:59Z"), -MICROS);
        assert_eq!(at("2024-01-01t00:00:00z"), 1_704_067_200 * MICROS);
    }

    #[test]
    fn refuses_malformed_times_naming_the_field() {
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01",
            "0000-01-01T00:00:00Z",
            "2024-01-01T00:00:00+1:00",
            "yesterday",
        ] {
            let err = Timestamp::parse("worker_events[0].timestamp", bad).map(|_| ());
            assert!(
                matches!(&err, Err(Error::InvalidField { field, .. }) if field == "worker_events[0].timestamp"),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn writes_utc_and_round_trips() {
        let cases = [
            ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
            ("2024-01-01T00:00:00.250+00:00", "2024-01-01T00:00:00.250Z"),
            ("2024-01-01T00:00:00.000001Z", "2024-01-01T00:00:00.000001Z"),
            ("1969-07-20T20:17:40Z", "1969-07-20T20:17:40Z"),
            ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ];
        for (input, written) in cases {
            let parsed = Timestamp::parse("t", input).map(|t| t.to_string());
            assert_eq!(parsed.as_deref(), Ok(written));
        }
        let json = serde_json::to_string(&Timestamp::from_unix_seconds(1_704_067_200)).unwrap_or_default();
        assert_eq!(json, "\"2024-01-01T00:00:00Z\"");
        let back: Timestamp = serde_json::from_str(&json).unwrap_or(Timestamp(0));
        assert_eq!(back.unix_seconds(), 1_704_067_200);
    }
}
