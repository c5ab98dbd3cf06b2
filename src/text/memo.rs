//! A per-thread memo of the filter chain: raw token → filtered token and its
//! term hash, or "dropped".
//!
//! The chain (lowercase, elision, stop words, stem, fold, length) depends only
//! on the raw token, the document's language and the chain's configuration,
//! and news text repeats its words: most tokens of any document were seen
//! moments ago. A hit replaces the whole chain, and the term hash, with one
//! comparison of two words.
//!
//! Layout, chosen by measurement (cache misses on this table were the largest
//! cost of serving): 4-way sets of 32-byte slots, 65,536 slots (2 MiB per
//! thread), enough for the distinct word forms of a few thousand news
//! articles (BBC News cut to 1 KB has about 24,000) without the conflict
//! misses of a direct-mapped table. The filtered text lives in a separate
//! array that only training reads. [`TokenMemo::prefetch`] touches a
//! document's sets before they are read, so their cache misses overlap. A
//! miss runs the chain and replaces an entry of the set. Tokens longer than
//! [`INLINE`] bytes bypass the memo.

use std::cell::RefCell;
use std::sync::Mutex;

/// Longest raw (and filtered) token kept, in bytes.
pub(crate) const INLINE: usize = 15;
/// log2 of the number of sets.
const SET_BITS: u32 = 14;
/// Slots per set.
const WAYS: usize = 4;
/// `text_len` of a slot whose token the chain drops.
const DROPPED: u8 = u8::MAX;

/// A raw token of up to [`INLINE`] bytes, zero-padded, with its length in
/// the last byte: compared and hashed as two words, with no loop.
type PackedToken = [u64; 2];

#[inline]
fn pack(raw: &[u8]) -> Option<PackedToken> {
    if raw.len() > INLINE {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..raw.len()].copy_from_slice(raw);
    bytes[INLINE] = raw.len() as u8;
    let (lo, hi) = bytes.split_at(8);
    let word = |half: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(half);
        u64::from_le_bytes(w)
    };
    Some([word(lo), word(hi)])
}

#[derive(Clone, Copy)]
#[repr(C, align(32))]
struct Slot {
    raw: PackedToken,
    hash: u64,
    /// The chain (and language) the entry belongs to; 0 for an empty slot.
    chain: u32,
    text_len: u8,
}

const EMPTY: Slot = Slot {
    raw: [0; 2],
    hash: 0,
    chain: 0,
    text_len: 0,
};

/// What the memo knows about a raw token.
pub(crate) enum Memoized<'a> {
    /// The chain keeps the token as `text` (UTF-8: it was put in as a
    /// `str`), whose term hash is `hash`.
    Kept { hash: u64, text: &'a [u8] },
    /// The chain drops the token.
    Dropped,
}

pub(crate) struct TokenMemo {
    slots: Vec<Slot>,
    /// The filtered text of each slot.
    texts: Vec<[u8; INLINE]>,
}

impl TokenMemo {
    fn new() -> TokenMemo {
        TokenMemo {
            slots: vec![EMPTY; WAYS << SET_BITS],
            texts: vec![[0; INLINE]; WAYS << SET_BITS],
        }
    }
}

thread_local! {
    static MEMO: RefCell<TokenMemo> = RefCell::new(TokenMemo::new());
}

/// Runs `f` with this thread's memo, or with `None` if it is already in use
/// further up the stack (it never is today; this keeps re-entry safe).
pub(crate) fn with_memo<R>(f: impl FnOnce(Option<&mut TokenMemo>) -> R) -> R {
    MEMO.with(|cell| match cell.try_borrow_mut() {
        Ok(mut memo) => f(Some(&mut memo)),
        Err(_) => f(None),
    })
}

/// Every (chain fingerprint, language) pair gets a small exact id, so that
/// slots can name their chain in 32 bits with no chance of two chains
/// sharing entries. The registry only grows by distinct analyzer configs.
static CHAINS: Mutex<Vec<(u64, &'static str)>> = Mutex::new(Vec::new());

/// The memo id (never 0) of a chain in one language.
pub(crate) fn chain_id(chain_fingerprint: u64, lang_code: &'static str) -> u32 {
    let mut chains = CHAINS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let position = match chains
        .iter()
        .position(|&(f, l)| f == chain_fingerprint && l == lang_code)
    {
        Some(p) => p,
        None => {
            chains.push((chain_fingerprint, lang_code));
            chains.len() - 1
        }
    };
    u32::try_from(position + 1).unwrap_or(u32::MAX)
}

impl TokenMemo {
    /// The token's set (its first slot) and a few more hash bits that choose
    /// which way a new entry replaces.
    #[inline]
    fn set_of(chain: u32, raw: &PackedToken) -> (usize, usize) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mixed = (raw[0] ^ u64::from(chain))
            .wrapping_mul(K)
            .rotate_left(29)
            .wrapping_add(raw[1])
            .wrapping_mul(K);
        let set = (mixed >> (64 - SET_BITS)) as usize;
        (set * WAYS, (mixed >> 8) as usize % WAYS)
    }

    /// Touches the sets of `tokens` (byte ranges of `text`) so that their
    /// cache misses are in flight together, before the lookups need them.
    pub(crate) fn prefetch(&self, chain: u32, text: &str, tokens: &[(usize, usize)]) {
        let mut touched = 0u64;
        for &(start, end) in tokens {
            if let Some(raw) = text.as_bytes().get(start..end).and_then(pack) {
                let (first, _) = Self::set_of(chain, &raw);
                touched ^= self.slots[first].hash;
            }
        }
        std::hint::black_box(touched);
    }

    /// The memoized outcome for `raw` under `chain`, if any.
    #[inline]
    pub(crate) fn get(&self, chain: u32, raw: &str) -> Option<Memoized<'_>> {
        let raw = pack(raw.as_bytes())?;
        let (first, _) = Self::set_of(chain, &raw);
        let way = self.slots[first..first + WAYS]
            .iter()
            .position(|slot| slot.chain == chain && slot.raw == raw)?;
        let slot = &self.slots[first + way];
        if slot.text_len == DROPPED {
            return Some(Memoized::Dropped);
        }
        Some(Memoized::Kept {
            hash: slot.hash,
            text: &self.texts[first + way][..usize::from(slot.text_len)],
        })
    }

    /// Records that the chain turns `raw` into `kept` (text and term hash),
    /// or drops it when `kept` is `None`. Tokens too long for a slot are not
    /// recorded.
    #[inline]
    pub(crate) fn put(&mut self, chain: u32, raw: &str, kept: Option<(&str, u64)>) {
        let Some(raw) = pack(raw.as_bytes()) else {
            return;
        };
        if kept.is_some_and(|(text, _)| text.len() > INLINE) {
            return;
        }
        let (first, victim) = Self::set_of(chain, &raw);
        let set = &self.slots[first..first + WAYS];
        // An empty way if there is one, otherwise a pseudo-random one.
        let way = set
            .iter()
            .position(|slot| slot.chain == 0)
            .unwrap_or(victim);
        let slot = &mut self.slots[first + way];
        slot.chain = chain;
        slot.raw = raw;
        match kept {
            Some((text, hash)) => {
                slot.text_len = text.len() as u8;
                slot.hash = hash;
                self.texts[first + way][..text.len()].copy_from_slice(text.as_bytes());
            }
            None => slot.text_len = DROPPED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo() -> TokenMemo {
        TokenMemo::new()
    }

    #[test]
    fn remembers_kept_and_dropped_tokens_per_key() {
        let mut m = memo();
        let (en, fr) = (chain_id(7, "en"), chain_id(7, "fr"));
        assert_ne!(en, fr);
        assert_eq!(chain_id(7, "en"), en);
        assert!(m.get(en, "Armies").is_none());
        m.put(en, "Armies", Some(("armi", 42)));
        m.put(en, "the", None);
        assert!(matches!(
            m.get(en, "Armies"),
            Some(Memoized::Kept {
                hash: 42,
                text: b"armi"
            })
        ));
        assert!(matches!(m.get(en, "the"), Some(Memoized::Dropped)));
        // Another language (or chain) never sees the entry.
        assert!(m.get(fr, "Armies").is_none());
        assert!(m.get(en, "Armie").is_none());
        // Zero padding never makes a prefix match.
        m.put(en, "a", Some(("a", 1)));
        assert!(m.get(en, "a\0").is_none());
    }

    #[test]
    fn skips_tokens_longer_than_a_slot() {
        let mut m = memo();
        let key = chain_id(1, "en");
        let long = "x".repeat(INLINE + 1);
        m.put(key, &long, Some(("x", 1)));
        assert!(m.get(key, &long).is_none());
        m.put(key, "short", Some((&long, 1)));
        assert!(m.get(key, "short").is_none());
    }
}
