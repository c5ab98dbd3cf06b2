//! Text tables for `docclass-eval`.
use std::fmt::{self, Write};

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

/// The whole report: metrics, hashes, errors, sweep and calibration.
pub fn report(out: &mut String, r: &EvalReport) -> fmt::Result {
    let m = &r.metrics;
    writeln!(
        out,
        "{:<30} {:>9} {:>9} {:>9} {:>8}",
        "topic", "precision", "recall", "f1", "support"
    )?;
    for t in &m.per_topic {
        writeln!(
            out,
            "{:<30} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            t.topic, t.precision, t.recall, t.f1, t.support
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
    writeln!(out, "confusion matrix: rows are the gold topic, columns the top decided topic (none: no topic decided)")?;
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
    writeln!(
        out,
        "{:<NAME$} {:>7} {:>7} {:>7} {:>7}",
        "topic", "TP", "FP", "FN", "TN"
    )?;
    for e in &r.topic_errors {
        writeln!(
            out,
            "{:<NAME$} {:>7} {:>7} {:>7} {:>7}",
            name(&e.topic, NAME),
            e.true_positives,
            e.false_positives,
            e.false_negatives,
            e.true_negatives
        )?;
    }
    Ok(())
}

fn sweep(out: &mut String, r: &EvalReport) -> fmt::Result {
    writeln!(out, "threshold sweep: precision (P) and recall (R), in %, of deciding a topic when its probability >= t")?;
    write!(out, "{:<NAME$} {:>2}", "topic", "t")?;
    let thresholds = docclass::eval::sweep_thresholds();
    for t in &thresholds {
        write!(out, " {:>4}", format!("{t:.2}").trim_start_matches('0'))?;
    }
    writeln!(out)?;
    for s in &r.threshold_sweep {
        let cell = |v: f64| format!(" {:>4.0}", v * 100.0);
        let mut p = format!("{:<NAME$} {:>2}", name(&s.topic, NAME), "P");
        let mut rc = format!("{:<NAME$} {:>2}", "", "R");
        for point in &s.points {
            if point.predicted == 0 {
                p.push_str(&format!(" {:>4}", "-"));
            } else {
                p.push_str(&cell(point.precision));
            }
            rc.push_str(&cell(point.recall));
        }
        writeln!(out, "{p}")?;
        writeln!(out, "{rc}")?;
    }
    Ok(())
}

fn calibration(out: &mut String, r: &EvalReport) -> fmt::Result {
    let c = &r.calibration;
    writeln!(out,
        "calibration over {} (document, topic) pairs: expected calibration error {:.4}, Brier score {:.4}",
        c.pairs, c.expected_calibration_error, c.brier_score
    )?;
    writeln!(
        out,
        "{:<12} {:>8} {:>15} {:>10}",
        "probability", "pairs", "mean predicted", "observed"
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
        writeln!(
            out,
            "{range:<12} {:>8} {:>15} {:>10}",
            b.count,
            opt(b.mean_predicted),
            opt(b.observed_frequency)
        )?;
    }
    writeln!(
        out,
        "{:<28} {:>9} {:>14} {:>8} {:>8}",
        "topic", "positives", "mean predicted", "ECE", "Brier"
    )?;
    for (topic, t) in r.metrics.per_topic.iter().zip(&c.per_topic) {
        writeln!(
            out,
            "{:<28} {:>9} {:>14.4} {:>8.4} {:>8.4}",
            topic.topic, t.positives, t.mean_predicted, t.expected_calibration_error, t.brier_score
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
    writeln!(
        out,
        "{:>4} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "fold", "train", "test", "accuracy", "macro-F1", "micro-F1"
    )?;
    for f in &s.per_fold {
        writeln!(
            out,
            "{:>4} {:>8} {:>8} {:>9.4} {:>9.4} {:>9.4}",
            f.fold, f.train_documents, f.test_documents, f.accuracy, f.macro_f1, f.micro_f1
        )?;
    }
    writeln!(
        out,
        "per fold: accuracy {:.4} ± {:.4}, macro-F1 {:.4} ± {:.4} (mean ± standard deviation)",
        s.accuracy_mean, s.accuracy_std, s.macro_f1_mean, s.macro_f1_std
    )?;
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
    let mut header = format!("{:<NAME$}", "metric");
    for i in 0..models.len() {
        header.push_str(&format!(" {:>9}", letter(i)));
    }
    for i in 1..models.len() {
        header.push_str(&format!(" {:>9}", format!("{} - A", letter(i))));
    }
    writeln!(out, "{header}")?;
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
        let mut line = format!("{label:<NAME$}");
        for m in models {
            line.push_str(&format!(" {:>9.4}", pick(&m.report.metrics)));
        }
        for d in differences {
            line.push_str(&format!(" {:>+9.4}", pick_diff(d)));
        }
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    let mut header = format!("{:<NAME$}", "topic F1");
    for i in 0..models.len() {
        header.push_str(&format!(" {:>9}", letter(i)));
    }
    for i in 1..models.len() {
        header.push_str(&format!(" {:>9}", format!("{} - A", letter(i))));
    }
    writeln!(out, "{header}")?;
    // Every topic of any model: the first difference lists A's topics, then B's new ones.
    let mut topics: Vec<&str> = Vec::new();
    for d in differences {
        for t in &d.per_topic {
            if !topics.contains(&t.topic.as_str()) {
                topics.push(&t.topic);
            }
        }
    }
    let dash = || format!(" {:>9}", "-");
    for topic in topics {
        let mut line = format!("{:<NAME$}", name(topic, NAME));
        for m in models {
            match m.report.metrics.per_topic.iter().find(|t| t.topic == topic) {
                Some(t) => line.push_str(&format!(" {:>9.4}", t.f1)),
                None => line.push_str(&dash()),
            }
        }
        for d in differences {
            match d
                .per_topic
                .iter()
                .find(|t| t.topic == topic)
                .and_then(|t| t.f1_difference)
            {
                Some(v) => line.push_str(&format!(" {v:>+9.4}")),
                None => line.push_str(&dash()),
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}
