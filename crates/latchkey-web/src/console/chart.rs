//! Usage charts as server-rendered SVG: no script, no inline style (the
//! colours come from the stylesheet through classes).

use latchkey_app::tokens::usage::UsageReport;

const WIDTH: i64 = 720;
const HEIGHT: i64 = 170;
const LEFT: i64 = 44;
const BOTTOM: i64 = 22;
const TOP: i64 = 8;

/// One rectangle of the chart, with its tooltip.
pub(crate) struct Bar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub class: &'static str,
    pub title: String,
}

/// An axis label.
pub(crate) struct Tick {
    pub x: i64,
    pub y: i64,
    pub text: String,
    /// `start`, `middle` or `end` (SVG `text-anchor`).
    pub anchor: &'static str,
}

/// A bar chart of tokens issued (and failed authentications) per hour.
pub(crate) struct Chart {
    pub width: i64,
    pub height: i64,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    /// The baseline and the top grid line.
    pub base_y: i64,
    pub top_y: i64,
    pub plot_left: i64,
    pub plot_right: i64,
    /// What the chart shows, for screen readers.
    pub summary: String,
    pub issued: i64,
    pub failed: i64,
    /// `last 24 hours`, `last 7 days`.
    pub span: String,
}

fn hh(t: i64) -> String {
    format!("{:02}:00", t.rem_euclid(86_400) / 3600)
}

impl Chart {
    pub(crate) fn hourly(r: &UsageReport, what: &str) -> Self {
        let n = i64::try_from(r.hours.len().max(1)).unwrap_or(1);
        let max = r.hours.iter().map(|h| h.1.max(h.2)).max().unwrap_or(0).max(1);
        let plot_h = HEIGHT - BOTTOM - TOP;
        let slot = (WIDTH - LEFT) / n;
        let base_y = HEIGHT - BOTTOM;
        let scale = |v: i64| (v * plot_h + max - 1) / max;
        let mut bars = Vec::new();
        let mut ticks = vec![
            Tick { x: LEFT - 6, y: base_y + 4, text: "0".into(), anchor: "end" },
            Tick { x: LEFT - 6, y: TOP + 8, text: max.to_string(), anchor: "end" },
        ];
        for (i, (hour, issued, failed)) in r.hours.iter().enumerate() {
            let i = i64::try_from(i).unwrap_or(0);
            let x = LEFT + i * slot;
            let label = format!("{}–{} UTC", hh(*hour), hh(hour + 3600));
            let h = scale(*issued);
            bars.push(Bar {
                x: x + 1,
                y: base_y - h,
                w: (slot * 3 / 5).max(1),
                h,
                class: "bar-issued",
                title: format!("{label}: {issued} tokens issued"),
            });
            if *failed > 0 {
                let h = scale(*failed);
                bars.push(Bar {
                    x: x + 1 + (slot * 3 / 5).max(1),
                    y: base_y - h,
                    w: (slot / 4).max(1),
                    h,
                    class: "bar-failed",
                    title: format!("{label}: {failed} failed client authentications"),
                });
            }
            if n <= 48 && i % 6 == 0 {
                ticks.push(Tick { x: x + slot / 2, y: HEIGHT - 6, text: hh(*hour), anchor: "middle" });
            } else if n > 48 && hour.rem_euclid(86_400) == 0 {
                let day = super::view::time(*hour);
                ticks.push(Tick { x, y: HEIGHT - 6, text: day[5..10].to_owned(), anchor: "start" });
            }
        }
        let (issued, failed) = (r.issued(), r.failed());
        Self {
            width: WIDTH,
            height: HEIGHT,
            bars,
            ticks,
            base_y,
            top_y: TOP,
            plot_left: LEFT,
            plot_right: WIDTH,
            summary: format!(
                "{what}: {issued} access tokens issued and {failed} failed client authentications in the last {} hours",
                r.hours.len()
            ),
            span: if r.hours.len() > 48 {
                format!("last {} days", r.hours.len() / 24)
            } else {
                format!("last {} hours", r.hours.len())
            },
            issued,
            failed,
        }
    }
}
