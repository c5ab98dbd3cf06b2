//! Features: mapping analyzer terms to feature ids, and weighting them.
//!
//! Owns the vocabulary (with min_df / max_df / max_features pruning) or the
//! hashing space, TF / sublinear TF / IDF / L2 weighting, and the sparse
//! vectors and matrices the Naive Bayes layer consumes. Nothing here is ever a
//! dense documents × features matrix.

mod counting;
mod space;
mod sparse;

pub use space::{AnalyzedCorpus, DocTerms, FeatureSpace, FeatureSpaceData, FittedFeatures};
pub use sparse::{CsrMatrix, SparseVec};

// Also backs Naive Bayes's features × topics table.
pub(crate) use counting::huge_page_vec;

use serde::{Deserialize, Serialize};

/// Errors in feature parameters or a saved feature space.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FeatureError {
    #[error("min_df must be at least 1, got {0}")]
    MinDf(u32),
    #[error("max_df must be in (0, 1], got {0}")]
    MaxDf(f64),
    #[error("max_features must be at least 1 when set")]
    MaxFeatures,
    #[error("hash_bits must be between 8 and 28, got {0}")]
    HashBits(u8),
    #[error("no term survived pruning (min_df {min_df}, max_df {max_df}): the corpus is too small or too uniform; lower --min-df or raise --max-df")]
    EmptyVocabulary { min_df: u32, max_df: f64 },
    #[error("saved feature space is inconsistent: {0}")]
    Inconsistent(String),
}

pub type Result<T> = std::result::Result<T, FeatureError>;

/// How terms become feature ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureMode {
    /// A vocabulary learned from the training corpus, pruned by document
    /// frequency. Keeps term text, so explanations can name terms.
    Vocabulary {
        /// Drop terms in fewer than this many training documents.
        min_df: u32,
        /// Drop terms in more than this fraction of training documents.
        max_df: f64,
        /// Keep at most this many terms, the most frequent (by df) first.
        max_features: Option<u32>,
    },
    /// Feature hashing into 2^bits buckets. No vocabulary to store, but
    /// explanations cannot name terms.
    Hashing { bits: u8 },
}

/// Per-document term weighting.
///
/// | field | default | purpose |
/// |---|---|---|
/// | `sublinear_tf` | `true` | use `1 + ln(tf)` instead of raw counts |
/// | `idf` | `true` | multiply by smoothed IDF `ln((1+n)/(1+df)) + 1` |
/// | `l2_normalize` | `true` | scale each document vector to unit length |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weighting {
    pub sublinear_tf: bool,
    pub idf: bool,
    pub l2_normalize: bool,
}

impl Weighting {
    /// Raw term counts: the textbook multinomial model.
    pub const RAW_COUNTS: Weighting = Weighting {
        sublinear_tf: false,
        idf: false,
        l2_normalize: false,
    };
}

impl Default for Weighting {
    fn default() -> Self {
        Self {
            sublinear_tf: true,
            idf: true,
            l2_normalize: true,
        }
    }
}

/// Feature parameters, saved in the model.
///
/// | field | default | range |
/// |---|---|---|
/// | `mode` | vocabulary, `min_df` 2, `max_df` 1.0, no cap | see [`FeatureMode`] |
/// | `weighting` | sublinear TF, IDF, L2 | see [`Weighting`] |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    pub mode: FeatureMode,
    pub weighting: Weighting,
}

impl Default for FeatureParams {
    fn default() -> Self {
        Self {
            mode: FeatureMode::Vocabulary {
                min_df: 2,
                max_df: 1.0,
                max_features: None,
            },
            weighting: Weighting::default(),
        }
    }
}

impl FeatureParams {
    pub fn validate(&self) -> Result<()> {
        match self.mode {
            FeatureMode::Vocabulary {
                min_df,
                max_df,
                max_features,
            } => {
                if min_df == 0 {
                    return Err(FeatureError::MinDf(min_df));
                }
                if !(max_df > 0.0 && max_df <= 1.0) {
                    return Err(FeatureError::MaxDf(max_df));
                }
                if max_features == Some(0) {
                    return Err(FeatureError::MaxFeatures);
                }
            }
            FeatureMode::Hashing { bits } => {
                if !(8..=28).contains(&bits) {
                    return Err(FeatureError::HashBits(bits));
                }
            }
        }
        Ok(())
    }
}
