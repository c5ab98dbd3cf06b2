//! What the profiling drivers share: reading the 20 Newsgroups train split
//! from `../shared/datasets`, or exiting with the reader's error.
use docclass::corpus::{Corpus, Document, ReadOptions};
use std::path::PathBuf;

pub fn read_20ng_train() -> Vec<Document> {
    let path = PathBuf::from("../shared/datasets/20newsgroups/20newsgroups_train.jsonl");
    match Corpus::read_all(std::slice::from_ref(&path), &ReadOptions::default()) {
        Ok(c) => c.documents,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
