//! The C ABI (cargo feature `capi`): `extern "C"` functions over raw pointers, for C and C++
//! inference backends. The header `include/simdnorm.h` is generated from this file by cbindgen
//! (`scripts/gen-header.sh`).
//!
//! Every function validates its arguments and returns a [`SimdnormStatus`]; none unwinds
//! across the boundary (the Rust API has no panicking path, and a `catch_unwind` turns a
//! panic that should not happen into [`SimdnormStatus::Internal`]). 16-bit elements are passed
//! as `uint16_t` bit patterns.

use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use half::{bf16, f16};

use crate::{Element, Isa, Norm, NormError, Parallelism, Stats};

/// Element type code: IEEE binary32 (`float`).
pub const SIMDNORM_F32: u32 = 0;
/// Element type code: IEEE binary16, as `uint16_t` bits.
pub const SIMDNORM_F16: u32 = 1;
/// Element type code: bfloat16, as `uint16_t` bits.
pub const SIMDNORM_BF16: u32 = 2;

/// Norm kind code: RMSNorm.
pub const SIMDNORM_RMS: u32 = 0;
/// Norm kind code: LayerNorm.
pub const SIMDNORM_LAYER: u32 = 1;

/// Instruction-set code: portable code.
pub const SIMDNORM_ISA_SCALAR: u32 = 0;
/// Instruction-set code: x86-64 AVX2 + FMA + F16C.
pub const SIMDNORM_ISA_AVX2: u32 = 1;
/// Instruction-set code: x86-64 AVX-512 (F/BW/CD/DQ/VL).
pub const SIMDNORM_ISA_AVX512: u32 = 2;
/// Instruction-set code: aarch64 NEON.
pub const SIMDNORM_ISA_NEON: u32 = 3;

/// The result of every call. `SIMDNORM_STATUS_OK` is 0; nothing is written when a call
/// returns anything else.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdnormStatus {
    /// Success.
    Ok = 0,
    /// A required pointer (x or y) is NULL.
    NullPointer = 1,
    /// The row width is 0.
    ZeroWidth = 2,
    /// A row stride is smaller than the row width.
    StrideTooSmall = 3,
    /// The extent of the rows, `(rows - 1) * stride + width`, or its size in bytes, overflows.
    SizeOverflow = 4,
    /// eps is negative, NaN or infinite.
    BadEpsilon = 5,
    /// Buffers overlap where they must not: the output with the input (other than exactly, for
    /// in-place), or any written buffer with any other.
    Overlap = 6,
    /// A pointer is not aligned to its element type.
    Misaligned = 7,
    /// An element-type code is unknown.
    BadDtype = 8,
    /// The instruction set is not available on this CPU.
    IsaUnavailable = 9,
    /// An instruction-set code is unknown.
    BadIsa = 10,
    /// An internal error (a bug: please report it). Nothing was written.
    Internal = 11,
    /// A bias was given to RMSNorm, which takes none.
    Unsupported = 12,
    /// The residual scale alpha is NaN or infinite.
    BadAlpha = 13,
    /// A norm-kind code is unknown (`SIMDNORM_RMS`, `SIMDNORM_LAYER`).
    BadKind = 14,
}

const MESSAGES: [&str; 15] = [
    "ok\0",
    "a required pointer (x or y) is NULL\0",
    "row width is 0\0",
    "a row stride is smaller than the row width\0",
    "(rows - 1) * stride + width, or its size in bytes, overflows\0",
    "eps must be finite and >= 0\0",
    "buffers overlap (other than x == y with equal strides for in-place)\0",
    "a pointer is not aligned to its element type\0",
    "unknown element type code\0",
    "instruction set not available on this CPU\0",
    "unknown instruction set code\0",
    "internal error\0",
    "a bias was given to RMSNorm, which takes none\0",
    "alpha must be finite\0",
    "unknown norm kind code\0",
];

/// A static, NUL-terminated description of a status code (of any value: an unknown code gets
/// "unknown status code").
#[unsafe(no_mangle)]
pub extern "C" fn simdnorm_status_message(status: i32) -> *const c_char {
    let s = usize::try_from(status)
        .ok()
        .and_then(|i| MESSAGES.get(i))
        .copied()
        .unwrap_or("unknown status code\0");
    s.as_ptr().cast()
}

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets how calls use threads, for the whole process: 0 (the default) spreads large batches
/// (2 MiB of input or more, 1 MiB a thread) over the Rust rayon pool and runs small ones on
/// the calling thread; 1 always runs on the calling thread (use this when the backend has its
/// own thread pool and calls simdnorm from each of its threads on its own rows); n >= 2 always
/// splits a batch into up to n blocks of rows on the rayon pool.
#[unsafe(no_mangle)]
pub extern "C" fn simdnorm_set_threads(threads: usize) {
    THREADS.store(threads, Ordering::Relaxed);
}

/// The value last given to `simdnorm_set_threads` (0 by default).
#[unsafe(no_mangle)]
pub extern "C" fn simdnorm_threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

fn parallelism() -> Parallelism {
    match THREADS.load(Ordering::Relaxed) {
        0 => Parallelism::Auto,
        1 => Parallelism::None,
        n => Parallelism::Rayon(n),
    }
}

fn isa_code(i: Isa) -> u32 {
    match i {
        Isa::Avx2 => SIMDNORM_ISA_AVX2,
        Isa::Avx512 => SIMDNORM_ISA_AVX512,
        Isa::Neon => SIMDNORM_ISA_NEON,
        _ => SIMDNORM_ISA_SCALAR,
    }
}

/// The instruction set the kernels use (a `SIMDNORM_ISA_*` code).
#[unsafe(no_mangle)]
pub extern "C" fn simdnorm_isa() -> u32 {
    isa_code(crate::isa())
}

/// The name of the instruction set the kernels use ("scalar", "avx2", "avx512" or "neon"),
/// static and NUL-terminated.
#[unsafe(no_mangle)]
pub extern "C" fn simdnorm_isa_name() -> *const c_char {
    let s: &'static str = match crate::isa() {
        Isa::Avx2 => "avx2\0",
        Isa::Avx512 => "avx512\0",
        Isa::Neon => "neon\0",
        _ => "scalar\0",
    };
    s.as_ptr().cast()
}

/// Forces the instruction set for the whole process (a `SIMDNORM_ISA_*` code).
#[unsafe(no_mangle)]
pub extern "C" fn simdnorm_force_isa(isa: u32) -> SimdnormStatus {
    let i = match isa {
        SIMDNORM_ISA_SCALAR => Isa::Scalar,
        SIMDNORM_ISA_AVX2 => Isa::Avx2,
        SIMDNORM_ISA_AVX512 => Isa::Avx512,
        SIMDNORM_ISA_NEON => Isa::Neon,
        _ => return SimdnormStatus::BadIsa,
    };
    match crate::force_isa(i) {
        Ok(()) => SimdnormStatus::Ok,
        Err(_) => SimdnormStatus::IsaUnavailable,
    }
}

fn dtype_size(d: u32) -> Option<usize> {
    match d {
        SIMDNORM_F32 => Some(4),
        SIMDNORM_F16 | SIMDNORM_BF16 => Some(2),
        _ => None,
    }
}

/// A memory region a call reads or writes.
#[derive(Clone, Copy)]
struct Region {
    start: usize,
    bytes: usize,
    written: bool,
}

impl Region {
    fn overlaps(&self, o: &Region) -> bool {
        self.bytes > 0
            && o.bytes > 0
            && self.start < o.start + o.bytes
            && o.start < self.start + self.bytes
    }
}

/// Everything a call passes, checked before any memory is touched.
struct Call {
    dtype: u32,
    x: *const c_void,
    x_stride: usize,
    y: *mut c_void,
    y_stride: usize,
    rows: usize,
    width: usize,
    wdtype: u32,
    gamma: *const c_void,
    beta: *const c_void,
    eps: f32,
    mean: *mut f32,
    rstd: *mut f32,
    layer: bool,
}

/// Elements from the first row's start to the last row's end.
fn extent(rows: usize, width: usize, stride: usize) -> Result<usize, SimdnormStatus> {
    if stride < width {
        return Err(SimdnormStatus::StrideTooSmall);
    }
    if rows == 0 {
        return Ok(0);
    }
    (rows - 1)
        .checked_mul(stride)
        .and_then(|v| v.checked_add(width))
        .ok_or(SimdnormStatus::SizeOverflow)
}

fn bytes_of(elems: usize, size: usize) -> Result<usize, SimdnormStatus> {
    elems
        .checked_mul(size)
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or(SimdnormStatus::SizeOverflow)
}

impl Call {
    /// Validates everything that can be checked without reading memory. Returns whether the
    /// call is in place (`x == y` with equal strides).
    fn check(&self) -> Result<bool, SimdnormStatus> {
        let size = dtype_size(self.dtype).ok_or(SimdnormStatus::BadDtype)?;
        let has_params = !self.gamma.is_null() || !self.beta.is_null();
        let wsize = if has_params {
            dtype_size(self.wdtype).ok_or(SimdnormStatus::BadDtype)?
        } else {
            4
        };
        if self.x.is_null() || self.y.is_null() {
            return Err(SimdnormStatus::NullPointer);
        }
        if self.width == 0 {
            return Err(SimdnormStatus::ZeroWidth);
        }
        let xb = bytes_of(extent(self.rows, self.width, self.x_stride)?, size)?;
        let yb = bytes_of(extent(self.rows, self.width, self.y_stride)?, size)?;
        let pb = bytes_of(self.width, wsize)?;
        let sb = bytes_of(self.rows, 4)?;
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(SimdnormStatus::BadEpsilon);
        }
        let aligned = |p: usize, a: usize| p.is_multiple_of(a);
        let all = [
            (self.x as usize, size),
            (self.y as usize, size),
            (self.gamma as usize, wsize),
            (self.beta as usize, wsize),
            (self.mean as usize, align_of::<f32>()),
            (self.rstd as usize, align_of::<f32>()),
        ];
        if !all.iter().all(|&(p, a)| aligned(p, a)) {
            return Err(SimdnormStatus::Misaligned);
        }
        let inplace = self.x == self.y.cast_const() && self.x_stride == self.y_stride;
        let region = |p: usize, bytes: usize, written: bool| Region {
            start: p,
            bytes: if p == 0 { 0 } else { bytes },
            written,
        };
        let mut regions = vec![
            region(self.y as usize, yb, true),
            region(self.gamma as usize, pb, false),
            region(self.beta as usize, pb, false),
            region(self.mean as usize, sb, true),
            region(self.rstd as usize, sb, true),
        ];
        if !inplace {
            regions.push(region(self.x as usize, xb, false));
        }
        for (i, a) in regions.iter().enumerate() {
            for b in &regions[i + 1..] {
                if (a.written || b.written) && a.overlaps(b) {
                    return Err(SimdnormStatus::Overlap);
                }
            }
        }
        Ok(inplace)
    }
}

fn status_of(e: NormError) -> SimdnormStatus {
    match e {
        NormError::ZeroWidth => SimdnormStatus::ZeroWidth,
        NormError::StrideTooSmall { .. } => SimdnormStatus::StrideTooSmall,
        NormError::SizeOverflow { .. } => SimdnormStatus::SizeOverflow,
        NormError::BadEpsilon(_) => SimdnormStatus::BadEpsilon,
        NormError::IsaUnavailable(_) => SimdnormStatus::IsaUnavailable,
        NormError::Unsupported(_) => SimdnormStatus::Unsupported,
        NormError::BadAlpha(_) => SimdnormStatus::BadAlpha,
        _ => SimdnormStatus::Internal,
    }
}

/// The optional weight, bias (`width` elements of `W`) and statistics (`rows` floats) slices of
/// a checked call; NULL gives `None`.
///
/// # Safety
/// Each non-NULL pointer is aligned, readable (`gamma`, `beta`) or writable (`mean`, `rstd`)
/// for its length, overlaps no region written during the call (checked by the callers'
/// `check`), and is not changed by another thread during the call (the caller's contract).
/// `W` is f32 or a 16-bit type, valid for every bit pattern.
unsafe fn param_slices<'a, W: Element>(
    gamma: *const c_void,
    beta: *const c_void,
    width: usize,
    mean: *mut f32,
    rstd: *mut f32,
    rows: usize,
) -> ParamSlices<'a, W> {
    let g = (!gamma.is_null()).then(|| {
        // SAFETY: non-NULL; the contract above, `width` elements of W.
        unsafe { core::slice::from_raw_parts(gamma.cast(), width) }
    });
    let b = (!beta.is_null()).then(|| {
        // SAFETY: non-NULL; the contract above, `width` elements of W.
        unsafe { core::slice::from_raw_parts(beta.cast(), width) }
    });
    let m = (!mean.is_null()).then(|| {
        // SAFETY: non-NULL; the contract above, `rows` floats, written.
        unsafe { core::slice::from_raw_parts_mut(mean, rows) }
    });
    let r = (!rstd.is_null()).then(|| {
        // SAFETY: non-NULL; the contract above, `rows` floats, written.
        unsafe { core::slice::from_raw_parts_mut(rstd, rows) }
    });
    (g, b, m, r)
}

/// Weight, bias, mean and rstd slices (see [`param_slices`]).
type ParamSlices<'a, W> = (
    Option<&'a [W]>,
    Option<&'a [W]>,
    Option<&'a mut [f32]>,
    Option<&'a mut [f32]>,
);

/// Builds the slices and runs. `c` has passed `check`.
///
/// # Safety
/// The caller's contract (see the header): `x` readable and `y` writable for their extents,
/// `gamma`/`beta` readable for `width` elements and `mean`/`rstd` writable for `rows` when
/// non-NULL, none of it changed by another thread during the call.
unsafe fn go<T: Element, W: Element>(c: &Call, inplace: bool) -> SimdnormStatus {
    let xe = extent(c.rows, c.width, c.x_stride).unwrap_or(0);
    let ye = extent(c.rows, c.width, c.y_stride).unwrap_or(0);
    // Every slice below: the pointer is non-NULL (or no slice is made), aligned, and its region
    // overlaps no written region (all checked in `check`); that it is readable (writable) for
    // the extent is the caller's contract; T and W are f32 or the 16-bit types, which are
    // repr(transparent) over u16 and valid for every bit pattern.
    // SAFETY: see above (`check` covers these four pointers too).
    let (gamma, beta, mean, rstd) =
        unsafe { param_slices::<W>(c.gamma, c.beta, c.width, c.mean, c.rstd, c.rows) };
    let norm = if c.layer {
        Norm::layer(c.eps)
    } else {
        Norm::rms(c.eps)
    }
    .parallelism(parallelism());
    let stats = Stats { mean, rstd };
    let r = if inplace {
        // SAFETY: see above; x == y with equal strides, so this one mutable slice is the only
        // view of the rows.
        let y = unsafe { core::slice::from_raw_parts_mut(c.y.cast::<T>(), ye) };
        norm.forward_strided_inplace(y, c.y_stride, c.rows, c.width, gamma, beta, stats)
    } else {
        // SAFETY: see above; x is only read and does not overlap y.
        let x = unsafe { core::slice::from_raw_parts(c.x.cast::<T>(), xe) };
        // SAFETY: see above; y does not overlap x or any other buffer.
        let y = unsafe { core::slice::from_raw_parts_mut(c.y.cast::<T>(), ye) };
        norm.forward_strided(
            x, c.x_stride, y, c.y_stride, c.rows, c.width, gamma, beta, stats,
        )
    };
    match r {
        Ok(()) => SimdnormStatus::Ok,
        Err(e) => status_of(e),
    }
}

/// Validates and runs a call, never unwinding.
///
/// # Safety
/// As [`go`].
unsafe fn run(c: Call) -> SimdnormStatus {
    let inplace = match c.check() {
        Ok(i) => i,
        Err(s) => return s,
    };
    if c.rows == 0 {
        return SimdnormStatus::Ok;
    }
    let has_params = !c.gamma.is_null() || !c.beta.is_null();
    let w = if has_params { c.wdtype } else { SIMDNORM_F32 };
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: forwarded from the caller's contract; `check` passed.
        unsafe {
            match (c.dtype, w) {
                (SIMDNORM_F32, SIMDNORM_F32) => go::<f32, f32>(&c, inplace),
                (SIMDNORM_F32, SIMDNORM_F16) => go::<f32, f16>(&c, inplace),
                (SIMDNORM_F32, _) => go::<f32, bf16>(&c, inplace),
                (SIMDNORM_F16, SIMDNORM_F32) => go::<f16, f32>(&c, inplace),
                (SIMDNORM_F16, SIMDNORM_F16) => go::<f16, f16>(&c, inplace),
                (SIMDNORM_F16, _) => go::<f16, bf16>(&c, inplace),
                (_, SIMDNORM_F32) => go::<bf16, f32>(&c, inplace),
                (_, SIMDNORM_F16) => go::<bf16, f16>(&c, inplace),
                (_, _) => go::<bf16, bf16>(&c, inplace),
            }
        }
    }))
    .unwrap_or(SimdnormStatus::Internal)
}

/// RMSNorm of `rows` rows of `width` elements: `y = x / sqrt(mean(x^2) + eps) * gamma`.
///
/// `dtype` (`SIMDNORM_F32`, `SIMDNORM_F16`, `SIMDNORM_BF16`) is the type of `x` and `y`; row `r`
/// of `x` starts at element `r * x_stride`, of `y` at `r * y_stride` (strides in elements,
/// at least `width`). `y == x` with equal strides normalizes in place; any other overlap is
/// refused. `gamma` (NULL: all ones) holds `width` elements of type `weight_dtype`. `rstd`
/// (NULL: not wanted) receives `rows` values `1 / sqrt(mean(x^2) + eps)`. A row holding NaN or
/// Inf comes out all NaN.
///
/// # Safety
/// `x` must be readable for `(rows - 1) * x_stride + width` elements, `y` writable for
/// `(rows - 1) * y_stride + width` elements, `gamma` readable for `width` elements and `rstd`
/// writable for `rows` floats when not NULL, for the duration of the call.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn simdnorm_rms_norm(
    dtype: u32,
    x: *const c_void,
    x_stride: usize,
    y: *mut c_void,
    y_stride: usize,
    rows: usize,
    width: usize,
    weight_dtype: u32,
    gamma: *const c_void,
    eps: f32,
    rstd: *mut f32,
) -> SimdnormStatus {
    let c = Call {
        dtype,
        x,
        x_stride,
        y,
        y_stride,
        rows,
        width,
        wdtype: weight_dtype,
        gamma,
        beta: core::ptr::null(),
        eps,
        mean: core::ptr::null_mut(),
        rstd,
        layer: false,
    };
    // SAFETY: the caller's contract above.
    unsafe { run(c) }
}

/// LayerNorm of `rows` rows of `width` elements:
/// `y = (x - mean) / sqrt(var + eps) * gamma + beta` (population variance).
///
/// Arguments as `simdnorm_rms_norm`; `beta` (NULL: zeros) holds `width` elements of type
/// `weight_dtype`, like `gamma`; `mean` and `rstd` (each NULL: not wanted) receive `rows`
/// values each, the row mean and `1 / sqrt(var + eps)`.
///
/// # Safety
/// As `simdnorm_rms_norm`, and `beta` readable for `width` elements, `mean` writable for `rows`
/// floats, when not NULL.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn simdnorm_layer_norm(
    dtype: u32,
    x: *const c_void,
    x_stride: usize,
    y: *mut c_void,
    y_stride: usize,
    rows: usize,
    width: usize,
    weight_dtype: u32,
    gamma: *const c_void,
    beta: *const c_void,
    eps: f32,
    mean: *mut f32,
    rstd: *mut f32,
) -> SimdnormStatus {
    let c = Call {
        dtype,
        x,
        x_stride,
        y,
        y_stride,
        rows,
        width,
        wdtype: weight_dtype,
        gamma,
        beta,
        eps,
        mean,
        rstd,
        layer: true,
    };
    // SAFETY: the caller's contract above.
    unsafe { run(c) }
}

/// The arguments of a fused call.
struct Fused {
    kind: u32,
    dtype: u32,
    x: *mut c_void,
    d: *const c_void,
    alpha: f32,
    out_dtype: u32,
    y: *mut c_void,
    rows: usize,
    width: usize,
    wdtype: u32,
    gamma: *const c_void,
    beta: *const c_void,
    eps: f32,
    mean: *mut f32,
    rstd: *mut f32,
    /// Pre-LN: `x` (the residual stream h) is written back.
    pre: bool,
}

impl Fused {
    /// Validates what can be checked without reading memory; returns whether the output is
    /// written over `x` (add-norm in place).
    fn check(&self) -> Result<bool, SimdnormStatus> {
        if self.kind > SIMDNORM_LAYER {
            return Err(SimdnormStatus::BadKind);
        }
        let size = dtype_size(self.dtype).ok_or(SimdnormStatus::BadDtype)?;
        let osize = dtype_size(self.out_dtype).ok_or(SimdnormStatus::BadDtype)?;
        let has_params = !self.gamma.is_null() || !self.beta.is_null();
        if has_params && self.wdtype != SIMDNORM_F32 && self.wdtype != self.dtype {
            return Err(SimdnormStatus::BadDtype);
        }
        let wsize = if has_params {
            dtype_size(self.wdtype).unwrap_or(4)
        } else {
            4
        };
        if self.x.is_null() || self.d.is_null() || self.y.is_null() {
            return Err(SimdnormStatus::NullPointer);
        }
        if self.width == 0 {
            return Err(SimdnormStatus::ZeroWidth);
        }
        if self.kind == SIMDNORM_RMS && !self.beta.is_null() {
            return Err(SimdnormStatus::Unsupported);
        }
        let n = self
            .rows
            .checked_mul(self.width)
            .ok_or(SimdnormStatus::SizeOverflow)?;
        let (xb, yb) = (bytes_of(n, size)?, bytes_of(n, osize)?);
        let (pb, sb) = (bytes_of(self.width, wsize)?, bytes_of(self.rows, 4)?);
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(SimdnormStatus::BadEpsilon);
        }
        if !self.alpha.is_finite() {
            return Err(SimdnormStatus::BadAlpha);
        }
        let all = [
            (self.x as usize, size),
            (self.d as usize, size),
            (self.y as usize, osize),
            (self.gamma as usize, wsize),
            (self.beta as usize, wsize),
            (self.mean as usize, 4),
            (self.rstd as usize, 4),
        ];
        if !all.iter().all(|&(p, a)| p.is_multiple_of(a)) {
            return Err(SimdnormStatus::Misaligned);
        }
        let inplace = !self.pre && self.x == self.y && self.dtype == self.out_dtype;
        let region = |p: usize, bytes: usize, written: bool| Region {
            start: p,
            bytes: if p == 0 { 0 } else { bytes },
            written,
        };
        let mut regions = vec![
            region(self.d as usize, xb, false),
            region(self.gamma as usize, pb, false),
            region(self.beta as usize, pb, false),
            region(self.mean as usize, sb, true),
            region(self.rstd as usize, sb, true),
            region(self.x as usize, xb, self.pre || inplace),
        ];
        if !inplace {
            regions.push(region(self.y as usize, yb, true));
        }
        for (i, a) in regions.iter().enumerate() {
            for b in &regions[i + 1..] {
                if (a.written || b.written) && a.overlaps(b) {
                    return Err(SimdnormStatus::Overlap);
                }
            }
        }
        Ok(inplace)
    }
}

/// Builds the slices of a checked fused call and runs it.
///
/// # Safety
/// The caller's contract of `simdnorm_residual_norm` / `simdnorm_add_norm`.
unsafe fn go_fused<X: Element, O: Element, W: Element>(c: &Fused, inplace: bool) -> SimdnormStatus {
    let n = c.rows * c.width;
    // Every slice below: non-NULL (or not made), aligned, its region overlapping no written
    // region (checked in `Fused::check`); readable/writable for its length by the caller's
    // contract; the element types are valid for every bit pattern.
    // SAFETY: see above (`check` covers these four pointers too).
    let (gamma, beta, mean, rstd) =
        unsafe { param_slices::<W>(c.gamma, c.beta, c.width, c.mean, c.rstd, c.rows) };
    // SAFETY: see above; `rows * width` elements of X, only read.
    let d = unsafe { core::slice::from_raw_parts(c.d.cast::<X>(), n) };
    let norm = if c.kind == SIMDNORM_LAYER {
        Norm::layer(c.eps)
    } else {
        Norm::rms(c.eps)
    }
    .parallelism(parallelism());
    let stats = Stats { mean, rstd };
    let r = if c.pre {
        // SAFETY: see above; h is read and written, and overlaps nothing else.
        let h = unsafe { core::slice::from_raw_parts_mut(c.x.cast::<X>(), n) };
        // SAFETY: see above; y overlaps nothing else.
        let y = unsafe { core::slice::from_raw_parts_mut(c.y.cast::<O>(), n) };
        norm.residual_forward(h, d, c.rows, c.width, gamma, beta, y, stats)
    } else if inplace {
        // SAFETY: see above; x == y, the one view of the rows.
        let x = unsafe { core::slice::from_raw_parts_mut(c.x.cast::<X>(), n) };
        norm.add_forward_inplace(x, d, c.alpha, c.rows, c.width, gamma, beta, stats)
    } else {
        // SAFETY: see above; x is only read.
        let x = unsafe { core::slice::from_raw_parts(c.x.cast::<X>(), n) };
        // SAFETY: see above; y overlaps nothing else.
        let y = unsafe { core::slice::from_raw_parts_mut(c.y.cast::<O>(), n) };
        norm.add_forward(x, d, c.alpha, c.rows, c.width, gamma, beta, y, stats)
    };
    match r {
        Ok(()) => SimdnormStatus::Ok,
        Err(e) => status_of(e),
    }
}

/// Validates and runs a fused call, never unwinding.
///
/// # Safety
/// As [`go_fused`].
unsafe fn run_fused(c: Fused) -> SimdnormStatus {
    let inplace = match c.check() {
        Ok(i) => i,
        Err(s) => return s,
    };
    if c.rows == 0 {
        return SimdnormStatus::Ok;
    }
    let has_params = !c.gamma.is_null() || !c.beta.is_null();
    let w_is_f32 = !has_params || c.wdtype == SIMDNORM_F32;
    macro_rules! by_out {
        ($x:ty) => {
            match (c.out_dtype, w_is_f32) {
                (SIMDNORM_F32, true) => go_fused::<$x, f32, f32>(&c, inplace),
                (SIMDNORM_F32, false) => go_fused::<$x, f32, $x>(&c, inplace),
                (SIMDNORM_F16, true) => go_fused::<$x, f16, f32>(&c, inplace),
                (SIMDNORM_F16, false) => go_fused::<$x, f16, $x>(&c, inplace),
                (_, true) => go_fused::<$x, bf16, f32>(&c, inplace),
                (_, false) => go_fused::<$x, bf16, $x>(&c, inplace),
            }
        };
    }
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: forwarded from the caller's contract; `check` passed.
        unsafe {
            match c.dtype {
                SIMDNORM_F32 => by_out!(f32),
                SIMDNORM_F16 => by_out!(f16),
                _ => by_out!(bf16),
            }
        }
    }))
    .unwrap_or(SimdnormStatus::Internal)
}

/// Pre-LN step, fused: `h += d` (stored in `h`, rounded to its type), then `y = norm(h)`;
/// `kind` is `SIMDNORM_RMS` or `SIMDNORM_LAYER`. `h` and `d` are `rows * width` contiguous
/// elements of type `dtype`; `y` is `rows * width` elements of type `out_dtype` (an f32
/// residual stream can be normalized straight into a bf16 matmul input). `gamma` and `beta`
/// (NULL: none; `beta` must be NULL for RMSNorm) are `width` elements of type `weight_dtype`,
/// which is `SIMDNORM_F32` or `dtype`. `mean` (LayerNorm) and `rstd` receive `rows` floats
/// when not NULL. No buffer may overlap another.
///
/// # Safety
/// `h` readable and writable, `d` readable, `y` writable for `rows * width` elements of their
/// types; `gamma`/`beta` readable for `width` elements and `mean`/`rstd` writable for `rows`
/// floats when not NULL.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn simdnorm_residual_norm(
    kind: u32,
    dtype: u32,
    h: *mut c_void,
    d: *const c_void,
    out_dtype: u32,
    y: *mut c_void,
    rows: usize,
    width: usize,
    weight_dtype: u32,
    gamma: *const c_void,
    beta: *const c_void,
    eps: f32,
    mean: *mut f32,
    rstd: *mut f32,
) -> SimdnormStatus {
    let c = Fused {
        kind,
        dtype,
        x: h,
        d,
        alpha: 1.0,
        out_dtype,
        y,
        rows,
        width,
        wdtype: weight_dtype,
        gamma,
        beta,
        eps,
        mean,
        rstd,
        pre: true,
    };
    // SAFETY: the caller's contract above.
    unsafe { run_fused(c) }
}

/// Post-LN and DeepNorm, fused: `y = norm(alpha * x + d)` (Post-LN: `alpha = 1`; DeepNorm:
/// `alpha = (2N)^(1/4)` for N layers, see the Rust `deepnorm` module). The product and the
/// sum are each rounded to f32. `y == x` with `out_dtype == dtype` writes the result over `x`;
/// otherwise no buffer may overlap another. Other arguments as `simdnorm_residual_norm`.
///
/// # Safety
/// `x` and `d` readable (`x` also writable when `y == x`), `y` writable, for `rows * width`
/// elements of their types; `gamma`/`beta` readable for `width` elements and `mean`/`rstd`
/// writable for `rows` floats when not NULL.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn simdnorm_add_norm(
    kind: u32,
    dtype: u32,
    x: *const c_void,
    d: *const c_void,
    alpha: f32,
    out_dtype: u32,
    y: *mut c_void,
    rows: usize,
    width: usize,
    weight_dtype: u32,
    gamma: *const c_void,
    beta: *const c_void,
    eps: f32,
    mean: *mut f32,
    rstd: *mut f32,
) -> SimdnormStatus {
    let c = Fused {
        kind,
        dtype,
        x: x.cast_mut(),
        d,
        alpha,
        out_dtype,
        y,
        rows,
        width,
        wdtype: weight_dtype,
        gamma,
        beta,
        eps,
        mean,
        rstd,
        pre: false,
    };
    // SAFETY: the caller's contract above.
    unsafe { run_fused(c) }
}

const _: () = assert!(size_of::<f16>() == 2 && size_of::<bf16>() == 2);
