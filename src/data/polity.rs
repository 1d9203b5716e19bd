//! Polities of an atlas: lifespans and names that change over time (`atlas.json` `polities`).
//!
//! ```json
//! "polities": [
//!   {"id": "russia", "names": [
//!     {"to": 1720, "name": "Tsardom of Russia", "name_i18n": {"ru": "Русское царство"}},
//!     {"from": 1721, "name": "Russian Empire", "name_i18n": {"ru": "Российская империя"}}]},
//!   {"id": "dzungar", "from": 1635, "to": 1756, "names": [{"name": "Dzungar Khanate"}]},
//!   {"id": "kazakh_senior", "part_of": "kazakh", "names": [{"name": "Senior Jüz"}]}
//! ]
//! ```
//!
//! Years are whole years, both ends inclusive; a missing end is unbounded. A polity that
//! `atlas.json` does not describe has no known lifespan: it is taken as alive in every year.

use crate::error::Problem;
use crate::time::Year;
use serde::Deserialize;
use std::collections::HashSet;

/// A polity: when it existed, what it was called when, and what it was part of.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Polity {
    /// The polity id used in `control`, `victor`, `side` (e.g. `russia`).
    pub id: String,
    /// First year it existed (inclusive); missing = before the atlas begins.
    #[serde(default)]
    pub from: Option<i32>,
    /// Last year it existed (inclusive); missing = after the atlas ends.
    #[serde(default)]
    pub to: Option<i32>,
    /// The polity this one is a part of (a jüz is part of `kazakh`, the khanate as a whole):
    /// land held by the part counts as land of the whole and the other way round.
    #[serde(default)]
    pub part_of: Option<String>,
    /// Names over time, in order; each covers the years `from`–`to` within the lifespan.
    #[serde(default)]
    pub names: Vec<DatedName>,
    /// Free-text note (e.g. why the end year was chosen).
    #[serde(default)]
    pub note: Option<String>,
    /// Citation.
    #[serde(default)]
    pub source: Option<String>,
}

/// One name of a polity and the years it was used.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatedName {
    /// First year of the name (inclusive); missing = from the polity's beginning.
    #[serde(default)]
    pub from: Option<i32>,
    /// Last year of the name (inclusive); missing = to the polity's end.
    #[serde(default)]
    pub to: Option<i32>,
    /// English name.
    pub name: String,
    /// Names in other languages, keyed by language code (`kk`, `ru`), in order of code.
    #[serde(default)]
    pub name_i18n: std::collections::BTreeMap<String, String>,
}

fn covers(from: Option<i32>, to: Option<i32>, y: i32) -> bool {
    from.is_none_or(|f| f <= y) && to.is_none_or(|t| y <= t)
}

/// `1635–1756`, `…–1720`, `1721–…`.
pub(crate) fn fmt_span(from: Option<i32>, to: Option<i32>) -> String {
    let f = |y: Option<i32>| y.map(|y| y.to_string()).unwrap_or_else(|| "…".into());
    format!("{}–{}", f(from), f(to))
}

impl DatedName {
    /// Is the name in force in year `y`?
    pub fn covers(&self, y: Year) -> bool {
        covers(self.from, self.to, y.0)
    }
}

impl Polity {
    /// Did the polity exist in year `y`?
    pub fn alive(&self, y: Year) -> bool {
        covers(self.from, self.to, y.0)
    }

    /// The lifespan as text, `1635–1756` (`…` for an open end).
    pub fn lifespan(&self) -> String {
        fmt_span(self.from, self.to)
    }

    /// The name in force in year `y`, in `lang` with fallback to English; `None` if no
    /// name covers `y` (before or after the polity, or a gap in its names).
    pub fn name(&self, y: Year, lang: &str) -> Option<&str> {
        if !self.alive(y) {
            return None;
        }
        let n = self.names.iter().find(|n| n.covers(y))?;
        Some(n.name_i18n.get(lang).map(String::as_str).unwrap_or(&n.name))
    }
}

/// Check the `polities` of `atlas.json`: unique ids, lifespans and name spans in order,
/// names within the lifespan and not overlapping, `part_of` naming a known polity.
pub(crate) fn check(polities: &[Polity], problems: &mut Vec<Problem>) {
    let file = "atlas.json";
    let mut seen = HashSet::new();
    let ids: HashSet<&str> = polities.iter().map(|p| p.id.as_str()).collect();
    for p in polities {
        let id = Some(p.id.as_str());
        if p.id.trim().is_empty() {
            problems.push(Problem::error(file, None, "a polity has an empty `id`"));
            continue;
        }
        if !seen.insert(p.id.as_str()) {
            problems.push(Problem::error(file, id, "polity described twice"));
        }
        if let (Some(a), Some(b)) = (p.from, p.to) {
            if b < a {
                problems.push(Problem::error(file, id, format!("lifespan ends ({b}) before it begins ({a})")));
            }
        }
        if let Some(whole) = &p.part_of {
            if whole == &p.id {
                problems.push(Problem::error(file, id, "polity is `part_of` itself"));
            } else if !ids.contains(whole.as_str()) {
                problems.push(Problem::error(file, id, format!("`part_of` names {whole:?}, which is not described")));
            }
        }
        for (i, n) in p.names.iter().enumerate() {
            if n.name.trim().is_empty() {
                problems.push(Problem::error(file, id, format!("names[{i}] is empty")));
            }
            if let (Some(a), Some(b)) = (n.from, n.to) {
                if b < a {
                    problems.push(Problem::error(
                        file,
                        id,
                        format!("name {:?} ends ({b}) before it begins ({a})", n.name),
                    ));
                }
            }
            let lo = n.from.or(p.from).unwrap_or(i32::MIN);
            let hi = n.to.or(p.to).unwrap_or(i32::MAX);
            if p.from.is_some_and(|f| lo < f) || p.to.is_some_and(|t| hi > t) {
                problems.push(Problem::warning(
                    file,
                    id,
                    format!(
                        "name {:?} ({}) reaches outside the polity's lifespan {}",
                        n.name,
                        fmt_span(n.from, n.to),
                        p.lifespan()
                    ),
                ));
            }
            for m in &p.names[i + 1..] {
                let (mlo, mhi) = (m.from.unwrap_or(i32::MIN), m.to.unwrap_or(i32::MAX));
                if n.from.unwrap_or(i32::MIN).max(mlo) <= n.to.unwrap_or(i32::MAX).min(mhi) {
                    problems.push(Problem::warning(
                        file,
                        id,
                        format!(
                            "names {:?} ({}) and {:?} ({}) overlap",
                            n.name,
                            fmt_span(n.from, n.to),
                            m.name,
                            fmt_span(m.from, m.to)
                        ),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn russia() -> Polity {
        serde_json::from_str(
            r#"{"id": "russia", "names": [
                {"to": 1720, "name": "Tsardom of Russia", "name_i18n": {"ru": "Русское царство"}},
                {"from": 1721, "name": "Russian Empire"}]}"#,
        )
        .expect("valid polity")
    }

    #[test]
    fn names_change_in_their_year_and_fall_back_to_english() {
        let r = russia();
        assert_eq!(r.name(Year(1720), "en"), Some("Tsardom of Russia"));
        assert_eq!(r.name(Year(1720), "ru"), Some("Русское царство"));
        assert_eq!(r.name(Year(1721), "ru"), Some("Russian Empire"));
        assert!(r.alive(Year(1500)) && r.alive(Year(2000)));
    }

    #[test]
    fn lifespans_are_inclusive() {
        let d: Polity = serde_json::from_str(
            r#"{"id": "dzungar", "from": 1635, "to": 1756, "names": [{"name": "Dzungar Khanate"}]}"#,
        )
        .expect("valid polity");
        assert!(!d.alive(Year(1634)) && d.alive(Year(1635)) && d.alive(Year(1756)) && !d.alive(Year(1757)));
        assert_eq!(d.name(Year(1757), "en"), None);
        assert_eq!(d.name(Year(1700), "kk"), Some("Dzungar Khanate"));
    }

    #[test]
    fn overlapping_names_and_reversed_spans_are_reported() {
        let mut problems = Vec::new();
        let bad: Vec<Polity> = serde_json::from_str(
            r#"[{"id": "a", "from": 1700, "to": 1650, "names": [{"name": "A"}]},
                {"id": "b", "part_of": "nowhere", "names": [{"to": 1721, "name": "B1"}, {"from": 1721, "name": "B2"}]},
                {"id": "c", "from": 1700, "names": [{"from": 1690, "name": "C"}]}]"#,
        )
        .expect("valid json");
        check(&bad, &mut problems);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|t| t.starts_with("atlas.json:a: lifespan ends (1650)")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("atlas.json:b: `part_of` names \"nowhere\"")), "{text:?}");
        assert!(
            text.iter().any(|t| t.contains("atlas.json:b: warning: names \"B1\" (…–1721) and \"B2\" (1721–…) overlap")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("atlas.json:c: warning: name \"C\" (1690–…) reaches outside")),
            "{text:?}"
        );
        let mut ok = Vec::new();
        check(&[russia()], &mut ok);
        assert!(ok.is_empty(), "{ok:?}");
    }
}
