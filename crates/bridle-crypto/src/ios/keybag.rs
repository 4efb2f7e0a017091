//! The backup keybag (`BackupKeyBag` in `Manifest.plist`): a flat list of TLV records.
//!
//! Layout: each record is a 4-byte ASCII tag, a 4-byte big-endian length and the value;
//! 4-byte values of numeric tags are big-endian integers. The records before the second
//! `UUID` describe the keybag (`VERS`, `TYPE`, `UUID`, `HMCK`, `WRAP`, `SALT`, `ITER`, and
//! from iOS 10.2 `DPWT`, `DPIC`, `DPSL`); each later `UUID` opens one class key (`CLAS`,
//! `WRAP`, `KTYP`, `WPKY`, `PBKY`).
//!
//! The keybag comes from the evidence, so every length is checked against what is left,
//! every tag may appear at most once per section, and the iteration counts are capped: they
//! decide how long key derivation runs, and a hostile keybag must not stall the tool.

use std::fmt;
use std::num::NonZeroU32;

/// Largest keybag accepted, in bytes. Real ones are 1-2 KB (11 classes of ~100 bytes).
pub const MAX_KEYBAG_LEN: usize = 64 * 1024;

/// Most class keys accepted. iOS defines 11 protection classes.
pub const MAX_CLASSES: usize = 64;

/// Largest `ITER` or `DPIC` accepted. Real backups use 10,000 and 10,000,000; 50,000,000
/// PBKDF2-HMAC-SHA256 rounds take a few seconds on the slowest machines we expect, so a
/// larger count is refused rather than run.
pub const MAX_ITERATIONS: u32 = 50_000_000;

/// Longest salt (`SALT`, `DPSL`) accepted; real ones are 20 bytes.
pub const MAX_SALT_LEN: usize = 256;

/// Length of a wrapped 256-bit key (RFC 3394: 32 bytes plus the 8-byte integrity block).
pub const WRAPPED_KEY_LEN: usize = 40;

/// `WRAP` bit: the class key is wrapped with the device's hardware key (not available
/// off the device).
pub const WRAP_DEVICE: u32 = 1;

/// `WRAP` bit: the class key is wrapped with the key derived from the backup password.
pub const WRAP_PASSCODE: u32 = 2;

/// A four-byte keybag tag.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub [u8; 4]);

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.iter().all(|b| b.is_ascii_alphanumeric()) {
            for &b in &self.0 {
                write!(f, "{}", char::from(b))?;
            }
            Ok(())
        } else {
            write!(f, "0x{}", hex::encode(self.0))
        }
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

/// Which part of the keybag a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The keybag's own attributes (before the second `UUID`).
    Header,
    /// The class-key entry with this 0-based index.
    Class(usize),
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Header => f.write_str("keybag header"),
            Section::Class(i) => write!(f, "class entry #{i}"),
        }
    }
}

/// Why a keybag was refused. Offsets are byte offsets in the keybag.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeybagError {
    /// The keybag is larger than [`MAX_KEYBAG_LEN`].
    #[error("keybag is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Keybag length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Fewer than 8 bytes remain where a record header should start.
    #[error("keybag truncated: {remaining} bytes at offset {offset}, not a whole record header")]
    TruncatedHeader {
        /// Where the record should start.
        offset: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A record's length runs past the end of the keybag.
    #[error("keybag record {tag} at offset {offset} claims {len} bytes, only {remaining} remain")]
    LengthPastEnd {
        /// The record's tag.
        tag: Tag,
        /// Where the record starts.
        offset: usize,
        /// Its claimed length.
        len: u32,
        /// Bytes left after its header.
        remaining: usize,
    },
    /// A tag appears twice in one section.
    #[error("keybag tag {tag} repeated in {section} (offset {offset})")]
    RepeatedTag {
        /// The tag.
        tag: Tag,
        /// The section.
        section: Section,
        /// Offset of the second occurrence.
        offset: usize,
    },
    /// A required tag is absent.
    #[error("keybag {section} has no {tag}")]
    MissingTag {
        /// The tag.
        tag: Tag,
        /// The section.
        section: Section,
    },
    /// A header-only tag appears inside a class entry, or a class-only tag in the header.
    #[error("keybag tag {tag} at offset {offset} does not belong in the {section}")]
    MisplacedTag {
        /// The tag.
        tag: Tag,
        /// Where it was found.
        section: Section,
        /// Its offset.
        offset: usize,
    },
    /// A value has the wrong length for its tag.
    #[error("keybag {tag} at offset {offset} is {len} bytes; expected {expected}")]
    BadLength {
        /// The tag.
        tag: Tag,
        /// Its offset.
        offset: usize,
        /// Its length.
        len: usize,
        /// What it should be.
        expected: &'static str,
    },
    /// An iteration count above [`MAX_ITERATIONS`].
    #[error("keybag {tag} = {value} iterations, above the {max} accepted")]
    IterationsTooHigh {
        /// `ITER` or `DPIC`.
        tag: Tag,
        /// The count.
        value: u32,
        /// The cap.
        max: u32,
    },
    /// An iteration count of zero (PBKDF2 needs at least one round).
    #[error("keybag {tag} = 0 iterations")]
    ZeroIterations {
        /// `ITER` or `DPIC`.
        tag: Tag,
    },
    /// Only one of `DPIC` and `DPSL` is present.
    #[error("keybag has {present} without {missing}")]
    IncompleteSecondStage {
        /// The tag present.
        present: Tag,
        /// The tag missing.
        missing: Tag,
    },
    /// A class key that must be unwrapped with the password has a `WPKY` that is not
    /// [`WRAPPED_KEY_LEN`] bytes.
    #[error("class {class} wrapped key is {len} bytes; expected {WRAPPED_KEY_LEN}")]
    WrappedKeyLength {
        /// The protection class.
        class: u32,
        /// The length found.
        len: usize,
    },
    /// Two entries for the same protection class.
    #[error("keybag has two entries for protection class {class}")]
    RepeatedClass {
        /// The protection class.
        class: u32,
    },
    /// More class entries than [`MAX_CLASSES`].
    #[error("keybag has more than {max} class entries")]
    TooManyClasses {
        /// The cap.
        max: usize,
    },
    /// No class entries at all.
    #[error("keybag has no class keys")]
    NoClassKeys,
}

/// The second, slow PBKDF2 stage introduced in iOS 10.2 (`DPSL`/`DPIC`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondStage {
    /// `DPSL`: salt of the PBKDF2-HMAC-SHA256 stage.
    pub salt: Vec<u8>,
    /// `DPIC`: its iteration count (capped at parse time).
    pub iterations: NonZeroU32,
    /// `DPWT`, when present (1 in every backup seen).
    pub wrap_type: Option<u32>,
}

/// One class key as stored: still wrapped.
#[derive(Clone, PartialEq, Eq)]
pub struct ClassKey {
    /// `CLAS`: the protection class (1 to 11 on iOS).
    pub class: u32,
    /// `WRAP`: bit 1 = device key ([`WRAP_DEVICE`]), bit 2 = password ([`WRAP_PASSCODE`]).
    pub wrap: u32,
    /// `KTYP`, when present (0 = AES, 1 = Curve25519).
    pub key_type: Option<u32>,
    /// The entry's `UUID`.
    pub uuid: [u8; 16],
    /// `WPKY`: the wrapped key.
    pub wrapped_key: Vec<u8>,
    /// `PBKY`, when present (public key of asymmetric classes).
    pub public_key: Option<Vec<u8>>,
}

impl fmt::Debug for ClassKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassKey")
            .field("class", &self.class)
            .field("wrap", &self.wrap)
            .field("key_type", &self.key_type)
            .field("wrapped_key_len", &self.wrapped_key.len())
            .finish_non_exhaustive()
    }
}

/// A record whose tag this parser does not know; kept for the record, not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRecord {
    /// The tag.
    pub tag: Tag,
    /// The section it was in.
    pub section: Section,
    /// Offset of the record.
    pub offset: usize,
    /// Its value.
    pub value: Vec<u8>,
}

/// A parsed backup keybag. Nothing in it is secret: the class keys are still wrapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keybag {
    pub(crate) version: u32,
    pub(crate) kind: u32,
    pub(crate) uuid: [u8; 16],
    pub(crate) hmck: Option<Vec<u8>>,
    pub(crate) wrap: u32,
    pub(crate) salt: Vec<u8>,
    pub(crate) iterations: NonZeroU32,
    pub(crate) second_stage: Option<SecondStage>,
    pub(crate) classes: Vec<ClassKey>,
    pub(crate) unknown: Vec<UnknownRecord>,
}

/// One raw TLV record.
struct Record<'a> {
    tag: Tag,
    offset: usize,
    value: &'a [u8],
}

/// Splits `data` into records, checking every length.
fn records(data: &[u8]) -> Result<Vec<Record<'_>>, KeybagError> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    while offset < data.len() {
        let rest = data.get(offset..).unwrap_or_default();
        let (Some(tag), Some(len)) = (rest.get(0..4), rest.get(4..8)) else {
            return Err(KeybagError::TruncatedHeader {
                offset,
                remaining: rest.len(),
            });
        };
        let tag = Tag([tag[0], tag[1], tag[2], tag[3]]);
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        let body = rest.get(8..).unwrap_or_default();
        let value = usize::try_from(len)
            .ok()
            .and_then(|n| body.get(..n))
            .ok_or(KeybagError::LengthPastEnd {
                tag,
                offset,
                len,
                remaining: body.len(),
            })?;
        out.push(Record { tag, offset, value });
        offset = offset.saturating_add(8).saturating_add(value.len());
    }
    Ok(out)
}

const T_VERS: Tag = Tag(*b"VERS");
const T_TYPE: Tag = Tag(*b"TYPE");
const T_UUID: Tag = Tag(*b"UUID");
const T_HMCK: Tag = Tag(*b"HMCK");
const T_WRAP: Tag = Tag(*b"WRAP");
const T_SALT: Tag = Tag(*b"SALT");
const T_ITER: Tag = Tag(*b"ITER");
const T_DPWT: Tag = Tag(*b"DPWT");
const T_DPIC: Tag = Tag(*b"DPIC");
const T_DPSL: Tag = Tag(*b"DPSL");
const T_CLAS: Tag = Tag(*b"CLAS");
const T_KTYP: Tag = Tag(*b"KTYP");
const T_WPKY: Tag = Tag(*b"WPKY");
const T_PBKY: Tag = Tag(*b"PBKY");

/// Tags only valid in the header.
const HEADER_TAGS: [Tag; 9] = [
    T_VERS, T_TYPE, T_HMCK, T_SALT, T_ITER, T_DPWT, T_DPIC, T_DPSL, T_WRAP,
];
/// Tags only valid in a class entry.
const CLASS_TAGS: [Tag; 5] = [T_CLAS, T_WRAP, T_KTYP, T_WPKY, T_PBKY];

/// The known records of one section, each at most once.
struct Fields<'a> {
    section: Section,
    found: Vec<Record<'a>>,
}

impl<'a> Fields<'a> {
    fn new(section: Section) -> Self {
        Fields {
            section,
            found: Vec::new(),
        }
    }

    fn insert(&mut self, record: Record<'a>) -> Result<(), KeybagError> {
        if self.found.iter().any(|r| r.tag == record.tag) {
            return Err(KeybagError::RepeatedTag {
                tag: record.tag,
                section: self.section,
                offset: record.offset,
            });
        }
        self.found.push(record);
        Ok(())
    }

    fn get(&self, tag: Tag) -> Option<&Record<'a>> {
        self.found.iter().find(|r| r.tag == tag)
    }

    fn require(&self, tag: Tag) -> Result<&Record<'a>, KeybagError> {
        self.get(tag).ok_or(KeybagError::MissingTag {
            tag,
            section: self.section,
        })
    }

    fn u32(&self, tag: Tag) -> Result<Option<u32>, KeybagError> {
        self.get(tag).map(as_u32).transpose()
    }

    fn required_u32(&self, tag: Tag) -> Result<u32, KeybagError> {
        as_u32(self.require(tag)?)
    }

    fn uuid(&self) -> Result<[u8; 16], KeybagError> {
        let r = self.require(T_UUID)?;
        r.value.try_into().map_err(|_| KeybagError::BadLength {
            tag: r.tag,
            offset: r.offset,
            len: r.value.len(),
            expected: "16",
        })
    }
}

fn as_u32(r: &Record<'_>) -> Result<u32, KeybagError> {
    let bytes: [u8; 4] = r.value.try_into().map_err(|_| KeybagError::BadLength {
        tag: r.tag,
        offset: r.offset,
        len: r.value.len(),
        expected: "4 (a big-endian integer)",
    })?;
    Ok(u32::from_be_bytes(bytes))
}

fn salt(r: &Record<'_>) -> Result<Vec<u8>, KeybagError> {
    if r.value.len() > MAX_SALT_LEN {
        return Err(KeybagError::BadLength {
            tag: r.tag,
            offset: r.offset,
            len: r.value.len(),
            expected: "at most 256",
        });
    }
    Ok(r.value.to_vec())
}

fn iterations(tag: Tag, value: u32) -> Result<NonZeroU32, KeybagError> {
    if value > MAX_ITERATIONS {
        return Err(KeybagError::IterationsTooHigh {
            tag,
            value,
            max: MAX_ITERATIONS,
        });
    }
    NonZeroU32::new(value).ok_or(KeybagError::ZeroIterations { tag })
}

impl Keybag {
    /// Parses the keybag bytes (the `BackupKeyBag` data of `Manifest.plist`).
    pub fn parse(data: &[u8]) -> Result<Keybag, KeybagError> {
        if data.len() > MAX_KEYBAG_LEN {
            return Err(KeybagError::TooLarge {
                len: data.len(),
                max: MAX_KEYBAG_LEN,
            });
        }
        let mut header = Fields::new(Section::Header);
        let mut classes: Vec<Fields<'_>> = Vec::new();
        let mut unknown = Vec::new();
        for record in records(data)? {
            // The first UUID belongs to the header; each later one opens a class entry.
            if record.tag == T_UUID && header.get(T_UUID).is_some() {
                if classes.len() >= MAX_CLASSES {
                    return Err(KeybagError::TooManyClasses { max: MAX_CLASSES });
                }
                classes.push(Fields::new(Section::Class(classes.len())));
            }
            let current = classes.last_mut().unwrap_or(&mut header);
            let known_here = record.tag == T_UUID
                || match current.section {
                    Section::Header => HEADER_TAGS.contains(&record.tag),
                    Section::Class(_) => CLASS_TAGS.contains(&record.tag),
                };
            if known_here {
                current.insert(record)?;
            } else if HEADER_TAGS.contains(&record.tag) || CLASS_TAGS.contains(&record.tag) {
                return Err(KeybagError::MisplacedTag {
                    tag: record.tag,
                    section: current.section,
                    offset: record.offset,
                });
            } else {
                unknown.push(UnknownRecord {
                    tag: record.tag,
                    section: current.section,
                    offset: record.offset,
                    value: record.value.to_vec(),
                });
            }
        }

        let version = header.required_u32(T_VERS)?;
        let kind = header.required_u32(T_TYPE)?;
        let uuid = header.uuid()?;
        let wrap = header.required_u32(T_WRAP)?;
        let salt_value = salt(header.require(T_SALT)?)?;
        let iter = iterations(T_ITER, header.required_u32(T_ITER)?)?;
        let hmck = header.get(T_HMCK).map(|r| r.value.to_vec());
        let second_stage = match (header.get(T_DPIC), header.get(T_DPSL)) {
            (Some(dpic), Some(dpsl)) => Some(SecondStage {
                salt: salt(dpsl)?,
                iterations: iterations(T_DPIC, as_u32(dpic)?)?,
                wrap_type: header.u32(T_DPWT)?,
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(KeybagError::IncompleteSecondStage {
                    present: T_DPIC,
                    missing: T_DPSL,
                });
            }
            (None, Some(_)) => {
                return Err(KeybagError::IncompleteSecondStage {
                    present: T_DPSL,
                    missing: T_DPIC,
                });
            }
        };

        let mut class_keys: Vec<ClassKey> = Vec::with_capacity(classes.len());
        for fields in &classes {
            let class = fields.required_u32(T_CLAS)?;
            let class_wrap = fields.required_u32(T_WRAP)?;
            let wpky = fields.require(T_WPKY)?;
            if class_wrap & WRAP_PASSCODE != 0 && wpky.value.len() != WRAPPED_KEY_LEN {
                return Err(KeybagError::WrappedKeyLength {
                    class,
                    len: wpky.value.len(),
                });
            }
            if class_keys.iter().any(|c| c.class == class) {
                return Err(KeybagError::RepeatedClass { class });
            }
            class_keys.push(ClassKey {
                class,
                wrap: class_wrap,
                key_type: fields.u32(T_KTYP)?,
                uuid: fields.uuid()?,
                wrapped_key: wpky.value.to_vec(),
                public_key: fields.get(T_PBKY).map(|r| r.value.to_vec()),
            });
        }
        if class_keys.is_empty() {
            return Err(KeybagError::NoClassKeys);
        }
        class_keys.sort_by_key(|c| c.class);

        Ok(Keybag {
            version,
            kind,
            uuid,
            hmck,
            wrap,
            salt: salt_value,
            iterations: iter,
            second_stage,
            classes: class_keys,
            unknown,
        })
    }

    /// `VERS`: keybag format version (4 on current iOS).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `TYPE`: keybag type (1 = backup).
    pub fn kind(&self) -> u32 {
        self.kind
    }

    /// The keybag's `UUID`.
    pub fn uuid(&self) -> &[u8; 16] {
        &self.uuid
    }

    /// `HMCK`, when present (opaque; not needed to decrypt a backup).
    pub fn hmck(&self) -> Option<&[u8]> {
        self.hmck.as_deref()
    }

    /// The header's `WRAP`.
    pub fn wrap(&self) -> u32 {
        self.wrap
    }

    /// `SALT`: salt of the PBKDF2-HMAC-SHA1 stage.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// `ITER`: iterations of the PBKDF2-HMAC-SHA1 stage.
    pub fn iterations(&self) -> NonZeroU32 {
        self.iterations
    }

    /// The PBKDF2-HMAC-SHA256 stage (`DPSL`, `DPIC`, `DPWT`), present from iOS 10.2.
    pub fn second_stage(&self) -> Option<&SecondStage> {
        self.second_stage.as_ref()
    }

    /// Class keys, sorted by protection class.
    pub fn classes(&self) -> &[ClassKey] {
        &self.classes
    }

    /// Records with tags this parser does not know, in file order.
    pub fn unknown_records(&self) -> &[UnknownRecord] {
        &self.unknown
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a keybag from `(tag, value)` records.
    pub(crate) fn build(records: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (tag, value) in records {
            out.extend_from_slice(*tag);
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        }
        out
    }

    pub(crate) fn int(v: u32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    /// The header records of a modern keybag.
    pub(crate) fn header(iter: u32, dpic: u32) -> Vec<(&'static [u8; 4], Vec<u8>)> {
        vec![
            (b"VERS", int(4)),
            (b"TYPE", int(1)),
            (b"UUID", vec![0x11; 16]),
            (b"HMCK", vec![0x22; 40]),
            (b"WRAP", int(0)),
            (b"SALT", vec![0x33; 20]),
            (b"ITER", int(iter)),
            (b"DPWT", int(1)),
            (b"DPIC", int(dpic)),
            (b"DPSL", vec![0x44; 20]),
        ]
    }

    pub(crate) fn class(class: u32, wrap: u32, wpky: Vec<u8>) -> Vec<(&'static [u8; 4], Vec<u8>)> {
        vec![
            (b"UUID", vec![class as u8; 16]),
            (b"CLAS", int(class)),
            (b"WRAP", int(wrap)),
            (b"KTYP", int(0)),
            (b"WPKY", wpky),
        ]
    }

    fn sample() -> Vec<(&'static [u8; 4], Vec<u8>)> {
        let mut r = header(10_000, 10_000_000);
        r.extend(class(1, 2, vec![1; 40]));
        r.extend(class(5, 3, vec![5; 40]));
        r.extend(class(3, 2, vec![3; 40]));
        r
    }

    #[test]
    fn parses_a_well_formed_keybag() {
        let kb = Keybag::parse(&build(&sample())).unwrap();
        assert_eq!(kb.version(), 4);
        assert_eq!(kb.kind(), 1);
        assert_eq!(kb.uuid(), &[0x11; 16]);
        assert_eq!(kb.hmck(), Some(&[0x22u8; 40][..]));
        assert_eq!(kb.salt(), &[0x33; 20]);
        assert_eq!(kb.iterations().get(), 10_000);
        let dp = kb.second_stage().unwrap();
        assert_eq!(dp.iterations.get(), 10_000_000);
        assert_eq!(dp.salt, vec![0x44; 20]);
        assert_eq!(dp.wrap_type, Some(1));
        let classes: Vec<(u32, u32)> = kb.classes().iter().map(|c| (c.class, c.wrap)).collect();
        assert_eq!(classes, vec![(1, 2), (3, 2), (5, 3)], "sorted by class");
        assert_eq!(kb.classes()[1].wrapped_key, vec![3; 40]);
        assert_eq!(kb.classes()[1].uuid, [3; 16]);
        assert!(kb.unknown_records().is_empty());
    }

    #[test]
    fn old_keybag_without_second_stage() {
        let mut r: Vec<_> = header(10_000, 1)
            .into_iter()
            .filter(|(t, _)| !matches!(*t, b"DPIC" | b"DPSL" | b"DPWT"))
            .collect();
        r.extend(class(4, 2, vec![4; 40]));
        let kb = Keybag::parse(&build(&r)).unwrap();
        assert!(kb.second_stage().is_none());
    }

    #[test]
    fn missing_tags_are_refused() {
        for drop in [b"VERS", b"TYPE", b"SALT", b"ITER", b"WRAP"] {
            let r: Vec<_> = sample()
                .into_iter()
                .enumerate()
                .filter(|(i, (t, _))| !(*i < 10 && *t == drop))
                .map(|(_, r)| r)
                .collect();
            assert_eq!(
                Keybag::parse(&build(&r)),
                Err(KeybagError::MissingTag {
                    tag: Tag(*drop),
                    section: Section::Header
                })
            );
        }
        // A class entry without WPKY.
        let mut r = header(1, 1);
        r.extend(
            class(1, 2, vec![1; 40])
                .into_iter()
                .filter(|(t, _)| *t != b"WPKY"),
        );
        assert_eq!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::MissingTag {
                tag: Tag(*b"WPKY"),
                section: Section::Class(0)
            })
        );
        // DPIC without DPSL.
        let mut r: Vec<_> = header(1, 1)
            .into_iter()
            .filter(|(t, _)| *t != b"DPSL")
            .collect();
        r.extend(class(1, 2, vec![1; 40]));
        assert!(matches!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::IncompleteSecondStage { .. })
        ));
        // No class at all.
        assert_eq!(
            Keybag::parse(&build(&header(1, 1))),
            Err(KeybagError::NoClassKeys)
        );
        assert!(matches!(
            Keybag::parse(&[]),
            Err(KeybagError::MissingTag { .. })
        ));
    }

    #[test]
    fn repeated_tags_and_classes_are_refused() {
        let mut r = sample();
        r.insert(7, (b"ITER", int(1)));
        assert!(matches!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::RepeatedTag { tag, section: Section::Header, .. }) if tag == Tag(*b"ITER")
        ));
        let mut r = header(1, 1);
        let mut c = class(1, 2, vec![1; 40]);
        c.push((b"WPKY", vec![1; 40]));
        r.extend(c);
        assert!(matches!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::RepeatedTag {
                section: Section::Class(0),
                ..
            })
        ));
        let mut r = header(1, 1);
        r.extend(class(2, 2, vec![1; 40]));
        r.extend(class(2, 2, vec![2; 40]));
        assert_eq!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::RepeatedClass { class: 2 })
        );
    }

    #[test]
    fn misplaced_tags_are_refused() {
        // An ITER inside a class entry must not silently override (or be confused with)
        // the header's.
        let mut r = sample();
        r.push((b"ITER", int(1)));
        assert!(matches!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::MisplacedTag {
                section: Section::Class(2),
                ..
            })
        ));
        let mut r = header(1, 1);
        r.insert(1, (b"WPKY", vec![0; 40]));
        r.extend(class(1, 2, vec![1; 40]));
        assert!(matches!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::MisplacedTag {
                section: Section::Header,
                ..
            })
        ));
    }

    #[test]
    fn lengths_past_the_end_are_refused() {
        let data = build(&sample());
        // Cut inside a record header, then inside a value.
        assert!(matches!(
            Keybag::parse(&data[..data.len() - 40 - 5]),
            Err(KeybagError::TruncatedHeader { remaining: 3, .. })
        ));
        assert!(matches!(
            Keybag::parse(&data[..data.len() - 1]),
            Err(KeybagError::LengthPastEnd {
                len: 40,
                remaining: 39,
                ..
            })
        ));
        // A length field of 0xFFFFFFFF.
        let mut data = build(&sample());
        data[4..8].copy_from_slice(&[0xff; 4]);
        assert!(matches!(
            Keybag::parse(&data),
            Err(KeybagError::LengthPastEnd {
                len: u32::MAX,
                offset: 0,
                ..
            })
        ));
        let huge = vec![0u8; MAX_KEYBAG_LEN + 1];
        assert!(matches!(
            Keybag::parse(&huge),
            Err(KeybagError::TooLarge { .. })
        ));
    }

    #[test]
    fn absurd_iteration_counts_are_refused() {
        for (iter, dpic, tag) in [
            (MAX_ITERATIONS + 1, 1, *b"ITER"),
            (1, MAX_ITERATIONS + 1, *b"DPIC"),
            (1, u32::MAX, *b"DPIC"),
        ] {
            let mut r = header(iter, dpic);
            r.extend(class(1, 2, vec![1; 40]));
            assert!(matches!(
                Keybag::parse(&build(&r)),
                Err(KeybagError::IterationsTooHigh { tag: t, max: MAX_ITERATIONS, .. }) if t == Tag(tag)
            ));
        }
        let mut r = header(0, 1);
        r.extend(class(1, 2, vec![1; 40]));
        assert_eq!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::ZeroIterations { tag: Tag(*b"ITER") })
        );
        let mut r = header(MAX_ITERATIONS, MAX_ITERATIONS);
        r.extend(class(1, 2, vec![1; 40]));
        assert!(
            Keybag::parse(&build(&r)).is_ok(),
            "the cap itself is accepted"
        );
    }

    #[test]
    fn wrong_value_lengths_are_refused() {
        let mut r = header(1, 1);
        r.extend(class(3, 2, vec![3; 39]));
        assert_eq!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::WrappedKeyLength { class: 3, len: 39 })
        );
        let mut r = header(1, 1);
        r.extend(class(3, 2, vec![3; 48]));
        assert_eq!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::WrappedKeyLength { class: 3, len: 48 })
        );
        // A device-only class is not unwrapped with the password: its length is not ours to
        // check.
        let mut r = header(1, 1);
        r.extend(class(3, 2, vec![3; 40]));
        r.extend(class(6, 1, vec![6; 72]));
        assert!(Keybag::parse(&build(&r)).is_ok());
        // An integer of 3 bytes, a UUID of 15.
        let mut r = header(1, 1);
        r[6] = (b"ITER", vec![0, 0, 1]);
        r.extend(class(3, 2, vec![3; 40]));
        assert!(matches!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::BadLength { tag, len: 3, .. }) if tag == Tag(*b"ITER")
        ));
        let mut r = header(1, 1);
        r[2] = (b"UUID", vec![0; 15]);
        r.extend(class(3, 2, vec![3; 40]));
        assert!(matches!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::BadLength { len: 15, .. })
        ));
        let mut r = header(1, 1);
        r[5] = (b"SALT", vec![0; MAX_SALT_LEN + 1]);
        r.extend(class(3, 2, vec![3; 40]));
        assert!(matches!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::BadLength { .. })
        ));
    }

    #[test]
    fn unknown_tags_are_kept_and_ignored() {
        let mut r = sample();
        r.insert(3, (b"ZZZZ", vec![1, 2, 3]));
        r.push((b"\x00\x01\x02\x03", vec![]));
        let kb = Keybag::parse(&build(&r)).unwrap();
        assert_eq!(kb.classes().len(), 3);
        let unknown = kb.unknown_records();
        assert_eq!(unknown.len(), 2);
        assert_eq!(unknown[0].tag, Tag(*b"ZZZZ"));
        assert_eq!(unknown[0].section, Section::Header);
        assert_eq!(unknown[0].value, vec![1, 2, 3]);
        assert_eq!(unknown[1].section, Section::Class(2));
        assert_eq!(unknown[1].tag.to_string(), "0x00010203");
    }

    #[test]
    fn too_many_classes_are_refused() {
        let mut r = header(1, 1);
        for c in 0..=MAX_CLASSES as u32 {
            r.extend(class(c, 2, vec![1; 40]));
        }
        assert_eq!(
            Keybag::parse(&build(&r)),
            Err(KeybagError::TooManyClasses { max: MAX_CLASSES })
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        use proptest::prelude::*;
        proptest!(|(data in proptest::collection::vec(any::<u8>(), 0..600))| {
            let _ = Keybag::parse(&data);
        });
        // Mutations of a valid keybag.
        let base = build(&sample());
        proptest!(|(pos in 0..base.len(), byte in any::<u8>(), cut in 0..base.len())| {
            let mut d = base.clone();
            d[pos] = byte;
            let _ = Keybag::parse(&d);
            let _ = Keybag::parse(&d[..cut]);
        });
    }
}
