use crate::Level;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// What kind of value an [`Observable`] is. The matcher picks its semantics from this
/// (see `docs/matching.md`).
///
/// The serialised names are part of `observables.jsonl`, which `bridle recheck` reads back
/// months later: never rename a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservableKind {
    /// A URL as written on the device (it may lack a scheme). Matched against URL indicators,
    /// and its host against domain and IP indicators.
    Url,
    /// A host name or registrable domain (it may be an IP literal).
    Domain,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An e-mail address.
    Email,
    /// A process name or a path to an executable (the last component is the name).
    Process,
    /// A file name (the last component of a path).
    FileName,
    /// An absolute file path on the device.
    FilePath,
    /// An application / bundle / package identifier.
    AppId,
    /// A configuration profile identifier (PayloadUUID or PayloadIdentifier).
    ProfileId,
    /// A file hash of unknown algorithm: the matcher chooses MD5, SHA-1 or SHA-256 by length.
    FileHash,
    /// An app signing certificate hash (MD5, SHA-1 or SHA-256).
    CertHash,
    /// An Android system property name.
    AndroidProperty,
}

impl ObservableKind {
    /// Every kind, in a stable order.
    pub const ALL: [ObservableKind; 12] = [
        ObservableKind::Url,
        ObservableKind::Domain,
        ObservableKind::Ip,
        ObservableKind::Email,
        ObservableKind::Process,
        ObservableKind::FileName,
        ObservableKind::FilePath,
        ObservableKind::AppId,
        ObservableKind::ProfileId,
        ObservableKind::FileHash,
        ObservableKind::CertHash,
        ObservableKind::AndroidProperty,
    ];

    /// The wire name (as in `observables.jsonl`).
    pub fn as_str(self) -> &'static str {
        match self {
            ObservableKind::Url => "url",
            ObservableKind::Domain => "domain",
            ObservableKind::Ip => "ip",
            ObservableKind::Email => "email",
            ObservableKind::Process => "process",
            ObservableKind::FileName => "file_name",
            ObservableKind::FilePath => "file_path",
            ObservableKind::AppId => "app_id",
            ObservableKind::ProfileId => "profile_id",
            ObservableKind::FileHash => "file_hash",
            ObservableKind::CertHash => "cert_hash",
            ObservableKind::AndroidProperty => "android_property",
        }
    }
}

impl fmt::Display for ObservableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value a module saw in a record, to be checked against indicators.
///
/// `field` names where in the record the value came from (`"url"`, `"links"`, `"client"`),
/// so an alert can say which part of the record matched. `level` is the severity of the alert
/// should it match: modules follow MVT's choice per artifact (CRITICAL for most, HIGH for
/// file paths in the Manifest or locationd).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Observable {
    /// What kind of value this is.
    pub kind: ObservableKind,
    /// The value as found on the device (not normalised: the matcher normalises).
    pub value: String,
    /// The record field it came from.
    pub field: Cow<'static, str>,
    /// The alert level if it matches an indicator.
    pub level: Level,
}

impl Observable {
    /// An observable that raises a CRITICAL alert when it matches.
    pub fn new(kind: ObservableKind, value: impl Into<String>, field: &'static str) -> Self {
        Observable {
            kind,
            value: value.into(),
            field: Cow::Borrowed(field),
            level: Level::Critical,
        }
    }

    /// The same observable with another alert level.
    #[must_use]
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }
}
