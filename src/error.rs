//! The error type every public function returns.

use core::fmt;

use crate::Isa;

/// Why a call was refused. Nothing is written to any output when a call returns `Err`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum NormError {
    /// The row width is zero.
    ZeroWidth,
    /// The input length is not a multiple of the row width.
    RaggedInput {
        /// Length of the input slice, in elements.
        len: usize,
        /// Requested row width, in elements.
        width: usize,
    },
    /// The input slice does not hold `rows * width` elements (or, for strided rows, is shorter
    /// than `(rows - 1) * stride + width`).
    InputLength {
        /// `rows * width`, or the strided extent.
        expected: usize,
        /// Length of the input slice.
        actual: usize,
    },
    /// The output slice does not have the input's length (or, for strided rows, is shorter
    /// than its extent).
    OutputLength {
        /// Length the output must have.
        expected: usize,
        /// Length it has.
        actual: usize,
    },
    /// The second input of a fused residual call (`d`) does not have the input's length.
    ResidualLength {
        /// Length it must have (`rows * width`).
        expected: usize,
        /// Its length.
        actual: usize,
    },
    /// The residual scale `alpha` is NaN or infinite.
    BadAlpha(f32),
    /// A weight (`gamma`) or bias (`beta`) slice is not `width` long.
    ParamLength {
        /// Which parameter: `"gamma"` or `"beta"`.
        param: &'static str,
        /// The row width it must match.
        expected: usize,
        /// Its length.
        actual: usize,
    },
    /// A per-row statistics slice does not have one entry per row.
    StatsLength {
        /// Which statistic: `"mean"` or `"rstd"`.
        stat: &'static str,
        /// The number of rows.
        expected: usize,
        /// Its length.
        actual: usize,
    },
    /// A row stride is smaller than the row width (rows would overlap).
    StrideTooSmall {
        /// The stride, in elements.
        stride: usize,
        /// The row width, in elements.
        width: usize,
    },
    /// `rows * width` (or `(rows - 1) * stride + width`) does not fit in `usize`.
    SizeOverflow {
        /// Number of rows.
        rows: usize,
        /// Row width.
        width: usize,
    },
    /// Epsilon is negative, NaN or infinite. It must be finite and `>= 0`.
    BadEpsilon(f32),
    /// The operation does not take this argument (a bias or a mean output for RMSNorm).
    Unsupported(&'static str),
    /// The requested instruction set is not available on this CPU (or this build target).
    IsaUnavailable(Isa),
}

impl fmt::Display for NormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NormError::ZeroWidth => write!(f, "row width is 0; it must be at least 1"),
            NormError::RaggedInput { len, width } => write!(
                f,
                "input length {len} is not a multiple of the row width {width}"
            ),
            NormError::InputLength { expected, actual } => write!(
                f,
                "input length {actual} does not match rows * width = {expected}"
            ),
            NormError::OutputLength { expected, actual } => write!(
                f,
                "output length {actual} does not match the input length {expected}"
            ),
            NormError::ResidualLength { expected, actual } => write!(
                f,
                "residual input d has length {actual}, but the input has {expected} elements"
            ),
            NormError::BadAlpha(a) => write!(f, "residual scale alpha {a} is not finite"),
            NormError::ParamLength {
                param,
                expected,
                actual,
            } => write!(
                f,
                "{param} has length {actual}, but the row width is {expected}"
            ),
            NormError::StatsLength {
                stat,
                expected,
                actual,
            } => write!(
                f,
                "{stat} statistics slice has length {actual}, but there are {expected} rows"
            ),
            NormError::StrideTooSmall { stride, width } => write!(
                f,
                "row stride {stride} is smaller than the row width {width}"
            ),
            NormError::SizeOverflow { rows, width } => write!(
                f,
                "rows * width overflows usize ({rows} rows of width {width})"
            ),
            NormError::BadEpsilon(eps) => {
                write!(f, "epsilon {eps} is invalid; it must be finite and >= 0")
            }
            NormError::Unsupported(what) => write!(f, "unsupported argument: {what}"),
            NormError::IsaUnavailable(isa) => write!(
                f,
                "instruction set {isa} is not available on this CPU or build target"
            ),
        }
    }
}

impl std::error::Error for NormError {}
