//! A tiny synthetic corpus vocabulary for the binary tests: three topics
//! separable by their words, documents varied by index.

/// Topic label and its eight words.
pub const TOPICS: [(&str, [&str; 8]); 3] = [
    (
        "conflict",
        [
            "army",
            "soldiers",
            "rebels",
            "attack",
            "artillery",
            "ceasefire",
            "troops",
            "militia",
        ],
    ),
    (
        "economy",
        [
            "markets",
            "inflation",
            "bank",
            "stocks",
            "investors",
            "currency",
            "budget",
            "exports",
        ],
    ),
    (
        "health",
        [
            "vaccine", "hospital", "doctors", "virus", "patients", "epidemic", "clinic", "nurses",
        ],
    ),
];

/// Words that belong to no topic.
pub const FILLER: [&str; 4] = ["report", "today", "officials", "region"];

/// Words of document `i` of topic `t`: six topic words and one filler word,
/// varied by `i` so documents differ but stay separable.
pub fn words(t: usize, i: usize) -> Vec<&'static str> {
    let w = &TOPICS[t].1;
    let mut text: Vec<&str> = (0..6).map(|k| w[(i + k * 3) % w.len()]).collect();
    text.insert(i % 6, FILLER[(i + t) % FILLER.len()]);
    text
}
