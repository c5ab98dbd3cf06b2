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
//! cost of serving): 4-way sets of 32-byte slots, 131,072 slots (4 MiB per
//! thread), enough for the distinct word forms of a few thousand news
//! articles without the conflict misses of a direct-mapped table. BBC News
//! cut to 1 KB has about 25,000; with half as many slots, classifying it
//! over and over ran the chain for 0.93 tokens per document instead of 0.45
//! (0.37 of them the first pass's), and at about 1 µs a chain run that was
//! 6% of classification. The filtered text lives in a separate array that
//! only training (and character n-grams) reads and writes, so serving leaves
//! its pages untouched. A slot also holds a 32-bit payload for whoever owns
//! its chain id: serving stores the unigram's feature id there
//! (under ids from [`fresh_chain_ids`], one set per feature space), so a hit
//! also skips the feature lookup. [`TokenMemo::prefetch`] touches a
//! document's sets before they are read, so their cache misses overlap. A
//! miss runs the chain and replaces an entry of the set. Tokens longer than
//! [`INLINE`] bytes bypass the memo.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// Longest raw (and filtered) token kept, in bytes.
pub(crate) const INLINE: usize = 15;
/// log2 of the number of sets.
const SET_BITS: u32 = 15;
/// Slots per set.
const WAYS: usize = 4;
/// `payload` of a slot whose token the chain drops.
const DROPPED: u32 = u32::MAX;
/// `payload` of a kept token when the chain's user stores none (and the
/// value callers get back for "no payload").
pub(crate) const NO_PAYLOAD: u32 = u32::MAX - 1;

/// A raw token of up to [`INLINE`] bytes, zero-padded, with its length in
/// the last byte: compared and hashed as two words, with no loop.
type PackedToken = [u64; 2];

#[inline]
fn pack(raw: &[u8]) -> Option<PackedToken> {
    let len = raw.len();
    if len > INLINE {
        return None;
    }
    // Word loads, not a copy into a buffer read back as words: that copy is
    // a call to `memcpy` per token, whose stores the loads then wait for.
    let (lo, hi) = match raw.split_at_checked(8) {
        Some((first, rest)) => (load_le(first), load_le(rest)),
        None => (load_le(raw), 0),
    };
    Some([lo, hi | ((len as u64) << 56)])
}

/// The bytes of `b` (at most 8 are read) as a little-endian number,
/// zero-padded.
#[inline(always)]
fn load_le(b: &[u8]) -> u64 {
    let n = b.len();
    let four = |at: usize| -> u64 {
        let mut w = [0u8; 4];
        if let Some(src) = b.get(at..at + 4) {
            w.copy_from_slice(src);
        }
        u64::from(u32::from_le_bytes(w))
    };
    match n {
        8.. => {
            let mut w = [0u8; 8];
            if let Some(src) = b.get(..8) {
                w.copy_from_slice(src);
            }
            u64::from_le_bytes(w)
        }
        // Two overlapping four-byte loads; the bytes they share are equal.
        4..=7 => four(0) | (four(n - 4) << (8 * (n - 4))),
        1..=3 => {
            let at = |i: usize| u64::from(b.get(i).copied().unwrap_or(0)) << (8 * i);
            at(0) | at(n / 2) | at(n - 1)
        }
        0 => 0,
    }
}

/// Asks the CPU to bring both cache lines of `set` closer. A prefetch hint,
/// unlike a load, never holds up the instructions after it while it misses.
#[inline(always)]
fn prefetch_set(set: &Set) {
    #[cfg(target_arch = "x86_64")]
    {
        let start: *const Set = set;
        let second = set.ways[WAYS / 2..].as_ptr();
        for line in [start.cast::<i8>(), second.cast::<i8>()] {
            // SAFETY: a prefetch is only a hint: it reads nothing into the
            // program and never faults, whatever the address; both pointers
            // point into `set`, which is alive.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::hint::black_box(set.ways[0].hash);
}

/// One slot: 32 bytes.
#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    raw: PackedToken,
    hash: u64,
    /// The chain (and language) the entry belongs to; 0 for an empty slot.
    chain: u32,
    /// What the chain's user stored with the kept token (a feature id), or
    /// [`NO_PAYLOAD`], or [`DROPPED`].
    payload: u32,
}

const EMPTY: Slot = Slot {
    raw: [0; 2],
    hash: 0,
    chain: 0,
    payload: 0,
};

/// One set of [`WAYS`] slots, aligned so that it is exactly two cache lines
/// (the two that [`TokenMemo::prefetch`] asks for).
#[derive(Clone, Copy)]
#[repr(C, align(128))]
struct Set {
    ways: [Slot; WAYS],
}

const EMPTY_SET: Set = Set {
    ways: [EMPTY; WAYS],
};

/// What the memo knows about a raw token.
pub(crate) enum Memoized {
    /// The chain keeps the token, whose term hash is `hash`, stored with
    /// `payload`; its filtered text is [`TokenMemo::text`] of `slot`, read
    /// only when asked for (serving never does).
    Kept {
        hash: u64,
        payload: u32,
        slot: usize,
    },
    /// The chain drops the token.
    Dropped,
}

/// A raw token's place in the memo, computed once per token: the prefetch
/// pass and the lookup share it.
#[derive(Clone, Copy)]
pub(crate) struct Probe {
    raw: PackedToken,
    /// The token's set; `u32::MAX` for a token too long to memoize.
    set: u32,
    /// The way a new entry replaces when the set is full.
    victim: u32,
}

impl Probe {
    #[inline]
    pub(crate) fn new(chain: u32, raw: &[u8]) -> Probe {
        match pack(raw) {
            Some(raw) => {
                const K: u64 = 0x9e37_79b9_7f4a_7c15;
                let mixed = (raw[0] ^ u64::from(chain))
                    .wrapping_mul(K)
                    .rotate_left(29)
                    .wrapping_add(raw[1])
                    .wrapping_mul(K);
                Probe {
                    raw,
                    set: (mixed >> (64 - SET_BITS)) as u32,
                    victim: (mixed >> 8) as u32 % WAYS as u32,
                }
            }
            None => Probe {
                raw: [0; 2],
                set: u32::MAX,
                victim: 0,
            },
        }
    }

    /// The index of the token's set, if it has one.
    #[inline]
    fn set(&self) -> Option<usize> {
        (self.set != u32::MAX).then_some(self.set as usize)
    }
}

pub(crate) struct TokenMemo {
    sets: Vec<Set>,
    /// The filtered text of each slot (set × [`WAYS`] + way), with its
    /// length in the last byte. Only training reads it.
    texts: Vec<[u8; INLINE + 1]>,
}

impl TokenMemo {
    fn new() -> TokenMemo {
        TokenMemo {
            sets: vec![EMPTY_SET; 1 << SET_BITS],
            texts: vec![[0; INLINE + 1]; WAYS << SET_BITS],
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

/// Ids from this value on are handed out by [`fresh_chain_ids`], never by
/// the registry.
const FRESH_IDS_FROM: u32 = 1 << 31;
static NEXT_FRESH_ID: AtomicU32 = AtomicU32::new(FRESH_IDS_FROM);

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
    u32::try_from(position + 1)
        .unwrap_or(u32::MAX)
        .min(FRESH_IDS_FROM - 1)
}

/// `N` memo ids no other caller ever gets, for entries whose payload only
/// one owner understands; `None` once the id space is used up.
pub(crate) fn fresh_chain_ids<const N: usize>() -> Option<[u32; N]> {
    let first = take_fresh_ids(&NEXT_FRESH_ID, u32::try_from(N).ok()?)?;
    Some(std::array::from_fn(|i| first + i as u32))
}

/// The first of `n` consecutive ids taken from `next`, or `None` once they
/// would run past `u32::MAX`.
fn take_fresh_ids(next: &AtomicU32, n: u32) -> Option<u32> {
    let first = next.fetch_add(n, Ordering::Relaxed);
    // Wrapped past u32::MAX (back below FRESH_IDS_FROM), or about to: never
    // hand out an id twice. (This gives up u32::MAX itself and any partial
    // block before it, which is harmless.)
    if first < FRESH_IDS_FROM || first > u32::MAX - n {
        next.store(u32::MAX, Ordering::Relaxed);
        return None;
    }
    Some(first)
}

impl TokenMemo {
    /// Asks for the sets of `probes` so that their cache misses are in
    /// flight together, before the lookups need them.
    pub(crate) fn prefetch<'p>(&self, probes: impl Iterator<Item = &'p Probe>) {
        for set in probes.filter_map(|p| self.sets.get(p.set()?)) {
            prefetch_set(set);
        }
    }

    /// The memoized outcome for the token of `probe` under `chain`, if any.
    #[inline]
    pub(crate) fn get(&self, chain: u32, probe: &Probe) -> Option<Memoized> {
        let index = probe.set()?;
        let set = self.sets.get(index)?;
        let way = set
            .ways
            .iter()
            .position(|slot| slot.chain == chain && slot.raw == probe.raw)?;
        let slot = &set.ways[way];
        if slot.payload == DROPPED {
            return Some(Memoized::Dropped);
        }
        Some(Memoized::Kept {
            hash: slot.hash,
            payload: slot.payload,
            slot: index * WAYS + way,
        })
    }

    /// The filtered text of a kept token's `slot` (from [`Memoized::Kept`]).
    pub(crate) fn text(&self, slot: usize) -> &[u8] {
        match self.texts.get(slot) {
            Some(text) => &text[..usize::from(text[INLINE]).min(INLINE)],
            None => &[],
        }
    }

    /// Records that the chain turns the token of `probe` into `kept` (text,
    /// term hash and payload), or drops it when `kept` is `None`. With
    /// `keep_text`, the text is stored too, and tokens too long for a slot
    /// are not recorded; without it, the text is neither stored nor bounded,
    /// and no user of `chain` may ever ask for it.
    #[inline]
    pub(crate) fn put(
        &mut self,
        chain: u32,
        probe: &Probe,
        kept: Option<(&str, u64, u32)>,
        keep_text: bool,
    ) {
        let Some(index) = probe.set() else {
            return;
        };
        if keep_text && kept.is_some_and(|(text, _, _)| text.len() > INLINE) {
            return;
        }
        let Some(set) = self.sets.get_mut(index) else {
            return;
        };
        // An empty way if there is one, otherwise a pseudo-random one.
        let way = set
            .ways
            .iter()
            .position(|slot| slot.chain == 0)
            .unwrap_or(probe.victim as usize % WAYS);
        let slot = &mut set.ways[way];
        slot.chain = chain;
        slot.raw = probe.raw;
        match kept {
            Some((text, hash, payload)) => {
                slot.hash = hash;
                // A payload equal to the dropped marker would read as dropped.
                slot.payload = payload.min(NO_PAYLOAD);
                if !keep_text {
                    return;
                }
                if let Some(stored) = self.texts.get_mut(index * WAYS + way) {
                    stored[..text.len()].copy_from_slice(text.as_bytes());
                    stored[INLINE] = text.len() as u8;
                }
            }
            None => slot.payload = DROPPED,
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
    fn fresh_ids_never_repeat_and_run_out_instead_of_wrapping() {
        let next = AtomicU32::new(FRESH_IDS_FROM);
        assert_eq!(take_fresh_ids(&next, 4), Some(FRESH_IDS_FROM));
        assert_eq!(take_fresh_ids(&next, 4), Some(FRESH_IDS_FROM + 4));
        // Blocks up to the one ending at u32::MAX - 1 are handed out; the
        // next would reach u32::MAX.
        next.store(u32::MAX - 8, Ordering::Relaxed);
        assert_eq!(take_fresh_ids(&next, 4), Some(u32::MAX - 8));
        assert_eq!(take_fresh_ids(&next, 4), Some(u32::MAX - 4));
        assert_eq!(take_fresh_ids(&next, 4), None);
        // Exhausted for good: later calls, which wrap the counter, get nothing.
        for _ in 0..3 {
            assert_eq!(take_fresh_ids(&next, 4), None);
        }
        assert_eq!(next.load(Ordering::Relaxed), u32::MAX);
    }

    fn get(m: &TokenMemo, chain: u32, raw: &str) -> Option<Memoized> {
        m.get(chain, &Probe::new(chain, raw.as_bytes()))
    }

    fn put(m: &mut TokenMemo, chain: u32, raw: &str, kept: Option<(&str, u64, u32)>) {
        m.put(chain, &Probe::new(chain, raw.as_bytes()), kept, true);
    }

    #[test]
    fn remembers_kept_and_dropped_tokens_per_key() {
        let mut m = memo();
        let (en, fr) = (chain_id(7, "en"), chain_id(7, "fr"));
        assert_ne!(en, fr);
        assert_eq!(chain_id(7, "en"), en);
        assert!(get(&m, en, "Armies").is_none());
        put(&mut m, en, "Armies", Some(("armi", 42, 9)));
        put(&mut m, en, "the", None);
        match get(&m, en, "Armies") {
            Some(Memoized::Kept {
                hash: 42,
                payload: 9,
                slot,
                ..
            }) => assert_eq!(m.text(slot), b"armi"),
            _ => panic!("Armies is memoized as kept"),
        }
        assert!(matches!(get(&m, en, "the"), Some(Memoized::Dropped)));
        // Another language (or chain) never sees the entry.
        assert!(get(&m, fr, "Armies").is_none());
        assert!(get(&m, en, "Armie").is_none());
        // Zero padding never makes a prefix match.
        put(&mut m, en, "a", Some(("a", 1, NO_PAYLOAD)));
        assert!(get(&m, en, "a\0").is_none());
        // A payload that would read as "dropped" is stored as no payload.
        put(&mut m, en, "b", Some(("b", 2, u32::MAX)));
        assert!(matches!(
            get(&m, en, "b"),
            Some(Memoized::Kept {
                payload: NO_PAYLOAD,
                ..
            })
        ));
    }

    /// Packing as the first version did: copy into a buffer, read two words.
    fn pack_by_copy(raw: &[u8]) -> Option<PackedToken> {
        if raw.len() > INLINE {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes[..raw.len()].copy_from_slice(raw);
        bytes[INLINE] = raw.len() as u8;
        let (lo, hi) = bytes.split_at(8);
        let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap_or([0; 8]));
        Some([word(lo), word(hi)])
    }

    #[test]
    fn packing_by_word_loads_agrees_with_packing_a_copy() {
        let bytes: Vec<u8> = (1..=20).collect();
        for start in 0..bytes.len() {
            for end in start..=bytes.len() {
                let raw = &bytes[start..end];
                assert_eq!(pack(raw), pack_by_copy(raw), "{raw:?}");
            }
        }
    }

    #[test]
    fn a_set_is_exactly_two_cache_lines() {
        assert_eq!(std::mem::size_of::<Slot>(), 32);
        assert_eq!(std::mem::size_of::<Set>(), 128);
        assert_eq!(std::mem::align_of::<Set>(), 128);
        let m = memo();
        assert_eq!(m.sets.as_ptr() as usize % 128, 0);
        assert_eq!(m.sets.len() * WAYS, m.texts.len());
    }

    #[test]
    fn skips_tokens_longer_than_a_slot() {
        let mut m = memo();
        let key = chain_id(1, "en");
        let long = "x".repeat(INLINE + 1);
        put(&mut m, key, &long, Some(("x", 1, 0)));
        assert!(get(&m, key, &long).is_none());
        put(&mut m, key, "short", Some((&long, 1, 0)));
        assert!(get(&m, key, "short").is_none());
    }

    #[test]
    fn fresh_ids_are_never_registry_ids_or_repeated() {
        let a: [u32; 4] = fresh_chain_ids().expect("ids left");
        let b: [u32; 4] = fresh_chain_ids().expect("ids left");
        assert!(a.iter().chain(&b).all(|&id| id >= FRESH_IDS_FROM));
        assert!(a.iter().all(|id| !b.contains(id)));
        assert!(chain_id(99, "en") < FRESH_IDS_FROM);
    }
}
