//! Text tables for `docclass-eval`, with set column widths
//! ([`fixed_line`], the binaries' shared table renderer).
use std::fmt::{self, Write};

use docclass::cli::table::{fixed_line, Align, Align::Left, Align::Right};
use docclass::eval::{Difference, EvalReport, ModelHashSource, Stratification, NONE_LABEL};
use docclass::train::cv::CvSummary;

/// Topic names in tables are cut to this many characters.
const NAME: usize = 30;

fn name(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Writes one table line and a newline.
fn line(out: &mut String, columns: &[(Align, usize)], cells: &[String]) -> fmt::Result {
    writeln!(out, "{}", fixed_line(columns, cells))
}

/// A header row's cells.
fn head<const N: usize>(cells: [&str; N]) -> [String; N] {
    cells.map(String::from)
}

/// A metric with four decimals.
fn f4(v: f64) -> String {
    format!("{v:.4}")
}

/// The whole report: metrics, hashes, errors, sweep and calibration.
pub fn report(out: &mut String, r: &EvalReport) -> fmt::Result {
    let m = &r.metrics;
    let columns = [(Left, 30), (Right, 9), (Right, 9), (Right, 9), (Right, 8)];
    line(
        out,
        &columns,
        &head(["topic", "precision", "recall", "f1", "support"]),
    )?;
    for t in &m.per_topic {
        line(
            out,
            &columns,
            &[
                t.topic.clone(),
                f4(t.precision),
                f4(t.recall),
                f4(t.f1),
                t.support.to_string(),
            ],
        )?;
    }
    writeln!(out)?;
    writeln!(out, "accuracy (exact set) {:.4}", m.accuracy)?;
    writeln!(
        out,
        "macro    P {:.4}  R {:.4}  F1 {:.4}",
        m.macro_precision, m.macro_recall, m.macro_f1
    )?;
    writeln!(
        out,
        "micro    P {:.4}  R {:.4}  F1 {:.4}",
        m.micro_precision, m.micro_recall, m.micro_f1
    )?;
    writeln!(out, "hamming loss {:.5}", m.hamming_loss)?;
    writeln!(out)?;
    hashes(out, r)?;
    writeln!(out)?;
    match &r.confusion_matrix {
        Some(_) => confusion(out, r)?,
        None => errors(out, r)?,
    }
    writeln!(out)?;
    sweep(out, r)?;
    writeln!(out)?;
    calibration(out, r)
}

fn hashes(out: &mut String, r: &EvalReport) -> fmt::Result {
    let of = match r.hashes.model_sha256_of {
        ModelHashSource::ModelFile => "of the model file",
        ModelHashSource::TrainOptions => "of the training options",
    };
    writeln!(out, "model sha256 {} ({of})", r.hashes.model_sha256)?;
    writeln!(out, "data  sha256 {}", r.hashes.data_sha256)?;
    Ok(())
}

fn confusion(out: &mut String, r: &EvalReport) -> fmt::Result {
    let Some(cm) = &r.confusion_matrix else {
        return Ok(());
    };
    let n = cm.labels.len();
    let none = n - 1;
    // The "none" row only when some document has no gold topic.
    let rows: Vec<usize> = (0..n)
        .filter(|&i| i < none || cm.counts[i].iter().any(|&c| c > 0))
        .collect();
    let max = cm.counts.iter().flatten().copied().max().unwrap_or(0);
    let width = max.to_string().len().max(4) + 1;
    writeln!(out, "confusion matrix: rows are the gold topic, columns the top decided topic, numbered as the rows (none: no topic decided)")?;
    write!(out, "{:>3} {:<NAME$}", "", "")?;
    for j in 0..n {
        let label = if j == none {
            NONE_LABEL.to_string()
        } else {
            (j + 1).to_string()
        };
        write!(out, "{label:>width$}")?;
    }
    writeln!(out)?;
    for i in rows {
        let number = if i == none {
            String::new()
        } else {
            (i + 1).to_string()
        };
        write!(out, "{number:>3} {:<NAME$}", name(&cm.labels[i], NAME))?;
        for j in 0..n {
            write!(out, "{:>width$}", cm.counts[i][j])?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn errors(out: &mut String, r: &EvalReport) -> fmt::Result {
    writeln!(
        out,
        "per-topic errors (multi-label data: no confusion matrix)"
    )?;
    let columns = [(Left, NAME), (Right, 7), (Right, 7), (Right, 7), (Right, 7)];
    line(out, &columns, &head(["topic", "TP", "FP", "FN", "TN"]))?;
    for e in &r.topic_errors {
        line(
            out,
            &columns,
            &[
                name(&e.topic, NAME),
                e.true_positives.to_string(),
                e.false_positives.to_string(),
                e.false_negatives.to_string(),
                e.true_negatives.to_string(),
            ],
        )?;
    }
    Ok(())
}

fn sweep(out: &mut String, r: &EvalReport) -> fmt::Result {
    writeln!(out, "threshold sweep: precision (P) and recall (R), in %, of deciding a topic when its probability >= t")?;
    let thresholds = docclass::eval::sweep_thresholds();
    let mut columns = vec![(Left, NAME), (Right, 2)];
    columns.extend(thresholds.iter().map(|_| (Right, 4)));
    let mut header = head(["topic", "t"]).to_vec();
    header.extend(
        thresholds
            .iter()
            .map(|t| format!("{t:.2}").trim_start_matches('0').to_string()),
    );
    line(out, &columns, &header)?;
    for s in &r.threshold_sweep {
        let cell = |v: f64| format!("{:.0}", v * 100.0);
        let mut p = vec![name(&s.topic, NAME), "P".to_string()];
        let mut rc = head(["", "R"]).to_vec();
        for point in &s.points {
            if point.predicted == 0 {
                p.push("-".to_string());
            } else {
                p.push(cell(point.precision));
            }
            rc.push(cell(point.recall));
        }
        line(out, &columns, &p)?;
        line(out, &columns, &rc)?;
    }
    Ok(())
}

fn calibration(out: &mut String, r: &EvalReport) -> fmt::Result {
    let c = &r.calibration;
    writeln!(out,
        "calibration over {} (document, topic) pairs: expected calibration error {:.4}, Brier score {:.4}",
        c.pairs, c.expected_calibration_error, c.brier_score
    )?;
    let columns = [(Left, 12), (Right, 8), (Right, 15), (Right, 10)];
    line(
        out,
        &columns,
        &head(["probability", "pairs", "mean predicted", "observed"]),
    )?;
    let last = c.bins.len().saturating_sub(1);
    for (i, b) in c.bins.iter().enumerate() {
        let range = format!(
            "[{:.1}, {:.1}{}",
            b.lower,
            b.upper,
            if i == last { "]" } else { ")" }
        );
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        line(
            out,
            &columns,
            &[
                range,
                b.count.to_string(),
                opt(b.mean_predicted),
                opt(b.observed_frequency),
            ],
        )?;
    }
    let columns = [(Left, 28), (Right, 9), (Right, 14), (Right, 8), (Right, 8)];
    line(
        out,
        &columns,
        &head(["topic", "positives", "mean predicted", "ECE", "Brier"]),
    )?;
    for (topic, t) in r.metrics.per_topic.iter().zip(&c.per_topic) {
        line(
            out,
            &columns,
            &[
                topic.topic.clone(),
                t.positives.to_string(),
                f4(t.mean_predicted),
                f4(t.expected_calibration_error),
                f4(t.brier_score),
            ],
        )?;
    }
    Ok(())
}

/// The cross-validation header: folds, stratification, per-fold metrics.
pub fn cv_header(out: &mut String, s: &CvSummary, documents: u64, seconds: f64) -> fmt::Result {
    let how = match s.stratification {
        Stratification::ByLabel => "stratified by label",
        Stratification::Iterative => "iterative stratification (multi-label)",
    };
    writeln!(
        out,
        "{}-fold cross-validation ({how}), seed {}, {documents} documents, {seconds:.1}s",
        s.folds, s.seed
    )?;
    let columns = [
        (Right, 4),
        (Right, 8),
        (Right, 8),
        (Right, 9),
        (Right, 9),
        (Right, 9),
    ];
    line(
        out,
        &columns,
        &head(["fold", "train", "test", "accuracy", "macro-F1", "micro-F1"]),
    )?;
    for f in &s.per_fold {
        line(
            out,
            &columns,
            &[
                f.fold.to_string(),
                f.train_documents.to_string(),
                f.test_documents.to_string(),
                f4(f.accuracy),
                f4(f.macro_f1),
                f4(f.micro_f1),
            ],
        )?;
    }
    writeln!(
        out,
        "per fold: accuracy {:.4} ± {:.4}, macro-F1 {:.4} ± {:.4} (mean ± standard deviation)",
        s.accuracy_mean, s.accuracy_std, s.macro_f1_mean, s.macro_f1_std
    )?;
    for f in &s.per_fold {
        if let Some(tuned) = &f.tuned {
            writeln!(out, "fold {} tuning chose: {tuned}", f.fold)?;
        }
    }
    Ok(())
}

/// One model in a comparison.
pub struct ModelColumn<'a> {
    pub path: String,
    pub version: String,
    pub report: &'a EvalReport,
    pub unknown: usize,
}

fn letter(i: usize) -> String {
    char::from_u32('A' as u32 + (i % 26) as u32)
        .unwrap_or('?')
        .to_string()
}

/// Models side by side: headline metrics, then per-topic F1, each with the
/// difference against the first model.
pub fn comparison(
    out: &mut String,
    models: &[ModelColumn],
    differences: &[Difference],
) -> fmt::Result {
    let Some(first) = models.first() else {
        return Ok(());
    };
    writeln!(
        out,
        "{} documents, data sha256 {}",
        first.report.metrics.documents, first.report.hashes.data_sha256
    )?;
    for (i, m) in models.iter().enumerate() {
        writeln!(
            out,
            "{} = {} (version {}, sha256 {})",
            letter(i),
            m.path,
            m.version,
            m.report.hashes.model_sha256
        )?;
        if m.unknown > 0 {
            writeln!(
                out,
                "    {} labels unknown to this model were ignored",
                m.unknown
            )?;
        }
    }
    writeln!(out)?;
    // A name column, then one per model and one per difference against A.
    let columns: Vec<(Align, usize)> = std::iter::once((Left, NAME))
        .chain((0..models.len() + differences.len()).map(|_| (Right, 9)))
        .collect();
    let header = |first: &str| -> Vec<String> {
        let letters = (0..models.len()).map(letter);
        let against_a = (1..models.len()).map(|i| format!("{} - A", letter(i)));
        std::iter::once(first.to_string())
            .chain(letters)
            .chain(against_a)
            .collect()
    };
    line(out, &columns, &header("metric"))?;
    type Pick = fn(&docclass::eval::Report) -> f64;
    type PickDiff = fn(&Difference) -> f64;
    let rows: [(&str, Pick, PickDiff); 8] = [
        ("accuracy (exact set)", |r| r.accuracy, |d| d.accuracy),
        (
            "macro precision",
            |r| r.macro_precision,
            |d| d.macro_precision,
        ),
        ("macro recall", |r| r.macro_recall, |d| d.macro_recall),
        ("macro F1", |r| r.macro_f1, |d| d.macro_f1),
        (
            "micro precision",
            |r| r.micro_precision,
            |d| d.micro_precision,
        ),
        ("micro recall", |r| r.micro_recall, |d| d.micro_recall),
        ("micro F1", |r| r.micro_f1, |d| d.micro_f1),
        ("hamming loss", |r| r.hamming_loss, |d| d.hamming_loss),
    ];
    for (label, pick, pick_diff) in rows {
        let mut cells = vec![label.to_string()];
        cells.extend(models.iter().map(|m| f4(pick(&m.report.metrics))));
        cells.extend(differences.iter().map(|d| format!("{:+.4}", pick_diff(d))));
        line(out, &columns, &cells)?;
    }
    writeln!(out)?;
    line(out, &columns, &header("topic F1"))?;
    // Every topic of any model: the first difference lists A's topics, then B's new ones.
    let mut topics: Vec<&str> = Vec::new();
    for d in differences {
        for t in &d.per_topic {
            if !topics.contains(&t.topic.as_str()) {
                topics.push(&t.topic);
            }
        }
    }
    let dash = || "-".to_string();
    for topic in topics {
        let mut cells = vec![name(topic, NAME)];
        for m in models {
            match m.report.metrics.per_topic.iter().find(|t| t.topic == topic) {
                Some(t) => cells.push(f4(t.f1)),
                None => cells.push(dash()),
            }
        }
        for d in differences {
            match d
                .per_topic
                .iter()
                .find(|t| t.topic == topic)
                .and_then(|t| t.f1_difference)
            {
                Some(v) => cells.push(format!("{v:+.4}")),
                None => cells.push(dash()),
            }
        }
        line(out, &columns, &cells)?;
    }
    Ok(())
}
