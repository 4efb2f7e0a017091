//! Which observable an indicator describes, from its STIX object path.

use std::fmt;

/// What an indicator value is, decided by its pattern key (`domain-name:value`,
/// `file:hashes.'SHA-256'`...).
///
/// The keys are those MVT accepts (`mvt-project/mvt: src/mvt/common/indicators.py`) plus
/// `ipv6-addr:value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndicatorKind {
    /// `domain-name:value`: a host and all its subdomains.
    Domain,
    /// `ipv4-addr:value`: an IPv4 address (or CIDR range).
    Ipv4,
    /// `ipv6-addr:value`: an IPv6 address (or CIDR range).
    Ipv6,
    /// `url:value`.
    Url,
    /// `email-addr:value`.
    Email,
    /// `process:name`.
    Process,
    /// `file:name`.
    FileName,
    /// `file:path` (an MVT extension; STIX proper has `directory:path`).
    FilePath,
    /// `file:hashes.MD5`.
    FileMd5,
    /// `file:hashes.SHA-1`.
    FileSha1,
    /// `file:hashes.SHA-256`.
    FileSha256,
    /// `app:cert.md5` (MVT extension).
    CertMd5,
    /// `app:cert.sha1` (MVT extension).
    CertSha1,
    /// `app:cert.sha256` (MVT extension).
    CertSha256,
    /// `app:id` (MVT extension).
    AppId,
    /// `configuration-profile:id` (MVT extension).
    ProfileId,
    /// `android-property:name` (MVT extension).
    AndroidProperty,
}

impl IndicatorKind {
    /// Every kind, in a stable order.
    pub const ALL: [IndicatorKind; 17] = [
        IndicatorKind::Domain,
        IndicatorKind::Ipv4,
        IndicatorKind::Ipv6,
        IndicatorKind::Url,
        IndicatorKind::Email,
        IndicatorKind::Process,
        IndicatorKind::FileName,
        IndicatorKind::FilePath,
        IndicatorKind::FileMd5,
        IndicatorKind::FileSha1,
        IndicatorKind::FileSha256,
        IndicatorKind::CertMd5,
        IndicatorKind::CertSha1,
        IndicatorKind::CertSha256,
        IndicatorKind::AppId,
        IndicatorKind::ProfileId,
        IndicatorKind::AndroidProperty,
    ];

    /// Resolve a pattern's object type and property path.
    ///
    /// Object types and property names compare case-insensitively; hash algorithm names also
    /// ignore `-` and `_`, so `file:hashes.'SHA-256'`, `file:hashes.SHA256` and
    /// `file:hashes.sha256` are the same key (as in MVT).
    pub fn from_key(object_type: &str, path: &[String]) -> Option<IndicatorKind> {
        // Compared in place, without lower-cased copies: this runs for every comparison of
        // every indicator loaded.
        const PLAIN: [(&str, &str, IndicatorKind); 11] = [
            ("domain-name", "value", IndicatorKind::Domain),
            ("ipv4-addr", "value", IndicatorKind::Ipv4),
            ("ipv6-addr", "value", IndicatorKind::Ipv6),
            ("url", "value", IndicatorKind::Url),
            ("email-addr", "value", IndicatorKind::Email),
            ("process", "name", IndicatorKind::Process),
            ("file", "name", IndicatorKind::FileName),
            ("file", "path", IndicatorKind::FilePath),
            ("app", "id", IndicatorKind::AppId),
            ("configuration-profile", "id", IndicatorKind::ProfileId),
            ("android-property", "name", IndicatorKind::AndroidProperty),
        ];
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match path {
            [property] => PLAIN
                .iter()
                .find(|(t, p, _)| is(object_type, t) && is(property, p))
                .map(|(_, _, kind)| *kind),
            [first, algo] if is(object_type, "file") && is(first, "hashes") => {
                Some(match hash_algorithm(algo)? {
                    Algo::Md5 => IndicatorKind::FileMd5,
                    Algo::Sha1 => IndicatorKind::FileSha1,
                    Algo::Sha256 => IndicatorKind::FileSha256,
                })
            }
            [first, algo] if is(object_type, "app") && is(first, "cert") => {
                Some(match hash_algorithm(algo)? {
                    Algo::Md5 => IndicatorKind::CertMd5,
                    Algo::Sha1 => IndicatorKind::CertSha1,
                    Algo::Sha256 => IndicatorKind::CertSha256,
                })
            }
            _ => None,
        }
    }

    /// The canonical pattern key.
    pub fn stix_key(self) -> &'static str {
        match self {
            IndicatorKind::Domain => "domain-name:value",
            IndicatorKind::Ipv4 => "ipv4-addr:value",
            IndicatorKind::Ipv6 => "ipv6-addr:value",
            IndicatorKind::Url => "url:value",
            IndicatorKind::Email => "email-addr:value",
            IndicatorKind::Process => "process:name",
            IndicatorKind::FileName => "file:name",
            IndicatorKind::FilePath => "file:path",
            IndicatorKind::FileMd5 => "file:hashes.MD5",
            IndicatorKind::FileSha1 => "file:hashes.'SHA-1'",
            IndicatorKind::FileSha256 => "file:hashes.'SHA-256'",
            IndicatorKind::CertMd5 => "app:cert.md5",
            IndicatorKind::CertSha1 => "app:cert.sha1",
            IndicatorKind::CertSha256 => "app:cert.sha256",
            IndicatorKind::AppId => "app:id",
            IndicatorKind::ProfileId => "configuration-profile:id",
            IndicatorKind::AndroidProperty => "android-property:name",
        }
    }

    /// The bucket name used in alerts (`IndicatorRef::bucket`) and listings.
    ///
    /// These are MVT's bucket names, except that IPv4 and IPv6 addresses go to `ips`: MVT
    /// lumps IPv4 addresses into `domains` (and ignores IPv6); see [`Self::mvt_bucket`].
    pub fn bucket(self) -> &'static str {
        match self {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => "ips",
            other => other.mvt_bucket().unwrap_or("ips"),
        }
    }

    /// The bucket MVT would put this indicator in, or `None` when MVT ignores the key
    /// (`ipv6-addr:value`). Useful for comparing counts with MVT.
    pub fn mvt_bucket(self) -> Option<&'static str> {
        Some(match self {
            IndicatorKind::Domain | IndicatorKind::Ipv4 => "domains",
            IndicatorKind::Ipv6 => return None,
            IndicatorKind::Url => "urls",
            IndicatorKind::Email => "emails",
            IndicatorKind::Process => "processes",
            IndicatorKind::FileName => "file_names",
            IndicatorKind::FilePath => "file_paths",
            IndicatorKind::FileMd5 => "files_md5",
            IndicatorKind::FileSha1 => "files_sha1",
            IndicatorKind::FileSha256 => "files_sha256",
            IndicatorKind::CertMd5 | IndicatorKind::CertSha1 | IndicatorKind::CertSha256 => {
                "app_cert_hashes"
            }
            IndicatorKind::AppId => "app_ids",
            IndicatorKind::ProfileId => "ios_profile_ids",
            IndicatorKind::AndroidProperty => "android_property_names",
        })
    }

    /// Every bucket name [`Self::bucket`] can return, in a stable order (for listings).
    pub const BUCKETS: [&'static str; 14] = [
        "domains",
        "ips",
        "urls",
        "emails",
        "processes",
        "file_names",
        "file_paths",
        "files_md5",
        "files_sha1",
        "files_sha256",
        "app_cert_hashes",
        "app_ids",
        "ios_profile_ids",
        "android_property_names",
    ];
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stix_key())
    }
}

enum Algo {
    Md5,
    Sha1,
    Sha256,
}

fn hash_algorithm(name: &str) -> Option<Algo> {
    let compact: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    match compact.as_str() {
        "md5" => Some(Algo::Md5),
        "sha1" => Some(Algo::Sha1),
        "sha256" => Some(Algo::Sha256),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str, p: &[&str]) -> Option<IndicatorKind> {
        let path: Vec<String> = p.iter().map(|s| s.to_string()).collect();
        IndicatorKind::from_key(t, &path)
    }

    #[test]
    fn every_mvt_hash_spelling_resolves() {
        for spelling in [
            "SHA-256", "SHA256", "sha256", "sha-256", "Sha256", "SHA_256",
        ] {
            assert_eq!(
                key("file", &["hashes", spelling]),
                Some(IndicatorKind::FileSha256)
            );
        }
        for spelling in ["SHA-1", "SHA1", "sha1", "sha-1"] {
            assert_eq!(
                key("file", &["hashes", spelling]),
                Some(IndicatorKind::FileSha1)
            );
        }
        for spelling in ["MD5", "md5", "Md5"] {
            assert_eq!(
                key("file", &["hashes", spelling]),
                Some(IndicatorKind::FileMd5)
            );
        }
        assert_eq!(
            key("app", &["cert", "sha256"]),
            Some(IndicatorKind::CertSha256)
        );
        assert_eq!(
            key("app", &["cert", "SHA-1"]),
            Some(IndicatorKind::CertSha1)
        );
        assert_eq!(key("app", &["cert", "md5"]), Some(IndicatorKind::CertMd5));
        assert_eq!(key("file", &["hashes", "SHA-512"]), None);
    }

    #[test]
    fn keys_and_buckets() {
        assert_eq!(key("ipv6-addr", &["value"]), Some(IndicatorKind::Ipv6));
        assert_eq!(key("file", &["size"]), None);
        assert_eq!(key("x-custom", &["value"]), None);
        assert_eq!(IndicatorKind::Ipv4.bucket(), "ips");
        assert_eq!(IndicatorKind::Ipv4.mvt_bucket(), Some("domains"));
        assert_eq!(IndicatorKind::Ipv6.mvt_bucket(), None);
        for k in IndicatorKind::ALL {
            assert!(IndicatorKind::BUCKETS.contains(&k.bucket()), "{k}");
            // The canonical key resolves back to the kind.
            let text = format!("[{} = 'x']", k.stix_key());
            let p = crate::pattern::parse(&text).unwrap();
            let c = p.comparisons()[0];
            assert_eq!(
                IndicatorKind::from_key(&c.object_type, &c.path),
                Some(k),
                "{text}"
            );
        }
    }
}
