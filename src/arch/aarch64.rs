//! aarch64 path: Advanced SIMD (NEON), 4 `f32` lanes.
//!
//! `f16` <-> `f32` uses FCVTL/FCVTN, which are part of base ARMv8-A Advanced SIMD (no FEAT_FP16
//! needed; they are written as inline asm because Rust's `float16x4_t` intrinsics are not
//! stable). FCVTN rounds by FPCR, which Rust code leaves at its default, round to nearest even.

use core::arch::aarch64::*;
use core::arch::asm;

use half::{bf16, f16};
use pulp::Simd;
use pulp::bytemuck::cast;

use crate::kernel::lanes::{Lanes, MAX_LANES};

/// pulp's NEON token; its existence proves the CPU has NEON.
pub type NeonToken = pulp::aarch64::Neon;

type F4 = pulp::f32x4;

impl Lanes for NeonToken {
    type S = pulp::aarch64::Neon;
    const N: usize = 4;

    #[inline(always)]
    fn simd(self) -> Self::S {
        self
    }
    #[inline(always)]
    fn vectorize<Op: pulp::NullaryFnOnce>(self, op: Op) -> Op::Output {
        pulp::aarch64::Neon::vectorize(self, op)
    }
    #[inline(always)]
    fn fma(self, a: F4, b: F4, c: F4) -> F4 {
        self.mul_add_f32s(a, b, c)
    }
    #[inline(always)]
    fn hsum(self, v: F4) -> f32 {
        // SAFETY: NEON proven by the token; register-only operations.
        unsafe {
            let v: float32x4_t = cast(v);
            // Lanes i and i + 2, then the two sums: the halving tree.
            let t = vaddq_f32(v, vextq_f32::<2>(v, v));
            vgetq_lane_f32::<0>(t) + vgetq_lane_f32::<1>(t)
        }
    }
    #[inline(always)]
    fn hsum_rows(self, v: &[F4; MAX_LANES]) -> F4 {
        // (No closures here: their bodies are not forced inline into the target-feature
        // context.)
        // SAFETY: NEON proven by the token; register-only operations.
        unsafe {
            let x: [float64x2_t; 4] = [
                vreinterpretq_f64_f32(cast(v[0])),
                vreinterpretq_f64_f32(cast(v[1])),
                vreinterpretq_f64_f32(cast(v[2])),
                vreinterpretq_f64_f32(cast(v[3])),
            ];
            // Lanes i and i + 2 of rows (0, 1) and (2, 3): [row a (two), row b (two)].
            let p = vaddq_f32(
                vreinterpretq_f32_f64(vzip1q_f64(x[0], x[1])),
                vreinterpretq_f32_f64(vzip2q_f64(x[0], x[1])),
            );
            let q = vaddq_f32(
                vreinterpretq_f32_f64(vzip1q_f64(x[2], x[3])),
                vreinterpretq_f32_f64(vzip2q_f64(x[2], x[3])),
            );
            // Lanes i and i + 1: [row 0, row 1, row 2, row 3].
            cast(vaddq_f32(vuzp1q_f32(p, q), vuzp2q_f32(p, q)))
        }
    }
    #[inline(always)]
    fn widen(self, v: F4) -> [pulp::f64x2; 2] {
        // SAFETY: NEON proven by the token; register-only operations (FCVTL, FCVTL2).
        unsafe {
            let v: float32x4_t = cast(v);
            [
                cast(vcvt_f64_f32(vget_low_f32(v))),
                cast(vcvt_high_f64_f32(v)),
            ]
        }
    }
    #[inline(always)]
    fn narrow(self, v: [pulp::f64x2; 2]) -> F4 {
        // SAFETY: NEON proven by the token; register-only operations (FCVTN, FCVTN2).
        unsafe { cast(vcvt_high_f32_f64(vcvt_f32_f64(cast(v[0])), cast(v[1]))) }
    }
    #[inline(always)]
    fn load_f32(self, s: &[f32]) -> F4 {
        assert!(s.len() >= 4);
        // SAFETY: 4 readable elements (asserted); NEON proven by the token.
        cast(unsafe { vld1q_f32(s.as_ptr()) })
    }
    #[inline(always)]
    fn store_f32<const NT: bool>(self, d: &mut [f32], v: F4) {
        assert!(d.len() >= 4);
        // SAFETY: 4 writable elements (asserted); NEON proven by the token.
        unsafe { vst1q_f32(d.as_mut_ptr(), cast(v)) }
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> F4 {
        assert!(s.len() >= 4);
        // SAFETY: 8 readable bytes (asserted); NEON proven; FCVTL only reads and writes registers.
        unsafe {
            let h: uint16x4_t = vld1_u16(s.as_ptr().cast());
            let out: float32x4_t;
            asm!("fcvtl {0:v}.4s, {1:v}.4h", out(vreg) out, in(vreg) h,
                 options(pure, nomem, nostack, preserves_flags));
            cast(out)
        }
    }
    #[inline(always)]
    fn store_f16<const NT: bool>(self, d: &mut [f16], v: F4) {
        assert!(d.len() >= 4);
        // SAFETY: 8 writable bytes (asserted); NEON proven; FCVTN only touches registers.
        unsafe {
            let v: float32x4_t = cast(v);
            let h: uint16x4_t;
            asm!("fcvtn {0:v}.4h, {1:v}.4s", out(vreg) h, in(vreg) v,
                 options(pure, nomem, nostack, preserves_flags));
            vst1_u16(d.as_mut_ptr().cast(), h)
        }
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> F4 {
        assert!(s.len() >= 4);
        // SAFETY: 8 readable bytes (asserted); NEON proven. bf16 is the top half of an f32.
        cast(unsafe { vreinterpretq_f32_u32(vshll_n_u16::<16>(vld1_u16(s.as_ptr().cast()))) })
    }
    #[inline(always)]
    fn store_bf16<const NT: bool>(self, d: &mut [bf16], v: F4) {
        assert!(d.len() >= 4);
        // SAFETY: 8 writable bytes (asserted); NEON proven by the token.
        unsafe {
            let v: float32x4_t = cast(v);
            let b = vreinterpretq_u32_f32(v);
            let hi = vshrq_n_u32::<16>(b);
            let bias = vaddq_u32(vandq_u32(hi, vdupq_n_u32(1)), vdupq_n_u32(0x7FFF));
            let rounded = vshrq_n_u32::<16>(vaddq_u32(b, bias));
            let quiet = vorrq_u32(hi, vdupq_n_u32(0x40));
            let not_nan = vceqq_f32(v, v);
            let r = vbslq_u32(not_nan, rounded, quiet);
            vst1_u16(d.as_mut_ptr().cast(), vmovn_u32(r))
        }
    }
}
