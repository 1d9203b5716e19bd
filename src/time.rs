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
    /// A date of year precision.
    pub fn year(year: i32) -> Date {
        Date { year, month: 1, day: 1, precision: Precision::Year }
    }

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
        // ISO 8601 writes a year of more than four digits only with its sign (expanded).
        if parts[0].len() > 4 && body.len() == t.len() {
            return Err(format!(
                "date {s:?} has a year of more than four digits (an expanded year takes a sign: +{s})"
            ));
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

/// Why a date string could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateError {
    /// A form we read, with an impossible value (`"1723-13"`, `"1723-02-30"`): an error.
    Malformed(String),
    /// A form we do not read (`"spring 1730"`, `"Qing period"`): a warning; the date is
    /// treated as missing.
    Unrecognised(String),
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateError::Malformed(m) | DateError::Unrecognised(m) => f.write_str(m),
        }
    }
}

/// How sure the sources are about a date (EDTF's qualifiers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Qualifier {
    /// `~1500`, `1500~`, `c. 1500`, a decade such as `1720s`: roughly then.
    pub approximate: bool,
    /// `1729?`, `[1718..1720]`: possibly then.
    pub uncertain: bool,
}

impl Qualifier {
    fn or(self, o: Qualifier) -> Qualifier {
        Qualifier { approximate: self.approximate || o.approximate, uncertain: self.uncertain || o.uncertain }
    }
}

/// A date as historians write it: the earliest and latest date it may stand for (either
/// open), with its qualifiers.
///
/// Read forms: ISO `1723`, `1723-05`, `1723-05-01` (an ISO time after `T` is ignored),
/// `-0044`; approximate `~1500`, `1500~`, `c. 1500`, `ca. 1500`, `circa 1500`;
/// uncertain `1729?`; both `1729%` or `~1729?`; decades and centuries `1720s`, `1700s`;
/// EDTF unspecified digits `172X`, `17XX`; EDTF intervals `1718/1720`, `1718/..`,
/// `../1720`, `1718..1720`, `..1720`; EDTF sets `[1718..1720]`, `[1718,1720]` (one of:
/// uncertain) and `{1718..1720}`; `..` alone is open at both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateValue {
    /// The earliest date meant (`None`: open).
    pub earliest: Option<Date>,
    /// The latest date meant (`None`: open).
    pub latest: Option<Date>,
    /// Approximate / uncertain.
    pub qualifier: Qualifier,
    /// Written as a decade (`1720s`) or century (`1700s`).
    decade: bool,
}

impl DateValue {
    /// Read a date string; `Ok(None)` for an empty one (CSV and Shapefile exports).
    ///
    /// ```
    /// use steppe_atlas::time::DateValue;
    /// let d = DateValue::parse("1729?").unwrap().unwrap();
    /// assert!(d.qualifier.uncertain && d.label() == "1729?");
    /// assert_eq!(DateValue::parse("1720s").unwrap().unwrap().latest.unwrap().year, 1729);
    /// assert!(DateValue::parse("  ").unwrap().is_none());
    /// ```
    pub fn parse(s: &str) -> Result<Option<DateValue>, DateError> {
        let t = s.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let unrecognised = || {
            DateError::Unrecognised(format!(
                "date {s:?} is in a form steppe-atlas does not read (YYYY, YYYY-MM, YYYY-MM-DD, ~YYYY, YYYY?, \
                 YYYYs, A/B, [A..B]); it is ignored"
            ))
        };
        // EDTF sets: one of `[…]` (uncertain) or all of `{…}`.
        if let Some(inner) = t
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .or_else(|| t.strip_prefix('{').and_then(|r| r.strip_suffix('}')))
        {
            let one_of = t.starts_with('[');
            let items: Vec<&str> = if inner.contains(',') { inner.split(',').collect() } else { vec![inner] };
            let mut out: Option<DateValue> = None;
            for item in items {
                let v = DateValue::parse_range(item.trim(), s).map_err(|e| match e {
                    DateError::Unrecognised(_) => unrecognised(),
                    m => m,
                })?;
                out = Some(match out {
                    None => v,
                    Some(o) => DateValue {
                        earliest: o.earliest.filter(|_| v.earliest.is_some()).map(|a| min_date(a, v.earliest)),
                        latest: o.latest.filter(|_| v.latest.is_some()).map(|b| max_date(b, v.latest)),
                        qualifier: o.qualifier.or(v.qualifier),
                        decade: false,
                    },
                });
            }
            let mut v = out.ok_or_else(unrecognised)?;
            if one_of && v.earliest != v.latest {
                v.qualifier.uncertain = true;
            }
            return Ok(Some(v));
        }
        DateValue::parse_range(t, s).map(Some).map_err(|e| match e {
            DateError::Unrecognised(_) => unrecognised(),
            m => m,
        })
    }

    /// An interval `A/B`, `A..B` (either end open) or a single date.
    fn parse_range(t: &str, whole: &str) -> Result<DateValue, DateError> {
        let split = t.split_once('/').or_else(|| t.split_once(".."));
        let Some((a, b)) = split else { return DateValue::parse_one(t, whole) };
        let side = |x: &str| -> Result<Option<DateValue>, DateError> {
            let x = x.trim();
            if x.is_empty() || x == ".." {
                Ok(None)
            } else {
                DateValue::parse_one(x, whole).map(Some)
            }
        };
        let (a, b) = (side(a)?, side(b)?);
        let qualifier = a.map(|v| v.qualifier).unwrap_or_default().or(b.map(|v| v.qualifier).unwrap_or_default());
        let v = DateValue {
            earliest: a.and_then(|v| v.earliest),
            latest: b.and_then(|v| v.latest),
            qualifier,
            decade: false,
        };
        if let (Some(x), Some(y)) = (v.earliest, v.latest) {
            if y.last_day() < x.first_day() {
                return Err(DateError::Malformed(format!("interval {whole:?} ends before it starts")));
            }
        }
        Ok(v)
    }

    /// One date with its qualifiers.
    fn parse_one(t: &str, whole: &str) -> Result<DateValue, DateError> {
        let mut q = Qualifier::default();
        let mut body = t.trim();
        for prefix in ["circa ", "circa", "ca. ", "ca.", "c. ", "c.", "about "] {
            if let Some(rest) = body.strip_prefix(prefix) {
                q.approximate = true;
                body = rest.trim_start();
                break;
            }
        }
        if let Some(rest) = body.strip_prefix('~') {
            q.approximate = true;
            body = rest;
        }
        loop {
            if let Some(rest) = body.strip_suffix('?') {
                q.uncertain = true;
                body = rest;
            } else if let Some(rest) = body.strip_suffix('~') {
                q.approximate = true;
                body = rest;
            } else if let Some(rest) = body.strip_suffix('%') {
                q.approximate = true;
                q.uncertain = true;
                body = rest;
            } else {
                break;
            }
        }
        let body = body.trim();
        // An ISO time of day does not change the day.
        let body = body.split_once('T').map_or(body, |(d, _)| d);
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let neg = body.starts_with('-');
        let mag = body.trim_start_matches(['-', '+']);
        // Decades and centuries: `1720s`, `1700s`.
        if let Some(n) = mag.strip_suffix('s').filter(|n| digits(n) && n.ends_with('0') && n.len() <= 6) {
            let y: i32 = n.parse().map_err(|_| DateError::Unrecognised(String::new()))?;
            let width = if n.ends_with("00") { 99 } else { 9 };
            let (lo, hi) = if neg { (-y - width, -y) } else { (y, y + width) };
            return Ok(DateValue {
                earliest: Some(Date::year(lo)),
                latest: Some(Date::year(hi)),
                qualifier: Qualifier { approximate: true, ..q },
                decade: true,
            });
        }
        // EDTF unspecified digits: `172X`, `17XX`.
        if mag.len() == 4 && mag.contains(['X', 'x']) && digits(mag.trim_end_matches(['X', 'x'])) {
            let lo: i32 = mag.replace(['X', 'x'], "0").parse().map_err(|_| DateError::Unrecognised(String::new()))?;
            let hi: i32 = mag.replace(['X', 'x'], "9").parse().map_err(|_| DateError::Unrecognised(String::new()))?;
            let (lo, hi) = if neg { (-hi, -lo) } else { (lo, hi) };
            return Ok(DateValue {
                earliest: Some(Date::year(lo)),
                latest: Some(Date::year(hi)),
                qualifier: Qualifier { approximate: true, ..q },
                decade: false,
            });
        }
        // ISO: anything of digits and dashes is ours to read or to refuse as malformed.
        if mag.split('-').all(digits) {
            let d = Date::parse(body).map_err(DateError::Malformed)?;
            return Ok(DateValue { earliest: Some(d), latest: Some(d), qualifier: q, decade: false });
        }
        Err(DateError::Unrecognised(format!("{whole:?}")))
    }

    /// A plain year (an integer year in a file).
    pub fn year(year: i32) -> DateValue {
        let d = Date::year(year);
        DateValue { earliest: Some(d), latest: Some(d), qualifier: Qualifier::default(), decade: false }
    }

    /// A short label for maps and legends: `1723`, `1729?`, `c. 1500`, `1720s`, `1718–1720`.
    pub fn label(&self) -> String {
        let year = |d: Option<Date>| d.map(|d| d.year.to_string()).unwrap_or_else(|| "…".into());
        let mut out = if self.decade {
            format!("{}s", year(self.earliest))
        } else if self.earliest.map(|d| d.year) == self.latest.map(|d| d.year) && self.earliest.is_some() {
            year(self.earliest)
        } else {
            format!("{}–{}", year(self.earliest), year(self.latest))
        };
        if self.qualifier.approximate && !self.decade {
            out = format!("c. {out}");
        }
        if self.qualifier.uncertain {
            out.push('?');
        }
        out
    }
}

fn min_date(a: Date, b: Option<Date>) -> Date {
    match b {
        Some(b) if b.first_day() < a.first_day() => b,
        _ => a,
    }
}

fn max_date(a: Date, b: Option<Date>) -> Date {
    match b {
        Some(b) if b.last_day() > a.last_day() => b,
        _ => a,
    }
}

/// How to read `end_date`.
///
/// `Inclusive` and `Ohm` agree on year- and month-precision end dates (`"1723"` covers
/// the whole of 1723, as OpenHistoricalMap shows it); they differ at day precision,
/// where OpenHistoricalMap's `end_date` is the first day the feature no longer exists.
/// `Auto` (the command line's default) reads a dataset with OpenHistoricalMap tags
/// (`boundary`, `admin_level`, `place`, `wikidata`, `*:edtf`) as `Ohm`, any other as
/// `Inclusive`. In every mode a feature whose end equals its start covers that period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndDates {
    /// `end_date: "1697"` lasts through 31 Dec 1697 (the steppe-atlas convention).
    #[default]
    Inclusive,
    /// Every `end_date` is the first moment the feature is gone: `"1697"` ends on
    /// 31 Dec 1696, `"1697-05-01"` on 30 April 1697.
    Exclusive,
    /// OpenHistoricalMap's rule: a day-precision `end_date` is exclusive, a year or month
    /// covers its whole period.
    Ohm,
    /// `Ohm` for data with OpenHistoricalMap tags, else `Inclusive` (resolved when loading).
    Auto,
}

/// An inclusive interval of days; a missing end is unbounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// First day, or unbounded in the past.
    pub start: Option<Day>,
    /// Last day, or unbounded in the future.
    pub end: Option<Day>,
    /// Whether either end was written as approximate or uncertain.
    pub qualifier: Qualifier,
}

impl Span {
    /// A span with no bounds: alive in every year.
    pub const ALWAYS: Span =
        Span { start: None, end: None, qualifier: Qualifier { approximate: false, uncertain: false } };

    /// Build a span from optional start and end strings, checking that end is not before
    /// start. Empty strings are missing ends.
    pub fn parse(start: Option<&str>, end: Option<&str>, mode: EndDates) -> Result<Span, String> {
        let read =
            |s: Option<&str>| s.map(DateValue::parse).transpose().map(Option::flatten).map_err(|e| e.to_string());
        Span::from_values(read(start)?.as_ref(), read(end)?.as_ref(), mode)
    }

    /// Build a span from read dates: from the earliest day of `start` to the end of `end`
    /// as `mode` reads it. An end that would fall before a start lying inside the end's
    /// own period (start equal to end) covers that period.
    pub fn from_values(start: Option<&DateValue>, end: Option<&DateValue>, mode: EndDates) -> Result<Span, String> {
        let first = start.and_then(|d| d.earliest).map(|d| d.first_day());
        let last = end.and_then(|d| d.latest).map(|d| {
            let exclusive = match mode {
                EndDates::Inclusive | EndDates::Auto => false,
                EndDates::Exclusive => true,
                EndDates::Ohm => d.precision == Precision::Day,
            };
            let covered = d.last_day();
            if !exclusive {
                return covered;
            }
            let before = Day(d.first_day().0 - 1);
            match first {
                // Start equal to (or within) the end's period: the feature lives through it.
                Some(f) if before < f && covered >= f => covered,
                _ => before,
            }
        });
        let qualifier = start.map(|d| d.qualifier).unwrap_or_default().or(end.map(|d| d.qualifier).unwrap_or_default());
        let span = Span { start: first, end: last, qualifier };
        if let (Some(a), Some(b)) = (span.start, span.end) {
            if b < a {
                let label = |d: Option<&DateValue>| d.map(DateValue::label).unwrap_or_default();
                return Err(format!("end date {} is before start date {}", label(end), label(start)));
            }
        }
        Ok(span)
    }

    /// The span a single `date` stands for (a point event, or `1718/1720`), inclusive.
    pub fn of_date(d: &DateValue) -> Span {
        Span { start: d.earliest.map(|x| x.first_day()), end: d.latest.map(|x| x.last_day()), qualifier: d.qualifier }
    }

    /// Was either end written as approximate (`~1500`, `c. 1500`, `1720s`)?
    pub fn approximate(&self) -> bool {
        self.qualifier.approximate
    }

    /// Was either end written as uncertain (`1729?`, `[1718..1720]`)?
    pub fn uncertain(&self) -> bool {
        self.qualifier.uncertain
    }

    /// Does this span share at least one day with year `y`?
    pub fn overlaps_year(&self, y: Year) -> bool {
        let (a, b) = y.days();
        self.overlaps(&Span { start: Some(a), end: Some(b), ..Span::ALWAYS })
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

    fn value(s: &str) -> DateValue {
        DateValue::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}")).unwrap_or_else(|| panic!("{s:?} is empty"))
    }

    fn years(v: &DateValue) -> (Option<i32>, Option<i32>) {
        (v.earliest.map(|d| d.year), v.latest.map(|d| d.year))
    }

    #[test]
    fn approximate_forms_keep_their_uncertainty() {
        for s in ["~1500", "1500~", "c. 1500", "ca. 1500", "circa 1500"] {
            let v = value(s);
            assert_eq!(years(&v), (Some(1500), Some(1500)), "{s}");
            assert!(v.qualifier.approximate && !v.qualifier.uncertain, "{s}");
            assert_eq!(v.label(), "c. 1500", "{s}");
        }
        let q = value("1729?");
        assert!(q.qualifier.uncertain && !q.qualifier.approximate);
        assert_eq!(q.label(), "1729?");
        let both = value("1729%");
        assert!(both.qualifier.uncertain && both.qualifier.approximate);
        let month = value("1723-05?");
        assert_eq!(month.earliest.map(|d| (d.month, d.precision)), Some((5, Precision::Month)));
        // The span keeps the qualifier, so a style can mark it.
        let s = Span::parse(Some("~1500"), Some("1729?"), EndDates::Inclusive).unwrap();
        assert!(s.approximate() && s.uncertain());
        assert!(s.overlaps_year(Year(1500)) && s.overlaps_year(Year(1729)) && !s.overlaps_year(Year(1730)));
        assert!(!span(Some("1500"), Some("1729")).approximate());
    }

    #[test]
    fn decades_centuries_and_unspecified_digits() {
        let d = value("1720s");
        assert_eq!(years(&d), (Some(1720), Some(1729)));
        assert!(d.qualifier.approximate);
        assert_eq!(d.label(), "1720s");
        assert_eq!(years(&value("1700s")), (Some(1700), Some(1799)));
        assert_eq!(years(&value("172X")), (Some(1720), Some(1729)));
        assert_eq!(years(&value("17XX")), (Some(1700), Some(1799)));
        // As a start, a decade starts at its first year; as an end it lasts through its last.
        let s = Span::parse(Some("1720s"), Some("1730s"), EndDates::Inclusive).unwrap();
        assert!(!s.overlaps_year(Year(1719)) && s.overlaps_year(Year(1720)));
        assert!(s.overlaps_year(Year(1739)) && !s.overlaps_year(Year(1740)));
    }

    #[test]
    fn edtf_intervals_sets_and_open_ends() {
        let set = value("[1718..1720]");
        assert_eq!(years(&set), (Some(1718), Some(1720)));
        assert!(set.qualifier.uncertain, "one of a set is uncertain");
        assert_eq!(set.label(), "1718–1720?");
        assert_eq!(years(&value("[1718, 1720]")), (Some(1718), Some(1720)));
        let all = value("{1718..1720}");
        assert!(!all.qualifier.uncertain);
        let iv = value("1718/1720");
        assert_eq!(years(&iv), (Some(1718), Some(1720)));
        assert_eq!(iv.label(), "1718–1720");
        assert_eq!(years(&value("1718/..")), (Some(1718), None));
        assert_eq!(years(&value("../1720")), (None, Some(1720)));
        assert_eq!(years(&value("..1720")), (None, Some(1720)));
        assert_eq!(years(&value("1718..")), (Some(1718), None));
        assert_eq!(years(&value("..")), (None, None));
        assert_eq!(years(&value("~1718/1720?")), (Some(1718), Some(1720)));
        // A `date` that is an interval covers it whole.
        let s = Span::of_date(&value("1718/1720"));
        assert!(s.overlaps_year(Year(1718)) && s.overlaps_year(Year(1720)) && !s.overlaps_year(Year(1721)));
        // An open end is unbounded.
        let open = Span::parse(Some(".."), Some("1720"), EndDates::Inclusive).unwrap();
        assert!(open.overlaps_year(Year(1000)) && !open.overlaps_year(Year(1721)));
        assert!(matches!(DateValue::parse("1720/1718"), Err(DateError::Malformed(_))));
    }

    #[test]
    fn empty_is_missing_and_unknown_forms_are_told_apart_from_malformed_ones() {
        assert_eq!(DateValue::parse(""), Ok(None));
        assert_eq!(DateValue::parse("   "), Ok(None));
        assert_eq!(Span::parse(Some(""), Some(""), EndDates::Inclusive).unwrap(), Span::ALWAYS);
        for s in ["spring 1730", "Qing period", "17x3", "abc"] {
            assert!(matches!(DateValue::parse(s), Err(DateError::Unrecognised(_))), "{s}");
        }
        for s in ["1723-13", "1723-02-30", "1723-5"] {
            assert!(matches!(DateValue::parse(s), Err(DateError::Malformed(_))), "{s}");
        }
        assert_eq!(years(&value("1723-05-01T12:00:00Z")), (Some(1723), Some(1723)));
    }

    #[test]
    fn ohm_end_dates() {
        let ohm = |a, b| Span::parse(Some(a), Some(b), EndDates::Ohm).unwrap();
        // Year precision covers the year (OpenHistoricalMap shows it through 31 Dec).
        let y = ohm("1700", "1723");
        assert!(y.overlaps_year(Year(1723)) && !y.overlaps_year(Year(1724)));
        // Day precision is exclusive: gone on that day.
        let d = ohm("1700", "1723-01-01");
        assert!(d.overlaps_year(Year(1722)) && !d.overlaps_year(Year(1723)));
        assert_eq!(d.end, Some(Day::from_ymd(1722, 12, 31)));
        // Exclusive reads every precision so.
        let x = Span::parse(Some("1700"), Some("1723"), EndDates::Exclusive).unwrap();
        assert!(!x.overlaps_year(Year(1723)));
    }

    #[test]
    fn start_equal_to_end_covers_that_period() {
        for mode in [EndDates::Inclusive, EndDates::Exclusive, EndDates::Ohm] {
            let y = Span::parse(Some("1723"), Some("1723"), mode).unwrap();
            assert_eq!(
                (y.start, y.end),
                (Some(Day::from_ymd(1723, 1, 1)), Some(Day::from_ymd(1723, 12, 31))),
                "{mode:?}"
            );
            let d = Span::parse(Some("1741-01-08"), Some("1741-01-08"), mode).unwrap();
            assert_eq!(d.start, d.end, "{mode:?}");
            // A start inside the end's year also lives through that year.
            let m = Span::parse(Some("1723-05"), Some("1723"), mode).unwrap();
            assert_eq!(m.end, Some(Day::from_ymd(1723, 12, 31)), "{mode:?}");
            assert!(Span::parse(Some("1724"), Some("1723"), mode).is_err(), "{mode:?}");
        }
    }

    #[test]
    fn year_ranges() {
        assert_eq!(parse_year_range("1635..1741").unwrap(), (1635, 1741));
        assert_eq!(parse_year_range("1700").unwrap(), (1700, 1700));
        assert!(parse_year_range("1741..1635").is_err());
        assert!(parse_year_range("a..b").is_err());
    }
}
