//! Evaluation: classification metrics (single- and multi-label), the full
//! evaluation report (confusion matrix, error counts, threshold sweep,
//! calibration, hashes), and seeded stratified splits for held-out tuning
//! and cross-validation.
//!
//! It sits below [`crate::train`], which uses the splits and the metrics;
//! cross-validation, which trains a model per fold, is `train::cv`.

mod analysis;
mod metrics;
mod split;

pub use analysis::{
    calibration, confusion_matrix, difference, sha256_hex, sweep_thresholds, threshold_sweep,
    topic_errors, Calibration, CalibrationBin, ConfusionMatrix, Difference, EvalReport, Hashes,
    ModelHashSource, Scored, SweepPoint, TopicCalibration, TopicDifference, TopicErrors,
    TopicSweep, CALIBRATION_BINS, NONE_LABEL,
};
pub use metrics::{evaluate, Report, TopicMetrics};
pub use split::{
    cv_splits, holdout_split, iterative_kfold_splits, kfold_splits, Split, Stratification,
};
