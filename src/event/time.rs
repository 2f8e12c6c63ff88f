//! [`Timestamp`]: a UTC instant with microsecond precision and an RFC 3339 text form.
//!
//! fcc keeps its own small timestamp type so that the core crate needs no date
//! library, formatting on the logging hot path is a few nanoseconds, and every
//! round trip through JSON is exact to the microsecond.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC instant, stored as microseconds since the Unix epoch.
///
/// Its text form is RFC 3339 in UTC with exactly six fractional digits,
/// `2026-03-27T10:00:05.000000Z`. Parsing accepts any RFC 3339 date-time
/// (`Z` or a numeric offset such as Python's `+00:00`, one to nine fractional
/// digits, truncated to microseconds) and normalises it to UTC.
///
/// ```
/// use fcc::Timestamp;
/// let t: Timestamp = "2026-03-27T12:00:05.25+02:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2026-03-27T10:00:05.250000Z");
/// assert_eq!(t, Timestamp::from_unix_micros(t.unix_micros()));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a string is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an RFC 3339 timestamp: {}",
            self.input, self.reason
        )
    }
}

impl std::error::Error for TimestampError {}

const MIN_MICROS: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z
const MAX_MICROS: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// From microseconds since the Unix epoch (clamped to years 1..=9999).
    pub const fn from_unix_micros(micros: i64) -> Self {
        let m = if micros < MIN_MICROS {
            MIN_MICROS
        } else if micros > MAX_MICROS {
            MAX_MICROS
        } else {
            micros
        };
        Self(m)
    }

    /// Microseconds since the Unix epoch.
    pub const fn unix_micros(self) -> i64 {
        self.0
    }

    /// Nanoseconds since the Unix epoch (what OpenTelemetry carries).
    pub const fn unix_nanos(self) -> i128 {
        self.0 as i128 * 1000
    }

    /// As a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_micros(self.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_micros(self.0.unsigned_abs())
        }
    }

    /// Milliseconds elapsed from `self` to `later` (negative if `later` is earlier).
    pub fn millis_until(self, later: Timestamp) -> f64 {
        (later.0 - self.0) as f64 / 1000.0
    }

    /// Writes the RFC 3339 form into a fixed buffer (27 bytes, no allocation).
    pub fn format_rfc3339(self) -> Rfc3339Buf {
        let days = self.0.div_euclid(86_400_000_000);
        let in_day = self.0.rem_euclid(86_400_000_000);
        let (y, mo, d) = civil_from_days(days);
        let secs = in_day / 1_000_000;
        let micros = in_day % 1_000_000;
        let (h, mi, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        put(&mut b[0..4], y as u32);
        put(&mut b[5..7], mo);
        put(&mut b[8..10], d);
        put(&mut b[11..13], h as u32);
        put(&mut b[14..16], mi as u32);
        put(&mut b[17..19], s as u32);
        put(&mut b[20..26], micros as u32);
        Rfc3339Buf(b)
    }

    /// Parses an RFC 3339 date-time; see the type docs for what is accepted.
    pub fn parse_rfc3339(input: &str) -> Result<Self, TimestampError> {
        let err = |reason| TimestampError {
            input: input.to_owned(),
            reason,
        };
        let b = input.as_bytes();
        if b.len() < 20 {
            return Err(err("too short"));
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let sep_ok = b[4] == b'-'
            && b[7] == b'-'
            && matches!(b[10], b'T' | b't' | b' ')
            && b[13] == b':'
            && b[16] == b':';
        if !sep_ok {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS"));
        }
        let fields = (
            num(0..4),
            num(5..7),
            num(8..10),
            num(11..13),
            num(14..16),
            num(17..19),
        );
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = fields else {
            return Err(err("expected digits in YYYY-MM-DDTHH:MM:SS"));
        };
        if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
            return Err(err("no such date"));
        }
        if h > 23 || mi > 59 || s > 59 {
            return Err(err("no such time of day (leap seconds are not supported)"));
        }
        let mut i = 19;
        let mut micros: i64 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 6 {
                    micros = micros * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 || n > 9 {
                return Err(err("expected 1 to 9 fractional digits"));
            }
            for _ in n..6 {
                micros *= 10;
            }
        }
        let offset_secs: i64 = match &b[i..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return Err(err("bad UTC offset"));
                }
                let oh = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
                let om = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
                if oh > 23 || om > 59 {
                    return Err(err("bad UTC offset"));
                }
                let v = oh * 3600 + om * 60;
                if *sign == b'-' {
                    -v
                } else {
                    v
                }
            }
            [] => return Err(err("missing UTC offset (`Z` or `+HH:MM`)")),
            _ => return Err(err("unexpected text after the time")),
        };
        let days = days_from_civil(y as i64, mo, d);
        let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset_secs;
        let total = secs * 1_000_000 + micros;
        if !(MIN_MICROS..=MAX_MICROS).contains(&total) {
            return Err(err("outside years 1 to 9999 in UTC"));
        }
        Ok(Self(total))
    }
}

/// The RFC 3339 text of a [`Timestamp`], on the stack.
#[derive(Clone, Copy)]
pub struct Rfc3339Buf([u8; 27]);

impl Rfc3339Buf {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

fn put(dst: &mut [u8], mut v: u32) {
    for slot in dst.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        let micros = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(MAX_MICROS),
            Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(-MIN_MICROS),
        };
        Self::from_unix_micros(micros)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.format_rfc3339().as_str())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(
            Timestamp::from_unix_micros(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        let t = Timestamp::parse_rfc3339("2024-02-29T23:59:59.999999Z").unwrap();
        assert_eq!(t.unix_micros(), 1_709_251_199_999_999);
        assert_eq!(t.to_string(), "2024-02-29T23:59:59.999999Z");
        let before = Timestamp::parse_rfc3339("1969-12-31T23:59:59.5Z").unwrap();
        assert_eq!(before.unix_micros(), -500_000);
        assert_eq!(before.to_string(), "1969-12-31T23:59:59.500000Z");
    }

    #[test]
    fn round_trips_across_the_range() {
        let mut m = MIN_MICROS;
        while m < MAX_MICROS {
            let t = Timestamp::from_unix_micros(m);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_string()).unwrap(), t);
            m += 7_777_777_777_777;
        }
    }

    #[test]
    fn offsets_normalise_to_utc() {
        let a = Timestamp::parse_rfc3339("2026-03-27T10:00:00+00:00").unwrap();
        let b = Timestamp::parse_rfc3339("2026-03-27T05:30:00-04:30").unwrap();
        assert_eq!(a, b);
        let nanos = Timestamp::parse_rfc3339("2026-03-27T10:00:00.123456789Z").unwrap();
        assert_eq!(nanos.unix_micros() % 1_000_000, 123_456);
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00Zjunk",
            "2026-01-01T00:00:00+25:00",
            "yesterday at noon, roughly",
        ] {
            let e = Timestamp::parse_rfc3339(bad).unwrap_err();
            assert!(e.to_string().contains("RFC 3339"), "{e}");
        }
    }
}
