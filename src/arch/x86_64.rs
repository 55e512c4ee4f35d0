//! x86-64 paths: AVX2+FMA+F16C (x86-64-v3 plus F16C) and AVX-512 (x86-64-v4).
//!
//! This file and `aarch64.rs` are the only places with raw intrinsics. Each token is created
//! only by pulp's `try_new`, which checks the CPU, so holding one proves its features exist.

use core::arch::asm;
use core::arch::x86_64::*;

use half::{bf16, f16};
use pulp::Simd;
use pulp::bytemuck::cast;

use crate::element::{Element, SliceMut, SliceRef};
use crate::kernel::lanes::{Lanes, MAX_LANES, load_partial_buffered, store_partial_buffered};

pulp::simd_type!({
    /// AVX2 + FMA + F16C: pulp's `V3` feature set plus F16C for `f16` conversions.
    pub struct Avx2Token {
        pub sse: f!("sse"),
        pub sse2: f!("sse2"),
        pub fxsr: f!("fxsr"),
        pub sse3: f!("sse3"),
        pub ssse3: f!("ssse3"),
        pub sse4_1: f!("sse4.1"),
        pub sse4_2: f!("sse4.2"),
        pub popcnt: f!("popcnt"),
        pub avx: f!("avx"),
        pub avx2: f!("avx2"),
        pub bmi1: f!("bmi1"),
        pub bmi2: f!("bmi2"),
        pub fma: f!("fma"),
        pub lzcnt: f!("lzcnt"),
        pub f16c: f!("f16c"),
    }

    /// AVX-512 F/BW/CD/DQ/VL: pulp's `V4` feature set, with F16C named explicitly.
    pub struct Avx512Token {
        pub sse: f!("sse"),
        pub sse2: f!("sse2"),
        pub fxsr: f!("fxsr"),
        pub sse3: f!("sse3"),
        pub ssse3: f!("ssse3"),
        pub sse4_1: f!("sse4.1"),
        pub sse4_2: f!("sse4.2"),
        pub popcnt: f!("popcnt"),
        pub avx: f!("avx"),
        pub avx2: f!("avx2"),
        pub bmi1: f!("bmi1"),
        pub bmi2: f!("bmi2"),
        pub fma: f!("fma"),
        pub lzcnt: f!("lzcnt"),
        pub f16c: f!("f16c"),
        pub avx512f: f!("avx512f"),
        pub avx512bw: f!("avx512bw"),
        pub avx512cd: f!("avx512cd"),
        pub avx512dq: f!("avx512dq"),
        pub avx512vl: f!("avx512vl"),
    }

    /// [`Avx512Token`]'s features plus AVX512-BF16 (Zen 4 and later, Cooper Lake, Sapphire
    /// Rapids and later): the same path, with bf16 stores converted by `vcvtne2ps2bf16`.
    pub struct Avx512Bf16Token {
        pub sse: f!("sse"),
        pub sse2: f!("sse2"),
        pub fxsr: f!("fxsr"),
        pub sse3: f!("sse3"),
        pub ssse3: f!("ssse3"),
        pub sse4_1: f!("sse4.1"),
        pub sse4_2: f!("sse4.2"),
        pub popcnt: f!("popcnt"),
        pub avx: f!("avx"),
        pub avx2: f!("avx2"),
        pub bmi1: f!("bmi1"),
        pub bmi2: f!("bmi2"),
        pub fma: f!("fma"),
        pub lzcnt: f!("lzcnt"),
        pub f16c: f!("f16c"),
        pub avx512f: f!("avx512f"),
        pub avx512bw: f!("avx512bw"),
        pub avx512cd: f!("avx512cd"),
        pub avx512dq: f!("avx512dq"),
        pub avx512vl: f!("avx512vl"),
        pub avx512bf16: f!("avx512bf16"),
    }
});

type F8 = pulp::f32x8;

/// Stores 16 bytes at `p`, non-temporally when `NT` (then `p` must be 16-byte aligned).
///
/// # Safety
/// `p` is valid for 16 bytes of writes; SSE2 is available (every token here has it).
#[inline(always)]
unsafe fn store128<const NT: bool>(p: *mut __m128i, v: __m128i) {
    if NT {
        assert!((p as usize).is_multiple_of(16));
        // SAFETY: the caller's contract; aligned (asserted).
        unsafe { _mm_stream_si128(p, v) }
    } else {
        // SAFETY: the caller's contract; unaligned store.
        unsafe { _mm_storeu_si128(p, v) }
    }
}

/// Stores 32 bytes at `p`, non-temporally when `NT` (then `p` must be 32-byte aligned).
///
/// # Safety
/// `p` is valid for 32 bytes of writes; AVX is available (both tokens have it).
#[inline(always)]
unsafe fn store256<const NT: bool>(p: *mut __m256i, v: __m256i) {
    if NT {
        assert!((p as usize).is_multiple_of(32));
        // SAFETY: the caller's contract; aligned (asserted).
        unsafe { _mm256_stream_si256(p, v) }
    } else {
        // SAFETY: the caller's contract; unaligned store.
        unsafe { _mm256_storeu_si256(p, v) }
    }
}
type F16 = pulp::f32x16;

// The f32 -> f16 conversions below are `vcvtps2ph` into a register, written as inline asm:
// with the intrinsic, LLVM folds the conversion and the store that follows into the
// memory-destination form of `vcvtps2ph`, which Zen 3 runs at about half the rate of the
// register form plus a plain store (docs/performance-log.md).

/// Eight `f32` lanes as `f16`, rounded to nearest even (immediate 0), in a register.
///
/// # Safety
/// The CPU has F16C (and AVX).
// SAFETY: called only from the AVX2 token's store, whose existence proves F16C and AVX.
#[target_feature(enable = "avx,f16c")]
#[inline]
unsafe fn f32x8_to_f16(v: __m256) -> __m128i {
    let h: __m128i;
    // SAFETY: F16C by the caller's contract; register operands only.
    unsafe {
        asm!("vcvtps2ph {h}, {v}, 0", v = in(ymm_reg) v, h = out(xmm_reg) h,
             options(pure, nomem, nostack, preserves_flags));
    }
    h
}

/// Sixteen `f32` lanes as `f16`, rounded to nearest even (immediate 0), in a register.
///
/// # Safety
/// The CPU has AVX-512F.
// SAFETY: called only from the AVX-512 token's store, whose existence proves AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn f32x16_to_f16(v: __m512) -> __m256i {
    let h: __m256i;
    // SAFETY: AVX-512F by the caller's contract; register operands only.
    unsafe {
        asm!("vcvtps2ph {h}, {v}, 0", v = in(zmm_reg) v, h = out(ymm_reg) h,
             options(pure, nomem, nostack, preserves_flags));
    }
    h
}

/// `vpshufb` control widening 8 bf16 (the same 16 bytes in both 128-bit halves) to f32: lane
/// `k` takes bytes `2k, 2k + 1` as its top half and zeros (`0x80`: clear) as its bottom half.
const BF16_WIDEN: __m256i = unsafe {
    // SAFETY: a plain 32-byte array reinterpreted as the 32-byte vector type.
    core::mem::transmute::<[u8; 32], __m256i>([
        0x80, 0x80, 0, 1, 0x80, 0x80, 2, 3, 0x80, 0x80, 4, 5, 0x80, 0x80, 6, 7, //
        0x80, 0x80, 8, 9, 0x80, 0x80, 10, 11, 0x80, 0x80, 12, 13, 0x80, 0x80, 14, 15,
    ])
};

/// `vpshufb` control gathering the top halves (bytes 2-3 of each 32-bit lane) of each 128-bit
/// half into that half's low 8 bytes.
const BF16_NARROW: __m256i = unsafe {
    // SAFETY: as BF16_WIDEN.
    core::mem::transmute::<[u8; 32], __m256i>([
        2, 3, 6, 7, 10, 11, 14, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, //
        2, 3, 6, 7, 10, 11, 14, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    ])
};

/// `vpermw` indices gathering the top halves (odd words) of the 16 lanes into words 0-15.
const BF16_NARROW_512: __m512i = unsafe {
    // SAFETY: a plain 64-byte array reinterpreted as the 64-byte vector type.
    core::mem::transmute::<[u16; 32], __m512i>([
        1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, //
        1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31,
    ])
};

/// `vpermw` indices interleaving the two halves of a 512-bit register: word `2k` from word `k`
/// (the low half), word `2k + 1` from word `16 + k` (the high half).
const BF16_INTERLEAVE_512: __m512i = unsafe {
    // SAFETY: as BF16_NARROW_512.
    core::mem::transmute::<[u16; 32], __m512i>([
        0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, //
        8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31,
    ])
};

impl Lanes for Avx2Token {
    type S = pulp::x86::V3;
    const N: usize = 8;
    // QK-norm's 128-wide heads are 16 vectors here: their LayerNorm statistics compiled with
    // that width a constant took 426 instructions a row instead of 481 (`short::by_width`,
    // docs/performance-log.md, forty-third session).
    const HEAD_APART: bool = true;

    #[inline(always)]
    fn simd(self) -> pulp::x86::V3 {
        // SAFETY: an Avx2Token exists only if try_new saw every feature it lists, a superset of V3's.
        unsafe { pulp::x86::V3::new_unchecked() }
    }
    #[inline(always)]
    fn vectorize<Op: pulp::NullaryFnOnce>(self, op: Op) -> Op::Output {
        Avx2Token::vectorize(self, op)
    }
    #[inline(always)]
    fn fma(self, a: F8, b: F8, c: F8) -> F8 {
        self.simd().mul_add_f32s(a, b, c)
    }
    #[inline(always)]
    fn fence(self) {
        // SAFETY: SSE proven by the token; sfence has no memory operands.
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    fn prefetch(self, p: *const u8) {
        // SAFETY: SSE proven by the token; a prefetch is a hint that reads nothing
        // architecturally and does not fault, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast()) }
    }
    #[inline(always)]
    fn hsum(self, v: F8) -> f32 {
        // pulp adds the 128-bit halves, then lanes 2 apart, then 1 apart: the halving tree.
        self.simd().reduce_sum_f32s(v)
    }
    #[inline(always)]
    fn hsum_rows(self, v: &[F8; MAX_LANES]) -> F8 {
        // The halving tree on 8 vectors at once, each level pairing vectors so that every add
        // does useful work. Slot s is read from row ROW[s]: the last level leaves slot s in
        // lane 4 (s % 2) + s / 2, so this order puts row r in lane r.
        const ROW: [usize; 8] = [0, 4, 1, 5, 2, 6, 3, 7];
        // (No closures here: their bodies are not forced inline into the target-feature
        // context, and an intrinsic outside it is a function call.)
        // SAFETY: AVX proven by the token; register-only shuffles and adds.
        unsafe {
            // Lanes i and i + 4: a[j] = [slot 2j | slot 2j+1], four sums each.
            let mut a = [_mm256_setzero_ps(); 4];
            for (j, a) in a.iter_mut().enumerate() {
                let p: __m256 = cast(v[ROW[2 * j]]);
                let q: __m256 = cast(v[ROW[2 * j + 1]]);
                *a = _mm256_add_ps(
                    _mm256_permute2f128_ps::<0x20>(p, q),
                    _mm256_permute2f128_ps::<0x31>(p, q),
                );
            }
            // Lanes i and i + 2: half h of b[m] = [slot 4m+h, slot 4m+2+h], two sums each.
            let mut b = [_mm256_setzero_ps(); 2];
            for (m, b) in b.iter_mut().enumerate() {
                let (p, q) = (a[2 * m], a[2 * m + 1]);
                *b = _mm256_add_ps(
                    _mm256_shuffle_ps::<0x44>(p, q),
                    _mm256_shuffle_ps::<0xEE>(p, q),
                );
            }
            // Lanes i and i + 1: half h = [slot h, slot 2+h, slot 4+h, slot 6+h].
            cast(_mm256_add_ps(
                _mm256_shuffle_ps::<0x88>(b[0], b[1]),
                _mm256_shuffle_ps::<0xDD>(b[0], b[1]),
            ))
        }
    }
    #[inline(always)]
    fn widen(self, v: F8) -> [pulp::f64x4; 2] {
        // SAFETY: AVX proven by the token; register-only operations.
        unsafe {
            let v: __m256 = cast(v);
            [
                cast(_mm256_cvtps_pd(_mm256_castps256_ps128(v))),
                cast(_mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v))),
            ]
        }
    }
    #[inline(always)]
    fn narrow(self, v: [pulp::f64x4; 2]) -> F8 {
        // SAFETY: AVX proven by the token; register-only operations.
        unsafe {
            let lo = _mm256_cvtpd_ps(cast(v[0]));
            let hi = _mm256_cvtpd_ps(cast(v[1]));
            cast(_mm256_insertf128_ps::<1>(_mm256_castps128_ps256(lo), hi))
        }
    }
    #[inline(always)]
    fn load_f32(self, s: &[f32]) -> F8 {
        assert!(s.len() >= 8);
        // SAFETY: s has at least 8 elements (asserted); AVX is proven by the token; loadu has no
        // alignment requirement.
        cast(unsafe { _mm256_loadu_ps(s.as_ptr()) })
    }
    #[inline(always)]
    fn store_f32<const NT: bool>(self, d: &mut [f32], v: F8) {
        assert!(d.len() >= 8);
        if NT {
            assert!((d.as_ptr() as usize).is_multiple_of(32));
            // SAFETY: 8 writable elements, 32-byte aligned (asserted); AVX proven by the token.
            unsafe { _mm256_stream_ps(d.as_mut_ptr(), cast(v)) }
        } else {
            // SAFETY: 8 writable elements (asserted); AVX proven by the token; unaligned store.
            unsafe { _mm256_storeu_ps(d.as_mut_ptr(), cast(v)) }
        }
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> F8 {
        assert!(s.len() >= 8);
        // SAFETY: 8 f16 = 16 readable bytes (asserted); F16C and SSE2 proven by the token.
        cast(unsafe { _mm256_cvtph_ps(_mm_loadu_si128(s.as_ptr().cast())) })
    }
    #[inline(always)]
    fn store_f16<const NT: bool>(self, d: &mut [f16], v: F8) {
        assert!(d.len() >= 8);
        // SAFETY: F16C proven by the token.
        let h = unsafe { f32x8_to_f16(cast(v)) };
        // SAFETY: 16 writable bytes (asserted).
        unsafe { store128::<NT>(d.as_mut_ptr().cast(), h) }
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> F8 {
        assert!(s.len() >= 8);
        // SAFETY: 16 readable bytes (asserted); AVX2 proven. bf16 is the top half of an f32:
        // the 16 bytes loaded into both 128-bit halves, and one byte shuffle puts element k in
        // the top half of lane k with zeros below (one shuffle-unit operation, where a zero
        // extension and a shift take two; Zen 3 has two units for them).
        cast(unsafe {
            let h = _mm256_broadcastsi128_si256(_mm_loadu_si128(s.as_ptr().cast()));
            _mm256_shuffle_epi8(h, BF16_WIDEN)
        })
    }
    #[inline(always)]
    fn store_bf16<const NT: bool>(self, d: &mut [bf16], v: F8) {
        assert!(d.len() >= 8);
        // SAFETY: 16 writable bytes (asserted); AVX2 proven by the token.
        unsafe {
            // The top halves: one byte shuffle gathers each 128-bit half's four into its low
            // 8 bytes, and the permute joins the two halves' quadwords.
            let p = _mm256_shuffle_epi8(self.round_bf16(v), BF16_NARROW);
            let p = _mm256_permute4x64_epi64::<0b1000>(p);
            store128::<NT>(d.as_mut_ptr().cast(), _mm256_castsi256_si128(p))
        }
    }
    // Two vectors at a time the narrowing takes two shifts, one pack and one permute for 16
    // elements where two single stores take two shuffles and two permutes, and one 32-byte
    // store instead of two of 16 (docs/performance-log.md: a bf16 apply loop 5.3 -> 4.2-4.7
    // cycles per 8 elements on Zen 3).
    const BF16_PAIRS: bool = true;
    #[inline(always)]
    fn store_bf16_pair<const NT: bool>(self, d: &mut [bf16], a: F8, b: F8) {
        self.store_rounded_pair::<NT>(d, self.round_bf16(a), self.round_bf16(b))
    }
    // Without the NaN fix-up: three of the seven operations of each vector's rounding fewer
    // (docs/performance-log.md: RMSNorm bf16 batches took x0.85-0.98 the time on Zen 3).
    #[inline(always)]
    fn store_bf16_pair_finite<const NT: bool>(self, d: &mut [bf16], a: F8, b: F8) {
        self.store_rounded_pair::<NT>(d, self.round_bf16_finite(a), self.round_bf16_finite(b))
    }
    // Pairs in the even/odd order: lane k of the first vector holds element 2k, of the second
    // element 2k + 1, the two halves of one 32-bit word in memory. One load, a shift and a
    // mask widen 16 elements, where memory order takes two broadcast loads and two byte
    // shuffles; a shift and a word blend narrow them, where memory order takes two shifts, a
    // pack and a permute (docs/performance-log.md: RMSNorm bf16 rows' floor x0.75-0.86 the time
    // on Zen 1).
    const BF16_SPLIT: bool = true;
    #[inline(always)]
    fn load_bf16_split(self, s: &[bf16]) -> (F8, F8) {
        assert!(s.len() >= 16);
        // SAFETY: 32 readable bytes (asserted); AVX2 proven by the token.
        unsafe {
            let w = _mm256_loadu_si256(s.as_ptr().cast());
            let top = _mm256_set1_epi32(0xFFFF_0000u32 as i32);
            (
                cast(_mm256_slli_epi32::<16>(w)),
                cast(_mm256_and_si256(w, top)),
            )
        }
    }
    #[inline(always)]
    fn store_bf16_split<const NT: bool>(self, d: &mut [bf16], a: F8, b: F8) {
        self.store_rounded_split::<NT>(d, self.round_bf16(a), self.round_bf16(b))
    }
    #[inline(always)]
    fn store_bf16_split_finite<const NT: bool>(self, d: &mut [bf16], a: F8, b: F8) {
        self.store_rounded_split::<NT>(d, self.round_bf16_finite(a), self.round_bf16_finite(b))
    }
    #[inline(always)]
    fn load_partial<T: Element>(self, s: &[T]) -> F8 {
        match T::tag(s) {
            SliceRef::F32(s) => {
                let k = lane_mask8(s.len());
                // SAFETY: AVX proven by the token. `vmaskmovps` reads only the lanes whose
                // mask is set, the first `s.len()` elements (all readable), and a masked-off
                // lane does not fault; those lanes are zero.
                cast(unsafe { _mm256_maskload_ps(s.as_ptr(), k) })
            }
            // AVX2 has no 16-bit masked load.
            _ => load_partial_buffered(self, s),
        }
    }
    #[inline(always)]
    fn store_partial<T: Element>(self, d: &mut [T], v: F8) {
        match T::tag_mut(d) {
            // SAFETY: AVX proven by the token. `vmaskmovps` writes only the lanes whose mask
            // is set, the first `d.len()` elements (all writable); a masked-off lane does not
            // fault and its memory is left as it was.
            SliceMut::F32(d) => unsafe {
                _mm256_maskstore_ps(d.as_mut_ptr(), lane_mask8(d.len()), cast(v))
            },
            _ => store_partial_buffered(self, d, v),
        }
    }
}

impl Avx2Token {
    /// The lanes of `v` rounded to nearest even at bit 16: the top half of each lane is its
    /// bf16 value. NaN stays NaN with the quiet bit set (as `half` narrows it), where rounding
    /// could carry a NaN's payload into Inf.
    #[inline(always)]
    fn round_bf16(self, v: F8) -> __m256i {
        let rounded = self.round_bf16_finite(v);
        // SAFETY: AVX2 proven by the token; register operands only.
        unsafe {
            let v: __m256 = cast(v);
            let quiet = _mm256_or_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x40_0000));
            let nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
            _mm256_blendv_epi8(rounded, quiet, nan)
        }
    }

    /// [`Avx2Token::round_bf16`] for lanes that are not NaN (the same bits; a NaN lane may
    /// come out as an infinity or a zero).
    #[inline(always)]
    fn round_bf16_finite(self, v: F8) -> __m256i {
        // SAFETY: AVX2 proven by the token; register operands only.
        unsafe {
            let b = _mm256_castps_si256(cast(v));
            // Add 0x7FFF plus the lowest kept bit (bit 16).
            let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(b), _mm256_set1_epi32(1));
            _mm256_add_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(0x7FFF)), lsb)
        }
    }

    /// Stores the top halves of the lanes of `a` and then of `b` (rounded by
    /// [`Avx2Token::round_bf16`] or its finite form): 16 bf16 in one 32-byte store.
    #[inline(always)]
    fn store_rounded_pair<const NT: bool>(self, d: &mut [bf16], a: __m256i, b: __m256i) {
        assert!(d.len() >= 16);
        // SAFETY: 32 writable bytes (asserted); AVX2 proven by the token.
        unsafe {
            let a = _mm256_srli_epi32::<16>(a);
            let b = _mm256_srli_epi32::<16>(b);
            // Each 128-bit half packs a's four words, then b's: [a0-3 b0-3 | a4-7 b4-7] (the
            // words are below 0x10000, so the unsigned saturation never clamps); quadwords
            // 0, 2, 1, 3 put them in order.
            let p = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(a, b));
            store256::<NT>(d.as_mut_ptr().cast(), p)
        }
    }

    /// Stores the top halves of the lanes of `a` (elements 2k) and `b` (elements 2k + 1), in
    /// the order of [`Lanes::load_bf16_split`] and rounded as by
    /// [`Avx2Token::store_rounded_pair`]'s callers: 16 bf16 in memory order, one 32-byte store.
    #[inline(always)]
    fn store_rounded_split<const NT: bool>(self, d: &mut [bf16], a: __m256i, b: __m256i) {
        assert!(d.len() >= 16);
        // SAFETY: 32 writable bytes (asserted); AVX2 proven by the token.
        unsafe {
            // Word 2k from a's top half shifted down, word 2k + 1 from b's top half in place.
            let p = _mm256_blend_epi16::<0xAA>(_mm256_srli_epi32::<16>(a), b);
            store256::<NT>(d.as_mut_ptr().cast(), p)
        }
    }
}

/// The AVX2 mask (all ones in the lane: the sign bit is the one `vmaskmovps` reads) of the
/// first `len` (fewer than 8) lanes.
#[inline(always)]
fn lane_mask8(len: usize) -> __m256i {
    debug_assert!(len < 8);
    const ONES_THEN_ZEROS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    let m: [i32; 8] = ONES_THEN_ZEROS[8 - len..16 - len]
        .try_into()
        .expect("eight lanes");
    cast(m)
}

impl Lanes for Avx512Token {
    type S = pulp::x86::V4;
    const N: usize = 16;
    const WELFORD_ACC: usize = 8;

    #[inline(always)]
    fn simd(self) -> pulp::x86::V4 {
        // SAFETY: an Avx512Token exists only if try_new saw every feature it lists, a superset of
        // V4's.
        unsafe { pulp::x86::V4::new_unchecked() }
    }
    #[inline(always)]
    fn vectorize<Op: pulp::NullaryFnOnce>(self, op: Op) -> Op::Output {
        Avx512Token::vectorize(self, op)
    }
    #[inline(always)]
    fn fma(self, a: F16, b: F16, c: F16) -> F16 {
        self.simd().mul_add_f32s(a, b, c)
    }
    #[inline(always)]
    fn fence(self) {
        // SAFETY: SSE proven by the token; sfence has no memory operands.
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    fn prefetch(self, p: *const u8) {
        // SAFETY: SSE proven by the token; a prefetch is a hint that reads nothing
        // architecturally and does not fault, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast()) }
    }
    #[inline(always)]
    fn hsum(self, v: F16) -> f32 {
        // pulp adds the 256-bit halves, then the 128-bit halves, then lanes 2 apart, then 1
        // apart: the halving tree.
        self.simd().reduce_sum_f32s(v)
    }
    #[inline(always)]
    fn hsum_rows(self, v: &[F16; MAX_LANES]) -> F16 {
        // The halving tree on 16 vectors at once, each level pairing vectors so that every add
        // does useful work. Slot s is read from row ROW[s]: the last level leaves slot s in
        // lane 4 (s % 4) + s / 4, so this order puts row r in lane r.
        const ROW: [usize; 16] = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
        // (No closures here: their bodies are not forced inline into the target-feature
        // context, and an intrinsic outside it is a function call.)
        // SAFETY: AVX-512F proven by the token; register-only shuffles and adds.
        unsafe {
            // Lanes i and i + 8: quads of a[j] = [slot 2j (two), slot 2j+1 (two)].
            let mut a = [_mm512_setzero_ps(); 8];
            for (j, a) in a.iter_mut().enumerate() {
                let p: __m512 = cast(v[ROW[2 * j]]);
                let q: __m512 = cast(v[ROW[2 * j + 1]]);
                *a = _mm512_add_ps(
                    _mm512_shuffle_f32x4::<0x44>(p, q),
                    _mm512_shuffle_f32x4::<0xEE>(p, q),
                );
            }
            // Lanes i and i + 4: quads of b[k] = [slot 4k, 4k+1, 4k+2, 4k+3], four sums each.
            let mut b = [_mm512_setzero_ps(); 4];
            for (k, b) in b.iter_mut().enumerate() {
                let (p, q) = (a[2 * k], a[2 * k + 1]);
                *b = _mm512_add_ps(
                    _mm512_shuffle_f32x4::<0x88>(p, q),
                    _mm512_shuffle_f32x4::<0xDD>(p, q),
                );
            }
            // Lanes i and i + 2: quad Q of c[m] = [slot 8m+Q (two), slot 8m+4+Q (two)].
            let mut c = [_mm512_setzero_ps(); 2];
            for (m, c) in c.iter_mut().enumerate() {
                let (p, q) = (b[2 * m], b[2 * m + 1]);
                *c = _mm512_add_ps(
                    _mm512_shuffle_ps::<0x44>(p, q),
                    _mm512_shuffle_ps::<0xEE>(p, q),
                );
            }
            // Lanes i and i + 1: quad Q = [slot Q, 4+Q, 8+Q, 12+Q].
            cast(_mm512_add_ps(
                _mm512_shuffle_ps::<0x88>(c[0], c[1]),
                _mm512_shuffle_ps::<0xDD>(c[0], c[1]),
            ))
        }
    }
    #[inline(always)]
    fn widen(self, v: F16) -> [pulp::f64x8; 2] {
        // SAFETY: AVX-512F proven by the token; register-only operations.
        unsafe {
            let v: __m512 = cast(v);
            let hi = _mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v));
            [
                cast(_mm512_cvtps_pd(_mm512_castps512_ps256(v))),
                cast(_mm512_cvtps_pd(_mm256_castpd_ps(hi))),
            ]
        }
    }
    #[inline(always)]
    fn narrow(self, v: [pulp::f64x8; 2]) -> F16 {
        // SAFETY: AVX-512F proven by the token; register-only operations.
        unsafe {
            let lo = _mm256_castps_pd(_mm512_cvtpd_ps(cast(v[0])));
            let hi = _mm256_castps_pd(_mm512_cvtpd_ps(cast(v[1])));
            cast(_mm512_insertf64x4::<1>(_mm512_castpd256_pd512(lo), hi))
        }
    }
    #[inline(always)]
    fn load_f32(self, s: &[f32]) -> F16 {
        assert!(s.len() >= 16);
        // SAFETY: 16 readable elements (asserted); AVX-512F proven by the token; unaligned load.
        cast(unsafe { _mm512_loadu_ps(s.as_ptr()) })
    }
    #[inline(always)]
    fn store_f32<const NT: bool>(self, d: &mut [f32], v: F16) {
        assert!(d.len() >= 16);
        if NT {
            assert!((d.as_ptr() as usize).is_multiple_of(64));
            // SAFETY: 16 writable elements, 64-byte aligned (asserted); AVX-512F proven.
            unsafe { _mm512_stream_ps(d.as_mut_ptr(), cast(v)) }
        } else {
            // SAFETY: 16 writable elements (asserted); AVX-512F proven; unaligned store.
            unsafe { _mm512_storeu_ps(d.as_mut_ptr(), cast(v)) }
        }
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> F16 {
        assert!(s.len() >= 16);
        // SAFETY: 32 readable bytes (asserted); AVX-512F (vcvtph2ps zmm) proven by the token.
        cast(unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(s.as_ptr().cast())) })
    }
    #[inline(always)]
    fn store_f16<const NT: bool>(self, d: &mut [f16], v: F16) {
        assert!(d.len() >= 16);
        // SAFETY: AVX-512F proven by the token.
        let h = unsafe { f32x16_to_f16(cast(v)) };
        // SAFETY: 32 writable bytes (asserted).
        unsafe { store256::<NT>(d.as_mut_ptr().cast(), h) }
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> F16 {
        assert!(s.len() >= 16);
        // SAFETY: 32 readable bytes (asserted); AVX-512F proven by the token.
        self.widen_bf16(unsafe { _mm256_loadu_si256(s.as_ptr().cast()) })
    }
    #[inline(always)]
    fn store_bf16<const NT: bool>(self, d: &mut [bf16], v: F16) {
        assert!(d.len() >= 16);
        // SAFETY: 32 writable bytes (asserted); AVX proven by the token.
        unsafe { store256::<NT>(d.as_mut_ptr().cast(), self.narrow_bf16(v)) }
    }
    // The split order for the statistics sweeps, which read bf16 rows two vectors at a time
    // in it: a shift and a mask, where memory order takes a zero extension and a shift per
    // vector (the AVX512-BF16 token's order too, so that both tokens give the same
    // statistics). The apply sweep keeps memory order on this token (`BF16_SPLIT` false): its
    // bf16 rounding is in integers either way.
    #[inline(always)]
    fn load_bf16_split(self, s: &[bf16]) -> (F16, F16) {
        // SAFETY: AVX-512F proven by the token.
        unsafe { bf16_split_512(s) }
    }
    #[inline(always)]
    fn store_bf16_split<const NT: bool>(self, d: &mut [bf16], a: F16, b: F16) {
        assert!(d.len() >= 32);
        // SAFETY: AVX-512F/BW proven by the token; register operands only.
        let v = unsafe {
            let lo = _mm512_castsi256_si512(self.narrow_bf16(a));
            let both = _mm512_inserti64x4::<1>(lo, self.narrow_bf16(b));
            _mm512_permutexvar_epi16(BF16_INTERLEAVE_512, both)
        };
        // SAFETY: 64 writable bytes (asserted).
        unsafe { store512::<NT>(d.as_mut_ptr().cast(), v) }
    }
    #[inline(always)]
    fn store_bf16_split_finite<const NT: bool>(self, d: &mut [bf16], a: F16, b: F16) {
        self.store_bf16_split::<NT>(d, a, b)
    }
    #[inline(always)]
    fn load_partial<T: Element>(self, s: &[T]) -> F16 {
        let k = partial_mask(s.len());
        // SAFETY: AVX-512F/BW/VL proven by the token. A masked load reads only the lanes of
        // its mask, the first `s.len()` elements (all readable), and a masked-off lane does
        // not fault; those lanes are zero.
        unsafe {
            match T::tag(s) {
                SliceRef::F32(s) => cast(_mm512_maskz_loadu_ps(k, s.as_ptr())),
                SliceRef::F16(s) => cast(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(
                    k,
                    s.as_ptr().cast(),
                ))),
                SliceRef::Bf16(s) => {
                    self.widen_bf16(_mm256_maskz_loadu_epi16(k, s.as_ptr().cast()))
                }
            }
        }
    }
    #[inline(always)]
    fn store_partial<T: Element>(self, d: &mut [T], v: F16) {
        let k = partial_mask(d.len());
        // SAFETY: AVX-512F/BW/VL proven by the token. A masked store writes only the lanes of
        // its mask, the first `d.len()` elements (all writable); a masked-off lane does not
        // fault and its memory is left as it was.
        unsafe {
            match T::tag_mut(d) {
                SliceMut::F32(d) => _mm512_mask_storeu_ps(d.as_mut_ptr(), k, cast(v)),
                SliceMut::F16(d) => {
                    _mm256_mask_storeu_epi16(d.as_mut_ptr().cast(), k, f32x16_to_f16(cast(v)))
                }
                SliceMut::Bf16(d) => {
                    _mm256_mask_storeu_epi16(d.as_mut_ptr().cast(), k, self.narrow_bf16(v))
                }
            }
        }
    }
}

/// The mask of the first `len` (fewer than 16) lanes.
#[inline(always)]
fn partial_mask(len: usize) -> __mmask16 {
    debug_assert!(len < 16);
    ((1u32 << len) - 1) as __mmask16
}

impl Avx512Token {
    /// The mask of the lanes of `v` that are subnormal (AVX512-BF16's conversions read those
    /// as zero).
    #[inline(always)]
    fn subnormal_lanes(self, v: F16) -> __mmask16 {
        // SAFETY: AVX-512DQ (vfpclassps) proven by the token; register operands only. Class
        // 0x20 is "denormal".
        unsafe { _mm512_fpclass_ps_mask::<0x20>(cast(v)) }
    }

    /// Sixteen bf16 (the 256 bits of `h`) as `f32` lanes. bf16 is the top half of an f32: a
    /// zero extension of each word (`vpmovzxwd`, which takes its operand from memory too) and a
    /// 16-bit left shift. (A word permute with a zeroing mask does it in one shuffle-unit
    /// operation; on the Emerald Rapids class VM of the thirty-fifth session it was the slower,
    /// docs/performance-log.md.)
    #[inline(always)]
    fn widen_bf16(self, h: __m256i) -> F16 {
        // SAFETY: AVX-512F proven by the token; register operands only.
        cast(unsafe { _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h))) })
    }

    /// Sixteen `f32` lanes as bf16, rounded to nearest even (NaN kept NaN), in 256 bits.
    #[inline(always)]
    fn narrow_bf16(self, v: F16) -> __m256i {
        // SAFETY: AVX-512F/BW proven by the token; register operands only.
        unsafe {
            let v: __m512 = cast(v);
            let b = _mm512_castps_si512(v);
            // Round to nearest even: add 0x7FFF, and 1 more in the lanes whose lowest kept bit
            // (bit 16) is set (a mask register, not a shift: the shift and shuffle units are
            // the busy ones in a bf16 sweep); the top half is the result.
            let odd = _mm512_test_epi32_mask(b, _mm512_set1_epi32(0x1_0000));
            let up = _mm512_add_epi32(b, _mm512_set1_epi32(0x7FFF));
            let rounded = _mm512_mask_add_epi32(up, odd, up, _mm512_set1_epi32(1));
            // NaN stays NaN (quiet bit set) instead of rounding into Inf.
            let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
            let r = _mm512_mask_or_epi32(rounded, nan, b, _mm512_set1_epi32(0x40_0000));
            // The top halves of the 16 lanes, gathered into the low 256 bits by one word
            // permute (where a shift and the two-operation vpmovdw take three).
            let p = _mm512_permutexvar_epi16(BF16_NARROW_512, r);
            _mm512_castsi512_si256(p)
        }
    }
}

impl Avx512Bf16Token {
    /// The same CPU as [`Avx512Token`] (a subset of this token's features).
    #[inline(always)]
    fn base(self) -> Avx512Token {
        // SAFETY: this token exists only if try_new saw every feature it lists, a superset of
        // Avx512Token's.
        unsafe { Avx512Token::new_unchecked() }
    }

    /// `v`, with its subnormal lanes (mask `sub`) moved away from zero by the smallest normal
    /// `f32`, 2^-126: exact, and the result is normal. `vcvtneps2bf16` reads a subnormal lane
    /// as zero, but it rounds a moved one on the same grid (bf16's subnormal spacing, 2^-133,
    /// is also its spacing between 2^-126 and 2^-125, and 2^-126 is an even number of those
    /// steps), so the moved lane's bf16 minus the encoding of 2^-126 (0x0080, in the low
    /// 15 bits) is the subnormal rounded to nearest even: the integer rounding's bits.
    #[inline(always)]
    fn shift_subnormals(self, v: F16, sub: __mmask16) -> __m512 {
        // SAFETY: AVX-512F/DQ proven by the token; register operands only.
        unsafe {
            let v: __m512 = cast(v);
            let sign = _mm512_and_ps(v, _mm512_set1_ps(-0.0));
            let min = _mm512_or_ps(sign, _mm512_set1_ps(f32::MIN_POSITIVE));
            _mm512_mask_add_ps(v, sub, v, min)
        }
    }

    /// Sixteen `f32` lanes as bf16, rounded to nearest even (NaN kept NaN and quieted), in 256
    /// bits: the same bits as [`Avx512Token`]'s integer rounding. `vcvtneps2bf16` rounds to
    /// nearest even and quiets NaN as `half` does; subnormal lanes (rare: results below
    /// 2^-126) go through [`Self::narrow_bf16_shifted`].
    #[inline(always)]
    fn narrow_bf16(self, v: F16) -> __m256i {
        let sub = self.base().subnormal_lanes(v);
        // SAFETY: AVX-512F proven by the token; mask operands only.
        if unsafe { _kortestz_mask16_u8(sub, sub) } != 0 {
            // SAFETY: AVX512-BF16/F proven by the token; register operands only; the 256-bit
            // bf16 vector and __m256i are the same 32 bytes.
            unsafe { core::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(cast(v))) }
        } else {
            self.narrow_bf16_shifted(v, sub)
        }
    }

    /// [`Self::narrow_bf16`] of `v` whose subnormal lanes are `sub`, by
    /// [`Self::shift_subnormals`]: the moved lanes' bf16 less the encoding of 2^-126.
    #[inline(always)]
    fn narrow_bf16_shifted(self, v: F16, sub: __mmask16) -> __m256i {
        let w = self.shift_subnormals(v, sub);
        // SAFETY: AVX512-BF16, AVX-512BW/VL proven by the token; register operands only; the
        // 256-bit bf16 vector and __m256i are the same 32 bytes.
        unsafe {
            let r = core::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(w));
            _mm256_mask_sub_epi16(r, sub, r, _mm256_set1_epi16(0x0080))
        }
    }

    /// [`Self::narrow_bf16`] of `a` into the low 256 bits and of `b` into the high 256 bits,
    /// by one `vcvtne2ps2bf16`. The test for subnormal lanes is one `kortestw` on the two
    /// masks: the rare path narrows each half on its own, so that the masks stay in mask
    /// registers (where a 32-bit mask of both, built in general registers, had the fast path
    /// move both masks out and OR them there).
    #[inline(always)]
    fn narrow_bf16_pair(self, a: F16, b: F16) -> __m512i {
        let t = self.base();
        let (sa, sb) = (t.subnormal_lanes(a), t.subnormal_lanes(b));
        // SAFETY: AVX512-BF16, AVX-512F proven by the token; register and mask operands only;
        // the bf16 vector and __m512i are the same 64 bytes.
        unsafe {
            if _kortestz_mask16_u8(sa, sb) != 0 {
                core::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(cast(b), cast(a)))
            } else {
                // Rare: subnormal lanes, as in narrow_bf16.
                let lo = self.narrow_bf16_shifted(a, sa);
                let hi = self.narrow_bf16_shifted(b, sb);
                _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
            }
        }
    }
}

/// The first 32 bf16 of `s` as two vectors: element `2k` in lane `k` of the first (the low
/// half of 32-bit word `k`, shifted up), element `2k + 1` in lane `k` of the second (the high
/// half, the low one masked off).
///
/// # Safety
/// The CPU has AVX-512F.
#[inline(always)]
unsafe fn bf16_split_512(s: &[bf16]) -> (F16, F16) {
    assert!(s.len() >= 32);
    // SAFETY: 64 readable bytes (asserted); AVX-512F by the caller's contract.
    unsafe {
        let w = _mm512_loadu_si512(s.as_ptr().cast());
        let top = _mm512_set1_epi32(0xFFFF_0000u32 as i32);
        (
            cast(_mm512_slli_epi32::<16>(w)),
            cast(_mm512_and_si512(w, top)),
        )
    }
}

/// Stores 64 bytes at `p`: non-temporally (which needs `p` aligned to 64 bytes, asserted)
/// with `NT`.
///
/// # Safety
/// 64 writable bytes at `p`; the CPU has AVX-512F.
#[inline(always)]
unsafe fn store512<const NT: bool>(p: *mut __m512i, v: __m512i) {
    if NT {
        assert!((p as usize).is_multiple_of(64));
        // SAFETY: the caller's contract; aligned (asserted).
        unsafe { _mm512_stream_si512(p, v) }
    } else {
        // SAFETY: the caller's contract; unaligned store.
        unsafe { _mm512_storeu_si512(p, v) }
    }
}

impl Lanes for Avx512Bf16Token {
    type S = pulp::x86::V4;
    const N: usize = 16;
    const WELFORD_ACC: usize = Avx512Token::WELFORD_ACC;
    // `vcvtne2ps2bf16` converts two vectors into one 512-bit register.
    const BF16_PAIRS: bool = true;
    // `vdpbf16ps` squares and adds 32 bf16 in one operation (16 lanes of two).
    const BF16_DOT: bool = true;

    #[inline(always)]
    fn square_add_bf16(self, acc: F16, s: &[bf16]) -> F16 {
        assert!(s.len() >= 32);
        // SAFETY: 64 readable bytes (asserted); AVX512-BF16 and AVX-512F proven by the token;
        // the bf16 vector and __m512i are the same 64 bytes.
        unsafe {
            let h =
                core::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(s.as_ptr().cast()));
            cast(_mm512_dpbf16_ps(cast(acc), h, h))
        }
    }
    #[inline(always)]
    fn square_add_bf16_partial(self, acc: F16, s: &[bf16]) -> F16 {
        debug_assert!(s.len() < 32);
        let k = ((1u64 << s.len()) - 1) as __mmask32;
        // SAFETY: AVX512-BF16, AVX-512F/BW proven by the token. The masked load reads only
        // the first `s.len()` elements (all readable); a masked-off word does not fault and
        // is zero, which adds nothing.
        unsafe {
            let h = core::mem::transmute::<__m512i, __m512bh>(_mm512_maskz_loadu_epi16(
                k,
                s.as_ptr().cast(),
            ));
            cast(_mm512_dpbf16_ps(cast(acc), h, h))
        }
    }

    // The rest is Avx512Token's, but for the bf16 stores and the split order below.
    #[inline(always)]
    fn simd(self) -> pulp::x86::V4 {
        self.base().simd()
    }
    #[inline(always)]
    fn vectorize<Op: pulp::NullaryFnOnce>(self, op: Op) -> Op::Output {
        Avx512Bf16Token::vectorize(self, op)
    }
    #[inline(always)]
    fn fma(self, a: F16, b: F16, c: F16) -> F16 {
        self.base().fma(a, b, c)
    }
    #[inline(always)]
    fn fence(self) {
        self.base().fence()
    }
    #[inline(always)]
    fn prefetch(self, p: *const u8) {
        self.base().prefetch(p)
    }
    #[inline(always)]
    fn hsum(self, v: F16) -> f32 {
        self.base().hsum(v)
    }
    #[inline(always)]
    fn hsum_rows(self, v: &[F16; MAX_LANES]) -> F16 {
        self.base().hsum_rows(v)
    }
    #[inline(always)]
    fn widen(self, v: F16) -> [pulp::f64x8; 2] {
        self.base().widen(v)
    }
    #[inline(always)]
    fn narrow(self, v: [pulp::f64x8; 2]) -> F16 {
        self.base().narrow(v)
    }
    #[inline(always)]
    fn load_f32(self, s: &[f32]) -> F16 {
        self.base().load_f32(s)
    }
    #[inline(always)]
    fn store_f32<const NT: bool>(self, d: &mut [f32], v: F16) {
        self.base().store_f32::<NT>(d, v)
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> F16 {
        self.base().load_f16(s)
    }
    #[inline(always)]
    fn store_f16<const NT: bool>(self, d: &mut [f16], v: F16) {
        self.base().store_f16::<NT>(d, v)
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> F16 {
        self.base().load_bf16(s)
    }
    #[inline(always)]
    fn store_bf16<const NT: bool>(self, d: &mut [bf16], v: F16) {
        assert!(d.len() >= 16);
        // SAFETY: 32 writable bytes (asserted); AVX proven by the token.
        unsafe { store256::<NT>(d.as_mut_ptr().cast(), self.narrow_bf16(v)) }
    }
    #[inline(always)]
    fn store_bf16_pair<const NT: bool>(self, d: &mut [bf16], a: F16, b: F16) {
        assert!(d.len() >= 32);
        // SAFETY: 64 writable bytes (asserted).
        unsafe { store512::<NT>(d.as_mut_ptr().cast(), self.narrow_bf16_pair(a, b)) }
    }
    // Elements 2k and 2k + 1 are the two halves of one 32-bit lane: a shift and a mask widen
    // 32 of them into two vectors (one load, where memory order takes two loads, two zero
    // extensions on the 5 port and two shifts), and one word permute puts the narrowed pair
    // back.
    const BF16_SPLIT: bool = true;
    #[inline(always)]
    fn load_bf16_split(self, s: &[bf16]) -> (F16, F16) {
        // SAFETY: AVX-512F proven by the token.
        unsafe { bf16_split_512(s) }
    }
    #[inline(always)]
    fn store_bf16_split<const NT: bool>(self, d: &mut [bf16], a: F16, b: F16) {
        assert!(d.len() >= 32);
        // `a`'s words in the low half, `b`'s in the high half, interleaved.
        // SAFETY: AVX-512BW proven by the token; register operands only.
        let v =
            unsafe { _mm512_permutexvar_epi16(BF16_INTERLEAVE_512, self.narrow_bf16_pair(a, b)) };
        // SAFETY: 64 writable bytes (asserted).
        unsafe { store512::<NT>(d.as_mut_ptr().cast(), v) }
    }
    // `vcvtne2ps2bf16` keeps NaN NaN at no cost: the finite forms are the same.
    const BF16_FINITE_SAME: bool = true;
    #[inline(always)]
    fn store_bf16_split_finite<const NT: bool>(self, d: &mut [bf16], a: F16, b: F16) {
        self.store_bf16_split::<NT>(d, a, b)
    }
    #[inline(always)]
    fn load_partial<T: Element>(self, s: &[T]) -> F16 {
        self.base().load_partial(s)
    }
    #[inline(always)]
    fn store_partial<T: Element>(self, d: &mut [T], v: F16) {
        match T::tag_mut(d) {
            SliceMut::Bf16(d) => {
                let k = partial_mask(d.len());
                // SAFETY: AVX-512BW/VL proven by the token. A masked store writes only the
                // lanes of its mask, the first `d.len()` elements (all writable); a
                // masked-off lane does not fault and its memory is left as it was.
                unsafe { _mm256_mask_storeu_epi16(d.as_mut_ptr().cast(), k, self.narrow_bf16(v)) }
            }
            _ => self.base().store_partial(d, v),
        }
    }
}
