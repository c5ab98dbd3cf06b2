//! What the profiling drivers and the training benchmark share: reading the
//! 20 Newsgroups train split from `../shared/datasets` (or another corpus
//! file), or exiting with the reader's error.
#![allow(dead_code)] // each driver uses a different part
use docclass::corpus::{Corpus, Document, ReadOptions};
use std::path::{Path, PathBuf};

/// Where the 20 Newsgroups train split is, beside the project.
pub fn path_20ng_train() -> PathBuf {
    PathBuf::from("../shared/datasets/20newsgroups/20newsgroups_train.jsonl")
}

pub fn read_20ng_train() -> Vec<Document> {
    read_or_exit(&path_20ng_train())
}

/// The documents of one corpus file; on a read error, prints it and exits 1.
pub fn read_or_exit(path: &Path) -> Vec<Document> {
    match Corpus::read_all(
        std::slice::from_ref(&path.to_path_buf()),
        &ReadOptions::default(),
    ) {
        Ok(c) => c.documents,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
