//! Lookup keys: the one place that says under which keys an observable is looked up and under
//! which keys an indicator is indexed.
//!
//! Matching (`docs/matching.md`) is equality of keys: an observable yields a small set of
//! *probe keys* (its normalised host and each parent domain, its URL key with and without the
//! query, its path and each ancestor...), each tagged with the [`MatchRule`] it stands for; an
//! indicator yields its *index keys*. An observable matches an indicator when a probe key equals
//! an index key in the same [`KeySpace`].
//!
//! [`Matcher`](crate::Matcher) keeps the index keys in hash maps and walks the probe keys of
//! each observable. The case store writes the same probe keys to a database table and joins
//! them with the index keys of new indicators, so that re-checking thousands of stored devices
//! is one set-based query. Both call the functions below, so the two cannot drift apart.

use crate::IndicatorKind;
use crate::matcher::MatchRule;
use crate::normalize::{self, Host};
use bridle_model::ObservableKind;
use std::net::IpAddr;

/// A namespace of keys: a probe key only meets index keys of the same space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeySpace {
    /// Host names (domain indicators).
    Domain,
    /// Single IP addresses (`198.51.100.1`, `2001:db8::1`).
    Ip,
    /// CIDR ranges, as `network/prefix-length` with the host bits cleared.
    IpRange,
    /// URL lookup keys ([`normalize::Url::key`]).
    Url,
    /// Whole process names.
    Process,
    /// 15- and 16-byte beginnings of longer process names (kernel truncation).
    ProcessPrefix,
    /// Lower-cased e-mail addresses.
    Email,
    /// File names, exact.
    FileName,
    /// Normalised file paths.
    FilePath,
    /// Lower-case hex MD5 file digests.
    Md5,
    /// Lower-case hex SHA-1 file digests.
    Sha1,
    /// Lower-case hex SHA-256 file digests.
    Sha256,
    /// Lower-case hex certificate digests, any algorithm.
    Cert,
    /// Case-folded application ids.
    AppId,
    /// Case-folded configuration profile ids.
    ProfileId,
    /// Case-folded Android property names.
    Property,
}

impl KeySpace {
    /// Every space, in a stable order.
    pub const ALL: [KeySpace; 16] = [
        KeySpace::Domain,
        KeySpace::Ip,
        KeySpace::IpRange,
        KeySpace::Url,
        KeySpace::Process,
        KeySpace::ProcessPrefix,
        KeySpace::Email,
        KeySpace::FileName,
        KeySpace::FilePath,
        KeySpace::Md5,
        KeySpace::Sha1,
        KeySpace::Sha256,
        KeySpace::Cert,
        KeySpace::AppId,
        KeySpace::ProfileId,
        KeySpace::Property,
    ];

    /// The stable name stored in databases. Never rename one: stored keys would stop matching.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySpace::Domain => "domain",
            KeySpace::Ip => "ip",
            KeySpace::IpRange => "ip_range",
            KeySpace::Url => "url",
            KeySpace::Process => "process",
            KeySpace::ProcessPrefix => "process_prefix",
            KeySpace::Email => "email",
            KeySpace::FileName => "file_name",
            KeySpace::FilePath => "file_path",
            KeySpace::Md5 => "md5",
            KeySpace::Sha1 => "sha1",
            KeySpace::Sha256 => "sha256",
            KeySpace::Cert => "cert",
            KeySpace::AppId => "app_id",
            KeySpace::ProfileId => "profile_id",
            KeySpace::Property => "property",
        }
    }

    /// The space named `name` ([`Self::as_str`]).
    pub fn from_name(name: &str) -> Option<KeySpace> {
        KeySpace::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Position in [`Self::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A key an observable is looked up under, and the rule a hit on it stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProbeKey {
    /// The space.
    pub space: KeySpace,
    /// The key.
    pub key: String,
    /// How an indicator indexed under this key matches the observable.
    pub rule: MatchRule,
}

/// A key an indicator is indexed under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexKey {
    /// The space.
    pub space: KeySpace,
    /// The key.
    pub key: String,
}

/// Version of the key derivation. Anything that stores probe keys (the case store) records
/// it and re-derives its keys when it changes. Bump it with any change to this file or to
/// the normal forms in [`normalize`] that changes a key.
pub const PROBE_KEYS_VERSION: u32 = 1;

/// Lengths at which iOS (`MAXCOMLEN` 16) and Linux/Android (`TASK_COMM_LEN` 16 with the NUL,
/// so 15) truncate process names.
pub(crate) const TRUNCATION_LENGTHS: [usize; 2] = [15, 16];

/// Which CIDR prefix lengths to probe for an observed IP address.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ranges<'a> {
    /// Every length shorter than the address (for a store that does not know the indicators
    /// yet): 32 keys for IPv4, 128 for IPv6.
    All,
    /// Only the lengths some indicator uses (the in-memory matcher knows them).
    Only {
        /// IPv4 prefix lengths present in the index.
        v4: &'a [u8],
        /// IPv6 prefix lengths present in the index.
        v6: &'a [u8],
    },
}

fn full_length(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn range_key(ip: IpAddr, len: u8) -> String {
    format!("{}/{len}", normalize::mask(ip, len))
}

/// Calls `f` with every probe key of an observable: the key space, the key and the rule.
///
/// This is the matching semantics of `docs/matching.md`, observable side. Values longer
/// than [`normalize::MAX_VALUE_BYTES`] yield nothing.
pub(crate) fn for_each_probe(
    kind: ObservableKind,
    value: &str,
    ranges: Ranges<'_>,
    f: &mut dyn FnMut(KeySpace, &str, MatchRule),
) {
    if value.len() > normalize::MAX_VALUE_BYTES {
        return;
    }
    match kind {
        ObservableKind::Url => {
            let url = normalize::url(value);
            if let Some(host) = &url.host {
                host_probes(host, MatchRule::UrlHost, MatchRule::UrlSubdomain, ranges, f);
            }
            if let Some(key) = &url.key {
                f(KeySpace::Url, key, MatchRule::Exact);
            }
            if let Some(key) = &url.key_without_query {
                f(KeySpace::Url, key, MatchRule::UrlWithoutQuery);
            }
        }
        ObservableKind::Domain | ObservableKind::Ip => {
            if let Some(host) = normalize::url(value).host {
                host_probes(&host, MatchRule::Exact, MatchRule::Subdomain, ranges, f);
            }
        }
        ObservableKind::Email => {
            if let Some(email) = normalize::email(value) {
                f(KeySpace::Email, &email, MatchRule::Exact);
            }
        }
        ObservableKind::Process => {
            let name = normalize::basename(value);
            f(KeySpace::Process, name, MatchRule::Exact);
            if TRUNCATION_LENGTHS.contains(&name.len()) {
                f(
                    KeySpace::ProcessPrefix,
                    name,
                    MatchRule::TruncatedProcessName,
                );
            }
        }
        ObservableKind::FileName => f(KeySpace::FileName, value, MatchRule::Exact),
        ObservableKind::FilePath => {
            if let Some(path) = normalize::file_path(value) {
                f(KeySpace::FilePath, &path, MatchRule::Exact);
                for ancestor in normalize::path_ancestors(&path) {
                    f(KeySpace::FilePath, ancestor, MatchRule::UnderPath);
                }
                f(
                    KeySpace::FileName,
                    normalize::basename(&path),
                    MatchRule::FileNameOfPath,
                );
            }
        }
        ObservableKind::AppId => folded(KeySpace::AppId, value, f),
        ObservableKind::ProfileId => folded(KeySpace::ProfileId, value, f),
        ObservableKind::AndroidProperty => folded(KeySpace::Property, value, f),
        ObservableKind::FileHash => {
            let len = value.trim().len();
            let space = match len {
                32 => KeySpace::Md5,
                40 => KeySpace::Sha1,
                64 => KeySpace::Sha256,
                _ => return,
            };
            if let Some(digest) = normalize::hex_digest(value, len) {
                f(space, &digest, MatchRule::Exact);
            }
        }
        ObservableKind::CertHash => {
            if let Some(digest) = normalize::cert_digest(value) {
                f(KeySpace::Cert, &digest, MatchRule::Exact);
            }
        }
    }
}

fn folded(space: KeySpace, value: &str, f: &mut dyn FnMut(KeySpace, &str, MatchRule)) {
    if let Some(v) = normalize::folded(value) {
        f(space, &v, MatchRule::Exact);
    }
}

fn host_probes(
    host: &Host,
    exact: MatchRule,
    subdomain: MatchRule,
    ranges: Ranges<'_>,
    f: &mut dyn FnMut(KeySpace, &str, MatchRule),
) {
    match host {
        Host::Ip(ip) => {
            f(KeySpace::Ip, &ip.to_string(), exact);
            let full = full_length(*ip);
            match ranges {
                Ranges::All => {
                    for len in 0..full {
                        f(
                            KeySpace::IpRange,
                            &range_key(*ip, len),
                            MatchRule::IpInRange,
                        );
                    }
                }
                Ranges::Only { v4, v6 } => {
                    let lengths = if ip.is_ipv4() { v4 } else { v6 };
                    for len in lengths.iter().filter(|l| **l < full) {
                        f(
                            KeySpace::IpRange,
                            &range_key(*ip, *len),
                            MatchRule::IpInRange,
                        );
                    }
                }
            }
        }
        Host::Name(name) => {
            f(KeySpace::Domain, name, exact);
            for parent in normalize::parent_domains(name) {
                f(KeySpace::Domain, parent, subdomain);
            }
        }
    }
}

/// Every probe key of an observable, in the order the matcher probes them. IP addresses get
/// a range key for every prefix length (32 for IPv4, 128 for IPv6), since a store does not
/// know which lengths future indicators will use.
pub fn probe_keys(kind: ObservableKind, value: &str) -> Vec<ProbeKey> {
    let mut keys = Vec::new();
    for_each_probe(kind, value, Ranges::All, &mut |space, key, rule| {
        keys.push(ProbeKey {
            space,
            key: key.to_owned(),
            rule,
        });
    });
    keys
}

/// The index keys of an indicator value of `kind`, given in its normalised form
/// ([`Indicator::normalized`](crate::Indicator::normalized)). This is the matching
/// semantics of `docs/matching.md`, indicator side.
pub fn index_keys(kind: IndicatorKind, normalized: &str) -> Vec<IndexKey> {
    let key = |space: KeySpace, key: &str| IndexKey {
        space,
        key: key.to_owned(),
    };
    match kind {
        IndicatorKind::Domain | IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
            match normalize::ip_range(normalized) {
                Some((ip, len)) if len == full_length(ip) => {
                    vec![key(KeySpace::Ip, &ip.to_string())]
                }
                Some((ip, len)) => vec![key(KeySpace::IpRange, &range_key(ip, len))],
                None => vec![key(KeySpace::Domain, normalized)],
            }
        }
        IndicatorKind::Url => normalize::url(normalized)
            .key
            .map(|k| vec![key(KeySpace::Url, &k)])
            .unwrap_or_default(),
        IndicatorKind::Process => {
            let mut keys = vec![key(KeySpace::Process, normalized)];
            for len in TRUNCATION_LENGTHS {
                if normalized.len() > len
                    && let Some(prefix) = normalized.get(..len)
                {
                    keys.push(key(KeySpace::ProcessPrefix, prefix));
                }
            }
            keys
        }
        IndicatorKind::Email => vec![key(KeySpace::Email, normalized)],
        IndicatorKind::FileName => vec![key(KeySpace::FileName, normalized)],
        IndicatorKind::FilePath => vec![key(KeySpace::FilePath, normalized)],
        IndicatorKind::FileMd5 => vec![key(KeySpace::Md5, normalized)],
        IndicatorKind::FileSha1 => vec![key(KeySpace::Sha1, normalized)],
        IndicatorKind::FileSha256 => vec![key(KeySpace::Sha256, normalized)],
        IndicatorKind::CertMd5 | IndicatorKind::CertSha1 | IndicatorKind::CertSha256 => {
            vec![key(KeySpace::Cert, normalized)]
        }
        IndicatorKind::AppId => vec![key(KeySpace::AppId, normalized)],
        IndicatorKind::ProfileId => vec![key(KeySpace::ProfileId, normalized)],
        IndicatorKind::AndroidProperty => vec![key(KeySpace::Property, normalized)],
    }
}

impl crate::Indicator {
    /// The keys this indicator is indexed under ([`index_keys`]).
    pub fn index_keys(&self) -> Vec<IndexKey> {
        index_keys(self.kind, &self.normalized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spaces_and_keys(kind: ObservableKind, value: &str) -> Vec<(KeySpace, String, MatchRule)> {
        probe_keys(kind, value)
            .into_iter()
            .map(|p| (p.space, p.key, p.rule))
            .collect()
    }

    #[test]
    fn url_probes_host_parents_and_url_keys() {
        let keys = spaces_and_keys(ObservableKind::Url, "HTTPS://a.b.Evil.com/x?q=1#frag");
        assert_eq!(
            keys,
            vec![
                (KeySpace::Domain, "a.b.evil.com".into(), MatchRule::UrlHost),
                (
                    KeySpace::Domain,
                    "b.evil.com".into(),
                    MatchRule::UrlSubdomain
                ),
                (KeySpace::Domain, "evil.com".into(), MatchRule::UrlSubdomain),
                (
                    KeySpace::Url,
                    "http://a.b.evil.com/x?q=1".into(),
                    MatchRule::Exact
                ),
                (
                    KeySpace::Url,
                    "http://a.b.evil.com/x".into(),
                    MatchRule::UrlWithoutQuery
                ),
            ]
        );
    }

    #[test]
    fn ip_probes_every_prefix_and_index_keys_agree() {
        let keys = probe_keys(ObservableKind::Ip, "198.51.100.7");
        assert_eq!(keys.len(), 1 + 32);
        let range = index_keys(IndicatorKind::Ipv4, "198.51.100.0/24");
        assert_eq!(range[0].key, "198.51.100.0/24");
        assert!(
            keys.iter()
                .any(|k| k.space == KeySpace::IpRange && k.key == range[0].key)
        );
        assert_eq!(probe_keys(ObservableKind::Ip, "2001:db8::1").len(), 1 + 128);
    }

    #[test]
    fn process_names_and_truncations() {
        let long = "com.apple.longprocessname";
        let idx = index_keys(IndicatorKind::Process, long);
        assert_eq!(idx.len(), 3);
        let truncated = long.get(..15).unwrap();
        let probes = spaces_and_keys(ObservableKind::Process, truncated);
        assert!(probes.contains(&(
            KeySpace::ProcessPrefix,
            truncated.to_owned(),
            MatchRule::TruncatedProcessName
        )));
    }

    #[test]
    fn space_names_round_trip() {
        for s in KeySpace::ALL {
            assert_eq!(KeySpace::from_name(s.as_str()), Some(s));
            assert_eq!(KeySpace::ALL[s.index()], s);
        }
    }
}
