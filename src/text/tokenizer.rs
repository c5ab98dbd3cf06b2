//! Word segmentation: Unicode word boundaries (UAX #29) inside
//! whitespace-separated chunks, with URLs and e-mail addresses kept whole.
//!
//! UAX #29 already keeps `l'armée`, `aujourd’hui`, `3.5` and `1,000` as one
//! word, splits `peut-être` at the hyphen, and drops punctuation such as
//! « » – — …. Arabic script segments the same way.

use unicode_segmentation::UnicodeSegmentation;

/// Tokens longer than this are dropped before any filter sees them: no real
/// word is this long, and it keeps a 5 MB "word" from reaching the stemmer.
pub const MAX_TOKEN_BYTES: usize = 256;

/// Calls `emit` with each token of `text`, in order.
pub fn tokenize(text: &str, mut emit: impl FnMut(&str)) {
    for chunk in text.split_whitespace() {
        let trimmed = chunk.trim_matches(|c: char| !c.is_alphanumeric());
        if is_url(trimmed) || is_email(trimmed) {
            if trimmed.len() <= MAX_TOKEN_BYTES {
                emit(trimmed);
            }
            continue;
        }
        for word in chunk.unicode_words() {
            if word.len() <= MAX_TOKEN_BYTES {
                emit(word);
            }
        }
    }
}

fn is_url(s: &str) -> bool {
    let lower_prefix =
        |p: &str| s.len() > p.len() && s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    lower_prefix("http://") || lower_prefix("https://") || lower_prefix("www.")
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.contains('@')
                && user
                    .chars()
                    .chain(domain.chars())
                    .all(|c| c.is_alphanumeric() || "._%+-".contains(c))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        tokenize(s, |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn keeps_urls_and_emails_whole() {
        assert_eq!(
            tokens("Voir https://example.org/a?b=1, ou écrire à presse@defense.gouv.fr."),
            [
                "Voir",
                "https://example.org/a?b=1",
                "ou",
                "écrire",
                "à",
                "presse@defense.gouv.fr"
            ]
        );
    }

    #[test]
    fn drops_oversized_tokens() {
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(tokens(&format!("x {long} y")), ["x", "y"]);
    }
}
