//! Hyperparameters, linfa-style: an unchecked newtype and its checked form.
use super::{NbError, Result};
use linfa::ParamGuard;
use serde::{Deserialize, Serialize};

/// Which Naive Bayes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NbVariant {
    /// Multinomial NB: `P(f|c)` from the counts of documents in `c`.
    Multinomial,
    /// Complement NB (Rennie et al. 2003): weights from the counts of the
    /// documents *not* in `c`, negated. Better on imbalanced topics.
    Complement,
}

impl NbVariant {
    /// The name flags and reports use (`--nb complement`).
    pub fn name(self) -> &'static str {
        match self {
            NbVariant::Multinomial => "multinomial",
            NbVariant::Complement => "complement",
        }
    }
}

/// Class priors. Complement NB ignores them, as in Rennie et al. and scikit-learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassPriors {
    /// From topic frequencies in the training data.
    Learned,
    /// The same for every topic.
    Uniform,
    /// Given, one per topic, in topic order; must sum to 1.
    Given(Vec<f64>),
}

/// Checked hyperparameters.
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `variant` | `Complement` | Multinomial or Complement NB | either |
/// | `alpha` | `0.1` | Lidstone smoothing added to every feature count | `(0, ∞)`, finite |
/// | `priors` | `Learned` | class priors (Multinomial only) | `Learned`, `Uniform`, or `Given(p)` with `p_i > 0`, `Σp = 1` |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NbValidParams {
    pub(super) variant: NbVariant,
    pub(super) alpha: f64,
    pub(super) priors: ClassPriors,
    /// Fit even when a topic has no document, giving it no chance of being
    /// predicted. Used for cross-validation folds, where a rare topic can be
    /// missing from a training part. Not saved: a final model never has it.
    #[serde(skip)]
    pub(super) allow_empty_topics: bool,
}

impl NbValidParams {
    /// The same parameters, tolerating topics without training documents.
    pub fn allowing_empty_topics(&self) -> NbValidParams {
        NbValidParams {
            allow_empty_topics: true,
            ..self.clone()
        }
    }

    pub fn variant(&self) -> NbVariant {
        self.variant
    }
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    pub fn priors(&self) -> &ClassPriors {
        &self.priors
    }
}

/// Unchecked hyperparameters; see [`NbValidParams`] for the table.
#[derive(Debug, Clone, PartialEq)]
pub struct NbParams(NbValidParams);

impl Default for NbParams {
    fn default() -> Self {
        Self::new()
    }
}

impl NbParams {
    pub fn new() -> Self {
        Self(NbValidParams {
            variant: NbVariant::Complement,
            alpha: 0.1,
            priors: ClassPriors::Learned,
            allow_empty_topics: false,
        })
    }
    pub fn variant(mut self, variant: NbVariant) -> Self {
        self.0.variant = variant;
        self
    }
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.0.alpha = alpha;
        self
    }
    pub fn priors(mut self, priors: ClassPriors) -> Self {
        self.0.priors = priors;
        self
    }
}

impl ParamGuard for NbParams {
    type Checked = NbValidParams;
    type Error = NbError;

    fn check_ref(&self) -> Result<&NbValidParams> {
        let p = &self.0;
        if !(p.alpha.is_finite() && p.alpha > 0.0) {
            return Err(NbError::Alpha(p.alpha));
        }
        if let ClassPriors::Given(priors) = &p.priors {
            if let Some(&bad) = priors.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                return Err(NbError::PriorValue(bad));
            }
            let sum: f64 = priors.iter().sum();
            if (sum - 1.0).abs() > 1e-6 {
                return Err(NbError::PriorSum(sum));
            }
        }
        Ok(p)
    }

    fn check(self) -> Result<NbValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }
}
