//! Member names: validation (what a hostile archive may not name) and glob matching.

/// Longest member name accepted, in bytes. Real paths on phones stay far below; a longer name
/// is either corruption or an attempt to make every later lookup slow.
pub const MAX_NAME_BYTES: usize = 4096;

/// Longest glob pattern accepted.
const MAX_PATTERN_CHARS: usize = 1024;

/// Why a member name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// The name is longer than [`MAX_NAME_BYTES`].
    TooLong,
    /// An absolute path (`/etc/passwd`, `C:\x`).
    Absolute,
    /// A `..` component: the name would leave the archive when extracted.
    ParentDir,
    /// A control, format (bidi, zero-width) or replacement character: other tools show or
    /// extract such a name differently from us, so it cannot be cited reliably.
    Control,
}

impl NameProblem {
    /// A short explanation for a report.
    pub fn describe(self) -> &'static str {
        match self {
            NameProblem::TooLong => "name is too long",
            NameProblem::Absolute => "absolute path",
            NameProblem::ParentDir => "`..` component (would leave the archive)",
            NameProblem::Control => "control, format or replacement character in the name",
        }
    }
}

/// Checks an archive member name and returns it normalised: `\` read as `/` (archives made on
/// Windows), `.` and empty components dropped, no trailing `/`. The archive root itself
/// (`./`, `/` alone is refused as absolute) normalises to the empty string.
///
/// Refused, like uv's `validate_archive_member_name` refuses what other unzip tools would
/// read differently: absolute names, `..` anywhere, and any control or Unicode format
/// character (which could also hide part of the name from an investigator).
pub fn validate_member_name(raw: &str) -> Result<String, NameProblem> {
    if raw.len() > MAX_NAME_BYTES {
        return Err(NameProblem::TooLong);
    }
    if raw
        .chars()
        .any(|c| c == '\u{FFFD}' || bridle_model::sanitize::is_dangerous(c))
    {
        return Err(NameProblem::Control);
    }
    let name = raw.replace('\\', "/");
    if name.starts_with('/') {
        return Err(NameProblem::Absolute);
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2
        && bytes.get(1) == Some(&b':')
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
    {
        return Err(NameProblem::Absolute);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(NameProblem::ParentDir),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// How `*` treats `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GlobMode {
    /// Python's `fnmatch`, which MVT uses for every lookup: `*` matches any run of
    /// characters, `/` included, so `*/packages.json` also matches `a/b/packages.json`.
    Fnmatch,
    /// Path globbing: `*` stays within one path component.
    Components,
}

/// Whether `name` matches `pattern` (`*`, `?`, `[abc]`, `[!a-z]`).
pub(crate) fn glob_match(pattern: &str, name: &str, mode: GlobMode) -> bool {
    let pat: Vec<char> = pattern
        .chars()
        .take(MAX_PATTERN_CHARS.saturating_add(1))
        .collect();
    if pat.len() > MAX_PATTERN_CHARS {
        return false;
    }
    match mode {
        GlobMode::Fnmatch => {
            let text: Vec<char> = name.chars().collect();
            match_chars(&pat, &text)
        }
        GlobMode::Components => {
            let pats: Vec<&[char]> = pat.split(|c| *c == '/').collect();
            let names: Vec<&str> = name.split('/').collect();
            pats.len() == names.len()
                && pats.iter().zip(names).all(|(p, n)| {
                    let text: Vec<char> = n.chars().collect();
                    match_chars(p, &text)
                })
        }
    }
}

/// One pattern element.
enum Token<'a> {
    Star,
    Any,
    Literal(char),
    Class { negated: bool, body: &'a [char] },
}

/// Splits the next token off `pat`, returning it and its length in chars.
fn next_token(pat: &[char]) -> Option<(Token<'_>, usize)> {
    let first = *pat.first()?;
    Some(match first {
        '*' => (Token::Star, 1),
        '?' => (Token::Any, 1),
        '[' => {
            // fnmatch: `[` starts a class only if a closing `]` follows (a `]` right after
            // `[` or `[!` is a literal member); otherwise `[` is literal.
            let mut i = 1;
            let negated = matches!(pat.get(1), Some('!') | Some('^'));
            if negated {
                i += 1;
            }
            let body_start = i;
            if pat.get(i) == Some(&']') {
                i += 1;
            }
            while let Some(c) = pat.get(i) {
                if *c == ']' {
                    break;
                }
                i += 1;
            }
            match (pat.get(i), pat.get(body_start..i)) {
                (Some(']'), Some(body)) => (Token::Class { negated, body }, i + 1),
                _ => (Token::Literal('['), 1),
            }
        }
        c => (Token::Literal(c), 1),
    })
}

fn class_matches(body: &[char], c: char) -> bool {
    let mut i = 0;
    while let Some(&lo) = body.get(i) {
        if body.get(i + 1) == Some(&'-')
            && let Some(&hi) = body.get(i + 2)
        {
            if lo <= c && c <= hi {
                return true;
            }
            i += 3;
        } else {
            if lo == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

/// Wildcard matching with one backtracking point (the last `*`): linear in practice, and at
/// worst quadratic in the lengths, never exponential.
fn match_chars(pat: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some((tok, len)) = pat.get(p..).and_then(next_token) {
            match tok {
                Token::Star => {
                    p += len;
                    star = Some((p, t));
                    continue;
                }
                Token::Any => {
                    if t < text.len() {
                        p += len;
                        t += 1;
                        continue;
                    }
                }
                Token::Literal(c) => {
                    if text.get(t) == Some(&c) {
                        p += len;
                        t += 1;
                        continue;
                    }
                }
                Token::Class { negated, body } => {
                    if let Some(&c) = text.get(t)
                        && class_matches(body, c) != negated
                    {
                        p += len;
                        t += 1;
                        continue;
                    }
                }
            }
        } else if t == text.len() {
            return true;
        }
        // Mismatch: let the last star swallow one more character, if there is one.
        match star {
            Some((sp, st)) if st < text.len() => {
                star = Some((sp, st + 1));
                p = sp;
                t = st + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(validate_member_name("a/b.txt"), Ok("a/b.txt".into()));
        assert_eq!(validate_member_name("./a//b/"), Ok("a/b".into()));
        assert_eq!(validate_member_name("a\\b"), Ok("a/b".into()));
        assert_eq!(validate_member_name("./"), Ok(String::new()));
        assert_eq!(validate_member_name("../x"), Err(NameProblem::ParentDir));
        assert_eq!(
            validate_member_name("a/../../x"),
            Err(NameProblem::ParentDir)
        );
        assert_eq!(validate_member_name("..\\x"), Err(NameProblem::ParentDir));
        assert_eq!(
            validate_member_name("/etc/passwd"),
            Err(NameProblem::Absolute)
        );
        assert_eq!(validate_member_name("C:\\x"), Err(NameProblem::Absolute));
        assert_eq!(
            validate_member_name("a\u{202E}txt.exe"),
            Err(NameProblem::Control)
        );
        assert_eq!(validate_member_name("a\nb"), Err(NameProblem::Control));
        assert_eq!(validate_member_name("a\u{0}b"), Err(NameProblem::Control));
        assert_eq!(validate_member_name("a\u{FFFD}"), Err(NameProblem::Control));
        assert_eq!(
            validate_member_name(&"a".repeat(MAX_NAME_BYTES + 1)),
            Err(NameProblem::TooLong)
        );
    }

    #[test]
    fn fnmatch_semantics() {
        let f = |p: &str, n: &str| glob_match(p, n, GlobMode::Fnmatch);
        assert!(f("*/packages.json", "androidqf/packages.json"));
        assert!(f("*/packages.json", "a/b/packages.json"));
        assert!(!f("*/packages.json", "packages.json"));
        assert!(f("FS/*", "FS/data/tombstones/tombstone_00"));
        assert!(f("*/tombstone_*", "FS/data/tombstones/tombstone_00"));
        assert!(f("dumpState_*.log", "dumpState_x.log"));
        assert!(!f("dumpState_*.log", "dumpState_x.txt"));
        assert!(f("settings_?.txt", "settings_a.txt"));
        assert!(f("[a-c]x", "bx"));
        assert!(!f("[!a-c]x", "bx"));
        assert!(f("[]]", "]"));
        assert!(f("a[", "a["));
        assert!(f("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
        assert!(!f("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(f("", ""));
        assert!(!f("", "a"));
    }

    #[test]
    fn component_semantics() {
        let g = |p: &str, n: &str| glob_match(p, n, GlobMode::Components);
        assert!(g("*/packages.json", "androidqf/packages.json"));
        assert!(!g("*/packages.json", "a/b/packages.json"));
        assert!(g(
            "private/var/*/Library/*.db",
            "private/var/mobile/Library/sms.db"
        ));
    }
}
