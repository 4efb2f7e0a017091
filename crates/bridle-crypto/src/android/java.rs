//! The byte strings Android's PBKDF2 actually hashes, reproduced from Java semantics.
//!
//! Android's backup code (AOSP `frameworks/base`, `BackupPasswordManager` /
//! `PerformAdbRestoreTask`) hands PBKDF2 a Java `char[]`, and which bytes the `char`s
//! become depends on the algorithm name it asks for:
//!
//! * `PBKDF2WithHmacSHA1` (every `.ab` version after 1) encodes the `char`s as UTF-8.
//! * `PBKDF2WithHmacSHA1And8bit` (version 1, and the first attempt when restoring a
//!   version-1 file) keeps the low 8 bits of each `char`.
//!
//! The password is a Java `String`, so its `char`s are its UTF-16 code units. The master
//! key is a `byte[]` turned into `char[]` by `(char) b` on each **signed** byte: a byte
//! `0x00..=0x7F` becomes U+0000..U+007F, and a byte `b` in `0x80..=0xFF` (negative in Java)
//! is sign-extended to U+FF80..U+FFFF, i.e. U+FF00 | b. In UTF-8:
//!
//! | master-key byte | Java `char` | UTF-8 bytes |
//! | --- | --- | --- |
//! | `0x00..=0x7F` | U+0000..U+007F | the byte itself (U+0000 is `00`, not Java's modified-UTF-8 `C0 80`) |
//! | `0x80..=0xBF` | U+FF80..U+FFBF | `EF BE (0x80 \| (b & 0x3F))` |
//! | `0xC0..=0xFF` | U+FFC0..U+FFFF | `EF BF (0x80 \| (b & 0x3F))` |
//!
//! (U+FFxx = `1111 1111 xxxx xxxx`: the three-byte form is `1110 1111`, `10 11111x`,
//! `10 xxxxxx`, where the second byte's last bit is bit 6 of `b`.) The 8-bit form of that
//! same `char` is `b` again, so for version-1 checksums the master key is hashed as is.

use zeroize::Zeroizing;

/// The master key as the UTF-8 encoding of Java's signed-byte `char`s (see the module
/// table): every byte from 0x80 up becomes three bytes.
pub(crate) fn utf8_of_signed_bytes(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len().saturating_mul(3)));
    for &b in bytes {
        if b < 0x80 {
            out.push(b);
        } else {
            out.push(0xEF);
            out.push(0xBE | ((b >> 6) & 1));
            out.push(0x80 | (b & 0x3F));
        }
    }
    out
}

/// The password as `PBKDF2WithHmacSHA1And8bit` sees it: the low byte of each UTF-16 code
/// unit of the password string. Bytes that are not UTF-8 cannot have come from a Java
/// string; they are used as they are.
pub(crate) fn eight_bit_password(password: &[u8]) -> Zeroizing<Vec<u8>> {
    match std::str::from_utf8(password) {
        Ok(text) => Zeroizing::new(
            text.encode_utf16()
                .map(|unit| unit.to_le_bytes()[0])
                .collect(),
        ),
        Err(_) => Zeroizing::new(password.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Java's `new String(chars).getBytes(UTF_8)` where `chars[i] = (char) bytes[i]`,
    /// modelled with Rust's own UTF-8 encoder: the table in the module doc must agree with
    /// encoding U+FF00 | b for every byte.
    #[test]
    fn table_agrees_with_a_real_utf8_encoder_for_all_bytes() {
        for b in 0u8..=255 {
            let java_char = if b < 0x80 {
                u32::from(b)
            } else {
                0xFF00 | u32::from(b)
            };
            let c = char::from_u32(java_char).unwrap();
            let mut buf = [0u8; 4];
            let want = c.encode_utf8(&mut buf).as_bytes().to_vec();
            assert_eq!(
                utf8_of_signed_bytes(&[b]).as_slice(),
                want.as_slice(),
                "byte {b:#04x}"
            );
        }
        assert_eq!(
            utf8_of_signed_bytes(&[0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xff]).as_slice(),
            &[
                0x00, 0x7f, 0xef, 0xbe, 0x80, 0xef, 0xbe, 0xbf, 0xef, 0xbf, 0x80, 0xef, 0xbf, 0xbf
            ]
        );
    }

    #[test]
    fn eight_bit_password_keeps_low_bytes_of_utf16_units() {
        assert_eq!(eight_bit_password(b"123456").as_slice(), b"123456");
        // U+00E9 -> E9, U+20AC (euro) -> AC, U+1F600 (surrogate pair D83D DE00) -> 3D 00.
        assert_eq!(
            eight_bit_password("é€😀".as_bytes()).as_slice(),
            &[0xe9, 0xac, 0x3d, 0x00]
        );
        assert_eq!(eight_bit_password(&[0xff, 0xfe]).as_slice(), &[0xff, 0xfe]);
    }
}
