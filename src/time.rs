//! Dates, spans and years: "is this feature alive in year Y", and who holds a place then.
//!
//! Dates are ISO 8601 strings at year, month or day precision (`"1723"`,
//! `"1723-05"`, `"1723-05-01"`), with negative years for BCE (astronomical
//! numbering: `"-0044"` is 45 BC). A date stands for the whole interval of its
//! precision, so an interval's ends are inclusive: `end_date: "1697"` lasts
//! through 31 December 1697.

use std::fmt;

/// A calendar year (astronomical numbering: 0 is 1 BC, -1 is 2 BC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Year(pub i32);

impl Year {
    /// The days this year covers, as an inclusive day interval.
    pub fn days(self) -> (Day, Day) {
        (Day::from_ymd(self.0, 1, 1), Day::from_ymd(self.0, 12, 31))
    }
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A day number (days since 0000-03-01 in the proleptic Gregorian calendar); only order matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// The day number of a calendar date (month 1–12, day 1–31).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Day {
        // Days-from-civil (H. Hinnant), valid for negative years too.
        let y = i64::from(year) - i64::from(month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Day(era * 146_097 + doe)
    }
}

/// How precisely a date was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// `"1723"`
    Year,
    /// `"1723-05"`
    Month,
    /// `"1723-05-01"`
    Day,
}

/// A parsed ISO date with its precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// Astronomical year.
    pub year: i32,
    /// Month 1–12 (1 when only the year is known).
    pub month: u32,
    /// Day of month (1 when not known).
    pub day: u32,
    /// What the source string gave.
    pub precision: Precision,
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap {
                29
            } else {
                28
            }
        }
    }
}

impl Date {
    /// Parse `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, with an optional leading `-` for BCE.
    pub fn parse(s: &str) -> Result<Date, String> {
        let t = s.trim();
        let (neg, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let bad = || format!("unparsable date {s:?} (expected YYYY, YYYY-MM or YYYY-MM-DD)");
        let parts: Vec<&str> = body.split('-').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(bad());
        }
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !parts.iter().all(|p| digits(p)) || parts[0].len() > 6 {
            return Err(bad());
        }
        let mut year: i32 = parts[0].parse().map_err(|_| bad())?;
        if neg {
            year = -year;
        }
        let (month, precision) = match parts.get(1) {
            Some(m) if m.len() == 2 => (m.parse::<u32>().map_err(|_| bad())?, Precision::Month),
            Some(_) => return Err(bad()),
            None => (1, Precision::Year),
        };
        if !(1..=12).contains(&month) {
            return Err(format!("date {s:?} has month {month}, outside 1–12"));
        }
        let (day, precision) = match parts.get(2) {
            Some(d) if d.len() == 2 => (d.parse::<u32>().map_err(|_| bad())?, Precision::Day),
            Some(_) => return Err(bad()),
            None => (1, precision),
        };
        if day < 1 || day > days_in_month(year, month) {
            return Err(format!("date {s:?} has no day {day} in that month"));
        }
        Ok(Date { year, month, day, precision })
    }

    /// The first day this date covers.
    pub fn first_day(&self) -> Day {
        Day::from_ymd(self.year, self.month, self.day)
    }

    /// The last day this date covers (end of its year or month at lower precision).
    pub fn last_day(&self) -> Day {
        match self.precision {
            Precision::Year => Day::from_ymd(self.year, 12, 31),
            Precision::Month => Day::from_ymd(self.year, self.month, days_in_month(self.year, self.month)),
            Precision::Day => self.first_day(),
        }
    }
}

/// How to read `end_date`: ours are inclusive; OpenHistoricalMap's are exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndDates {
    /// `end_date: "1697"` lasts through 31 Dec 1697 (the steppe-atlas convention).
    #[default]
    Inclusive,
    /// `end_date: "1697"` ends on 31 Dec 1696 (OpenHistoricalMap).
    Exclusive,
}

/// An inclusive interval of days; a missing end is unbounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// First day, or unbounded in the past.
    pub start: Option<Day>,
    /// Last day, or unbounded in the future.
    pub end: Option<Day>,
}

impl Span {
    /// A span with no bounds: alive in every year.
    pub const ALWAYS: Span = Span { start: None, end: None };

    /// Build a span from optional start and end strings, checking that end is not before start.
    pub fn parse(start: Option<&str>, end: Option<&str>, mode: EndDates) -> Result<Span, String> {
        let s = start.map(Date::parse).transpose()?;
        let e = end.map(Date::parse).transpose()?;
        let end_day = e.map(|d| match mode {
            EndDates::Inclusive => d.last_day(),
            EndDates::Exclusive => Day(d.first_day().0 - 1),
        });
        let span = Span { start: s.map(|d| d.first_day()), end: end_day };
        if let (Some(a), Some(b)) = (span.start, span.end) {
            if b < a {
                return Err(format!(
                    "end date {} is before start date {}",
                    end.unwrap_or_default(),
                    start.unwrap_or_default()
                ));
            }
        }
        Ok(span)
    }

    /// Does this span share at least one day with year `y`?
    pub fn overlaps_year(&self, y: Year) -> bool {
        let (a, b) = y.days();
        self.overlaps(&Span { start: Some(a), end: Some(b) })
    }

    /// Do two spans share at least one day?
    pub fn overlaps(&self, other: &Span) -> bool {
        let starts_before_other_ends = match (self.start, other.end) {
            (Some(s), Some(e)) => s <= e,
            _ => true,
        };
        let ends_after_other_starts = match (self.end, other.start) {
            (Some(e), Some(s)) => e >= s,
            _ => true,
        };
        starts_before_other_ends && ends_after_other_starts
    }

    /// The first year of the span, if bounded.
    pub fn start_year(&self) -> Option<i32> {
        self.start.map(day_year)
    }

    /// The last year of the span, if bounded.
    pub fn end_year(&self) -> Option<i32> {
        self.end.map(day_year)
    }
}

/// The calendar year a day falls in.
pub fn day_year(d: Day) -> i32 {
    // Inverse of from_ymd's era arithmetic, year part only.
    let z = d.0;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    y as i32
}

/// Pick the entry in force in year `y` among dated entries: the one overlapping `y` with the
/// latest start (a city taken in 1724 shows its new holder on the map of 1724).
///
/// ```
/// use steppe_atlas::time::{in_force, EndDates, Span, Year};
/// let turkistan = [("1635", Some("1723"), "kazakh"), ("1723", None, "dzungar")];
/// let span = |e: &(&str, Option<&str>, &str)| Span::parse(Some(e.0), e.1, EndDates::Inclusive).unwrap();
/// assert_eq!(in_force(&turkistan, Year(1722), span).map(|e| e.2), Some("kazakh"));
/// assert_eq!(in_force(&turkistan, Year(1723), span).map(|e| e.2), Some("dzungar"));
/// ```
pub fn in_force<T>(entries: &[T], y: Year, span: impl Fn(&T) -> Span) -> Option<&T> {
    let mut best: Option<(&T, Option<Day>)> = None;
    for e in entries {
        let s = span(e);
        if !s.overlaps_year(y) {
            continue;
        }
        match best {
            Some((_, b)) if b >= s.start => {}
            _ => best = Some((e, s.start)),
        }
    }
    best.map(|(e, _)| e)
}

/// Parse a year range `A..B` (inclusive) or a single year `A`.
pub fn parse_year_range(s: &str) -> Result<(i32, i32), String> {
    let bad = || format!("bad year range {s:?} (expected A..B or A)");
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?),
        None => {
            let y = s.trim().parse().map_err(|_| bad())?;
            (y, y)
        }
    };
    if b < a {
        return Err(format!("year range {s:?} ends before it starts"));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: Option<&str>, b: Option<&str>) -> Span {
        Span::parse(a, b, EndDates::Inclusive).expect("valid span")
    }

    #[test]
    fn year_end_is_inclusive() {
        let s = span(Some("1684"), Some("1697"));
        assert!(s.overlaps_year(Year(1697)));
        assert!(!s.overlaps_year(Year(1698)));
        assert!(s.overlaps_year(Year(1684)));
        assert!(!s.overlaps_year(Year(1683)));
    }

    #[test]
    fn month_and_day_precision() {
        let s = span(Some("1723-05"), Some("1723-05"));
        assert_eq!(s.end.unwrap().0 - s.start.unwrap().0, 30, "May has 31 days");
        let feb = span(Some("1724-02"), Some("1724-02"));
        assert_eq!(feb.end.unwrap().0 - feb.start.unwrap().0, 28, "1724 is a leap year");
        let d = span(Some("1741-01-08"), Some("1741-01-08"));
        assert_eq!(d.start, d.end);
        assert!(d.overlaps_year(Year(1741)) && !d.overlaps_year(Year(1740)));
        // December 31 belongs to its year, January 1 of the next does not.
        let nye = span(Some("1722-12-31"), Some("1722-12-31"));
        assert!(nye.overlaps_year(Year(1722)) && !nye.overlaps_year(Year(1723)));
    }

    #[test]
    fn missing_ends_are_unbounded() {
        let open_end = span(Some("1716"), None);
        assert!(open_end.overlaps_year(Year(3000)) && !open_end.overlaps_year(Year(1715)));
        let open_start = span(None, Some("1758"));
        assert!(open_start.overlaps_year(Year(-500)) && !open_start.overlaps_year(Year(1759)));
        assert!(Span::ALWAYS.overlaps_year(Year(0)));
    }

    #[test]
    fn bce_years() {
        let d = Date::parse("-0044-03-15").unwrap();
        assert_eq!((d.year, d.month, d.day), (-44, 3, 15));
        let s = span(Some("-0500"), Some("-0044"));
        assert!(s.overlaps_year(Year(-100)));
        assert!(!s.overlaps_year(Year(-43)));
        assert_eq!(day_year(Date::parse("-0044").unwrap().last_day()), -44);
        assert_eq!(day_year(Date::parse("1723-12-31").unwrap().first_day()), 1723);
        assert_eq!(day_year(Date::parse("1723-01-01").unwrap().first_day()), 1723);
    }

    #[test]
    fn bad_dates_are_rejected() {
        for bad in ["", "17x3", "1723-13", "1723-02-30", "1723-5", "1723/05", "abc", "1723-05-01-02"] {
            assert!(Date::parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(Date::parse("1724-02-29").is_ok());
        assert!(Date::parse("1723-02-29").is_err());
        let err = Span::parse(Some("1635"), Some("1620"), EndDates::Inclusive).unwrap_err();
        assert!(err.contains("before"), "{err}");
    }

    #[test]
    fn exclusive_end_dates() {
        let s = Span::parse(Some("1684"), Some("1698"), EndDates::Exclusive).unwrap();
        assert!(s.overlaps_year(Year(1697)) && !s.overlaps_year(Year(1698)));
    }

    #[test]
    fn latest_start_wins() {
        let spans = [(Some("1635"), Some("1724"), "kazakh"), (Some("1724"), None, "dzungar")];
        let pick = |y| in_force(&spans, Year(y), |(a, b, _)| span(*a, *b)).map(|e| e.2);
        assert_eq!(pick(1723), Some("kazakh"));
        assert_eq!(pick(1724), Some("dzungar"));
        assert_eq!(pick(1600), None);
    }

    #[test]
    fn year_ranges() {
        assert_eq!(parse_year_range("1635..1741").unwrap(), (1635, 1741));
        assert_eq!(parse_year_range("1700").unwrap(), (1700, 1700));
        assert!(parse_year_range("1741..1635").is_err());
        assert!(parse_year_range("a..b").is_err());
    }
}
