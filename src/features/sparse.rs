//! Sparse vectors and CSR matrices: O(non-zeros) storage.
use linfa::dataset::Records;

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
        ids.sort_unstable();
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
