//! Which instruction set the kernels run on: detected once per process, cached, and forceable.

use core::fmt;
use core::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::NormError;

/// An instruction-set path of the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Isa {
    /// Portable code (four `f32` lanes emulated in plain Rust); runs everywhere.
    Scalar,
    /// x86-64-v3: AVX2 + FMA, with F16C for `f16` conversions (8 `f32` lanes).
    Avx2,
    /// x86-64-v4: AVX-512 F/BW/CD/DQ/VL (16 `f32` lanes).
    Avx512,
    /// aarch64 Advanced SIMD (4 `f32` lanes).
    Neon,
}

impl Isa {
    /// Every path, best first.
    pub const ALL: [Isa; 4] = [Isa::Avx512, Isa::Avx2, Isa::Neon, Isa::Scalar];

    /// The lower-case name used by `SIMDNORM_ISA` and [`Display`](fmt::Display).
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// Whether this CPU (and build target) can run this path.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => crate::arch::x86_64::Avx2Token::is_available(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => crate::arch::x86_64::Avx512Token::is_available(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => crate::arch::aarch64::NeonToken::is_available(),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every path this CPU can run, best first (always ends with [`Isa::Scalar`]).
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The best path this CPU can run, ignoring `SIMDNORM_ISA`.
    pub fn detect() -> Isa {
        Isa::ALL
            .into_iter()
            .find(|i| i.is_available())
            .unwrap_or(Isa::Scalar)
    }

    fn to_u8(self) -> u8 {
        self as u8
    }

    fn from_u8(v: u8) -> Option<Isa> {
        Isa::ALL.into_iter().find(|i| i.to_u8() == v)
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an ISA name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseIsaError(pub String);

impl fmt::Display for ParseIsaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown instruction set {:?}; expected one of scalar, avx2, avx512, neon",
            self.0
        )
    }
}

impl std::error::Error for ParseIsaError {}

impl FromStr for Isa {
    type Err = ParseIsaError;
    fn from_str(s: &str) -> Result<Isa, ParseIsaError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scalar" | "portable" => Ok(Isa::Scalar),
            "avx2" | "x86-64-v3" | "v3" => Ok(Isa::Avx2),
            "avx512" | "avx-512" | "x86-64-v4" | "v4" => Ok(Isa::Avx512),
            "neon" => Ok(Isa::Neon),
            _ => Err(ParseIsaError(s.to_string())),
        }
    }
}

const UNSET: u8 = u8::MAX;
static ACTIVE: AtomicU8 = AtomicU8::new(UNSET);

/// The name of the environment variable read once, at the first call, to force a path.
pub const ISA_ENV: &str = "SIMDNORM_ISA";

/// Decides the process-wide path from the CPU and `SIMDNORM_ISA`. A name that does not parse,
/// or a path this CPU lacks, is reported on stderr once and the detected path is used.
fn choose() -> Isa {
    let detected = Isa::detect();
    match std::env::var(ISA_ENV) {
        Err(_) => detected,
        Ok(v) if v.trim().is_empty() => detected,
        Ok(v) => match v.parse::<Isa>() {
            Ok(isa) if isa.is_available() => isa,
            Ok(isa) => {
                eprintln!(
                    "simdnorm: {ISA_ENV}={v}: {isa} is not available on this CPU; using {detected}"
                );
                detected
            }
            Err(e) => {
                eprintln!("simdnorm: {ISA_ENV}: {e}; using {detected}");
                detected
            }
        },
    }
}

/// The path the kernels use by default in this process: the best the CPU has, or the one
/// `SIMDNORM_ISA` names. Decided at the first call, then cached (one atomic load per call).
#[inline]
pub fn isa() -> Isa {
    match Isa::from_u8(ACTIVE.load(Ordering::Relaxed)) {
        Some(isa) => isa,
        None => {
            let isa = choose();
            ACTIVE.store(isa.to_u8(), Ordering::Relaxed);
            isa
        }
    }
}

/// Forces the process-wide default path (for benchmarks and whole-process experiments; a
/// single call can instead name its path with [`Norm::isa`](crate::Norm::isa)).
///
/// Returns [`NormError::IsaUnavailable`] and changes nothing if this CPU lacks `isa`.
pub fn force_isa(isa: Isa) -> Result<(), NormError> {
    if !isa.is_available() {
        return Err(NormError::IsaUnavailable(isa));
    }
    ACTIVE.store(isa.to_u8(), Ordering::Relaxed);
    Ok(())
}

/// The name of the environment variable that, set to `0` (read once, at the first call that
/// reads or stores bf16 on the AVX-512 path), keeps that path from using AVX512-BF16: its
/// conversion for bf16 stores (the same bits either way) and its dot products for the RMSNorm
/// statistics of bf16 rows (other bits, within the same error bound). For comparing the two
/// (benchmarks, and CPUs that have AVX-512 without AVX512-BF16).
pub const AVX512_BF16_ENV: &str = "SIMDNORM_AVX512_BF16";

#[cfg(target_arch = "x86_64")]
static AVX512_BF16: AtomicU8 = AtomicU8::new(UNSET);

/// Whether the AVX-512 path uses AVX512-BF16 where the CPU has it: yes,
/// unless [`AVX512_BF16_ENV`] is `0` (decided once, then cached).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_bf16_allowed() -> bool {
    match AVX512_BF16.load(Ordering::Relaxed) {
        UNSET => {
            let allowed = std::env::var(AVX512_BF16_ENV).map_or(true, |v| v.trim() != "0");
            AVX512_BF16.store(allowed as u8, Ordering::Relaxed);
            allowed
        }
        v => v != 0,
    }
}
