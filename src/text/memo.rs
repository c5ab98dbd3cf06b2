//! A per-thread memo of the filter chain: raw token → filtered token and its
//! term hash, or "dropped".
//!
//! The chain (lowercase, elision, stop words, stem, fold, length) depends only
//! on the raw token, the document's language and the chain's configuration,
//! and news text repeats its words: most tokens of any document were seen
//! moments ago. A hit replaces the whole chain, and the term hash, with one
//! short byte comparison.
//!
//! The memo is 4-way set-associative, with 64-byte slots holding the token
//! bytes inline: 65,536 slots (4 MiB per thread), enough for the distinct
//! word forms of a few thousand news articles (BBC News cut to 1 KB has about
//! 24,000) without the conflict misses a direct-mapped table of that size
//! has. A miss runs the chain and replaces an entry of the set. Tokens longer
//! than [`INLINE`] bytes bypass it.

use std::cell::RefCell;

/// Longest raw (and filtered) token kept in a slot, in bytes.
pub(crate) const INLINE: usize = 23;
/// log2 of the number of sets.
const SET_BITS: u32 = 14;
/// Slots per set.
const WAYS: usize = 4;
/// `text_len` of a slot whose token the chain drops.
const DROPPED: u8 = u8::MAX;

/// A raw token of up to [`INLINE`] bytes, zero-padded, with its length in
/// the last byte: compared and hashed as three words, with no loop.
type PackedToken = [u64; 3];

fn pack(raw: &[u8]) -> Option<PackedToken> {
    if raw.len() > INLINE {
        return None;
    }
    let mut bytes = [0u8; 24];
    bytes[..raw.len()].copy_from_slice(raw);
    bytes[INLINE] = raw.len() as u8;
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[8 * i..8 * i + 8]);
        u64::from_le_bytes(w)
    };
    Some([word(0), word(1), word(2)])
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Slot {
    /// The chain and language the entry belongs to; 0 for an empty slot.
    key: u64,
    hash: u64,
    raw: PackedToken,
    text_len: u8,
    text: [u8; INLINE],
}

const EMPTY: Slot = Slot {
    key: 0,
    hash: 0,
    raw: [0; 3],
    text_len: 0,
    text: [0; INLINE],
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
}

thread_local! {
    static MEMO: RefCell<TokenMemo> = RefCell::new(TokenMemo {
        slots: vec![EMPTY; WAYS << SET_BITS],
    });
}

/// Runs `f` with this thread's memo, or with `None` if it is already in use
/// further up the stack (it never is today; this keeps re-entry safe).
pub(crate) fn with_memo<R>(f: impl FnOnce(Option<&mut TokenMemo>) -> R) -> R {
    MEMO.with(|cell| match cell.try_borrow_mut() {
        Ok(mut memo) => f(Some(&mut memo)),
        Err(_) => f(None),
    })
}

/// A key for one filter chain in one language; never 0.
pub(crate) fn chain_key(chain_fingerprint: u64, lang_code: &str) -> u64 {
    crate::hash::combine(
        chain_fingerprint,
        crate::hash::hash_bytes(lang_code.as_bytes()),
    ) | 1
}

impl TokenMemo {
    /// The token's set (its first slot) and a few more hash bits that choose
    /// which way a new entry replaces.
    #[inline]
    fn set_of(key: u64, raw: &PackedToken) -> (usize, usize) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mixed = (raw[0] ^ key)
            .wrapping_mul(K)
            .rotate_left(29)
            .wrapping_add(raw[1])
            .wrapping_mul(K)
            .rotate_left(29)
            .wrapping_add(raw[2])
            .wrapping_mul(K);
        let set = (mixed >> (64 - SET_BITS)) as usize;
        (set * WAYS, (mixed >> 8) as usize % WAYS)
    }

    /// The memoized outcome for `raw` under `key`, if any.
    #[inline]
    pub(crate) fn get(&self, key: u64, raw: &str) -> Option<Memoized<'_>> {
        let raw = pack(raw.as_bytes())?;
        let (first, _) = Self::set_of(key, &raw);
        let slot = self.slots[first..first + WAYS]
            .iter()
            .find(|slot| slot.key == key && slot.raw == raw)?;
        if slot.text_len == DROPPED {
            return Some(Memoized::Dropped);
        }
        Some(Memoized::Kept {
            hash: slot.hash,
            text: &slot.text[..usize::from(slot.text_len)],
        })
    }

    /// Records that the chain turns `raw` into `kept` (text and term hash),
    /// or drops it when `kept` is `None`. Tokens too long for a slot are not
    /// recorded.
    #[inline]
    pub(crate) fn put(&mut self, key: u64, raw: &str, kept: Option<(&str, u64)>) {
        let Some(raw) = pack(raw.as_bytes()) else {
            return;
        };
        if kept.is_some_and(|(text, _)| text.len() > INLINE) {
            return;
        }
        let (first, victim) = Self::set_of(key, &raw);
        let set = &mut self.slots[first..first + WAYS];
        // An empty way if there is one, otherwise a pseudo-random one.
        let way = set.iter().position(|slot| slot.key == 0).unwrap_or(victim);
        let slot = &mut set[way];
        slot.key = key;
        slot.raw = raw;
        match kept {
            Some((text, hash)) => {
                slot.text_len = text.len() as u8;
                slot.text[..text.len()].copy_from_slice(text.as_bytes());
                slot.hash = hash;
            }
            None => slot.text_len = DROPPED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo() -> TokenMemo {
        TokenMemo {
            slots: vec![EMPTY; WAYS << SET_BITS],
        }
    }

    #[test]
    fn remembers_kept_and_dropped_tokens_per_key() {
        let mut m = memo();
        let (en, fr) = (chain_key(7, "en"), chain_key(7, "fr"));
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
        let key = chain_key(1, "en");
        let long = "x".repeat(INLINE + 1);
        m.put(key, &long, Some(("x", 1)));
        assert!(m.get(key, &long).is_none());
        m.put(key, "short", Some((&long, 1)));
        assert!(m.get(key, "short").is_none());
    }
}
