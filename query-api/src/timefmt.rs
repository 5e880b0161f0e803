//! RFC 3339 timestamps, as the Psy document writes them (`2024-01-01T00:00:00Z`).

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
