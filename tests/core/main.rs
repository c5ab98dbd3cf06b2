//! The library without the gRPC service: text analysis, features, Naive
//! Bayes, model files, corpora and their rules, training and the shipped
//! default model. One test binary for all of them (one link step instead of
//! one per file); each module is one concern. Needs no binaries and no
//! `service` feature.

mod analyzer;
mod corpus_diversity;
mod corpus_readers;
mod default_model;
mod feature_memo;
mod model_file;
mod nb_linfa_reference;
mod nb_math;
mod predict;
mod real_news_corpus;
