/*
 * simdnorm: SIMD LayerNorm and RMSNorm for f32, f16 and bf16 rows (C ABI).
 * Generated from src/capi.rs by cbindgen (scripts/gen-header.sh); do not edit.
 *
 * Link: -lsimdnorm (libsimdnorm.a from
 *   cargo rustc --release --features capi --lib --crate-type staticlib)
 * plus, for the static library, the system libraries Rust's std needs: -lpthread -ldl -lm.
 * f16 and bf16 elements are passed as uint16_t bit patterns.
 */

#ifndef SIMDNORM_H
#define SIMDNORM_H

#include <stddef.h>
#include <stdint.h>

// Element type code: IEEE binary32 (`float`).
#define SIMDNORM_F32 0

// Element type code: IEEE binary16, as `uint16_t` bits.
#define SIMDNORM_F16 1

// Element type code: bfloat16, as `uint16_t` bits.
#define SIMDNORM_BF16 2

// Norm kind code: RMSNorm.
#define SIMDNORM_RMS 0

// Norm kind code: LayerNorm.
#define SIMDNORM_LAYER 1

// Instruction-set code: portable code.
#define SIMDNORM_ISA_SCALAR 0

// Instruction-set code: x86-64 AVX2 + FMA + F16C.
#define SIMDNORM_ISA_AVX2 1

// Instruction-set code: x86-64 AVX-512 (F/BW/CD/DQ/VL).
#define SIMDNORM_ISA_AVX512 2

// Instruction-set code: aarch64 NEON.
#define SIMDNORM_ISA_NEON 3

// The result of every call. `SIMDNORM_STATUS_OK` is 0; nothing is written when a call
// returns anything else.
typedef enum SimdnormStatus {
  // Success.
  SIMDNORM_STATUS_OK = 0,
  // A required pointer (x or y) is NULL.
  SIMDNORM_STATUS_NULL_POINTER = 1,
  // The row width is 0.
  SIMDNORM_STATUS_ZERO_WIDTH = 2,
  // A row stride is smaller than the row width.
  SIMDNORM_STATUS_STRIDE_TOO_SMALL = 3,
  // The extent of the rows, `(rows - 1) * stride + width`, or its size in bytes, overflows.
  SIMDNORM_STATUS_SIZE_OVERFLOW = 4,
  // eps is negative, NaN or infinite.
  SIMDNORM_STATUS_BAD_EPSILON = 5,
  // Buffers overlap where they must not: the output with the input (other than exactly, for
  // in-place), or any written buffer with any other.
  SIMDNORM_STATUS_OVERLAP = 6,
  // A pointer is not aligned to its element type.
  SIMDNORM_STATUS_MISALIGNED = 7,
  // An element-type code is unknown.
  SIMDNORM_STATUS_BAD_DTYPE = 8,
  // The instruction set is not available on this CPU.
  SIMDNORM_STATUS_ISA_UNAVAILABLE = 9,
  // An instruction-set code is unknown.
  SIMDNORM_STATUS_BAD_ISA = 10,
  // An internal error (a bug: please report it). Nothing was written.
  SIMDNORM_STATUS_INTERNAL = 11,
  // A bias was given to RMSNorm, which takes none.
  SIMDNORM_STATUS_UNSUPPORTED = 12,
  // The residual scale alpha is NaN or infinite.
  SIMDNORM_STATUS_BAD_ALPHA = 13,
  // A norm-kind code is unknown (`SIMDNORM_RMS`, `SIMDNORM_LAYER`).
  SIMDNORM_STATUS_BAD_KIND = 14,
} SimdnormStatus;







#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// A static, NUL-terminated description of a status code (of any value: an unknown code gets
// "unknown status code").
const char *simdnorm_status_message(int32_t status);

// Sets how calls use threads, for the whole process: 0 (the default) spreads large batches
// (2 MiB of input or more, 1 MiB a thread) over the Rust rayon pool and runs small ones on
// the calling thread; 1 always runs on the calling thread (use this when the backend has its
// own thread pool and calls simdnorm from each of its threads on its own rows); n >= 2 always
// splits a batch into up to n blocks of rows on the rayon pool.
void simdnorm_set_threads(size_t threads);

// The value last given to `simdnorm_set_threads` (0 by default).
size_t simdnorm_threads(void);

// The instruction set the kernels use (a `SIMDNORM_ISA_*` code).
uint32_t simdnorm_isa(void);

// The name of the instruction set the kernels use ("scalar", "avx2", "avx512" or "neon"),
// static and NUL-terminated.
const char *simdnorm_isa_name(void);

// Forces the instruction set for the whole process (a `SIMDNORM_ISA_*` code).
enum SimdnormStatus simdnorm_force_isa(uint32_t isa);

// RMSNorm of `rows` rows of `width` elements: `y = x / sqrt(mean(x^2) + eps) * gamma`.
//
// `dtype` (`SIMDNORM_F32`, `SIMDNORM_F16`, `SIMDNORM_BF16`) is the type of `x` and `y`; row `r`
// of `x` starts at element `r * x_stride`, of `y` at `r * y_stride` (strides in elements,
// at least `width`). `y == x` with equal strides normalizes in place; any other overlap is
// refused. `gamma` (NULL: all ones) holds `width` elements of type `weight_dtype`. `rstd`
// (NULL: not wanted) receives `rows` values `1 / sqrt(mean(x^2) + eps)`. A row holding NaN or
// Inf comes out all NaN.
//
// # Safety
// `x` must be readable for `(rows - 1) * x_stride + width` elements, `y` writable for
// `(rows - 1) * y_stride + width` elements, `gamma` readable for `width` elements and `rstd`
// writable for `rows` floats when not NULL, for the duration of the call.
enum SimdnormStatus simdnorm_rms_norm(uint32_t dtype,
                                      const void *x,
                                      size_t x_stride,
                                      void *y,
                                      size_t y_stride,
                                      size_t rows,
                                      size_t width,
                                      uint32_t weight_dtype,
                                      const void *gamma,
                                      float eps,
                                      float *rstd);

// LayerNorm of `rows` rows of `width` elements:
// `y = (x - mean) / sqrt(var + eps) * gamma + beta` (population variance).
//
// Arguments as `simdnorm_rms_norm`; `beta` (NULL: zeros) holds `width` elements of type
// `weight_dtype`, like `gamma`; `mean` and `rstd` (each NULL: not wanted) receive `rows`
// values each, the row mean and `1 / sqrt(var + eps)`.
//
// # Safety
// As `simdnorm_rms_norm`, and `beta` readable for `width` elements, `mean` writable for `rows`
// floats, when not NULL.
enum SimdnormStatus simdnorm_layer_norm(uint32_t dtype,
                                        const void *x,
                                        size_t x_stride,
                                        void *y,
                                        size_t y_stride,
                                        size_t rows,
                                        size_t width,
                                        uint32_t weight_dtype,
                                        const void *gamma,
                                        const void *beta,
                                        float eps,
                                        float *mean,
                                        float *rstd);

// Pre-LN step, fused: `h += d` (stored in `h`, rounded to its type), then `y = norm(h)`;
// `kind` is `SIMDNORM_RMS` or `SIMDNORM_LAYER`. `h` and `d` are `rows * width` contiguous
// elements of type `dtype`; `y` is `rows * width` elements of type `out_dtype` (an f32
// residual stream can be normalized straight into a bf16 matmul input). `gamma` and `beta`
// (NULL: none; `beta` must be NULL for RMSNorm) are `width` elements of type `weight_dtype`,
// which is `SIMDNORM_F32` or `dtype`. `mean` (LayerNorm) and `rstd` receive `rows` floats
// when not NULL. No buffer may overlap another.
//
// # Safety
// `h` readable and writable, `d` readable, `y` writable for `rows * width` elements of their
// types; `gamma`/`beta` readable for `width` elements and `mean`/`rstd` writable for `rows`
// floats when not NULL.
enum SimdnormStatus simdnorm_residual_norm(uint32_t kind,
                                           uint32_t dtype,
                                           void *h,
                                           const void *d,
                                           uint32_t out_dtype,
                                           void *y,
                                           size_t rows,
                                           size_t width,
                                           uint32_t weight_dtype,
                                           const void *gamma,
                                           const void *beta,
                                           float eps,
                                           float *mean,
                                           float *rstd);

// Post-LN and DeepNorm, fused: `y = norm(alpha * x + d)` (Post-LN: `alpha = 1`; DeepNorm:
// `alpha = (2N)^(1/4)` for N layers, see the Rust `deepnorm` module). The product and the
// sum are each rounded to f32. `y == x` with `out_dtype == dtype` writes the result over `x`;
// otherwise no buffer may overlap another. Other arguments as `simdnorm_residual_norm`.
//
// # Safety
// `x` and `d` readable (`x` also writable when `y == x`), `y` writable, for `rows * width`
// elements of their types; `gamma`/`beta` readable for `width` elements and `mean`/`rstd`
// writable for `rows` floats when not NULL.
enum SimdnormStatus simdnorm_add_norm(uint32_t kind,
                                      uint32_t dtype,
                                      const void *x,
                                      const void *d,
                                      float alpha,
                                      uint32_t out_dtype,
                                      void *y,
                                      size_t rows,
                                      size_t width,
                                      uint32_t weight_dtype,
                                      const void *gamma,
                                      const void *beta,
                                      float eps,
                                      float *mean,
                                      float *rstd);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SIMDNORM_H */
