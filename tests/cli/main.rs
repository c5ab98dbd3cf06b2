//! End-to-end tests of the offline binaries, `docclass-train`,
//! `docclass-eval` and `docclass-predict`, on small synthetic corpora in
//! temporary directories. One test binary for all three (one link step
//! instead of one per file). Needs no `service` feature.

mod eval_cli;
mod predict_cli;
mod synthetic;
mod train_cli;
mod util;
