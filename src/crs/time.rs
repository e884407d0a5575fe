//! RFC 3339 timestamps as KSM's `toFloat64` reads them: Go's `time.Parse(time.RFC3339, s)`,
//! then `Unix()` (whole seconds; a fraction never changes them, as Go keeps it in a separate
//! non-negative nanosecond field).
//!
//! Go's general parser is what decides, and it is more lenient than RFC 3339: the hour may be
//! one digit, the fraction may follow a comma, and zone offsets up to ±24:60 are accepted. It
//! is stricter in other places: `T` and `Z` must be upper case, and the day must exist in that
//! month.

/// Unix seconds of `s` if Go's `time.Parse(time.RFC3339, s)` accepts it.
pub fn rfc3339_unix(s: &str) -> Option<i64> {
    let mut p = Cursor { rest: s.as_bytes() };
    let year = p.fixed_digits(4)?;
    p.literal(b'-')?;
    let month = p.fixed_digits(2)?;
    p.literal(b'-')?;
    let day = p.fixed_digits(2)?;
    p.literal(b'T')?;
    let hour = p.hour()?;
    p.literal(b':')?;
    let minute = p.fixed_digits(2)?;
    p.literal(b':')?;
    let second = p.fixed_digits(2)?;
    p.fraction();
    let offset = p.zone()?;
    if !p.rest.is_empty() || !(1..=12).contains(&month) || hour >= 24 || minute >= 60 || second >= 60 {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second - offset)
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    fn literal(&mut self, c: u8) -> Option<()> {
        let (&first, rest) = self.rest.split_first()?;
        (first == c).then(|| self.rest = rest)
    }

    /// Exactly `n` ASCII digits.
    fn fixed_digits(&mut self, n: usize) -> Option<i64> {
        let digits = self.rest.get(..n)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.rest = &self.rest[n..];
        Some(digits.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
    }

    /// Layout `15`: one or two digits.
    fn hour(&mut self) -> Option<i64> {
        match self.rest {
            [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => self.fixed_digits(2),
            [a, ..] if a.is_ascii_digit() => self.fixed_digits(1),
            _ => None,
        }
    }

    /// A fraction after the seconds (`.123`, `,5`) is accepted even though the layout has none;
    /// it cannot change `Unix()`, so it is only skipped.
    fn fraction(&mut self) {
        if let [b'.' | b',', d, ..] = self.rest
            && d.is_ascii_digit()
        {
            let digits = self.rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            self.rest = &self.rest[1 + digits..];
        }
    }

    /// Layout `Z07:00`: `Z`, or `±hh:mm` with hours up to 24 and minutes up to 60. Returns the
    /// offset east of UTC in seconds.
    fn zone(&mut self) -> Option<i64> {
        if self.literal(b'Z').is_some() {
            return Some(0);
        }
        let sign = match self.rest.first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.rest = &self.rest[1..];
        let hours = self.fixed_digits(2)?;
        self.literal(b':')?;
        let minutes = self.fixed_digits(2)?;
        if hours > 24 || minutes > 60 {
            return None;
        }
        Some(sign * (hours * 3_600 + minutes * 60))
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let cases: &[(&str, i64)] = &[
            ("1970-01-01T00:00:00Z", 0),
            ("2022-06-28T00:00:00Z", 1_656_374_400),
            ("2019-10-22T16:29:31Z", 1_571_761_771),
            ("2019-10-22T16:29:31.999999999Z", 1_571_761_771),
            ("2019-10-22T16:29:31,5Z", 1_571_761_771),
            ("2019-10-22T18:29:31+02:00", 1_571_761_771),
            ("2019-10-22T14:29:31-02:00", 1_571_761_771),
            ("2019-10-22T6:29:31Z", 1_571_725_771),
            ("2024-02-29T00:00:00Z", 1_709_164_800),
            ("1969-12-31T23:59:59Z", -1),
            ("0000-01-01T00:00:00Z", -62_167_219_200),
            ("2000-01-01T00:00:00+24:00", 946_598_400),
        ];
        for &(s, want) in cases {
            assert_eq!(rfc3339_unix(s), Some(want), "{s}");
        }
    }

    #[test]
    fn rejected_forms() {
        for s in [
            "2019-10-22",
            "2019-10-22 16:29:31Z",
            "2019-10-22t16:29:31Z",
            "2019-10-22T16:29:31z",
            "2019-10-22T16:29:31",
            "2019-10-22T16:29:31+0200",
            "2019-10-22T24:00:00Z",
            "2019-10-22T16:60:00Z",
            "2019-10-22T16:29:60Z",
            "2023-02-29T00:00:00Z",
            "2019-13-01T00:00:00Z",
            "2019-00-01T00:00:00Z",
            "2019-1-01T00:00:00Z",
            "19-10-22T16:29:31Z",
            "2019-10-22T16:29:31Z ",
            "2019-10-22T16:29:31.Z",
            "2019-10-22T16:29:31+25:00",
        ] {
            assert_eq!(rfc3339_unix(s), None, "{s}");
        }
    }
}
