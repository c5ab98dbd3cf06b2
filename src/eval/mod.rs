//! Evaluation: classification metrics (single- and multi-label) and seeded,
//! stratified splits for held-out tuning and cross-validation.

mod metrics;
mod split;

pub use metrics::{evaluate, Report, TopicMetrics};
pub use split::{holdout_split, kfold_splits, Split};
