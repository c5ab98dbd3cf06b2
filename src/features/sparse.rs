//! Sparse vectors and CSR matrices: O(non-zeros) storage.
use crate::scratch::Reused;
use linfa::dataset::Records;
use std::cell::Cell;

/// A sparse vector with strictly increasing indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    pub indices: Vec<u32>,
    pub values: Vec<f64>,
}

impl SparseVec {
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.indices
            .iter()
            .map(|&i| i as usize)
            .zip(self.values.iter().copied())
    }

    /// Builds counts from unsorted feature ids (sorts `ids` in place).
    pub fn from_ids(ids: &mut [u32]) -> SparseVec {
        sort_ids(ids);
        // Sized once: growing two vectors from empty cost more than the sort.
        let mut out = SparseVec {
            indices: Vec::with_capacity(ids.len()),
            values: Vec::with_capacity(ids.len()),
        };
        for &id in ids.iter() {
            match out.indices.last() {
                Some(&last) if last == id => {
                    if let Some(v) = out.values.last_mut() {
                        *v += 1.0;
                    }
                }
                _ => {
                    out.indices.push(id);
                    out.values.push(1.0);
                }
            }
        }
        out
    }
}

/// Below this many ids the comparison sort is kept: radix's fixed cost, a
/// 256-entry table filled and summed per pass, is about that of sorting so
/// few (a round figure, not tuned).
const RADIX_FROM: usize = 48;

thread_local! {
    /// [`sort_ids`]'s second buffer, reused.
    static RADIX_SPARE: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
}

/// Ids' room kept in [`RADIX_SPARE`] between documents (256 KB).
const MAX_KEPT_SPARE: usize = 1 << 16;

/// Sorts a document's feature ids. A comparison sort of a document's ids
/// (about a hundred in a 1 KB news text, in no order) mispredicts a branch
/// at every other comparison; least-significant-digit radix sort, a byte per
/// pass and only as many passes as the largest id has bytes, has no
/// data-dependent branch.
pub(crate) fn sort_ids(ids: &mut [u32]) {
    if ids.len() < RADIX_FROM {
        ids.sort_unstable();
        return;
    }
    let largest = ids.iter().copied().max().unwrap_or(0);
    let passes = (32 - largest.leading_zeros()).div_ceil(8);
    let mut spare = Reused::take(&RADIX_SPARE, MAX_KEPT_SPARE);
    spare.resize(ids.len(), 0);
    let (mut from, mut to): (&mut [u32], &mut [u32]) = (ids, &mut spare[..]);
    for pass in 0..passes {
        let shift = 8 * pass;
        let mut next = [0usize; 256];
        for &id in from.iter() {
            next[((id >> shift) & 0xFF) as usize] += 1;
        }
        let mut start = 0;
        for slot in next.iter_mut() {
            let count = *slot;
            *slot = start;
            start += count;
        }
        for &id in from.iter() {
            let digit = ((id >> shift) & 0xFF) as usize;
            if let Some(place) = to.get_mut(next[digit]) {
                *place = id;
            }
            next[digit] += 1;
        }
        std::mem::swap(&mut from, &mut to);
    }
    // After an odd number of passes the sorted ids are in the spare buffer.
    if passes % 2 == 1 {
        to.copy_from_slice(from);
    }
}

/// Rows of sparse vectors in compressed sparse row form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsrMatrix {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
    n_features: usize,
}

impl CsrMatrix {
    pub fn new(n_features: usize) -> Self {
        Self {
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
            n_features,
        }
    }

    /// An empty matrix with room for `rows` rows holding `nnz` values.
    pub fn with_capacity(n_features: usize, rows: usize, nnz: usize) -> Self {
        let mut indptr = Vec::with_capacity(rows + 1);
        indptr.push(0);
        Self {
            indptr,
            indices: Vec::with_capacity(nnz),
            values: Vec::with_capacity(nnz),
            n_features,
        }
    }

    pub fn from_rows(n_features: usize, rows: impl IntoIterator<Item = SparseVec>) -> Self {
        let mut m = Self::new(n_features);
        for row in rows {
            m.push_row(&row);
        }
        m
    }

    pub fn push_row(&mut self, row: &SparseVec) {
        self.indices.extend_from_slice(&row.indices);
        self.values.extend_from_slice(&row.values);
        self.indptr.push(self.indices.len());
    }

    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Row `i` as (feature, value) pairs.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (start, end) = (self.indptr[i], self.indptr[i + 1]);
        self.indices[start..end]
            .iter()
            .map(|&f| f as usize)
            .zip(self.values[start..end].iter().copied())
    }

    /// Row `i` as an owned sparse vector.
    pub fn row_vec(&self, i: usize) -> SparseVec {
        let (start, end) = (self.indptr[i], self.indptr[i + 1]);
        SparseVec {
            indices: self.indices[start..end].to_vec(),
            values: self.values[start..end].to_vec(),
        }
    }
}

impl Records for CsrMatrix {
    type Elem = f64;

    fn nsamples(&self) -> usize {
        self.n_rows()
    }

    fn nfeatures(&self) -> usize {
        self.n_features
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn radix_sort_agrees_with_a_comparison_sort(
            mut ids in proptest::collection::vec(
                proptest::prop_oneof![0u32..300, 0u32..70_000, proptest::prelude::any::<u32>()],
                0..400,
            )
        ) {
            let mut expected = ids.clone();
            expected.sort_unstable();
            sort_ids(&mut ids);
            proptest::prop_assert_eq!(ids, expected);
        }
    }

    #[test]
    fn counts_repeated_ids_in_order() {
        let mut ids: Vec<u32> = (0..200).map(|i| (i * 7919) % 61).collect();
        let v = SparseVec::from_ids(&mut ids);
        assert_eq!(v.indices, (0..61).collect::<Vec<u32>>());
        assert_eq!(v.values.iter().sum::<f64>(), 200.0);
    }
}
