//! Map furniture: graticule with degree labels, title block (title, year, caption),
//! legend of what the map shows, scale bar (km and versts) true at the map's centre,
//! credit line and neatline.

use super::canvas::{group, Canvas, Ink};
use super::paint::{fill, polyline_path, stroke, stroke_path};
use super::text::TextStyle;
use super::{Frame, Shown};
use crate::data::{CampaignKind, CityKind};
use crate::style::{Pattern, Rgba, SideMark};
use tiny_skia::{FillRule, PathBuilder, Rect};

/// Caption lines an animation frame's fixed title block has room for.
const FIXED_CAPTION_LINES: usize = 3;

/// Words of the furniture in the label languages.
pub(crate) fn tr(lang: &str, en: &'static str) -> &'static str {
    let table: &[(&str, &str, &str)] = &[
        ("Capital", "Астана", "Столица"),
        ("Town", "Қала", "Город"),
        ("Fortress", "Бекініс", "Крепость"),
        ("Site", "Орын", "Урочище"),
        ("Battle (victor's colour)", "Шайқас (жеңімпаз түсі)", "Битва (цвет победителя)"),
        ("Advance", "Жорық", "Наступление"),
        ("Retreat", "Шегіну", "Отступление"),
        ("Raid", "Шабуыл", "Набег"),
        ("Flight of people", "Халық көші", "Бегство населения"),
        ("Approximate border", "Шамамен шекара", "Приблизительная граница"),
        ("Tributary (overlord hatched)", "Бағынышты (билеуші штрихпен)", "Данник (штриховка сюзерена)"),
        ("Occupied", "Басып алынған", "Оккупировано"),
        ("Contested", "Даулы", "Спорная земля"),
        ("Changed hands this year", "Биыл қолдан-қолға өтті", "Сменил владельца в этом году"),
        ("Besieged", "Қоршауда", "В осаде"),
        ("Destroyed", "Қираған", "Разрушен"),
        ("Changed hands since", "Иесі ауысқан, бастап", "Сменили владельца с"),
        ("versts", "шақырым", "вёрст"),
        ("km", "км", "км"),
        ("Route assumed", "Жол болжалды", "Маршрут предположительный"),
        ("Fortified line", "Бекініс шебі", "Укреплённая линия"),
        ("(?) Place not known exactly", "(?) Орны анық емес", "(?) Место точно не известно"),
        ("Routes in their side's colour:", "Жорықтар тарап түсімен:", "Походы в цвете своей стороны:"),
        ("scale true along", "масштаб дәл:", "масштаб верен вдоль"),
        (
            "Sides (routes and battle victors):",
            "Тараптар (жорықтар мен жеңімпаздар):",
            "Стороны (походы и победители):",
        ),
        ("Kinds of route:", "Жорық түрлері:", "Виды походов:"),
        ("Mountains", "Таулар", "Горы"),
        ("Battle (victor's mark)", "Шайқас (жеңімпаз белгісі)", "Битва (знак победителя)"),
    ];
    let hit = table.iter().find(|(e, _, _)| *e == en);
    match (lang, hit) {
        ("kk", Some((_, kk, _))) => kk,
        ("ru", Some((_, _, ru))) => ru,
        _ => en,
    }
}

/// One legend symbol.
enum Symbol {
    Polity(String),
    /// A polity seen only as a side: a line in its colour.
    Side(String),
    /// The tint of mountain areas.
    Relief,
    /// A fighting side's route and battle star, as marked in black and white.
    Fighter(String),
    /// A line of text with no symbol.
    Note,
    /// A hollow marker: place not known exactly.
    ApproximatePlace,
    /// A dash-dot route: assumed.
    AssumedRoute,
    /// A dashed line joining forts.
    FortifiedLine,
    Hatch(Pattern),
    Dashed,
    City(CityKind),
    Captured,
    Besieged,
    Destroyed,
    Battle,
    Campaign(CampaignKind),
    Changed,
}

/// Where the furniture goes (computed before labels so labels avoid it).
pub(crate) struct Layout {
    title_panel: Option<[f32; 4]>,
    /// Timeline strip `[x0, y0, x1, y1, cursor year]`.
    timeline: Option<[f32; 5]>,
    /// The band with the year and caption above the timeline (animation frames).
    band: Option<[f32; 4]>,
    title_lines: Vec<(String, TextStyle, f32, f32)>,
    legend_panel: Option<[f32; 4]>,
    legend: Vec<(Symbol, String, f32, f32)>,
    legend_sym: f32,
    legend_style: TextStyle,
    scale: Option<ScaleBar>,
    credit: Option<(String, TextStyle, f32, f32, [f32; 4])>,
    grat_labels: Vec<(String, TextStyle, f32, f32, [f32; 4])>,
    /// The story's places (see [`story_points`]), found when a choice first needs them.
    story: std::cell::OnceCell<Vec<StoryPoint>>,
}

struct ScaleBar {
    x: f32,
    y: f32,
    km: f64,
    px: f32,
    verst_px: Option<(f64, f32)>,
    bar_h: f32,
    note: String,
    style: TextStyle,
    panel: [f32; 4],
}

impl Layout {
    /// The top edge of the caption band or timeline strip (the image height without them).
    pub(crate) fn top_of_bottom_furniture(&self) -> f32 {
        self.band.map(|b| b[1]).or(self.timeline.map(|t| t[1])).unwrap_or(f32::MAX)
    }

    /// A `w`×`h` px place for one more panel (an enlargement inset) clear of the
    /// furniture: the corner or edge middle (above the scale bar, beside or above the
    /// legend, under the title) that hides the least of the story, with what it hides.
    pub(crate) fn free_rect(&self, f: &Frame, w: f32, h: f32) -> Option<(f32, [f32; 4])> {
        let (iw, ih) = (f.view.width as f32, f.view.height as f32);
        let m = 0.022 * iw.min(ih);
        let pad = f.px(5.0) * f.fs;
        let taken = self.obstacles();
        let bottom = ih - m - h - pad * 3.0;
        let mut corners = vec![[iw - m - w, m], [m, bottom], [m, m], [(iw - w) / 2.0, bottom], [(iw - w) / 2.0, m]];
        if let Some(sb) = &self.scale {
            corners.push([iw - m - w, sb.panel[1] - pad - h]);
        }
        if let Some(t) = self.title_panel {
            corners.push([m, t[3] + pad]);
        }
        if let Some(l) = self.legend_panel {
            corners.push([m, l[1] - pad - h]);
            corners.push([l[2] + pad, ih - m - h - pad * 3.0]);
        }
        corners
            .into_iter()
            .map(|c| [c[0], c[1], c[0] + w, c[1] + h])
            .filter(|r| {
                r[0] >= 0.0
                    && r[1] >= 0.0
                    && r[2] <= iw
                    && r[3] <= ih
                    && !taken.iter().any(|t| super::labels::overlaps(r, t))
            })
            .map(|r| (hidden(self.story.get_or_init(|| story_points(f)), r), r))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    }

    /// Whether a panel that hides `cost` of the story (see [`Layout::free_rect`]) hides a
    /// promised place.
    pub(crate) fn hides_promised(cost: f32) -> bool {
        cost >= PROMISED_WEIGHT
    }

    /// The panels drawn over the map (title block, timeline strip, caption band, legend,
    /// scale bar): what is under them cannot be seen.
    pub(crate) fn panels(&self) -> Vec<[f32; 4]> {
        let mut v: Vec<[f32; 4]> = Vec::new();
        v.extend(self.title_panel);
        v.extend(self.timeline.map(|t| [t[0], t[1], t[2], t[3]]));
        v.extend(self.band);
        v.extend(self.legend_panel);
        v.extend(self.scale.as_ref().map(|s| s.panel));
        v
    }

    /// Boxes labels must not cover: the panels, the credit line and the graticule's degrees.
    pub(crate) fn obstacles(&self) -> Vec<[f32; 4]> {
        let mut v = self.panels();
        v.extend(self.credit.as_ref().map(|c| c.4));
        v.extend(self.grat_labels.iter().map(|g| g.4));
        v
    }
}

fn no_halo(mut s: TextStyle) -> TextStyle {
    s.halo = None;
    s
}

/// `text` cut to fit `max_w` px, ending in "…" when cut. No glyph is narrower than a
/// fifth of the font size (zero-width marks aside), so at most `max_w / (size / 5)`
/// characters are ever measured, however long the text.
fn elide(f: &Frame, text: &str, style: &TextStyle, max_w: f32) -> String {
    let max_w = max_w.max(0.0);
    let cap = (max_w / (style.size_px * 0.2).max(0.01)).ceil() as usize + 1;
    let head: String = text.chars().take(cap).collect();
    if head.len() == text.len() && f.fonts.measure(text, style).width <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = head.chars().collect();
    let fits = |n: usize| {
        let t: String = chars[..n].iter().collect::<String>() + "…";
        f.fonts.measure(&t, style).width <= max_w
    };
    // The longest prefix that fits with its ellipsis (binary search: fitting is monotone).
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo == 0 && !fits(0) {
        return String::new();
    }
    chars[..lo].iter().collect::<String>().trim_end().to_string() + "…"
}

/// Greedy word wrap to `max_w` px.
fn wrap(f: &Frame, text: &str, style: &TextStyle, max_w: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let trial = if cur.is_empty() { word.to_string() } else { format!("{cur} {word}") };
        if f.fonts.measure(&trial, style).width > max_w && !cur.is_empty() {
            lines.push(std::mem::replace(&mut cur, word.to_string()));
        } else {
            cur = trial;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn nice_below(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0].iter().map(|m| m * p).find(|v| *v <= x).unwrap_or(p)
}

/// Lay out the furniture for this image.
pub(crate) fn layout(f: &Frame, shown: &Shown) -> Layout {
    let fu = &f.style.furniture;
    let (w, h) = (f.view.width as f32, f.view.height as f32);
    let s = f.fs;
    let margin = 0.022 * w.min(h);
    let pad = f.px(5.0) * s;
    let lang = f.opts.lang.as_str();

    // Title block: title, year, caption.
    let mut title_lines = Vec::new();
    let title_style = no_halo(f.text_style(&fu.title, s));
    let year_style = no_halo(f.text_style(&fu.year, s));
    let cap_style = no_halo(f.text_style(&fu.caption, s));
    let mut y = margin + pad;
    let mut max_w: f32 = 0.0;
    let title = f.atlas.data.title(lang);
    // A title wider than the frame is cut with "…" (and a huge one costs no more to draw).
    let title = elide(f, title, &title_style, w - 2.0 * (margin + pad));
    if !title.is_empty() {
        let m = f.fonts.measure(&title, &title_style);
        y += m.ascent;
        title_lines.push((title, title_style.clone(), margin + pad, y));
        y += m.descent + pad * 0.4;
        max_w = max_w.max(m.width);
    }
    let year_text = match f.opts.compare {
        Some(c) => format!("{} → {}", c.0.min(f.opts.year.0), c.0.max(f.opts.year.0)),
        None => f.opts.year.to_string(),
    };
    let animated = f.opts.timeline.is_some();
    let year_m = f.fonts.measure(&year_text, &year_style);
    if !animated {
        y += year_m.ascent;
        title_lines.push((year_text.clone(), year_style.clone(), margin + pad, y));
        y += year_m.descent;
        max_w = max_w.max(year_m.width);
    }
    let captions = f.atlas.data.captions(f.opts.year, lang);
    if !captions.is_empty() && !animated {
        let cap_w = (w * 0.40).max(max_w);
        let lines = wrap(f, &captions.join(" · "), &cap_style, cap_w);
        let total = lines.len();
        let max_lines = if f.opts.fixed_title { FIXED_CAPTION_LINES } else { 5 };
        for (k, line) in lines.into_iter().take(max_lines).enumerate() {
            let line = if k + 1 == max_lines && total > max_lines { format!("{line} …") } else { line };
            // One word wider than the block (a URL, a name without spaces) is cut too.
            let line = elide(f, &line, &cap_style, w - 2.0 * (margin + pad));
            let m = f.fonts.measure(&line, &cap_style);
            y += m.ascent + pad * 0.25;
            title_lines.push((line, cap_style.clone(), margin + pad, y));
            y += m.descent;
            max_w = max_w.max(m.width);
        }
    }
    let mut title_panel = [margin, margin, margin + max_w + 2.0 * pad, y + pad];
    if f.opts.fixed_title && !animated {
        // Reserve room for the longest caption an animation frame may show.
        let cm = f.fonts.measure("Hg", &cap_style);
        let reserved_h = margin
            + pad
            + {
                let tm = f.fonts.measure("Hg", &title_style);
                let ym = f.fonts.measure("1723", &year_style);
                tm.ascent + tm.descent + pad * 0.4 + ym.ascent + ym.descent
            }
            + FIXED_CAPTION_LINES as f32 * (cm.ascent + cm.descent + pad * 0.25)
            + pad;
        title_panel = [margin, margin, margin + (w * 0.40).max(max_w) + 2.0 * pad, reserved_h.max(y + pad)];
    }
    let title_panel = Some(title_panel);

    // The timeline strip (animation frames) sits above the credit line; the legend and
    // scale bar sit above it.
    let credit_style = no_halo(f.text_style(&fu.credit, s));
    let cm = f.fonts.measure("Hg", &credit_style);
    let credit_top = h - margin * 0.45 - cm.descent - cm.ascent;
    let timeline = f.opts.timeline.map(|t| {
        let strip_h = (h * 0.075).max(f.px(22.0) * s);
        [margin, credit_top - pad * 0.6 - strip_h, w - margin, credit_top - pad * 0.6, t.cursor]
    });
    // Animation frames carry the year and caption in a band above the timeline (a lower
    // third), so that a quiet year changes only the bottom of the frame.
    let band = timeline.map(|r| {
        let ym = f.fonts.measure("1723", &year_style);
        let band_h = ym.ascent + ym.descent + pad * 1.2;
        [margin, r[1] - pad * 0.5 - band_h, w - margin, r[1] - pad * 0.5]
    });
    if let Some(b) = band {
        let mid = (b[1] + b[3]) / 2.0;
        let x = b[0] + pad;
        title_lines.push((year_text.clone(), year_style.clone(), x, mid + (year_m.ascent - year_m.descent) / 2.0));
        if !captions.is_empty() {
            let cx = x + f.fonts.measure("0000", &year_style).width.max(year_m.width) + pad * 2.0;
            let lines = wrap(f, &captions.join(" · "), &cap_style, b[2] - cx - pad);
            let total = lines.len();
            let cm = f.fonts.measure("Hg", &cap_style);
            let line_h = cm.ascent + cm.descent + pad * 0.2;
            let shown = total.min(2);
            let top = mid - line_h * shown as f32 / 2.0;
            for (k, line) in lines.into_iter().take(shown).enumerate() {
                let line = if k + 1 == shown && total > shown { format!("{line} …") } else { line };
                title_lines.push((line, cap_style.clone(), cx, top + line_h * k as f32 + cm.ascent));
            }
        }
    }
    let bottom = match (band, timeline) {
        (Some(b), _) => b[1] - pad,
        (None, Some(r)) => r[1] - pad,
        (None, None) => h - margin,
    };

    // Legend: what this map shows.
    let legend_style = no_halo(f.text_style(&fu.legend, s));
    let mut entries: Vec<(Symbol, String)> = Vec::new();
    // Polities with land, a khanate's parts kept together (the three jüzes), then those
    // seen only as sides.
    // Each polity after the first of its group (its khanate, or itself) to be drawn.
    let mut first_of_group: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut lands: Vec<(usize, usize, &String)> = shown
        .polities
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let group = f.atlas.data.polity(p).and_then(|p| p.part_of.as_deref()).unwrap_or(p.as_str());
            (*first_of_group.entry(group).or_insert(i), i, p)
        })
        .collect();
    lands.sort();
    for (_, _, p) in lands {
        if let Some(ps) = f.style.polity(p) {
            entries.push((Symbol::Polity(p.clone()), f.polity_name(p, ps)));
        }
    }
    for p in &shown.sides {
        if let Some(ps) = f.style.polity(p) {
            entries.push((Symbol::Side(p.clone()), f.polity_name(p, ps)));
        }
    }
    if shown.approximate {
        entries.push((Symbol::Dashed, tr(lang, "Approximate border").into()));
    }
    if shown.tributary {
        entries.push((Symbol::Hatch(Pattern::Hatch), tr(lang, "Tributary (overlord hatched)").into()));
    }
    if shown.occupied {
        entries.push((Symbol::Hatch(Pattern::BackHatch), tr(lang, "Occupied").into()));
    }
    if shown.contested {
        entries.push((Symbol::Hatch(Pattern::Cross), tr(lang, "Contested").into()));
    }
    for k in &shown.city_kinds {
        let name = match k {
            CityKind::Capital => "Capital",
            CityKind::City => "Town",
            CityKind::Fortress => "Fortress",
            CityKind::Site => "Site",
        };
        entries.push((Symbol::City(*k), tr(lang, name).into()));
    }
    let marked = shown.fighters.iter().any(|p| f.style.polity(p).is_some_and(|s| s.mark != SideMark::Solid));
    let flagged = |entries: &mut Vec<(Symbol, String)>, rows: Vec<(bool, Symbol, &'static str)>| {
        for (on, sym, text) in rows {
            if on {
                entries.push((sym, tr(lang, text).into()));
            }
        }
    };
    flagged(
        &mut entries,
        vec![
            (shown.captured, Symbol::Captured, "Changed hands this year"),
            (shown.besieged, Symbol::Besieged, "Besieged"),
            (shown.destroyed, Symbol::Destroyed, "Destroyed"),
            (shown.battles && !marked, Symbol::Battle, "Battle (victor's colour)"),
            (shown.battles && marked, Symbol::Battle, "Battle (victor's mark)"),
        ],
    );
    // Where sides carry marks besides their colour (black and white), each fighting
    // side gets a row with its route and star; else a note says colour is the side.
    if marked {
        entries.push((Symbol::Note, tr(lang, "Sides (routes and battle victors):").into()));
        for p in &shown.fighters {
            if let Some(ps) = f.style.polity(p) {
                entries.push((Symbol::Fighter(p.clone()), f.polity_name(p, ps)));
            }
        }
        if !shown.campaign_kinds.is_empty() {
            entries.push((Symbol::Note, tr(lang, "Kinds of route:").into()));
        }
    } else if !shown.campaign_kinds.is_empty() {
        entries.push((Symbol::Note, tr(lang, "Routes in their side's colour:").into()));
    }
    for k in &shown.campaign_kinds {
        let name = match k {
            CampaignKind::Advance => "Advance",
            CampaignKind::Retreat => "Retreat",
            CampaignKind::Raid => "Raid",
            CampaignKind::Flight => "Flight of people",
        };
        entries.push((Symbol::Campaign(*k), tr(lang, name).into()));
    }
    flagged(
        &mut entries,
        vec![
            (shown.fortified_line, Symbol::FortifiedLine, "Fortified line"),
            (shown.assumed_route, Symbol::AssumedRoute, "Route assumed"),
            (shown.approximate_place, Symbol::ApproximatePlace, "(?) Place not known exactly"),
            (shown.relief, Symbol::Relief, "Mountains"),
        ],
    );
    if let (true, Some(c)) = (shown.changed, f.opts.compare) {
        entries.push((Symbol::Changed, format!("{} {}", tr(lang, "Changed hands since"), c)));
    }
    let lm = f.fonts.measure("Hg", &legend_style);
    let row_h = (lm.ascent + lm.descent) * 1.55;
    let sym_w = row_h * 1.5;
    // The legend's size now; its corner once the other furniture is laid out.
    let legend_grid = (!entries.is_empty()).then(|| {
        let max_rows = (((h * 0.42) / row_h).floor() as usize).max(3);
        let cols = entries.len().div_ceil(max_rows);
        let rows = entries.len().div_ceil(cols);
        let col_w = entries.iter().map(|(_, t)| f.fonts.measure(t, &legend_style).width).fold(0.0, f32::max)
            + sym_w
            + pad * 1.5;
        (rows, col_w, cols as f32 * col_w + pad * 0.5, rows as f32 * row_h + 2.0 * pad)
    });

    // Credit line, bottom right.
    let credit_text = {
        let base = &f.atlas.data.meta.credit;
        let proj = f.view.projection.describe();
        if base.is_empty() {
            proj
        } else {
            format!("{base} · {proj}")
        }
    };
    let cm = f.fonts.measure(&credit_text, &credit_style);
    let cx = (w - margin - cm.width).max(margin);
    let cy = h - margin * 0.45 - cm.descent;
    let credit = Some((
        credit_text,
        credit_style,
        cx,
        cy,
        [cx - 2.0, cy - cm.ascent - 2.0, w - margin + 2.0, cy + cm.descent + 2.0],
    ));

    // Scale bar above the credit line, true along the parallel through the map's centre.
    let kmpp = f.view.km_per_px_at(f64::from(w) / 2.0, f64::from(h) / 2.0);
    let scale = if kmpp.is_finite() && kmpp > 0.0 {
        let km = nice_below(f64::from(w) * 0.16 * kmpp);
        let px = (km / kmpp) as f32;
        let verst_px = if fu.versts {
            let v = nice_below(f64::from(w) * 0.16 * kmpp / 1.0668);
            Some((v, (v * 1.0668 / kmpp) as f32))
        } else {
            None
        };
        let style = no_halo(f.text_style(&fu.legend, s));
        let bar_h = f.px(3.0) * s;
        let sm = f.fonts.measure("0", &style);
        let text_h = sm.ascent + sm.descent;
        let rows = if verst_px.is_some() { 2.0 } else { 1.0 };
        let block_h = rows * (bar_h + text_h * 1.3) + text_h * 1.3;
        // The end label is centred on the bar's end: half of it sticks out past the bar.
        let overhang = |value: f64, unit: &str| f.fonts.measure(&format!("{value} {unit}"), &style).width;
        let widest = (px + overhang(km, tr(lang, "km")))
            .max(verst_px.map(|(v, vpx)| vpx + overhang(v, tr(lang, "versts"))).unwrap_or(0.0));
        let x = w - margin - widest - pad;
        let top = match (band, timeline) {
            (Some(b), _) => b[1] - pad * 1.5 - block_h,
            (None, Some(r)) => r[1] - pad * 1.5 - block_h,
            (None, None) => cy - cm.ascent - pad * 1.5 - block_h,
        };
        let (_, lat) = f.view.to_lonlat(f64::from(w) / 2.0, f64::from(h) / 2.0);
        let note = format!("{} {:.0}°{}", tr(lang, "scale true along"), lat.abs(), if lat >= 0.0 { "N" } else { "S" });
        let nw = f.fonts.measure(&note, &style).width;
        let x = x.min(w - margin - nw - pad);
        Some(ScaleBar {
            x,
            y: top + text_h * 1.3,
            km,
            px,
            verst_px,
            bar_h,
            note,
            style,
            panel: [x - pad, top - pad * 0.5, w - margin, top + block_h + pad * 0.5],
        })
    } else {
        None
    };

    let grat_labels = graticule_labels(f);
    // Where the story is, for choosing the corners of the legend, title block and inset:
    // found only when there is a choice (an animation frame's furniture has fixed places).
    let story = std::cell::OnceCell::new();
    let story_of = || story.get_or_init(|| story_points(f)).as_slice();
    let degrees_under = |r: &[f32; 4]| grat_labels.iter().filter(|g| super::labels::overlaps(r, &g.4)).count() as f32;
    let inside_image = |r: &[f32; 4]| r[0] >= 0.0 && r[1] >= 0.0 && r[2] <= w && r[3] <= h;
    // The legend goes where it hides the least of the story: bottom left, above the scale
    // bar, top right, top left or under the title block (animation frames keep it bottom
    // left). Returns its cost and box for a title block at `title`.
    let legend_place = |title: Option<[f32; 4]>| -> Option<(f32, [f32; 4])> {
        let (_, _, panel_w, panel_h) = legend_grid?;
        let bottom_left = [margin, bottom - panel_h];
        let mut corners = vec![bottom_left];
        if f.opts.timeline.is_none() && !f.opts.fixed_title {
            if let Some(sb) = &scale {
                corners.push([w - margin - panel_w, sb.panel[1] - pad - panel_h]);
            }
            corners.push([w - margin - panel_w, margin]);
            corners.push([margin, margin]);
            if let Some(t) = title {
                let x = if t[0] > margin { w - margin - panel_w } else { margin };
                corners.push([x, t[3] + pad]);
            }
        }
        let taken: Vec<[f32; 4]> = title
            .into_iter()
            .chain(scale.as_ref().map(|s| s.panel))
            .chain(credit.as_ref().map(|c| c.4))
            .chain(band)
            .chain(timeline.map(|t| [t[0], t[1], t[2], t[3]]))
            .collect();
        let fits = |r: &[f32; 4]| inside_image(r) && !taken.iter().any(|t| super::labels::overlaps(r, t));
        let rect = |c: [f32; 2]| [c[0], c[1], c[0] + panel_w, c[1] + panel_h];
        let one = corners.len() == 1;
        corners
            .into_iter()
            .map(rect)
            .filter(fits)
            .map(|r| (if one { 0.0 } else { hidden(story_of(), r) + 0.5 * degrees_under(&r) }, r))
            // The first corner wins ties (`min_by` keeps the first): bottom left unless
            // another hides less.
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .or(Some((f32::MAX, rect(bottom_left))))
    };

    // The title block stays top left unless, with the legend placed around it, the top
    // right or bottom left hides less of the story (a print frame; animation frames keep
    // their fixed places).
    let mut title_panel = title_panel;
    let mut legend_choice = legend_place(title_panel);
    if let (Some(t), false, false) = (title_panel, animated, f.opts.fixed_title) {
        let (tw, th) = (t[2] - t[0], t[3] - t[1]);
        let furniture: Vec<[f32; 4]> =
            scale.as_ref().map(|s| s.panel).into_iter().chain(credit.as_ref().map(|c| c.4)).collect();
        let cost = |r: &[f32; 4], legend: &Option<(f32, [f32; 4])>| {
            hidden(story_of(), *r) + 0.5 * degrees_under(r) + legend.map_or(0.0, |l| l.0)
        };
        let mut best = (cost(&t, &legend_choice), t, legend_choice);
        for c in [[w - margin - tw, margin], [margin, bottom - th]] {
            let r = [c[0], c[1], c[0] + tw, c[1] + th];
            if !inside_image(&r) || furniture.iter().any(|o| super::labels::overlaps(&r, o)) {
                continue;
            }
            let l = legend_place(Some(r));
            // A moved title must hide clearly less: one town less at the least.
            let c = cost(&r, &l) + 1.0;
            if c < best.0 {
                best = (c, r, l);
            }
        }
        let (dx, dy) = (best.1[0] - t[0], best.1[1] - t[1]);
        if dx != 0.0 || dy != 0.0 {
            for line in &mut title_lines {
                line.2 += dx;
                line.3 += dy;
            }
        }
        title_panel = Some(best.1);
        legend_choice = best.2;
    }

    let mut legend = Vec::new();
    let mut legend_panel = None;
    if let (Some((rows, col_w, _, _)), Some((_, best))) = (legend_grid, legend_choice) {
        let (x0, y0) = (best[0], best[1]);
        for (k, (sym, text)) in entries.into_iter().enumerate() {
            let (c, r) = (k / rows, k % rows);
            legend.push((sym, text, x0 + pad + c as f32 * col_w, y0 + pad + r as f32 * row_h));
        }
        legend_panel = Some(best);
    }

    Layout {
        title_panel,
        timeline,
        band,
        title_lines,
        legend_panel,
        legend,
        legend_sym: sym_w,
        legend_style,
        scale,
        credit,
        grat_labels,
        story,
    }
}

/// A small scale bar in the bottom-left corner of an inset of `w`×`h` px whose scale is
/// `km_per_px`, with its length in kilometres.
pub(crate) fn inset_scale(f: &Frame, canvas: &mut dyn Canvas, w: f32, h: f32, km_per_px: f64) {
    let Some(s) = InsetScale::of(f, w, h, km_per_px) else { return };
    if let Some(r) = Rect::from_xywh(s.x, s.y - s.ascent - s.bar * 1.6, s.len, s.bar) {
        let p = PathBuilder::from_rect(r);
        fill(canvas, &p, f.style.furniture.frame, 1.0);
    }
    canvas.text(&s.text, s.x, s.y, &s.style);
}

/// The box an inset's scale bar (see [`inset_scale`]) covers, px: the inset's labels
/// keep clear of it.
pub(crate) fn inset_scale_box(f: &Frame, w: f32, h: f32, km_per_px: f64) -> Option<[f32; 4]> {
    let s = InsetScale::of(f, w, h, km_per_px)?;
    let text_w = f.fonts.measure(&s.text, &s.style).width;
    Some([s.x, s.y - s.ascent - s.bar * 1.6, s.x + s.len.max(text_w), s.y + s.descent])
}

/// Where an inset's scale bar goes and what it says.
struct InsetScale {
    x: f32,
    y: f32,
    len: f32,
    bar: f32,
    ascent: f32,
    descent: f32,
    text: String,
    style: TextStyle,
}

impl InsetScale {
    fn of(f: &Frame, w: f32, h: f32, km_per_px: f64) -> Option<InsetScale> {
        let km = nice_below(f64::from(w) * 0.3 * km_per_px);
        if !(km > 0.0 && km_per_px.is_finite()) {
            return None;
        }
        let style = f.text_style(&f.style.furniture.legend, f.fs);
        let m = f.fonts.measure("0", &style);
        let unit = tr(&f.opts.lang, "km");
        let text = if km.fract() == 0.0 { format!("{km:.0} {unit}") } else { format!("{km} {unit}") };
        Some(InsetScale {
            x: f.px(6.0),
            y: h - f.px(6.0) - m.descent,
            len: (km / km_per_px) as f32,
            bar: f.px(2.2),
            ascent: m.ascent,
            descent: m.descent,
            text,
            style,
        })
    }
}

/// What hiding a promised place (a caption's place, a battle, a capital) under a panel
/// costs, in towns: a panel goes where it hides none if any place allows.
const PROMISED_WEIGHT: f32 = 30.0;

/// The places of the story a furniture panel could hide, as `(x, y, weight, reach)` px: the
/// year's towns, battles and route vertices, and the middles of held areas and of seas
/// and lakes (where their names go), promised places weighing most. Found once per
/// layout; [`hidden`] sums them under each candidate panel.
pub(crate) fn story_points(f: &Frame) -> Vec<StoryPoint> {
    // How far from a town or battle a panel still hides part of its symbol (a capital's
    // disc with its outline; a battle's star).
    let town = f.px(f.style.cities.marker_pt * 0.75);
    let battle = f.px(f.style.battles.size_pt * 0.5);
    use crate::data::{Geometry, Layer};
    let year = f.opts.year;
    let mut out = Vec::new();
    let px = |x: f64, y: f64| {
        let (x, y) = f.view.to_px(x, y);
        (x as f32, y as f32)
    };
    for layer in [Layer::Cities, Layer::Battles, Layer::Campaigns, Layer::Territories, Layer::Water] {
        for i in f.visible_in(layer) {
            let feat = &f.atlas.data.layer(layer)[i];
            if !feat.alive(year) {
                continue;
            }
            let weight = if f.promised.contains(&feat.id) { PROMISED_WEIGHT } else { 1.0 };
            if let (Layer::Territories | Layer::Water, Geometry::Areas(_)) = (layer, &feat.geometry) {
                let named = layer == Layer::Water || feat.holder(year).is_some();
                if let (true, Some(p)) = (named, f.atlas.interior_point(layer, i)) {
                    let (x, y) = px(p.x(), p.y());
                    out.push((x, y, weight.max(2.0), 0.0));
                }
                continue;
            }
            match &feat.geometry {
                Geometry::Point(p) => {
                    let (x, y) = px(p.x(), p.y());
                    let reach = match layer {
                        Layer::Cities => town,
                        Layer::Battles => battle,
                        _ => 0.0,
                    };
                    out.push((x, y, weight, reach));
                }
                Geometry::Lines(ml) => {
                    for c in ml.0.iter().flat_map(|l| l.0.iter()) {
                        let (x, y) = px(c.x, c.y);
                        out.push((x, y, 0.5, 0.0));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// A place of the story: `(x, y, weight, reach)` px, where `reach` is how far from it a
/// panel still hides part of it (a town's or battle's symbol: a marker half under the
/// legend is not on the map).
pub(crate) type StoryPoint = (f32, f32, f32, f32);

/// How much of the story (see [`story_points`]) a furniture panel at `r` would hide: the
/// points under it, a symbol also when any of it is.
fn hidden(points: &[StoryPoint], r: [f32; 4]) -> f32 {
    points
        .iter()
        .filter(|(x, y, _, e)| *x >= r[0] - e && *x <= r[2] + e && *y >= r[1] - e && *y <= r[3] + e)
        .map(|p| p.2)
        .sum()
}

/// Graticule lines every `step_deg`, curved as the projection bends them.
pub(crate) fn graticule(f: &Frame, canvas: &mut dyn Canvas) {
    canvas.group(group::GRATICULE);
    let g = &f.style.furniture.graticule;
    let width = f.px(g.width_pt);
    let mut curved = PathBuilder::new();
    for (_, _, pts) in graticule_lines(f) {
        // Lines that are straight and axis-aligned (all of them in Web Mercator) are thin
        // rectangles: far cheaper to fill than hairlines to stroke. A line thinner than a
        // pixel becomes a one-pixel rectangle with its ink spread by opacity.
        let (first, last) = (pts[0], pts[pts.len() - 1]);
        let vertical = pts.iter().all(|p| (p.0 - first.0).abs() < 0.01);
        let horizontal = pts.iter().all(|p| (p.1 - first.1).abs() < 0.01);
        let (w, alpha) = if width < 1.0 { (1.0, width) } else { (width, 1.0) };
        let rect = if vertical {
            Rect::from_ltrb(first.0 - w / 2.0, first.1.min(last.1), first.0 + w / 2.0, first.1.max(last.1))
        } else if horizontal {
            Rect::from_ltrb(first.0.min(last.0), first.1 - w / 2.0, first.0.max(last.0), first.1 + w / 2.0)
        } else {
            if let Some(p) = polyline_path(&pts) {
                curved.push_path(&p);
            }
            continue;
        };
        if let Some(r) = rect {
            canvas.fill_rect(r, Ink::new(g.color, alpha));
        }
    }
    if let Some(p) = curved.finish() {
        stroke_path(canvas, &p, g.color, 1.0, &stroke(width, &[]));
    }
}

/// (is_meridian, value in degrees, pixel polyline) of one graticule line.
type GraticuleLine = (bool, f64, Vec<(f32, f32)>);

/// Every graticule line in view.
fn graticule_lines(f: &Frame) -> Vec<GraticuleLine> {
    let step = f.style.furniture.graticule.step_deg;
    let b = f.view.visible_bbox(0.0);
    let mut out = Vec::new();
    let first = |lo: f64| (lo / step).ceil() * step;
    let sample = |a: f64, z: f64| {
        let n = (((z - a) / 0.25).ceil() as usize).clamp(2, 2000);
        (0..=n).map(move |k| a + (z - a) * k as f64 / n as f64)
    };
    // Meridians run from south to north, parallels from west to east.
    for (meridian, (lo, hi), (a, z)) in
        [(true, (b.west, b.east), (b.south, b.north)), (false, (b.south, b.north), (b.west, b.east))]
    {
        let mut v = first(lo);
        while v <= hi + 1e-9 {
            let pts = sample(a, z)
                .map(|u| {
                    let (x, y) = if meridian { f.view.to_px(v, u) } else { f.view.to_px(u, v) };
                    (x as f32, y as f32)
                })
                .collect();
            out.push((meridian, v, pts));
            v += step;
        }
    }
    out
}

fn degrees(v: f64, meridian: bool) -> String {
    let hemi = match (meridian, v >= 0.0) {
        (true, true) => "E",
        (true, false) => "W",
        (false, true) => "N",
        (false, false) => "S",
    };
    format!("{}°{}", v.abs().round(), hemi)
}

/// Degree labels where meridians meet the top edge and parallels the right edge (the
/// title and legend sit on the left and bottom).
fn graticule_labels(f: &Frame) -> Vec<(String, TextStyle, f32, f32, [f32; 4])> {
    let g = &f.style.furniture.graticule;
    let style = f.text_style(&g.label, f.fs);
    let (w, h) = (f.view.width as f32, f.view.height as f32);
    let inset = f.px(2.5);
    let mut out = Vec::new();
    for (meridian, value, pts) in graticule_lines(f) {
        let text = degrees(value, meridian);
        let m = f.fonts.measure(&text, &style);
        for win in pts.windows(2) {
            let (a, b) = (win[0], win[1]);
            let hit = if meridian {
                // Crossing the top edge.
                if (a.1 - inset) * (b.1 - inset) <= 0.0 && a.1 != b.1 {
                    let t = (inset - a.1) / (b.1 - a.1);
                    let x = a.0 + (b.0 - a.0) * t;
                    (x > m.width && x < w - m.width).then(|| (x - m.width / 2.0, inset + m.ascent + inset))
                } else {
                    None
                }
            } else if (a.0 - (w - inset)) * (b.0 - (w - inset)) <= 0.0 && a.0 != b.0 {
                let t = (w - inset - a.0) / (b.0 - a.0);
                let y = a.1 + (b.1 - a.1) * t;
                (y > m.ascent * 3.0 && y < h * 0.6).then_some((w - inset * 2.0 - m.width, y - inset))
            } else {
                None
            };
            if let Some((x, y)) = hit {
                let bx = [x - 1.0, y - m.ascent - 1.0, x + m.width + 1.0, y + m.descent + 1.0];
                out.push((text.clone(), style.clone(), x, y, bx));
                break;
            }
        }
    }
    out
}

fn panel(f: &Frame, canvas: &mut dyn Canvas, b: [f32; 4]) {
    if let Some(r) = Rect::from_ltrb(b[0], b[1], b[2], b[3]) {
        let p = PathBuilder::from_rect(r);
        fill(canvas, &p, f.style.furniture.panel, 1.0);
        stroke_path(canvas, &p, f.style.furniture.frame, 0.8, &stroke(f.px(0.4) * f.fs, &[]));
    }
}

/// Draw the laid-out furniture over the map.
pub(crate) fn draw(f: &Frame, canvas: &mut dyn Canvas, l: &Layout) {
    let fu = &f.style.furniture;
    for (text, style, x, y, _) in &l.grat_labels {
        canvas.text(text, *x, *y, style);
    }
    if let Some(b) = l.legend_panel {
        panel(f, canvas, b);
    }
    let lm = f.fonts.measure("Hg", &l.legend_style);
    for (sym, text, x, y) in &l.legend {
        let row_h = (lm.ascent + lm.descent) * 1.55;
        legend_symbol(f, canvas, sym, *x, *y, l.legend_sym, row_h);
        canvas.text(
            text,
            x + l.legend_sym + row_h * 0.3,
            y + row_h / 2.0 + (lm.ascent - lm.descent) / 2.0,
            &l.legend_style,
        );
    }
    if let Some(s) = &l.scale {
        panel(f, canvas, s.panel);
        scale_bar(f, canvas, s);
    }
    if let Some((text, style, x, y, _)) = &l.credit {
        canvas.text(text, *x, *y, style);
    }
    // Neatline.
    let (w, h) = (f.view.width as f32, f.view.height as f32);
    let lw = f.px(1.0) * f.fs;
    if let Some(r) = Rect::from_ltrb(lw / 2.0, lw / 2.0, w - lw / 2.0, h - lw / 2.0) {
        stroke_path(canvas, &PathBuilder::from_rect(r), fu.frame, 1.0, &stroke(lw, &[]));
    }
}

/// Draw what changes from frame to frame: the title block and the timeline strip.
pub(crate) fn draw_overlay(f: &Frame, canvas: &mut dyn Canvas, l: &Layout) {
    if let Some(b) = l.title_panel {
        panel(f, canvas, b);
    }
    if let Some(b) = l.band {
        panel(f, canvas, b);
    }
    for (text, style, x, y) in &l.title_lines {
        canvas.text(text, *x, *y, style);
    }
    if let (Some(r), Some(t)) = (l.timeline, f.opts.timeline) {
        timeline_strip(f, canvas, [r[0], r[1], r[2], r[3]], t);
    }
}

/// The timeline strip: the span of years with the atlas's phases as bands, decade ticks,
/// a tick at every battle and a cursor at the current year.
fn timeline_strip(f: &Frame, canvas: &mut dyn Canvas, r: [f32; 4], t: super::Timeline) {
    panel(f, canvas, r);
    let s = f.fs;
    let ink = f.style.furniture.frame;
    let style = no_halo(f.text_style(&f.style.furniture.legend, s));
    let small = no_halo(f.text_style(&f.style.furniture.credit, s));
    let pad = f.px(6.0) * s;
    let (x0, x1) = (r[0] + pad, r[2] - pad);
    let span = (t.to - t.from).max(1) as f32;
    let x_of = |year: f32| x0 + (year - t.from as f32) / span * (x1 - x0);
    let h = r[3] - r[1];
    let axis_y = r[1] + h * 0.62;
    // Phases as alternating bands with their names.
    let band_top = r[1] + h * 0.14;
    for (k, ph) in f.atlas.data.meta.phases.iter().enumerate() {
        let (a, b) = (ph.from.max(t.from), ph.to.min(t.to));
        if a > b {
            continue;
        }
        let (xa, xb) = (x_of(a as f32 - 0.5).max(x0), x_of(b as f32 + 0.5).min(x1));
        if let Some(rect) = Rect::from_ltrb(xa, band_top, xb, axis_y) {
            let tint = if k % 2 == 0 { Rgba(200, 170, 120, 70) } else { Rgba(150, 170, 190, 70) };
            fill(canvas, &PathBuilder::from_rect(rect), tint, 1.0);
        }
        let name = ph.name(&f.opts.lang);
        let m = f.fonts.measure(name, &small);
        if m.width < xb - xa - 2.0 {
            canvas.text(name, (xa + xb) / 2.0 - m.width / 2.0, band_top + m.ascent + 1.0, &small);
        }
    }
    // Axis, decade ticks and labels.
    let mut pb = PathBuilder::new();
    pb.move_to(x0, axis_y);
    pb.line_to(x1, axis_y);
    let step = if (x1 - x0) / span * 10.0 > f.fonts.measure("0000", &style).width * 1.6 { 10 } else { 20 };
    let mut y = (t.from + step - 1).div_euclid(step) * step;
    while y <= t.to {
        let x = x_of(y as f32);
        pb.move_to(x, axis_y);
        pb.line_to(x, axis_y + h * 0.1);
        let label = y.to_string();
        let m = f.fonts.measure(&label, &style);
        canvas.text(&label, x - m.width / 2.0, axis_y + h * 0.12 + m.ascent, &style);
        y += step;
    }
    if let Some(p) = pb.finish() {
        stroke_path(canvas, &p, ink, 1.0, &stroke(f.px(0.5) * s, &[]));
    }
    // A tick at every battle.
    let mut ticks = PathBuilder::new();
    for b in f.atlas.data.layer(crate::data::Layer::Battles) {
        if let Some(by) = b.span.start_year() {
            if (t.from..=t.to).contains(&by) {
                let x = x_of(by as f32);
                ticks.move_to(x, axis_y - h * 0.16);
                ticks.line_to(x, axis_y);
            }
        }
    }
    if let Some(p) = ticks.finish() {
        stroke_path(canvas, &p, f.style.cities.captured, 0.85, &stroke(f.px(0.9) * s, &[]));
    }
    // The cursor.
    let cx = x_of(t.cursor.clamp(t.from as f32, t.to as f32));
    let tri = h * 0.16;
    let mut pb = PathBuilder::new();
    pb.move_to(cx, axis_y + 1.0);
    pb.line_to(cx - tri * 0.7, axis_y + tri + 1.0);
    pb.line_to(cx + tri * 0.7, axis_y + tri + 1.0);
    pb.close();
    pb.move_to(cx, band_top - 1.0);
    pb.line_to(cx, axis_y);
    if let Some(p) = pb.finish() {
        stroke_path(canvas, &p, ink, 1.0, &stroke(f.px(1.2) * s, &[]));
        canvas.fill_path(&p, Ink::new(ink, 1.0), FillRule::Winding);
    }
}

fn legend_symbol(f: &Frame, canvas: &mut dyn Canvas, sym: &Symbol, x: f32, y: f32, sw: f32, rh: f32) {
    let ink = f.style.cities.outline;
    let (cx, cy) = (x + sw / 2.0, y + rh / 2.0);
    let sw_rect = Rect::from_xywh(x, y + rh * 0.18, sw, rh * 0.64).map(PathBuilder::from_rect);
    let (sy0, sy1) = (y + rh * 0.18, y + rh * 0.82);
    let swatch = vec![vec![(x, sy0), (x + sw, sy0), (x + sw, sy1), (x, sy1)]];
    let line = |canvas: &mut dyn Canvas, color: Rgba, width: f32, dash: &[f32], alpha: f32| {
        let mut pb = PathBuilder::new();
        pb.move_to(x + 1.0, cy);
        pb.line_to(x + sw - 1.0, cy);
        if let Some(p) = pb.finish() {
            stroke_path(canvas, &p, color, alpha, &stroke(width, dash));
        }
    };
    let ts = &f.style.territories;
    match sym {
        Symbol::Polity(id) => {
            if let (Some(ps), Some(r)) = (f.style.polity(id), sw_rect) {
                fill(canvas, &r, f.style.land, 1.0);
                fill(canvas, &r, ps.fill, ts.fill_opacity);
                canvas.pattern(&swatch, ps.pattern, ps.border, f.px(ts.hatch_spacing_pt), f.px(ts.hatch_pt));
                stroke_path(canvas, &r, ps.border, 1.0, &stroke(f.px(0.8), &[]));
            }
        }
        Symbol::Side(id) => {
            if let Some(ps) = f.style.polity(id) {
                line(canvas, ps.border, f.px(f.style.campaigns.width_pt) * 1.3, &[], 0.9);
            }
        }
        Symbol::Fighter(id) => {
            if let Some(ps) = f.style.polity(id) {
                let cs = &f.style.campaigns;
                let ink = super::layers::RouteInk { color: ps.border, core: f.style.halo, mark: ps.mark };
                let w = f.px(cs.width_pt);
                let r = f.px(f.style.battles.size_pt) / 2.0;
                let end = x + sw - r * 2.4;
                let pts = [(x + 1.0, cy), (end, cy)];
                let body = [(x + 1.0, cy), (end - f.px(cs.arrow_pt) * 0.8 * 0.8, cy)];
                let band = (f.px(cs.flight_width_pt), cs.flight_opacity);
                super::layers::route(
                    canvas,
                    &ink,
                    CampaignKind::Advance,
                    false,
                    &pts,
                    &body,
                    w,
                    f.px(cs.arrow_pt) * 0.8,
                    band,
                );
                super::layers::victory_mark(f, canvas, (x + sw - r, cy, r), ps);
            }
        }
        Symbol::Relief => {
            if let Some(r) = sw_rect {
                fill(canvas, &r, f.style.land, 1.0);
                fill(canvas, &r, f.style.relief.fill, f.style.relief.opacity);
                stroke_path(canvas, &r, ink, 0.6, &stroke(f.px(0.4), &[]));
            }
        }
        Symbol::Note => {}
        Symbol::ApproximatePlace => {
            let r = super::layers::marker_radius(CityKind::City, f.px(f.style.cities.marker_pt)) * 1.1;
            let pen = stroke(f.px(0.8), &[f.px(1.1), f.px(0.8)]);
            super::layers::city_marker(canvas, CityKind::City, (cx, cy), r, Rgba(255, 255, 255, 230), (ink, &pen), ink);
        }
        Symbol::FortifiedLine => {
            let w = f.px(1.5);
            line(canvas, ink, w, &[w * 3.0, w * 1.5], 1.0);
        }
        Symbol::AssumedRoute => {
            let w = f.px(f.style.campaigns.width_pt);
            line(canvas, ink, w * 1.2, &super::layers::ASSUMED_DASH.map(|d| d * w), 0.9);
        }
        Symbol::Hatch(kind) => {
            if let Some(r) = sw_rect {
                fill(canvas, &r, f.style.land, 1.0);
                canvas.pattern(&swatch, *kind, ink, f.px(ts.hatch_spacing_pt), f.px(ts.hatch_pt));
                stroke_path(canvas, &r, ink, 0.6, &stroke(f.px(0.4), &[]));
            }
        }
        Symbol::Dashed => {
            let dash: Vec<f32> = ts.approximate_dash_pt.iter().map(|d| f.px(*d)).collect();
            line(canvas, ink, f.px(ts.border_pt), &dash, 0.9);
        }
        Symbol::City(kind) => {
            let r = super::layers::marker_radius(*kind, f.px(f.style.cities.marker_pt));
            let outline = stroke(f.px(0.45), &[]);
            super::layers::city_marker(canvas, *kind, (cx, cy), r, f.style.cities.unheld, (ink, &outline), ink);
        }
        Symbol::Changed => {
            // As on the map: the land outlined and hatched in the compare colour.
            let c = f.style.furniture.compare;
            if let Some(r) = sw_rect {
                fill(canvas, &r, f.style.land, 1.0);
                canvas.pattern(&swatch, Pattern::Hatch, Rgba(c.0, c.1, c.2, 150), f.px(3.0), f.px(0.8));
                stroke_path(canvas, &r, c, 0.9, &stroke(f.px(1.6), &[]));
            }
        }
        Symbol::Captured | Symbol::Besieged | Symbol::Destroyed => {
            let r = f.px(f.style.cities.marker_pt) * 0.5;
            let color = f.style.cities.captured;
            if let Some(p) = PathBuilder::from_circle(cx, cy, r) {
                fill(canvas, &p, f.style.cities.unheld, 1.0);
                stroke_path(canvas, &p, ink, 1.0, &stroke(f.px(0.45), &[]));
            }
            if let Some(ring) = PathBuilder::from_circle(cx, cy, r * 1.9) {
                let dash = if matches!(sym, Symbol::Besieged) { vec![f.px(0.8), f.px(1.2)] } else { vec![] };
                stroke_path(canvas, &ring, color, 1.0, &stroke(f.px(0.8), &dash));
            }
            if matches!(sym, Symbol::Destroyed) {
                let mut pb = PathBuilder::new();
                pb.move_to(cx - r, cy - r);
                pb.line_to(cx + r, cy + r);
                pb.move_to(cx + r, cy - r);
                pb.line_to(cx - r, cy + r);
                if let Some(p) = pb.finish() {
                    stroke_path(canvas, &p, ink, 1.0, &stroke(f.px(0.6), &[]));
                }
            }
        }
        Symbol::Battle => {
            let r = f.px(f.style.battles.size_pt) / 2.0;
            let mut pb = PathBuilder::new();
            for k in 0..16 {
                let rr = if k % 2 == 0 { r } else { r * 0.45 };
                let a = std::f32::consts::PI * k as f32 / 8.0 - std::f32::consts::FRAC_PI_2;
                if k == 0 {
                    pb.move_to(cx + rr * a.cos(), cy + rr * a.sin());
                } else {
                    pb.line_to(cx + rr * a.cos(), cy + rr * a.sin());
                }
            }
            pb.close();
            if let Some(p) = pb.finish() {
                fill(canvas, &p, f.style.battles.undecided, 1.0);
                stroke_path(canvas, &p, ink, 1.0, &stroke(f.px(0.4), &[]));
            }
        }
        Symbol::Campaign(kind) => {
            let w = f.px(f.style.campaigns.width_pt);
            match kind {
                CampaignKind::Advance => line(canvas, ink, w * 1.3, &[], 0.9),
                CampaignKind::Retreat => line(canvas, ink, w, &[w * 3.0, w * 2.0], 0.9),
                CampaignKind::Raid => line(canvas, ink, w * 1.1, &[0.01, w * 2.2], 0.9),
                CampaignKind::Flight => {
                    line(
                        canvas,
                        ink,
                        f.px(f.style.campaigns.flight_width_pt) * 0.6,
                        &[],
                        f.style.campaigns.flight_opacity,
                    );
                }
            }
            let len = f.px(f.style.campaigns.arrow_pt) * 0.8;
            let mut pb = PathBuilder::new();
            pb.move_to(x + sw, cy);
            pb.line_to(x + sw - len, cy - len * 0.45);
            pb.line_to(x + sw - len, cy + len * 0.45);
            pb.close();
            if let Some(p) = pb.finish() {
                canvas.fill_path(&p, Ink::new(ink, 0.9), FillRule::Winding);
            }
        }
    }
}

fn scale_bar(f: &Frame, canvas: &mut dyn Canvas, s: &ScaleBar) {
    let ink = f.style.furniture.frame;
    let white = Rgba(255, 255, 255, 255);
    let sm = f.fonts.measure("0", &s.style);
    let text_h = sm.ascent + sm.descent;
    let bar = |canvas: &mut dyn Canvas, y: f32, len_px: f32, value: f64, unit: &str| {
        let segs = 4;
        for k in 0..segs {
            let x0 = s.x + len_px * k as f32 / segs as f32;
            if let Some(r) = Rect::from_xywh(x0, y, len_px / segs as f32, s.bar_h) {
                let p = PathBuilder::from_rect(r);
                fill(canvas, &p, if k % 2 == 0 { ink } else { white }, 1.0);
                stroke_path(canvas, &p, ink, 1.0, &stroke(f.px(0.3) * f.fs, &[]));
            }
        }
        let fmt = |v: f64| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") };
        for (frac, label) in [(0.0, "0".to_string()), (0.5, fmt(value / 2.0)), (1.0, format!("{} {unit}", fmt(value)))]
        {
            let m = f.fonts.measure(&label, &s.style);
            let lx = if frac == 1.0 {
                s.x + len_px - f.fonts.measure(&fmt(value), &s.style).width / 2.0
            } else {
                s.x + len_px * frac as f32 - m.width / 2.0
            };
            canvas.text(&label, lx, y - sm.descent - text_h * 0.2, &s.style);
        }
    };
    bar(canvas, s.y, s.px, s.km, tr(&f.opts.lang, "km"));
    let mut y = s.y + s.bar_h + text_h * 1.3;
    if let Some((v, px)) = s.verst_px {
        bar(canvas, y, px, v, tr(&f.opts.lang, "versts"));
        y += s.bar_h + text_h * 1.3;
    }
    canvas.text(&s.note, s.x, y - text_h * 0.2 + sm.ascent * 0.3, &s.style);
}
