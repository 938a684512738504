//! Report stage (HTML): the day-by-row grids (traffic timeline, coverage calendar) drawn as inline
//! SVG with `plotters`. The SVG backend escapes every text it writes (labels hold interface ids
//! and other text from the evidence); no font is loaded: label sizes are estimated.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::store::evidence::date_of_day;

/// One colour per kind of cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shade {
    /// Inbound (or undecided) accepted flows: blue, darker with more flows.
    Inbound,
    /// Rejected flows: red.
    Reject,
    /// Return traffic of connections the interface opened: grey.
    Return,
    /// Flow logs present and complete.
    Covered,
    /// Only NODATA intervals: logs were on, nothing came.
    NoData,
    /// SKIPDATA: records were lost.
    SkipData,
    /// The interface had the group but no flow logs were stored for the day.
    NoLogs,
}

impl Shade {
    /// The colour at intensity `t` in 0..=1 (only traffic shades vary).
    fn colour(self, t: f64) -> RGBColor {
        let mix = |light: (u8, u8, u8), dark: (u8, u8, u8)| {
            let f = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
            RGBColor(f(light.0, dark.0), f(light.1, dark.1), f(light.2, dark.2))
        };
        match self {
            Shade::Inbound => mix((189, 215, 238), (8, 69, 148)),
            Shade::Reject => mix((252, 187, 161), (165, 15, 21)),
            Shade::Return => mix((217, 217, 217), (82, 82, 82)),
            Shade::Covered => RGBColor(49, 130, 80),
            Shade::NoData => RGBColor(161, 217, 155),
            Shade::SkipData => RGBColor(230, 145, 20),
            Shade::NoLogs => RGBColor(150, 150, 150),
        }
    }
}

/// A grid: one row per label, one column per day of `since..=until`.
pub(super) struct Grid<'a> {
    pub since: i32,
    pub until: i32,
    pub rows: &'a [String],
    /// (row, day, shade, intensity 0..=1).
    pub cells: Vec<(usize, i32, Shade, f64)>,
}

/// The grid as an `<svg>` element, or `None` when plotters refuses to draw it (the table that
/// goes with every chart still carries the numbers).
pub(super) fn grid_svg(g: &Grid<'_>) -> Option<String> {
    let days = (g.until - g.since + 1).max(1);
    let n = g.rows.len().max(1) as i32;
    let cell_w = (720 / days).clamp(3, 22) as u32;
    let longest = g.rows.iter().map(|r| r.chars().count()).max().unwrap_or(4) as u32;
    let label_w = (longest * 8 + 14).clamp(60, 260);
    let width = label_w + cell_w * days as u32 + 24;
    let height = 20 * n as u32 + 52;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(6)
            .x_label_area_size(30)
            .y_label_area_size(label_w)
            .build_cartesian_2d(g.since..g.until + 1, (0..n).into_segmented())
            .ok()?;
        let rows = g.rows;
        let label = move |v: &SegmentValue<i32>| match v {
            // Row 0 is drawn at the top; the segment past the last row has no label.
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if (0..n).contains(i) => {
                rows.get((n - 1 - *i) as usize).cloned().unwrap_or_default()
            }
            SegmentValue::CenterOf(_) | SegmentValue::Exact(_) | SegmentValue::Last => {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .x_labels((days as usize).min(6))
            .x_label_formatter(&|d| date_of_day(*d).get(5..).unwrap_or_default().to_owned())
            .y_labels(n as usize)
            .y_label_formatter(&label)
            .label_style(
                ("sans-serif", 15.5)
                    .into_font()
                    .color(&RGBColor(26, 26, 26)),
            )
            .axis_style(RGBColor(120, 120, 120))
            .draw()
            .ok()?;
        chart
            .draw_series(runs(&g.cells).into_iter().map(|(row, from, to, shade, t)| {
                let y = n - 1 - row as i32;
                Rectangle::new(
                    [
                        (from, SegmentValue::Exact(y)),
                        (to + 1, SegmentValue::Exact(y + 1)),
                    ],
                    shade.colour(t).filled(),
                )
            }))
            .ok()?;
        root.present().ok()?;
    }
    // `opacity="1"` is the default on every element plotters writes: dropping it keeps a page
    // of hundreds of charts smaller without changing a pixel.
    Some(svg.replace(" opacity=\"1\"", ""))
}

/// Cells as runs of consecutive days of one row with the same shade and intensity (quantised to
/// eighths: the eye does not tell more apart), so that a month of steady traffic is one
/// rectangle, not thirty: `(row, first day, last day, shade, intensity)`.
fn runs(cells: &[(usize, i32, Shade, f64)]) -> Vec<(usize, i32, i32, Shade, f64)> {
    let mut sorted: Vec<(usize, i32, Shade, f64)> = cells
        .iter()
        .map(|&(r, d, s, t)| (r, d, s, (t.clamp(0.0, 1.0) * 8.0).round() / 8.0))
        .collect();
    sorted.sort_by_key(|c| (c.0, c.1));
    let mut out: Vec<(usize, i32, i32, Shade, f64)> = Vec::new();
    for (row, day, shade, t) in sorted {
        if let Some(last) = out.last_mut()
            && last.0 == row
            && last.2 + 1 == day
            && last.3 == shade
            && (last.4 - t).abs() < f64::EPSILON
        {
            last.2 = day;
            continue;
        }
        out.push((row, day, day, shade, t));
    }
    out
}

/// Intensity of `v` against the largest value `max` (logarithmic: one flow stays visible next to
/// a million).
pub(super) fn intensity(v: u64, max: u64) -> f64 {
    if max == 0 {
        return 0.0;
    }
    0.25 + 0.75 * ((v as f64).ln_1p() / (max as f64).ln_1p())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_equal_cells_are_one_run() {
        let cells = vec![
            (0, 3, Shade::Covered, 1.0),
            (0, 1, Shade::Covered, 1.0),
            (0, 2, Shade::Covered, 1.0),
            (0, 5, Shade::Covered, 1.0),
            (1, 2, Shade::Inbound, 0.5),
            (1, 3, Shade::Inbound, 0.9),
        ];
        assert_eq!(
            runs(&cells),
            vec![
                (0, 1, 3, Shade::Covered, 1.0),
                (0, 5, 5, Shade::Covered, 1.0),
                (1, 2, 2, Shade::Inbound, 0.5),
                (1, 3, 3, Shade::Inbound, 0.875),
            ]
        );
    }

    #[test]
    fn labels_are_escaped_and_no_font_is_needed() {
        let rows = vec!["eni-<script>&\"".to_owned()];
        let svg = grid_svg(&Grid {
            since: 0,
            until: 2,
            rows: &rows,
            cells: vec![(0, 1, Shade::NoLogs, 1.0)],
        })
        .unwrap();
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.contains("eni-&lt;script&gt;&amp;&quot;"), "{svg}");
        assert!(!svg.contains("<script"));
        assert_eq!(
            svg.matches("<rect").count(),
            2,
            "background + one cell: {svg}"
        );
    }
}
