//! Evaluation: classification metrics (single- and multi-label), the full
//! evaluation report (confusion matrix, error counts, threshold sweep,
//! calibration, hashes), seeded stratified splits for held-out tuning, and
//! k-fold cross-validation.
//!
//! `cv` sits above [`crate::train`] (it trains a model per fold); the rest is
//! below it (training uses the splits and the metrics).

mod analysis;
mod cv;
mod metrics;
mod split;

pub use analysis::{
    calibration, confusion_matrix, difference, sha256_hex, sweep_thresholds, threshold_sweep,
    topic_errors, Calibration, CalibrationBin, ConfusionMatrix, Difference, EvalReport, Hashes,
    ModelHashSource, Scored, SweepPoint, TopicCalibration, TopicDifference, TopicErrors,
    TopicSweep, CALIBRATION_BINS, NONE_LABEL,
};
pub use cv::{
    cross_validate, cross_validate_with, cv_splits, CvResult, CvSummary, FoldSummary,
    Stratification,
};
pub use metrics::{evaluate, Report, TopicMetrics};
pub use split::{holdout_split, iterative_kfold_splits, kfold_splits, Split};
