//! RFC 3339 timestamps, as the Psy document writes them (`2024-01-01T00:00:00Z`), and the
//! bounds of calendar months.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{ApiError, Result};

/// Formats unix seconds as an RFC 3339 UTC string.
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Parses an RFC 3339 parameter into unix seconds.
pub fn parse(name: &str, value: &str) -> Result<i64> {
    OffsetDateTime::parse(value, &Rfc3339).map(OffsetDateTime::unix_timestamp).map_err(|_| {
        ApiError::BadRequest(format!("`{name}` must be an RFC 3339 time such as 2024-01-01T00:00:00Z, got {value:?}"))
    })
}

/// First second of year 10000: calendar months end there (later times fall in no month).
pub const END_OF_CALENDAR: i64 = 253_402_300_800;

/// Start of the calendar month containing `unix` and of the next one (`None` outside years
/// -9999 to 9999; December 9999 ends at [`END_OF_CALENDAR`]).
pub fn month_bounds(unix: i64) -> Option<(i64, i64)> {
    let date = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    let start = date.replace_day(1).ok()?.replace_time(time::Time::MIDNIGHT);
    let (year, month) = if date.month() == time::Month::December {
        (date.year() + 1, time::Month::January)
    } else {
        (date.year(), date.month().next())
    };
    let next =
        start.replace_year(year).and_then(|d| d.replace_month(month)).map_or(END_OF_CALENDAR, |d| d.unix_timestamp());
    Some((start.unix_timestamp(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_documented_form() {
        assert_eq!(rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(parse("t", "2024-01-01T00:00:00Z").unwrap(), 1_704_067_200);
        assert_eq!(parse("t", "2024-01-01T01:00:00+01:00").unwrap(), 1_704_067_200);
        assert!(parse("t", "yesterday").is_err());
    }
}
