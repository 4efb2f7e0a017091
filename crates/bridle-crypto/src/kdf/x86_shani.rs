//! The PBKDF2-HMAC-SHA256 round loop on the x86 SHA extensions (SHA-NI), in registers.
//!
//! Why this exists beside `sha2::block_api::compress256`: PBKDF2 is one chain of dependent
//! compressions, so its cost is the *latency* of a compression, not the throughput. Measured
//! here, 20,000,000 back-to-back calls of `compress256` (which does use SHA-NI) take 0.71 s on
//! their own: already over the 0.6 s budget for 10,000,000 rounds, before any PBKDF2 work.
//! Each call converts the state from words to the SHA-NI register layout and back, byte-swaps
//! the message block from memory, and goes through a run-time dispatch.
//!
//! Here the state never leaves the SHA-NI layout (`ABEF`/`CDGH` registers): the digest of
//! one compression becomes the first eight message words of the next with four register
//! shuffles, the eight padding words are constants, and the HMAC keyed states and the
//! running XOR stay in registers for the whole loop. Only the 32 `sha256rnds2` of each
//! compression (and their schedule, which runs beside them) remain.
//!
//! Every function is safe: they carry `#[target_feature]`, and the intrinsics they call are
//! safe inside such functions. The one `unsafe` call site is in the parent module, after
//! run-time detection of the features.

#[cfg(target_arch = "x86")]
use core::arch::x86::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi32, _mm_set_epi32,
    _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi32,
    _mm_unpackhi_epi64, _mm_unpacklo_epi64, _mm_xor_si128,
};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi32, _mm_set_epi32,
    _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi32,
    _mm_unpackhi_epi64, _mm_unpacklo_epi64, _mm_xor_si128,
};

/// SHA-256 round constants (FIPS 180-4 §4.2.2).
const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// A 128-bit vector with lanes `l0..l3` (lane 0 in the low bits).
#[inline]
#[target_feature(enable = "sse2")]
fn lanes(l0: u32, l1: u32, l2: u32, l3: u32) -> __m128i {
    _mm_set_epi32(
        l3.cast_signed(),
        l2.cast_signed(),
        l1.cast_signed(),
        l0.cast_signed(),
    )
}

/// Four round constants `K[4q..4q+4]` as one vector.
#[inline]
#[target_feature(enable = "sse2")]
fn k4(q: usize) -> __m128i {
    let k = |i: usize| K.get(4 * q + i).copied().unwrap_or(0);
    lanes(k(0), k(1), k(2), k(3))
}

/// A state in SHA-NI layout: `abef` holds A, B, E, F in lanes 3, 2, 1, 0 and `cdgh` holds
/// C, D, G, H in lanes 3, 2, 1, 0.
#[derive(Clone, Copy)]
struct State {
    abef: __m128i,
    cdgh: __m128i,
}

impl State {
    /// From the eight FIPS words A..H.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn from_words(h: &[u32; 8]) -> State {
        State {
            abef: lanes(h[5], h[4], h[1], h[0]),
            cdgh: lanes(h[7], h[6], h[3], h[2]),
        }
    }

    /// To the eight FIPS words A..H.
    #[inline]
    #[target_feature(enable = "sse4.1")]
    fn to_words(self) -> [u32; 8] {
        let w = |v: i32| v.cast_unsigned();
        [
            w(_mm_extract_epi32::<3>(self.abef)),
            w(_mm_extract_epi32::<2>(self.abef)),
            w(_mm_extract_epi32::<3>(self.cdgh)),
            w(_mm_extract_epi32::<2>(self.cdgh)),
            w(_mm_extract_epi32::<1>(self.abef)),
            w(_mm_extract_epi32::<0>(self.abef)),
            w(_mm_extract_epi32::<1>(self.cdgh)),
            w(_mm_extract_epi32::<0>(self.cdgh)),
        ]
    }

    /// The digest as message words `W0..W3` (A, B, C, D) and `W4..W7` (E, F, G, H).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn to_message(self) -> (__m128i, __m128i) {
        let ab_ef = _mm_shuffle_epi32::<0x1B>(self.abef); // lanes A, B, E, F
        let cd_gh = _mm_shuffle_epi32::<0x1B>(self.cdgh); // lanes C, D, G, H
        (
            _mm_unpacklo_epi64(ab_ef, cd_gh),
            _mm_unpackhi_epi64(ab_ef, cd_gh),
        )
    }
}

/// Four rounds with message quad `w` (whose round constants are added here).
#[inline]
#[target_feature(enable = "sha,sse2")]
fn rounds4(s: &mut State, w: __m128i, q: usize) {
    let wk = _mm_add_epi32(w, k4(q));
    s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, wk);
    s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, _mm_shuffle_epi32::<0x0E>(wk));
}

/// The next message quad of the schedule from the four before it.
#[inline]
#[target_feature(enable = "sha,ssse3")]
fn next_quad(w0: __m128i, w1: __m128i, w2: __m128i, w3: __m128i) -> __m128i {
    let t = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8::<4>(w3, w2));
    _mm_sha256msg2_epu32(t, w3)
}

/// One compression of `init` over the block `W0..W15 = m0, m1, pad0, pad1`; returns the
/// new chaining value (`init` plus the rounds' result).
#[inline]
#[target_feature(enable = "sha,sse2,ssse3")]
fn compress(init: State, m0: __m128i, m1: __m128i, pad0: __m128i, pad1: __m128i) -> State {
    let mut s = init;
    let mut w = [m0, m1, pad0, pad1];
    for (q, quad) in w.iter().enumerate() {
        rounds4(&mut s, *quad, q);
    }
    for q in 4..16 {
        let new = next_quad(w[0], w[1], w[2], w[3]);
        w = [w[1], w[2], w[3], new];
        rounds4(&mut s, new, q);
    }
    State {
        abef: _mm_add_epi32(s.abef, init.abef),
        cdgh: _mm_add_epi32(s.cdgh, init.cdgh),
    }
}

/// Runs PBKDF2-HMAC-SHA256 rounds 2..=`rounds` for one 32-byte output block.
///
/// `inner` and `outer` are the HMAC states after the key block (`K ^ ipad`, `K ^ opad`),
/// `u1` is the first round's output. Returns `U1 ^ U2 ^ ... ^ U_rounds`.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
pub(super) fn pbkdf2_sha256_rounds(
    inner: &[u32; 8],
    outer: &[u32; 8],
    u1: &[u32; 8],
    rounds: u32,
) -> [u32; 8] {
    let inner = State::from_words(inner);
    let outer = State::from_words(outer);
    // Padding of a 96-byte message (one key block plus one digest): W8 = 0x80000000,
    // W9..W14 = 0, W15 = 768 bits.
    let pad0 = lanes(0x8000_0000, 0, 0, 0);
    let pad1 = lanes(0, 0, 0, 768);
    let mut u = State::from_words(u1);
    let mut t = u;
    for _ in 1..rounds {
        let (m0, m1) = u.to_message();
        let ih = compress(inner, m0, m1, pad0, pad1);
        let (m0, m1) = ih.to_message();
        u = compress(outer, m0, m1, pad0, pad1);
        t.abef = _mm_xor_si128(t.abef, u.abef);
        t.cdgh = _mm_xor_si128(t.cdgh, u.cdgh);
    }
    t.to_words()
}
