//! Server-side SVG charts: stacked bars over days, with labelled axes and
//! the Okabe-Ito palette (distinguishable with every common colour-vision
//! deficiency). Each chart is paired with a table by its caller.

use crate::warn::escape_html;

/// Okabe & Ito's eight colours.
pub const PALETTE: [&str; 8] = [
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000",
];
/// For "everything else" and for suppressed (fewer-than-3) days.
pub const GREY: &str = "#9A9A9A";

pub struct Stacked<'a> {
    /// Accessible name of the chart.
    pub title: &'a str,
    pub x_axis: &'a str,
    pub y_axis: &'a str,
    /// One label per bar; every `label_every`-th is printed.
    pub x_labels: &'a [String],
    pub label_every: usize,
    /// Series: (name, colour).
    pub series: &'a [(String, &'a str)],
    /// values[bar][series]
    pub values: &'a [Vec<u64>],
    /// Bars to mark as "suppressed" (drawn as a short grey hatched stub).
    pub suppressed: &'a [bool],
}

/// A "nice" upper bound for the y axis and its tick step.
fn nice_max(max: u64) -> (u64, u64) {
    if max == 0 {
        return (4, 1);
    }
    let raw = max as f64 / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .ceil()
        .max(1.0) as u64;
    let top = max.div_ceil(step) * step;
    (top.max(step), step)
}

pub fn stacked(c: &Stacked<'_>) -> String {
    let (w, h) = (760.0_f64, 280.0_f64);
    let (ml, mr, mt, mb) = (60.0, 12.0, 12.0, 56.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let n = c.x_labels.len().max(1);
    let totals: Vec<u64> = c.values.iter().map(|v| v.iter().sum()).collect();
    let (top, step) = nice_max(totals.iter().copied().max().unwrap_or(0));
    let slot = pw / n as f64;
    let bw = (slot * 0.78).max(1.0);
    let y = |v: f64| mt + ph - v / top as f64 * ph;

    let mut s = String::with_capacity(8192);
    s.push_str(&format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">",
        escape_html(c.title)
    ));
    s.push_str(&format!("<title>{}</title>", escape_html(c.title)));
    s.push_str("<defs><pattern id=\"hatch\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\"><path d=\"M0,4 L4,0\" stroke=\"#777\" stroke-width=\"1\"/></pattern></defs>");
    // Grid and y ticks.
    let mut t = 0;
    while t <= top {
        let yy = y(t as f64);
        s.push_str(&format!(
            "<line x1=\"{ml}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#dde1e6\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{t}</text>",
            w - mr,
            ml - 6.0,
            yy + 4.0
        ));
        t += step;
    }
    // Bars.
    for (i, vals) in c.values.iter().enumerate() {
        let x = ml + slot * i as f64 + (slot - bw) / 2.0;
        let mut acc = 0u64;
        for (j, v) in vals.iter().enumerate() {
            if *v == 0 {
                continue;
            }
            let y0 = y(acc as f64);
            acc += v;
            let y1 = y(acc as f64);
            let colour = c.series.get(j).map(|s| s.1).unwrap_or(GREY);
            let name = c.series.get(j).map(|s| s.0.as_str()).unwrap_or_default();
            s.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y1:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{colour}\" stroke=\"#fff\" stroke-width=\"0.5\"><title>{}: {} — {v}</title></rect>",
                (y0 - y1).max(0.5),
                escape_html(&c.x_labels[i]),
                escape_html(name)
            ));
        }
        if c.suppressed.get(i).copied().unwrap_or(false) && acc == 0 {
            s.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"6\" fill=\"url(#hatch)\" stroke=\"#777\" stroke-width=\"0.5\"/>",
                mt + ph - 6.0
            ));
        }
    }
    // Axes.
    s.push_str(&format!(
        "<line x1=\"{ml}\" x2=\"{ml}\" y1=\"{mt}\" y2=\"{}\" stroke=\"#333\"/><line x1=\"{ml}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#333\"/>",
        mt + ph,
        w - mr,
        mt + ph,
        mt + ph
    ));
    let every = c.label_every.max(1);
    for (i, label) in c.x_labels.iter().enumerate() {
        if i % every != 0 && i + 1 != c.x_labels.len() {
            continue;
        }
        let x = ml + slot * (i as f64 + 0.5);
        s.push_str(&format!(
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#333\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            mt + ph,
            mt + ph + 4.0,
            mt + ph + 17.0,
            escape_html(label)
        ));
    }
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"600\">{}</text>",
        ml + pw / 2.0,
        h - 10.0,
        escape_html(c.x_axis)
    ));
    s.push_str(&format!(
        "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\" font-weight=\"600\">{}</text>",
        mt + ph / 2.0,
        escape_html(c.y_axis)
    ));
    s.push_str("</svg>");
    s
}

/// The legend under a chart, as an HTML list.
pub fn legend(series: &[(String, &str)], extra: Option<&str>) -> String {
    let mut s = String::from("<ul class=\"legend\">");
    for (name, colour) in series {
        s.push_str(&format!(
            "<li><span class=\"sw\" style=\"background:{colour}\"></span>{}</li>",
            escape_html(name)
        ));
    }
    if let Some(e) = extra {
        s.push_str(&format!(
            "<li><span class=\"sw\" style=\"background:repeating-linear-gradient(45deg,#fff 0 2px,#777 2px 3px)\"></span>{}</li>",
            escape_html(e)
        ));
    }
    s.push_str("</ul>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_bounds() {
        assert_eq!(nice_max(0), (4, 1));
        assert_eq!(nice_max(7), (8, 2));
        let (top, step) = nice_max(1234);
        assert!(top >= 1234 && top % step == 0 && top / step <= 5);
    }

    #[test]
    fn labels_are_escaped() {
        let svg = stacked(&Stacked {
            title: "<x>",
            x_axis: "a&b",
            y_axis: "y",
            x_labels: &["<d>".to_string()],
            label_every: 1,
            series: &[("<s>".to_string(), PALETTE[0])],
            values: &[vec![3]],
            suppressed: &[false],
        });
        assert!(!svg.contains("<x>") && !svg.contains("<d>") && !svg.contains("<s>"));
        assert!(svg.contains("&lt;x&gt;"));
    }
}
