//! The one way dircache writes a time: RFC 3339, UTC, with fixed-width milliseconds.

use std::fmt;
use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// Fixed-width milliseconds (rather than the shortest subsecond form) keep lines of a log
/// sortable as plain text, and every record of dircache reads the same.
const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// A time RFC 3339 cannot write (before year 0 or after 9999), e.g. from a corrupt record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange;

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the time is outside what RFC 3339 can write")
    }
}

impl std::error::Error for OutOfRange {}

/// `at` as RFC 3339 UTC with milliseconds, e.g. `2026-11-28T01:02:03.456Z`.
pub fn rfc3339(at: SystemTime) -> Result<String, OutOfRange> {
    let millis: i128 = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_millis()).map_err(|_| OutOfRange)?,
        Err(before) => -i128::try_from(before.duration().as_millis()).map_err(|_| OutOfRange)?,
    };
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
        .map_err(|_| OutOfRange)?
        .format(FORMAT)
        .map_err(|_| OutOfRange)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_have_fixed_millisecond_width_in_utc() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_827_723_456_789);
        assert_eq!(rfc3339(at).unwrap(), "2026-11-28T01:02:03.456Z");
        let whole = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_571_200);
        assert_eq!(rfc3339(whole).unwrap(), "2026-01-05T00:00:00.000Z");
    }

    #[test]
    fn a_time_rfc3339_cannot_write_is_an_error() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(rfc3339(far), Err(OutOfRange));
    }
}
