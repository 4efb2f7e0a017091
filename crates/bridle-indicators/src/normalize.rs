//! Normalisation of hosts, IPs, URLs, paths and names, shared by indicators and observables
//! so that both sides of every comparison are in the same form (`docs/matching.md`).
//!
//! Everything here takes text straight from evidence or indicator files: nothing panics,
//! every loop is bounded by the input length or a `MAX_*` constant, and unparseable input
//! gives `None` (it then matches nothing) rather than a guess.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest value (indicator or observable) that is normalised and matched, in bytes.
/// Longer values match nothing: no real host, URL or path on a phone comes near it, and it
/// bounds the work per observable.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;
/// Most labels walked in a host name (DNS allows 127).
pub const MAX_HOST_LABELS: usize = 128;
/// Most components in a path.
pub const MAX_PATH_COMPONENTS: usize = 1024;

/// A normalised host: a lower-case ASCII (IDNA) name without trailing dot, or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name.
    Name(String),
    /// An IP literal (IPv4-mapped IPv6 addresses are given as IPv4).
    Ip(IpAddr),
}

impl Host {
    fn render(&self) -> String {
        match self {
            Host::Name(n) => n.clone(),
            Host::Ip(IpAddr::V4(a)) => a.to_string(),
            Host::Ip(IpAddr::V6(a)) => format!("[{a}]"),
        }
    }
}

/// Parse an IP literal: IPv4 dotted quad, IPv6 in any textual form, with or without
/// brackets and zone id. IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes the IPv4 address.
pub fn ip(text: &str) -> Option<IpAddr> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let inner = if inner.contains(':') {
        inner.split('%').next().unwrap_or(inner)
    } else {
        inner
    };
    match inner.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(canonical_v6(v6)),
        v4 => Some(v4),
    }
}

fn canonical_v6(v6: Ipv6Addr) -> IpAddr {
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// Parse an address or CIDR range (`198.51.100.0/24`). Returns the network address (host
/// bits cleared) and the prefix length; a plain address has the full length.
pub fn ip_range(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr = ip(addr)?;
    let max = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let len = match len {
        Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
            l.parse::<u8>().ok()?
        }
        Some(_) => return None,
        None => max,
    };
    if len > max {
        return None;
    }
    Some((mask(addr, len), len))
}

/// Clear the host bits of `addr` beyond `len`.
pub fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let keep = u32::MAX
                .checked_shl(32u32.saturating_sub(u32::from(len)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & keep))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let keep = u128::MAX
                .checked_shl(128u32.saturating_sub(u32::from(len)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & keep))
        }
    }
}

/// Normalise a bare host (no userinfo, no port): trailing dots removed, IP literals parsed,
/// names lower-cased and IDNA-encoded (WHATWG host parsing, as a browser on the device
/// would). `strict` refuses names the WHATWG parser rejects; otherwise they are kept
/// ASCII-lower-cased (they can still match an identical indicator exactly, never more).
pub fn host(text: &str, strict: bool) -> Option<Host> {
    let text = text.trim().trim_end_matches('.');
    if text.is_empty() || text.len() > MAX_VALUE_BYTES {
        return None;
    }
    if let Some(addr) = ip(text) {
        return Some(Host::Ip(addr));
    }
    match url::Host::parse(text) {
        Ok(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            (!d.is_empty()).then(|| Host::Name(d.to_owned()))
        }
        Ok(url::Host::Ipv4(a)) => Some(Host::Ip(IpAddr::V4(a))),
        Ok(url::Host::Ipv6(a)) => Some(Host::Ip(canonical_v6(a))),
        Err(_) if strict => None,
        Err(_) => {
            let ok = text
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '/');
            ok.then(|| Host::Name(text.to_ascii_lowercase()))
        }
    }
}

/// The byte length of the ICANN public suffix of a normalised host name (`com`, `co.uk`;
/// an unknown TLD counts as a suffix by the list's implicit `*` rule). Private-section
/// suffixes (`github.io`, `blogspot.com`) are skipped: they are registrable by anyone, so an
/// indicator naming one is a deliberate choice.
pub fn icann_suffix_len(host: &str) -> usize {
    let mut candidate = host;
    for _ in 0..MAX_HOST_LABELS {
        let Some(suffix) = psl::suffix(candidate.as_bytes()) else {
            return 0;
        };
        let bytes = suffix.as_bytes();
        if suffix.typ() == Some(psl::Type::Private) {
            // Retry on the suffix without its first label: the suffix is a tail of `host`.
            let shorter = bytes
                .iter()
                .position(|b| *b == b'.')
                .and_then(|dot| bytes.len().checked_sub(dot.saturating_add(1)))
                .and_then(|len| host.len().checked_sub(len))
                .and_then(|start| host.get(start..));
            match shorter {
                Some(tail) if !tail.is_empty() => {
                    candidate = tail;
                    continue;
                }
                _ => return bytes.len(),
            }
        }
        return bytes.len();
    }
    0
}

/// The parent domains of a normalised host name, nearest first, stopping before its ICANN
/// public suffix: `a.b.evil.com` gives `b.evil.com`, `evil.com`.
pub fn parent_domains(host: &str) -> impl Iterator<Item = &str> {
    let floor = icann_suffix_len(host);
    host.match_indices('.')
        .take(MAX_HOST_LABELS)
        .filter_map(move |(i, _)| host.get(i.saturating_add(1)..))
        .take_while(move |parent| parent.len() > floor)
}

/// A URL split into what the matcher needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The normalised host, when there is one.
    pub host: Option<Host>,
    /// Scheme and host lower-cased, host IDNA-encoded, default port dropped, empty path
    /// made `/`, path and query kept as written, fragment dropped. `None` when the URL has
    /// no usable host or an invalid port.
    pub normalized: Option<String>,
    /// The lookup key: like `normalized`, but `http` and `https` fold together.
    pub key: Option<String>,
    /// The lookup key without the query, when the URL has one.
    pub key_without_query: Option<String>,
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// Split `host:port`, `[v6]:port`, or a bare (unbracketed) IPv6 address.
fn split_port(hostport: &str) -> (&str, Option<&str>) {
    if let Some(rest) = hostport.strip_prefix('[') {
        if let Some(close) = rest.find(']') {
            let host = hostport.get(..close.saturating_add(2)).unwrap_or(hostport);
            let after = rest.get(close.saturating_add(1)..).unwrap_or("");
            return (host, after.strip_prefix(':'));
        }
        return (hostport, None);
    }
    match hostport.matches(':').count() {
        1 => match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
        _ => (hostport, None),
    }
}

/// Parse a URL as written on a device. A string without `scheme://` is read as `http://`
/// followed by the string. Never fails on garbage: the parts that cannot be read are `None`.
pub fn url(text: &str) -> Url {
    let none = Url {
        host: None,
        normalized: None,
        key: None,
        key_without_query: None,
    };
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_VALUE_BYTES {
        return none;
    }
    let (scheme, rest) = match text.split_once("://") {
        Some((s, rest)) if is_scheme(s) => (s.to_ascii_lowercase(), rest),
        _ => ("http".to_owned(), text),
    };
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at_checked(end).unwrap_or((rest, ""));
    let tail = tail.split('#').next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    let (host_text, port) = split_port(hostport);
    let Some(host) = host(host_text, false) else {
        return none;
    };
    let port: Result<Option<u16>, ()> = match port {
        None | Some("") => Ok(None),
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u16>().map(Some).map_err(drop)
        }
        Some(_) => Err(()),
    };
    let Ok(port) = port else {
        return Url {
            host: Some(host),
            ..none
        };
    };
    let port = port.filter(|p| Some(*p) != default_port(&scheme));
    let mut authority = host.render();
    if let Some(p) = port {
        authority.push(':');
        authority.push_str(&p.to_string());
    }
    let path_query = if tail.is_empty() || tail.starts_with('?') {
        format!("/{tail}")
    } else {
        tail.to_owned()
    };
    let normalized = format!("{scheme}://{authority}{path_query}");
    let key_scheme = if scheme == "https" {
        "http"
    } else {
        scheme.as_str()
    };
    let key = format!("{key_scheme}://{authority}{path_query}");
    let key_without_query = key.split_once('?').map(|(before, _)| before.to_owned());
    Url {
        host: Some(host),
        normalized: Some(normalized),
        key: Some(key),
        key_without_query,
    }
}

/// Normalise a file path: repeated and trailing `/` removed, and `/private/var/…` and
/// `/private/etc/…` shortened to `/var/…` and `/etc/…` (on iOS `/var` and `/etc` are
/// symlinks into `/private`, and artifacts use both spellings). `None` for the root, an
/// empty path or one over [`MAX_PATH_COMPONENTS`] components. Case is kept.
pub fn file_path(text: &str) -> Option<String> {
    if text.len() > MAX_VALUE_BYTES {
        return None;
    }
    let absolute = text.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/').filter(|p| !p.is_empty()) {
        if parts.len() >= MAX_PATH_COMPONENTS {
            return None;
        }
        parts.push(part);
    }
    if absolute
        && parts.first() == Some(&"private")
        && matches!(parts.get(1), Some(&"var") | Some(&"etc"))
    {
        parts.remove(0);
    }
    if parts.is_empty() {
        return None;
    }
    let joined = parts.join("/");
    Some(if absolute {
        format!("/{joined}")
    } else {
        joined
    })
}

/// The ancestors of a normalised path, nearest first, on component boundaries:
/// `/a/b/c` gives `/a/b`, `/a`.
pub fn path_ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.rmatch_indices('/')
        .take(MAX_PATH_COMPONENTS)
        .filter_map(move |(i, _)| path.get(..i))
        .filter(|p| !p.is_empty())
}

/// The last component of a path-like value (`/usr/bin/foo` → `foo`; trailing `/` ignored).
pub fn basename(text: &str) -> &str {
    let trimmed = text.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Lower-case hex of the expected length, or `None`.
pub fn hex_digest(text: &str, len: usize) -> Option<String> {
    let t = text.trim();
    (t.len() == len && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

/// A certificate fingerprint: lower-case hex, `:` separators removed.
pub fn cert_digest(text: &str) -> Option<String> {
    let t: String = text.trim().chars().filter(|c| *c != ':').collect();
    (!t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| t.to_ascii_lowercase())
}

/// An e-mail address: trimmed, lower-cased, `mailto:` prefix removed.
pub fn email(text: &str) -> Option<String> {
    let t = text.trim();
    let t = match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => t.get(7..).unwrap_or(""),
        _ => t,
    };
    let t = t.trim();
    (!t.is_empty() && t.len() <= MAX_VALUE_BYTES).then(|| t.to_lowercase())
}

/// A value compared case-insensitively (app ids, property names, profile ids).
pub fn folded(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && t.len() <= MAX_VALUE_BYTES).then(|| t.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Option<Host> {
        Some(Host::Name(s.into()))
    }

    #[test]
    fn hosts() {
        assert_eq!(host("Example.COM.", true), name("example.com"));
        assert_eq!(host("bücher.example", true), name("xn--bcher-kva.example"));
        assert_eq!(
            host("xn--bcher-kva.example", true),
            name("xn--bcher-kva.example")
        );
        assert_eq!(
            host("198.51.100.1", true),
            Some(Host::Ip("198.51.100.1".parse().unwrap()))
        );
        assert_eq!(
            host("[2001:DB8::1]", true),
            Some(Host::Ip("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(host("exa mple.com", true), None);
        assert_eq!(host("", false), None);
    }

    #[test]
    fn ips() {
        assert_eq!(
            ip("2001:0db8:0000::0001"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            ip("::ffff:198.51.100.1"),
            Some("198.51.100.1".parse().unwrap())
        );
        assert_eq!(ip("fe80::1%en0"), Some("fe80::1".parse().unwrap()));
        assert_eq!(ip("198.51.100.256"), None);
        assert_eq!(
            ip_range("198.51.100.7/24"),
            Some(("198.51.100.0".parse().unwrap(), 24))
        );
        assert_eq!(
            ip_range("198.51.100.7"),
            Some(("198.51.100.7".parse().unwrap(), 32))
        );
        assert_eq!(ip_range("198.51.100.7/33"), None);
        assert_eq!(ip_range("198.51.100.7/x"), None);
        assert_eq!(ip_range("2001:db8::/0"), Some(("::".parse().unwrap(), 0)));
    }

    #[test]
    fn suffixes_and_parents() {
        assert_eq!(icann_suffix_len("a.b.evil.com"), 3);
        assert_eq!(icann_suffix_len("evil.co.uk"), 5);
        assert_eq!(icann_suffix_len("x.evil.github.io"), 2);
        let parents: Vec<&str> = parent_domains("a.b.evil.co.uk").collect();
        assert_eq!(parents, ["b.evil.co.uk", "evil.co.uk"]);
        let parents: Vec<&str> = parent_domains("x.evil.github.io").collect();
        assert_eq!(parents, ["evil.github.io", "github.io"]);
        assert_eq!(parent_domains("com").count(), 0);
        let parents: Vec<&str> = parent_domains("a.b.unknowntld").collect();
        assert_eq!(parents, ["b.unknowntld"]);
    }

    #[test]
    fn urls() {
        let u = url("HTTPS://User:pw@WWW.Example.ORG:443/Path/A?q=1#frag");
        assert_eq!(u.host, name("www.example.org"));
        assert_eq!(
            u.normalized.as_deref(),
            Some("https://www.example.org/Path/A?q=1")
        );
        assert_eq!(u.key.as_deref(), Some("http://www.example.org/Path/A?q=1"));
        assert_eq!(
            u.key_without_query.as_deref(),
            Some("http://www.example.org/Path/A")
        );

        let u = url("example.org:8080/toto");
        assert_eq!(
            u.normalized.as_deref(),
            Some("http://example.org:8080/toto")
        );
        let u = url("https://[::1]:8443");
        assert_eq!(u.host, Some(Host::Ip("::1".parse().unwrap())));
        assert_eq!(u.normalized.as_deref(), Some("https://[::1]:8443/"));
        let u = url("http://evil.com:notaport/");
        assert_eq!(u.host, name("evil.com"));
        assert_eq!(u.normalized, None);
        for garbage in [
            "",
            "://",
            "http://",
            "@@@",
            "[",
            "http://[::1",
            "::::",
            "\u{0}",
        ] {
            let _ = url(garbage);
        }
        assert_eq!(url("http://").host, None);
    }

    #[test]
    fn paths() {
        assert_eq!(
            file_path("/private/var/tmp//x/").as_deref(),
            Some("/var/tmp/x")
        );
        assert_eq!(
            file_path("/private/etc/hosts").as_deref(),
            Some("/etc/hosts")
        );
        assert_eq!(
            file_path("/private/tmp/x").as_deref(),
            Some("/private/tmp/x")
        );
        assert_eq!(file_path("/"), None);
        assert_eq!(file_path("a/b").as_deref(), Some("a/b"));
        let a: Vec<&str> = path_ancestors("/a/b/c").collect();
        assert_eq!(a, ["/a/b", "/a"]);
        let a: Vec<&str> = path_ancestors("a/b/c").collect();
        assert_eq!(a, ["a/b", "a"]);
        assert_eq!(basename("/usr/bin/foo"), "foo");
        assert_eq!(basename("foo/"), "foo");
        assert_eq!(basename("foo"), "foo");
    }

    #[test]
    fn digests_and_names() {
        assert_eq!(
            hex_digest("ABCDEF0123456789abcdef0123456789", 32).as_deref(),
            Some("abcdef0123456789abcdef0123456789")
        );
        assert_eq!(hex_digest("xyz", 3), None);
        assert_eq!(cert_digest("AB:CD:EF").as_deref(), Some("abcdef"));
        assert_eq!(
            email(" MailTo:Foo@Example.ORG ").as_deref(),
            Some("foo@example.org")
        );
        assert_eq!(folded("  Com.Evil.App "), Some("com.evil.app".into()));
    }
}
