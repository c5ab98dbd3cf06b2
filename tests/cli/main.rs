//! End-to-end tests of the offline binaries, `docclass-train` and
//! `docclass-eval`, on small synthetic corpora in temporary directories. One
//! test binary for both (one link step instead of one per file). Needs no
//! `service` feature.

mod eval_cli;
mod synthetic;
mod train_cli;
mod util;
