//! PBKDF2-HMAC-SHA256 and PBKDF2-HMAC-SHA1, specialised for speed.
//!
//! Why not the `pbkdf2` crate: unlocking an iOS backup runs 10,000,000 rounds of
//! PBKDF2-HMAC-SHA256 (the keybag's `DPIC`) before anything else can happen, and the generic
//! `pbkdf2` + `hmac` pair adds bookkeeping to each of the 20,000,000 hash calls (cloning the
//! keyed HMAC state, buffering, finalisation and padding): 1.0-1.2 s on the development
//! machine, against a target of 0.6 s (figures in `docs/benchmarks-crypto.md`).
//!
//! What is done here instead, for each output block of PBKDF2:
//!
//! * the HMAC key (the password) is absorbed once: the inner state `H(IV, K ^ ipad)` and the
//!   outer state `H(IV, K ^ opad)` are computed once and copied for every call;
//! * from the second round on, the HMAC message is exactly one digest (32 bytes for SHA-256,
//!   20 for SHA-1), so the inner hash and the outer hash are each **one** compression of one
//!   64-byte block whose padding and length (`(64 + digest) * 8` bits) never change. The block
//!   is laid out once; each round only rewrites its first words and calls the raw compression
//!   function of the `sha2`/`sha1` crates (`sha2::block_api::compress256`,
//!   `sha1::block_api::compress`), which pick the SHA-NI (x86) or ARMv8 SHA instructions at
//!   run time. That is the portable path ([`pbkdf2_hmac_sha256_portable`], and the SHA-1
//!   function).
//! * On x86 with SHA-NI, in optimised builds, the SHA-256 rounds run instead in a loop that
//!   keeps the state in SHA-NI registers from one compression to the next (`x86_shani.rs`):
//!   `compress256` converts the state and byte-swaps the block on every call, and those
//!   conversions sit on the critical path of a chain of dependent compressions.
//!
//! PBKDF2 is one chain of dependent compressions, so its floor is the *latency* of
//! `sha256rnds2`: 32 of them back to back per compression, 640,000,000 for 10,000,000
//! rounds. On the development machine that chain alone takes 0.63 s, so 0.6 s cannot be
//! reached there by any implementation; the register loop runs within about 10% of it.
//!
//! Every path is checked against the `pbkdf2` crate in the tests (many password, salt and
//! output lengths and round counts) and against RFC 6070/RFC 7914 vectors, and measured by
//! `examples/kdf_bench.rs`.
//!
//! All intermediate states in memory are wiped before returning (register copies are out of
//! reach).

use std::num::NonZeroU32;

use zeroize::Zeroize;

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86_shani;

/// SHA-256 initial hash value (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// SHA-1 initial hash value (FIPS 180-4 §5.3.1).
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];

/// The SHA-1/SHA-2 message block size in bytes.
const BLOCK: usize = 64;

/// A hash compression function over whole 64-byte blocks, with an `N`-word state.
type Compress<const N: usize> = fn(&mut [u32; N], &[[u8; BLOCK]]);

/// The SHA-1 compression function with a signature [`Compress`] accepts.
fn compress_sha1(state: &mut [u32; 5], blocks: &[[u8; BLOCK]]) {
    sha1::block_api::compress(state, blocks);
}

/// The SHA-256 compression function with a signature [`Compress`] accepts.
fn compress_sha256(state: &mut [u32; 8], blocks: &[[u8; BLOCK]]) {
    sha2::block_api::compress256(state, blocks);
}

/// PBKDF2 (RFC 8018 §5.2) with HMAC-SHA256, filling `out` (any length).
///
/// The iteration count is non-zero by type: RFC 8018 requires at least one round, and a zero
/// read from a file must be refused by the parser that read it.
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], rounds: NonZeroU32, out: &mut [u8]) {
    pbkdf2::<8>(
        SHA256_IV,
        compress_sha256,
        sha256_rounds_accelerated,
        password,
        salt,
        rounds,
        out,
    );
}

/// [`pbkdf2_hmac_sha256`] without the SHA-NI register loop: every round goes through
/// `sha2::block_api::compress256` (which still uses SHA-NI for each compression when the
/// CPU has it). The path taken on CPUs without SHA-NI and in unoptimised builds; public so
/// that benchmarks can compare the two and tests can check both on any machine.
pub fn pbkdf2_hmac_sha256_portable(
    password: &[u8],
    salt: &[u8],
    rounds: NonZeroU32,
    out: &mut [u8],
) {
    pbkdf2::<8>(
        SHA256_IV,
        compress_sha256,
        no_acceleration,
        password,
        salt,
        rounds,
        out,
    );
}

/// [`pbkdf2_hmac_sha256`] with the SHA-NI round loop whatever the build profile, so the
/// tests check it in debug builds too; `None` when the CPU lacks SHA-NI.
#[cfg(all(test, any(target_arch = "x86", target_arch = "x86_64")))]
fn pbkdf2_hmac_sha256_shani(
    password: &[u8],
    salt: &[u8],
    rounds: NonZeroU32,
    out: &mut [u8],
) -> Option<()> {
    sha256_rounds_shani(&[0; 8], &[0; 8], &[0; 8], 1)?;
    pbkdf2::<8>(
        SHA256_IV,
        compress_sha256,
        sha256_rounds_shani,
        password,
        salt,
        rounds,
        out,
    );
    Some(())
}

/// PBKDF2 (RFC 8018 §5.2) with HMAC-SHA1, filling `out` (any length).
pub fn pbkdf2_hmac_sha1(password: &[u8], salt: &[u8], rounds: NonZeroU32, out: &mut [u8]) {
    pbkdf2::<5>(
        SHA1_IV,
        compress_sha1,
        no_acceleration,
        password,
        salt,
        rounds,
        out,
    );
}

/// Rounds 2..=c of one output block on a dedicated fast path, when the CPU has one:
/// arguments are the HMAC inner and outer states, U1 and c; the result is U1 ^ ... ^ Uc.
/// `None` means "no fast path here, use the portable loop".
type FastRounds<const N: usize> = fn(&[u32; N], &[u32; N], &[u32; N], u32) -> Option<[u32; N]>;

/// The [`FastRounds`] that never accelerates.
fn no_acceleration<const N: usize>(
    _inner: &[u32; N],
    _outer: &[u32; N],
    _u1: &[u32; N],
    _rounds: u32,
) -> Option<[u32; N]> {
    None
}

/// The SHA-256 [`FastRounds`]: the SHA-NI register loop of `x86_shani` when the CPU has the
/// SHA extensions (see that module for why it beats `compress256`), else `None`.
///
/// Only in optimised builds (`debug_assertions` off, the usual proxy): without inlining,
/// each intrinsic becomes a function call and the register loop runs some 80 times slower
/// than the portable loop over the (always optimised) `sha2` compression function. Tests
/// reach this path directly through `sha256_rounds_shani`.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn sha256_rounds_accelerated(
    inner: &[u32; 8],
    outer: &[u32; 8],
    u1: &[u32; 8],
    rounds: u32,
) -> Option<[u32; 8]> {
    if cfg!(debug_assertions) {
        return None;
    }
    sha256_rounds_shani(inner, outer, u1, rounds)
}

/// The SHA-NI round loop when the CPU has the SHA extensions, else `None`.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[allow(unsafe_code)]
fn sha256_rounds_shani(
    inner: &[u32; 8],
    outer: &[u32; 8],
    u1: &[u32; 8],
    rounds: u32,
) -> Option<[u32; 8]> {
    if std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("sse2")
        && std::arch::is_x86_feature_detected!("ssse3")
        && std::arch::is_x86_feature_detected!("sse4.1")
    {
        // SAFETY: `pbkdf2_sha256_rounds` is compiled with `sha,sse2,ssse3,sse4.1`, and every
        // one of these features was detected on this CPU just above. It touches no memory but
        // its arguments and return value (no raw pointers).
        Some(unsafe { x86_shani::pbkdf2_sha256_rounds(inner, outer, u1, rounds) })
    } else {
        None
    }
}

/// The SHA-256 [`FastRounds`] on targets without a dedicated loop.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn sha256_rounds_accelerated(
    inner: &[u32; 8],
    outer: &[u32; 8],
    u1: &[u32; 8],
    rounds: u32,
) -> Option<[u32; 8]> {
    no_acceleration(inner, outer, u1, rounds)
}

/// Widens a length to `u64`. `usize` is at most 64 bits on every target Rust supports, so
/// this never truncates.
fn len64(n: usize) -> u64 {
    n as u64
}

/// The generic engine behind both public functions: `N` is the digest size in 32-bit words
/// (8 for SHA-256, 5 for SHA-1).
fn pbkdf2<const N: usize>(
    iv: [u32; N],
    compress: Compress<N>,
    fast_rounds: FastRounds<N>,
    password: &[u8],
    salt: &[u8],
    rounds: NonZeroU32,
    out: &mut [u8],
) {
    let digest_len = 4 * N;

    // HMAC key: hashed first when longer than a block (RFC 2104 §2), then zero-padded.
    let mut key = [0u8; BLOCK];
    if password.len() > BLOCK {
        let mut state = iv;
        md_finish(&mut state, compress, password, 0);
        store_be(&state, &mut key[..digest_len]);
        state.zeroize();
    } else if let Some(dst) = key.get_mut(..password.len()) {
        dst.copy_from_slice(password);
    }
    let mut pad = [0u8; BLOCK];
    for (p, k) in pad.iter_mut().zip(key.iter()) {
        *p = k ^ 0x36;
    }
    let mut inner = iv;
    compress(&mut inner, core::slice::from_ref(&pad));
    for (p, k) in pad.iter_mut().zip(key.iter()) {
        *p = k ^ 0x5c;
    }
    let mut outer = iv;
    compress(&mut outer, core::slice::from_ref(&pad));
    key.zeroize();
    pad.zeroize();

    // The fixed block of every round after the first: the previous digest, the 0x80 marker,
    // zeros, and the message length in bits: one key block plus one digest.
    let mut block = [0u8; BLOCK];
    if let Some(marker) = block.get_mut(digest_len) {
        *marker = 0x80;
    }
    let bits = 8 * len64(BLOCK + digest_len);
    if let Some(tail) = block.get_mut(BLOCK - 8..) {
        tail.copy_from_slice(&bits.to_be_bytes());
    }

    let mut u = [0u32; N];
    let mut t = [0u32; N];
    let mut t_bytes = [0u8; 32];
    for (index, chunk) in (1u32..).zip(out.chunks_mut(digest_len)) {
        // U1 = HMAC(P, S || INT(i)): the only round whose message is not one digest.
        u = inner;
        let mut first = Vec::with_capacity(salt.len().saturating_add(4));
        first.extend_from_slice(salt);
        first.extend_from_slice(&index.to_be_bytes());
        md_finish(&mut u, compress, &first, len64(BLOCK));
        first.zeroize();
        store_be(&u, &mut block[..digest_len]);
        u = outer;
        compress(&mut u, core::slice::from_ref(&block));

        // U2..Uc: two compressions each.
        t = match fast_rounds(&inner, &outer, &u, rounds.get()) {
            Some(fast) => fast,
            None => portable_rounds(compress, &inner, &outer, &u, rounds.get(), &block),
        };

        store_be(&t, &mut t_bytes[..digest_len]);
        chunk.copy_from_slice(&t_bytes[..chunk.len()]);
    }

    inner.zeroize();
    outer.zeroize();
    u.zeroize();
    t.zeroize();
    t_bytes.zeroize();
    block.zeroize();
}

/// PBKDF2 rounds 2..=`rounds` over the compression function: returns U1 ^ ... ^ Uc.
///
/// `template` is the fixed padded block of a one-digest message; each round writes the
/// previous digest into its first words. Written with `while` loops, shifts and plain
/// array indexing because this loop also runs in unoptimised (test) builds, where each
/// iterator adapter or helper call would be a function call per word.
fn portable_rounds<const N: usize>(
    compress: Compress<N>,
    inner: &[u32; N],
    outer: &[u32; N],
    u1: &[u32; N],
    rounds: u32,
    template: &[u8; BLOCK],
) -> [u32; N] {
    let mut blocks = [*template];
    let mut u = *u1;
    let mut t = *u1;
    let mut round = 1;
    while round < rounds {
        write_digest(&mut blocks[0], &u);
        u = *inner;
        compress(&mut u, &blocks);
        write_digest(&mut blocks[0], &u);
        u = *outer;
        compress(&mut u, &blocks);
        let mut k = 0;
        while k < N {
            t[k] ^= u[k];
            k += 1;
        }
        round += 1;
    }
    blocks[0].zeroize();
    u.zeroize();
    t
}

/// Writes the digest words big-endian at the start of `block` (see [`portable_rounds`]
/// for why it is written this way).
#[inline(always)]
fn write_digest<const N: usize>(block: &mut [u8; BLOCK], words: &[u32; N]) {
    let mut k = 0;
    while k < N {
        let w = words[k];
        block[4 * k] = (w >> 24) as u8;
        block[4 * k + 1] = (w >> 16) as u8;
        block[4 * k + 2] = (w >> 8) as u8;
        block[4 * k + 3] = w as u8;
        k += 1;
    }
}

/// Writes `words` big-endian into `dst` (whose length is `4 * words.len()`).
#[inline(always)]
fn store_be<const N: usize>(words: &[u32; N], dst: &mut [u8]) {
    for (d, w) in dst.chunks_exact_mut(4).zip(words.iter()) {
        d.copy_from_slice(&w.to_be_bytes());
    }
}

/// Hashes `data` into `state` and applies the final Merkle–Damgård padding, as if
/// `prefix_len` bytes (a whole number of blocks) had already been absorbed into `state`.
fn md_finish<const N: usize>(
    state: &mut [u32; N],
    compress: Compress<N>,
    data: &[u8],
    prefix_len: u64,
) {
    let (full, rest) = data.as_chunks::<BLOCK>();
    compress(state, full);
    let mut tail = [[0u8; BLOCK]; 2];
    let flat = tail.as_flattened_mut();
    let blocks = if rest.len() + 9 > BLOCK { 2 } else { 1 };
    if let Some(dst) = flat.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    if let Some(marker) = flat.get_mut(rest.len()) {
        *marker = 0x80;
    }
    let bits = prefix_len.wrapping_add(len64(data.len())).wrapping_mul(8);
    if let Some(len_field) = flat.get_mut(blocks * BLOCK - 8..blocks * BLOCK) {
        len_field.copy_from_slice(&bits.to_be_bytes());
    }
    compress(state, tail.get(..blocks).unwrap_or_default());
    tail.as_flattened_mut().zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    fn reference_sha256(password: &[u8], salt: &[u8], rounds: u32, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut out);
        out
    }

    fn reference_sha1(password: &[u8], salt: &[u8], rounds: u32, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, &mut out);
        out
    }

    /// Every SHA-256 path (the public one, the portable one and, when the CPU has it, the
    /// SHA-NI one), which must agree.
    fn ours_sha256(password: &[u8], salt: &[u8], rounds: u32, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        pbkdf2_hmac_sha256(password, salt, nz(rounds), &mut out);
        let mut portable = vec![0u8; len];
        pbkdf2_hmac_sha256_portable(password, salt, nz(rounds), &mut portable);
        assert_eq!(out, portable, "public and portable paths differ");
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            let mut shani = vec![0u8; len];
            if pbkdf2_hmac_sha256_shani(password, salt, nz(rounds), &mut shani).is_some() {
                assert_eq!(out, shani, "SHA-NI and portable paths differ");
            }
        }
        out
    }

    /// The SHA-NI path is really exercised on machines that have it (the development
    /// machine and CI do): fail loudly rather than test only the portable path unknowingly.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    #[test]
    fn shani_path_runs_where_available() {
        let mut out = [0u8; 32];
        let ran = pbkdf2_hmac_sha256_shani(b"p", b"s", nz(3), &mut out).is_some();
        assert_eq!(ran, std::arch::is_x86_feature_detected!("sha"));
        if ran {
            assert_eq!(out.to_vec(), reference_sha256(b"p", b"s", 3, 32));
        }
    }

    fn ours_sha1(password: &[u8], salt: &[u8], rounds: u32, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        pbkdf2_hmac_sha1(password, salt, nz(rounds), &mut out);
        out
    }

    /// RFC 6070 test vectors for PBKDF2-HMAC-SHA1 (independent of any crate).
    #[test]
    fn rfc6070_sha1_vectors() {
        let cases: [(&[u8], &[u8], u32, &str); 4] = [
            (
                b"password",
                b"salt",
                1,
                "0c60c80f961f0e71f3a9b524af6012062fe037a6",
            ),
            (
                b"password",
                b"salt",
                2,
                "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957",
            ),
            (
                b"password",
                b"salt",
                4096,
                "4b007901b765489abead49d926f721d065a429c1",
            ),
            (
                b"passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                4096,
                "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
            ),
        ];
        for (p, s, c, hex_out) in cases {
            let want = hex::decode(hex_out).unwrap();
            assert_eq!(ours_sha1(p, s, c, want.len()), want, "rounds {c}");
        }
        let want = hex::decode("56fa6aa75548099dcc37d7f03425e0c3").unwrap();
        assert_eq!(ours_sha1(b"pass\0word", b"sa\0lt", 4096, 16), want);
    }

    /// Published PBKDF2-HMAC-SHA256 vectors (RFC 7914 §11).
    #[test]
    fn rfc7914_sha256_vectors() {
        let want = hex::decode(
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
        )
        .unwrap();
        assert_eq!(ours_sha256(b"passwd", b"salt", 1, 64), want);
        let want = hex::decode(
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
        )
        .unwrap();
        assert_eq!(ours_sha256(b"Password", b"NaCl", 80000, 64), want);
    }

    #[test]
    fn matches_generic_crate_across_lengths() {
        let lengths = [0usize, 1, 20, 55, 56, 63, 64, 65, 119, 120, 128, 200];
        for &plen in &lengths {
            for &slen in &lengths {
                let password: Vec<u8> = (0..plen).map(|i| (i * 7 + 1) as u8).collect();
                let salt: Vec<u8> = (0..slen).map(|i| (i * 13 + 5) as u8).collect();
                for (rounds, out_len) in [(1, 32), (2, 20), (3, 33), (17, 64), (5, 100)] {
                    assert_eq!(
                        ours_sha256(&password, &salt, rounds, out_len),
                        reference_sha256(&password, &salt, rounds, out_len),
                        "sha256 p={plen} s={slen} c={rounds} out={out_len}"
                    );
                    assert_eq!(
                        ours_sha1(&password, &salt, rounds, out_len),
                        reference_sha1(&password, &salt, rounds, out_len),
                        "sha1 p={plen} s={slen} c={rounds} out={out_len}"
                    );
                }
            }
        }
    }

    #[test]
    fn matches_generic_crate_at_ios_shape() {
        // The iOS shape: 32-byte output, 20-byte salts, thousands of rounds.
        let salt = [0x5au8; 20];
        assert_eq!(
            ours_sha256(b"bridle-test", &salt, 10_000, 32),
            reference_sha256(b"bridle-test", &salt, 10_000, 32)
        );
        assert_eq!(
            ours_sha1(&[0xffu8; 32], &salt, 10_000, 32),
            reference_sha1(&[0xffu8; 32], &salt, 10_000, 32)
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn sha256_equals_generic(
                password in proptest::collection::vec(any::<u8>(), 0..150),
                salt in proptest::collection::vec(any::<u8>(), 0..150),
                rounds in 1u32..40,
                out_len in 1usize..80,
            ) {
                prop_assert_eq!(
                    ours_sha256(&password, &salt, rounds, out_len),
                    reference_sha256(&password, &salt, rounds, out_len)
                );
            }

            #[test]
            fn sha1_equals_generic(
                password in proptest::collection::vec(any::<u8>(), 0..150),
                salt in proptest::collection::vec(any::<u8>(), 0..150),
                rounds in 1u32..40,
                out_len in 1usize..80,
            ) {
                prop_assert_eq!(
                    ours_sha1(&password, &salt, rounds, out_len),
                    reference_sha1(&password, &salt, rounds, out_len)
                );
            }
        }
    }
}
