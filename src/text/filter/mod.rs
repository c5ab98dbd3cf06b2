//! Token filters: small, single-purpose steps applied in the order the
//! analyzer config lists them (tantivy's `TokenFilter` style).
//!
//! Each filter edits a token in place and says whether to keep it. The token
//! buffer is reused between tokens, so a filter that does not change a token
//! allocates nothing.

mod elision;
mod fold;
mod invisible;
mod length;
mod lowercase;
mod stem;
mod stop_words;

pub use elision::Elision;
pub use fold::AccentFold;
pub use invisible::{is_invisible, StripInvisible};
pub use length::Length;
pub use lowercase::Lowercase;
pub use stem::Stem;
pub use stop_words::StopWords;

use super::Lang;

/// One step of the analysis chain.
pub trait TokenFilter: Send + Sync + std::fmt::Debug {
    /// Edits `token` in place; returns `false` to drop it.
    fn apply(&self, token: &mut String, lang: Lang) -> bool;
}
