//! The `.ab` header and the password-protected master key.
//!
//! Header, newline-terminated ASCII lines (AOSP `BackupManagerService`/`adb backup`):
//!
//! ```text
//! ANDROID BACKUP
//! <version>            1 to 5 so far
//! <compressed>         0 or 1 (zlib)
//! <encryption>         none | AES-256
//! for AES-256 only:
//! <user salt hex>      PBKDF2 salt for the password key
//! <checksum salt hex>  PBKDF2 salt for the master-key checksum
//! <rounds>             PBKDF2 rounds (10000)
//! <user IV hex>        IV of the master-key blob
//! <master-key blob hex> AES-256-CBC of [len][IV][len][master key][len][checksum]
//! ```
//!
//! The body follows directly: AES-256-CBC (master key, IV from the blob, PKCS#7) if
//! encrypted, then zlib if compressed, and inside a tar stream.

use std::io::{BufRead, Read};
use std::num::NonZeroU32;

use zeroize::Zeroizing;

use crate::cbc_stream::{BLOCK_LEN, pkcs7_len};
use crate::kdf::pbkdf2_hmac_sha1;
use crate::secret::{KEY_LEN, SecretKey};

use super::error::{AbError, quote};
use super::java::{eight_bit_password, utf8_of_signed_bytes};

/// Longest header line accepted. The longest real line, the master-key blob, is 192 hex
/// digits; salts are 128.
pub const MAX_HEADER_LINE: usize = 1024;

/// Most PBKDF2 rounds accepted. Android writes 10,000 (`PBKDF2_HASH_ROUNDS`); opening a
/// file costs two PBKDF2-HMAC-SHA1 runs of this many rounds per attempt, so a hostile
/// count is refused instead of run.
pub const MAX_AB_ROUNDS: u32 = 1_000_000;

/// What the header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbHeader {
    /// Format version (1 to 5 in AOSP so far).
    pub version: u32,
    /// Whether the body is zlib-compressed.
    pub compressed: bool,
    /// The encryption.
    pub encryption: AbEncryption,
}

/// Encryption named in the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AbEncryption {
    /// `none`.
    None,
    /// `AES-256`, with its PBKDF2 round count.
    Aes256 {
        /// PBKDF2 rounds.
        rounds: u32,
    },
}

/// The AES-256 header lines, decoded.
pub(crate) struct AesParams {
    user_salt: Vec<u8>,
    checksum_salt: Vec<u8>,
    rounds: NonZeroU32,
    user_iv: [u8; BLOCK_LEN],
    master_key_blob: Vec<u8>,
}

/// The key and IV of the body.
pub(crate) struct BodyKey {
    pub(crate) key: SecretKey,
    pub(crate) iv: [u8; BLOCK_LEN],
}

/// Reads one header line (without its `\n`), refusing lines longer than
/// [`MAX_HEADER_LINE`] and a header that ends before it.
fn read_line<R: BufRead>(reader: &mut R, field: &'static str) -> Result<Vec<u8>, AbError> {
    let mut line = Vec::new();
    let limit = u64::try_from(MAX_HEADER_LINE)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader
        .by_ref()
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(AbError::Io)?;
    if line.last() == Some(&b'\n') {
        line.pop();
        Ok(line)
    } else if line.len() > MAX_HEADER_LINE {
        Err(AbError::LineTooLong {
            field,
            max: MAX_HEADER_LINE,
        })
    } else {
        Err(AbError::TruncatedHeader { field })
    }
}

fn parse_u32(line: &[u8], field: &'static str) -> Result<u32, AbError> {
    let bad = || AbError::BadHeaderValue {
        field,
        value: quote(line),
    };
    if line.is_empty() || !line.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .ok_or_else(bad)
}

fn parse_hex(line: &[u8], field: &'static str) -> Result<Vec<u8>, AbError> {
    hex::decode(line).map_err(|_| AbError::BadHeaderValue {
        field,
        value: quote(line),
    })
}

/// Reads the header; for `AES-256`, also the five key lines.
pub(crate) fn read_header<R: BufRead>(
    reader: &mut R,
) -> Result<(AbHeader, Option<AesParams>), AbError> {
    let magic = read_line(reader, "magic").map_err(|e| match e {
        AbError::Io(e) => AbError::Io(e),
        _ => AbError::NotAndroidBackup,
    })?;
    if magic != b"ANDROID BACKUP" {
        return Err(AbError::NotAndroidBackup);
    }
    let version_line = read_line(reader, "version")?;
    let version = parse_u32(&version_line, "version")?;
    if version == 0 {
        return Err(AbError::BadHeaderValue {
            field: "version",
            value: quote(&version_line),
        });
    }
    let compressed = match read_line(reader, "compressed")?.as_slice() {
        b"0" => false,
        b"1" => true,
        other => {
            return Err(AbError::BadHeaderValue {
                field: "compressed",
                value: quote(other),
            });
        }
    };
    let encryption = read_line(reader, "encryption")?;
    match encryption.as_slice() {
        b"none" => Ok((
            AbHeader {
                version,
                compressed,
                encryption: AbEncryption::None,
            },
            None,
        )),
        b"AES-256" => {
            let user_salt = parse_hex(&read_line(reader, "user salt")?, "user salt")?;
            let checksum_salt = parse_hex(&read_line(reader, "checksum salt")?, "checksum salt")?;
            let rounds = parse_u32(&read_line(reader, "rounds")?, "rounds")?;
            let rounds = NonZeroU32::new(rounds)
                .filter(|r| r.get() <= MAX_AB_ROUNDS)
                .ok_or(AbError::RoundsOutOfRange {
                    rounds,
                    max: MAX_AB_ROUNDS,
                })?;
            let iv_line = read_line(reader, "user IV")?;
            let user_iv: [u8; BLOCK_LEN] =
                parse_hex(&iv_line, "user IV")?.try_into().map_err(|_| {
                    AbError::BadHeaderValue {
                        field: "user IV",
                        value: quote(&iv_line),
                    }
                })?;
            let blob_line = read_line(reader, "master key blob")?;
            let master_key_blob = parse_hex(&blob_line, "master key blob")?;
            if master_key_blob.is_empty() || !master_key_blob.len().is_multiple_of(BLOCK_LEN) {
                return Err(AbError::BadHeaderValue {
                    field: "master key blob",
                    value: quote(&blob_line),
                });
            }
            Ok((
                AbHeader {
                    version,
                    compressed,
                    encryption: AbEncryption::Aes256 {
                        rounds: rounds.get(),
                    },
                },
                Some(AesParams {
                    user_salt,
                    checksum_salt,
                    rounds,
                    user_iv,
                    master_key_blob,
                }),
            ))
        }
        other => Err(AbError::UnsupportedEncryption { name: quote(other) }),
    }
}

/// Takes one length-prefixed field (1-byte length) off the front of the master-key
/// blob. A length past the end can only come from a wrong key.
fn take_field<'a>(fields: &mut &'a [u8]) -> Result<&'a [u8], AbError> {
    let (&len, rest) = fields.split_first().ok_or(AbError::WrongPassword)?;
    let (value, rest) = rest
        .split_at_checked(usize::from(len))
        .ok_or(AbError::WrongPassword)?;
    *fields = rest;
    Ok(value)
}

/// How the password and master key are turned into bytes for PBKDF2 (see `java.rs`).
#[derive(Clone, Copy)]
enum JavaKdf {
    /// `PBKDF2WithHmacSHA1`: UTF-8.
    Utf8,
    /// `PBKDF2WithHmacSHA1And8bit`: low byte of each `char`.
    EightBit,
}

impl AesParams {
    /// Decrypts the master key with `password` and verifies its checksum.
    ///
    /// As Android does when restoring: version 1 files are tried with the 8-bit key
    /// derivation first and then with UTF-8; later versions with UTF-8 only. Any failure
    /// (bad padding, inconsistent lengths, checksum mismatch) means a wrong password: they
    /// cannot be told apart from a damaged header.
    pub(crate) fn unlock(&self, version: u32, password: &[u8]) -> Result<BodyKey, AbError> {
        let attempts: &[JavaKdf] = if version == 1 {
            &[JavaKdf::EightBit, JavaKdf::Utf8]
        } else {
            &[JavaKdf::Utf8]
        };
        let mut last = AbError::WrongPassword;
        for &kdf in attempts {
            match self.try_unlock(kdf, password) {
                Ok(key) => return Ok(key),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_unlock(&self, kdf: JavaKdf, password: &[u8]) -> Result<BodyKey, AbError> {
        let password = match kdf {
            JavaKdf::Utf8 => Zeroizing::new(password.to_vec()),
            JavaKdf::EightBit => eight_bit_password(password),
        };
        let mut user_key = SecretKey::zeroed();
        pbkdf2_hmac_sha1(
            &password,
            &self.user_salt,
            self.rounds,
            user_key.bytes_mut(),
        );

        let mut blob = Zeroizing::new(Vec::new());
        {
            let mut stream = crate::cbc_stream::CbcStream::new(
                self.master_key_blob.as_slice(),
                user_key.bytes(),
                &self.user_iv,
                crate::cbc_stream::Unpad::Keep,
            );
            loop {
                let chunk = stream.next_chunk().map_err(|_| AbError::WrongPassword)?;
                if chunk.is_empty() {
                    break;
                }
                blob.extend_from_slice(chunk);
            }
        }
        let plain_len = pkcs7_len(&blob).ok_or(AbError::WrongPassword)?;
        let mut fields = blob.get(..plain_len).unwrap_or_default();
        let iv = take_field(&mut fields)?;
        let master_key = take_field(&mut fields)?;
        let checksum = take_field(&mut fields)?;

        let mut computed = Zeroizing::new([0u8; KEY_LEN]);
        match kdf {
            JavaKdf::Utf8 => pbkdf2_hmac_sha1(
                &utf8_of_signed_bytes(master_key),
                &self.checksum_salt,
                self.rounds,
                computed.as_mut(),
            ),
            JavaKdf::EightBit => pbkdf2_hmac_sha1(
                master_key,
                &self.checksum_salt,
                self.rounds,
                computed.as_mut(),
            ),
        }
        if computed.as_slice() != checksum {
            return Err(AbError::WrongPassword);
        }
        let iv: [u8; BLOCK_LEN] = iv.try_into().map_err(|_| AbError::BadMasterKey {
            what: "the IV is not 16 bytes",
        })?;
        let key = SecretKey::from_slice(master_key).ok_or(AbError::BadMasterKey {
            what: "the master key is not 32 bytes",
        })?;
        Ok(BodyKey { key, iv })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cbc_stream::tests::encrypt;
    use std::io::BufReader;

    /// Builds the AES-256 header lines for `password` the way Android writes them
    /// (UTF-8 KDF), with a given master key and IV.
    pub(crate) fn aes_header(
        version: u32,
        compressed: bool,
        password: &[u8],
        rounds: u32,
        master_key: &[u8; 32],
        body_iv: &[u8; 16],
    ) -> Vec<u8> {
        let user_salt = [0x21u8; 64];
        let ck_salt = [0x42u8; 64];
        let user_iv = [0x63u8; 16];
        let nz = NonZeroU32::new(rounds).unwrap();
        let mut user_key = [0u8; 32];
        pbkdf2_hmac_sha1(password, &user_salt, nz, &mut user_key);
        let mut checksum = [0u8; 32];
        pbkdf2_hmac_sha1(
            &utf8_of_signed_bytes(master_key),
            &ck_salt,
            nz,
            &mut checksum,
        );
        let mut blob = vec![16u8];
        blob.extend(body_iv);
        blob.push(32);
        blob.extend(master_key);
        blob.push(32);
        blob.extend(checksum);
        let enc = encrypt(&user_key, &user_iv, &blob);
        format!(
            "ANDROID BACKUP\n{version}\n{}\nAES-256\n{}\n{}\n{rounds}\n{}\n{}\n",
            u8::from(compressed),
            hex::encode_upper(user_salt),
            hex::encode_upper(ck_salt),
            hex::encode_upper(user_iv),
            hex::encode_upper(enc)
        )
        .into_bytes()
    }

    fn header(text: &[u8]) -> Result<(AbHeader, Option<AesParams>), AbError> {
        read_header(&mut BufReader::new(text))
    }

    #[test]
    fn plain_headers() {
        let (h, aes) = header(b"ANDROID BACKUP\n5\n1\nnone\nrest").unwrap();
        assert_eq!(
            h,
            AbHeader {
                version: 5,
                compressed: true,
                encryption: AbEncryption::None
            }
        );
        assert!(aes.is_none());
    }

    #[test]
    fn bad_and_incomplete_headers() {
        assert!(matches!(header(b""), Err(AbError::NotAndroidBackup)));
        assert!(matches!(
            header(b"ANDROID BACKUP"),
            Err(AbError::NotAndroidBackup)
        ));
        assert!(matches!(
            header(b"PK\x03\x04\n"),
            Err(AbError::NotAndroidBackup)
        ));
        assert!(matches!(
            header(b"ANDROID BACKUP\n5\n0\n"),
            Err(AbError::TruncatedHeader {
                field: "encryption"
            })
        ));
        assert!(matches!(
            header(b"ANDROID BACKUP\n5"),
            Err(AbError::TruncatedHeader { field: "version" })
        ));
        assert!(matches!(
            header(b"ANDROID BACKUP\nfive\n0\nnone\n"),
            Err(AbError::BadHeaderValue {
                field: "version",
                ..
            })
        ));
        assert!(matches!(
            header(b"ANDROID BACKUP\n0\n0\nnone\n"),
            Err(AbError::BadHeaderValue {
                field: "version",
                ..
            })
        ));
        assert!(matches!(
            header(b"ANDROID BACKUP\n99999999999\n0\nnone\n"),
            Err(AbError::BadHeaderValue {
                field: "version",
                ..
            })
        ));
        assert!(matches!(
            header(b"ANDROID BACKUP\n5\n2\nnone\n"),
            Err(AbError::BadHeaderValue {
                field: "compressed",
                ..
            })
        ));
        match header(b"ANDROID BACKUP\n5\n0\nAES-128\n") {
            Err(AbError::UnsupportedEncryption { name }) => assert_eq!(name, "AES-128"),
            other => panic!("{:?}", other.map(|h| h.0)),
        }
        // MVT's own truncated-header case.
        assert!(matches!(
            header(b"ANDROID BACKUP\n5\n0\nAES-256\ntruncated"),
            Err(AbError::TruncatedHeader { field: "user salt" })
        ));
        let mut long = b"ANDROID BACKUP\n5\n0\nAES-256\n".to_vec();
        long.extend(vec![b'A'; MAX_HEADER_LINE + 1]);
        long.push(b'\n');
        assert!(matches!(
            header(&long),
            Err(AbError::LineTooLong {
                field: "user salt",
                ..
            })
        ));
        // An endless line without a newline stops at the cap.
        let mut endless = b"ANDROID BACKUP\n".to_vec();
        endless.extend(vec![b'7'; 10 * MAX_HEADER_LINE]);
        assert!(matches!(
            header(&endless),
            Err(AbError::LineTooLong {
                field: "version",
                ..
            })
        ));
    }

    #[test]
    fn arbitrary_headers_never_panic() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(256), |(tail in proptest::collection::vec(any::<u8>(), 0..400))| {
            let mut data = b"ANDROID BACKUP\n".to_vec();
            data.extend(&tail);
            let _ = header(&data);
            let mut data = b"ANDROID BACKUP\n5\n0\nAES-256\n".to_vec();
            data.extend(&tail);
            if let Ok((h, Some(aes))) = header(&data) {
                let _ = aes.unlock(h.version, b"pw");
            }
        });
    }

    #[test]
    fn aes_header_lines_are_validated() {
        let good = aes_header(5, false, b"pw", 10, &[1; 32], &[2; 16]);
        let text = String::from_utf8(good.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let rebuild = |i: usize, v: &str| {
            let mut l = lines.clone();
            l[i] = v;
            format!("{}\n", l.join("\n")).into_bytes()
        };
        let (h, aes) = header(&good).unwrap();
        assert_eq!(h.encryption, AbEncryption::Aes256 { rounds: 10 });
        assert!(aes.is_some());
        assert!(matches!(
            header(&rebuild(4, "XYZ")),
            Err(AbError::BadHeaderValue {
                field: "user salt",
                ..
            })
        ));
        assert!(matches!(
            header(&rebuild(6, "0")),
            Err(AbError::RoundsOutOfRange { rounds: 0, .. })
        ));
        let too_many = (MAX_AB_ROUNDS + 1).to_string();
        assert!(matches!(
            header(&rebuild(6, &too_many)),
            Err(AbError::RoundsOutOfRange { .. })
        ));
        assert!(matches!(
            header(&rebuild(6, "-5")),
            Err(AbError::BadHeaderValue {
                field: "rounds",
                ..
            })
        ));
        assert!(matches!(
            header(&rebuild(7, "00112233")),
            Err(AbError::BadHeaderValue {
                field: "user IV",
                ..
            })
        ));
        assert!(matches!(
            header(&rebuild(8, "00112233")),
            Err(AbError::BadHeaderValue {
                field: "master key blob",
                ..
            })
        ));
        // Missing the last line.
        let cut = format!("{}\n", lines[..8].join("\n")).into_bytes();
        assert!(matches!(
            header(&cut),
            Err(AbError::TruncatedHeader {
                field: "master key blob"
            })
        ));
    }

    #[test]
    fn unlock_right_and_wrong_password() {
        for mk_byte in [0x11u8, 0xc3] {
            let mk = [mk_byte; 32];
            let good = aes_header(5, false, b"secret", 20, &mk, &[9; 16]);
            let (h, aes) = header(&good).unwrap();
            let aes = aes.unwrap();
            let key = aes.unlock(h.version, b"secret").unwrap();
            assert_eq!(key.key.bytes(), &mk);
            assert_eq!(key.iv, [9; 16]);
            assert!(matches!(
                aes.unlock(h.version, b"Secret"),
                Err(AbError::WrongPassword)
            ));
            assert!(matches!(
                aes.unlock(h.version, b""),
                Err(AbError::WrongPassword)
            ));
        }
    }

    #[test]
    fn version_one_accepts_the_8bit_checksum() {
        // A version-1 file whose checksum was computed over the raw master-key bytes (the
        // And8bit algorithm): later versions must refuse it, version 1 must accept it.
        let mk = [0xf0u8; 32];
        let nz = NonZeroU32::new(5).unwrap();
        let (user_salt, ck_salt, user_iv) = ([1u8; 64], [2u8; 64], [3u8; 16]);
        let mut user_key = [0u8; 32];
        pbkdf2_hmac_sha1(b"pw", &user_salt, nz, &mut user_key);
        let mut checksum = [0u8; 32];
        pbkdf2_hmac_sha1(&mk, &ck_salt, nz, &mut checksum);
        let mut blob = vec![16u8];
        blob.extend([4u8; 16]);
        blob.push(32);
        blob.extend(mk);
        blob.push(32);
        blob.extend(checksum);
        let params = AesParams {
            user_salt: user_salt.to_vec(),
            checksum_salt: ck_salt.to_vec(),
            rounds: nz,
            user_iv,
            master_key_blob: encrypt(&user_key, &user_iv, &blob),
        };
        assert_eq!(params.unlock(1, b"pw").unwrap().key.bytes(), &mk);
        assert!(matches!(
            params.unlock(2, b"pw"),
            Err(AbError::WrongPassword)
        ));
    }

    #[test]
    fn authentic_blob_with_odd_lengths_is_bad_master_key() {
        let nz = NonZeroU32::new(3).unwrap();
        let mk = [7u8; 24];
        let mut user_key = [0u8; 32];
        pbkdf2_hmac_sha1(b"pw", &[1; 8], nz, &mut user_key);
        let mut checksum = [0u8; 32];
        pbkdf2_hmac_sha1(&mk, &[2; 8], nz, &mut checksum);
        let mut blob = vec![16u8];
        blob.extend([4u8; 16]);
        blob.push(24);
        blob.extend(mk);
        blob.push(32);
        blob.extend(checksum);
        let params = AesParams {
            user_salt: vec![1; 8],
            checksum_salt: vec![2; 8],
            rounds: nz,
            user_iv: [0; 16],
            master_key_blob: encrypt(&user_key, &[0; 16], &blob),
        };
        assert!(matches!(
            params.unlock(5, b"pw"),
            Err(AbError::BadMasterKey { .. })
        ));
        // A blob whose length bytes run past its end.
        let params = AesParams {
            master_key_blob: encrypt(&user_key, &[0; 16], &[200u8, 1, 2, 3]),
            ..params
        };
        assert!(matches!(
            params.unlock(5, b"pw"),
            Err(AbError::WrongPassword)
        ));
    }
}
