//! Links in free text (messages, notes), found as MVT finds them.

use regex::Regex;
use std::sync::LazyLock;

static LINK: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?i)https?://[^\s]+").ok());

/// Every `http://` or `https://` link in the text, in order (MVT's rule: the scheme, then
/// everything up to the next whitespace).
pub fn find_links(text: &str) -> Vec<String> {
    match LINK.as_ref() {
        Some(re) => re.find_iter(text).map(|m| m.as_str().to_owned()).collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_links_like_mvt() {
        assert_eq!(
            find_links("see https://badbadbad.example.org/ and HTTP://X.y/z\tend"),
            ["https://badbadbad.example.org/", "HTTP://X.y/z"]
        );
        assert!(find_links("no link here, ftp://x").is_empty());
    }
}
