//! SVG plots for `docclass-eval --plot DIR`: the confusion matrix as a heat
//! map (per-topic error counts for multi-label data) and per-topic
//! precision-recall curves from the threshold sweep, and the reliability
//! diagram of the probabilities. plotters with the SVG
//! backend only: text is written as SVG `<text>`, so no font files are needed.
use anyhow::{Context, Result};
use docclass::eval::{Calibration, EvalReport, TopicSweep};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

const FONT: &str = "sans-serif";

/// Writes every plot for `report` into `dir` and returns the paths.
pub fn write_all(dir: &Path, report: &EvalReport, title: &str) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    match &report.confusion_matrix {
        Some(cm) => {
            let path = dir.join("confusion_matrix.svg");
            // The "none" gold row only when some document has no gold topic.
            let none = cm.labels.len() - 1;
            let rows = if cm.counts[none].iter().all(|&n| n == 0) {
                none
            } else {
                none + 1
            };
            heat_map(
                &path,
                &format!("Confusion matrix: {title}"),
                "rows: gold topic; columns: top decided topic (none: nothing decided); colour: share of the row",
                &cm.labels[..rows],
                &cm.labels,
                &cm.counts[..rows],
            )
            .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
        None => {
            let path = dir.join("topic_errors.svg");
            let rows: Vec<String> = report
                .topic_errors
                .iter()
                .map(|e| e.topic.clone())
                .collect();
            let cols: Vec<String> = ["true positives", "false positives", "false negatives"]
                .map(String::from)
                .to_vec();
            let counts: Vec<Vec<u64>> = report
                .topic_errors
                .iter()
                .map(|e| vec![e.true_positives, e.false_positives, e.false_negatives])
                .collect();
            heat_map(
                &path,
                &format!("Per-topic errors: {title}"),
                "multi-label data; colour: share of the row",
                &rows,
                &cols,
                &counts,
            )
            .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
    }
    let path = dir.join("pr_curves.svg");
    pr_curves(
        &path,
        &format!("Precision-recall by threshold: {title}"),
        &report.threshold_sweep,
    )
    .with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    let path = dir.join("reliability.svg");
    reliability(&path, &format!("Reliability: {title}"), &report.calibration)
        .with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    Ok(written)
}

/// The reliability diagram: for each probability bin, the share of its
/// (document, topic) pairs that are gold against their mean probability;
/// a calibrated model lies on the diagonal. The bar under each point is
/// the bin's share of the pairs.
fn reliability(path: &Path, title: &str, c: &Calibration) -> Result<()> {
    let root = SVGBackend::new(path, (560, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(60);
    head.draw(&Text::new(title, (10, 10), (FONT, 20).into_font()))?;
    head.draw(&Text::new(
        format!(
            "{} pairs; ECE {:.4}; Brier {:.4}; grey bars: share of pairs per bin",
            c.pairs, c.expected_calibration_error, c.brier_score
        ),
        (10, 36),
        (FONT, 13).into_font(),
    ))?;
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("mean predicted probability")
        .y_desc("observed frequency")
        .x_labels(11)
        .y_labels(11)
        .light_line_style(RGBColor(240, 240, 240))
        .label_style((FONT, 11))
        .draw()?;
    let pairs = c.pairs.max(1) as f64;
    chart.draw_series(c.bins.iter().map(|b| {
        Rectangle::new(
            [(b.lower, 0.0), (b.upper, (b.count as f64 / pairs).min(1.0))],
            RGBColor(210, 210, 210).filled(),
        )
    }))?;
    chart.draw_series(LineSeries::new(
        [(0.0, 0.0), (1.0, 1.0)],
        RGBColor(150, 150, 150).stroke_width(1),
    ))?;
    let points: Vec<(f64, f64)> = c
        .bins
        .iter()
        .filter_map(|b| Some((b.mean_predicted?, b.observed_frequency?)))
        .collect();
    chart.draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2)))?;
    chart.draw_series(
        points
            .iter()
            .map(|&(x, y)| Circle::new((x, y), 4, BLUE.filled())),
    )?;
    root.present()?;
    Ok(())
}

/// White to dark blue.
fn shade(v: f64) -> RGBColor {
    let v = v.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * v).round() as u8;
    RGBColor(mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0))
}

/// A count table drawn as coloured cells with the counts written in them.
fn heat_map(
    path: &Path,
    title: &str,
    subtitle: &str,
    rows: &[String],
    cols: &[String],
    counts: &[Vec<u64>],
) -> Result<()> {
    const CELL: i32 = 46;
    const CHAR: i32 = 8; // estimated width of a label character
    let longest = |labels: &[String]| labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let left = 20 + CHAR * longest(rows) as i32;
    let top = 70 + CHAR * longest(cols) as i32;
    let width = (left + CELL * cols.len() as i32 + 20).max(8 * subtitle.len() as i32);
    let height = top + CELL * rows.len() as i32 + 20;
    let root = SVGBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(title, (10, 10), (FONT, 22).into_font()))?;
    root.draw(&Text::new(subtitle, (10, 38), (FONT, 14).into_font()))?;
    let label = (FONT, 15).into_font().color(&BLACK);
    for (j, c) in cols.iter().enumerate() {
        let x = left + CELL * j as i32 + CELL / 2;
        root.draw(&Text::new(
            c.clone(),
            (x, top - 6),
            label
                .clone()
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + CELL * i as i32 + CELL / 2;
        root.draw(&Text::new(
            r.clone(),
            (left - 6, y),
            label.clone().pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        let total: u64 = counts[i].iter().sum();
        for (j, &n) in counts[i].iter().enumerate() {
            let (x0, y0) = (left + CELL * j as i32, top + CELL * i as i32);
            let share = if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            };
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + CELL, y0 + CELL)],
                shade(share).filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + CELL, y0 + CELL)],
                RGBColor(200, 200, 200).stroke_width(1),
            ))?;
            let ink = if share > 0.5 { &WHITE } else { &BLACK };
            root.draw(&Text::new(
                n.to_string(),
                (x0 + CELL / 2, y0 + CELL / 2),
                (FONT, 15)
                    .into_font()
                    .color(ink)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
    }
    root.present()?;
    Ok(())
}

/// One small precision-recall chart per topic, from the threshold sweep
/// (thresholds 0.05 … 0.95; points where nothing reaches the threshold are
/// left out). The point at threshold 0.50 is ringed.
fn pr_curves(path: &Path, title: &str, sweeps: &[TopicSweep]) -> Result<()> {
    let n = sweeps.len().max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let (pw, ph) = (300u32, 260u32);
    let root = SVGBackend::new(path, (pw * cols as u32, ph * rows as u32 + 50)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(50);
    head.draw(&Text::new(title, (10, 10), (FONT, 22).into_font()))?;
    head.draw(&Text::new(
        "points: thresholds 0.05 to 0.95; red ring: 0.50",
        (10, 30),
        (FONT, 14).into_font(),
    ))?;
    let panels = body.split_evenly((rows, cols));
    for (s, panel) in sweeps.iter().zip(panels.iter()) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{} (support {})", s.topic, s.support), (FONT, 13))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..1f64, 0f64..1.05f64)?;
        chart
            .configure_mesh()
            .x_desc("recall")
            .y_desc("precision")
            .x_labels(6)
            .y_labels(6)
            .light_line_style(RGBColor(240, 240, 240))
            .label_style((FONT, 10))
            .draw()?;
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.predicted > 0)
            .map(|p| (p.recall, p.precision))
            .collect();
        chart.draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2)))?;
        chart.draw_series(
            points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 2, BLUE.filled())),
        )?;
        if let Some(p) = s
            .points
            .iter()
            .find(|p| (p.threshold - 0.5).abs() < 1e-9 && p.predicted > 0)
        {
            chart.draw_series(std::iter::once(Circle::new(
                (p.recall, p.precision),
                5,
                RED.stroke_width(2),
            )))?;
        }
    }
    root.present()?;
    Ok(())
}
