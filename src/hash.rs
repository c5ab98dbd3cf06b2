//! Stable 64-bit hashing of term bytes, and digests written as hex.
//!
//! Feature ids are derived from these hashes and saved in model files, so the
//! function must never change between builds or platforms: it is a fixed
//! FNV-1a-style byte hash with a final avalanche, not `std`'s randomised hasher.

/// `bytes` as lowercase hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const SEED: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// Hashes a term's bytes.
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = SEED;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    finish(h)
}

/// Combines the hash of an n-gram so far with the next token's hash.
/// Order-sensitive, so "a b" and "b a" differ.
#[inline]
pub fn combine(left: u64, right: u64) -> u64 {
    finish(left.rotate_left(23) ^ right.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Marks a hash as belonging to a namespace (character n-grams), so it cannot
/// coincide with a word term built from the same bytes.
#[inline]
pub fn namespaced(namespace: u64, h: u64) -> u64 {
    combine(namespace, h)
}

#[inline]
fn finish(mut h: u64) -> u64 {
    // splitmix64 finaliser: spreads low-entropy inputs over all bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_across_builds() {
        // Pinned values: a change here breaks every saved model.
        assert_eq!(hash_bytes(b""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(hash_bytes("armée".as_bytes()), 0x773a_2c21_437c_58b6);
    }

    #[test]
    fn combine_is_order_sensitive() {
        let (a, b) = (hash_bytes(b"a"), hash_bytes(b"b"));
        assert_ne!(combine(a, b), combine(b, a));
    }
}

/// A fast, non-cryptographic hasher (the rustc "Fx" hash) for in-process
/// tables keyed by short strings: stop words and the stem cache. Never used
/// for anything saved to disk.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(FX_K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(FX_K);
        }
    }
    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(FX_K);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuildHasher = std::hash::BuildHasherDefault<FxHasher>;
