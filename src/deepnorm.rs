//! DeepNorm's constants (Wang et al. 2022, "DeepNet: Scaling Transformers to 1,000 Layers",
//! arXiv:2203.00555; `../shared/NORMS.md`, "DeepNorm").
//!
//! DeepNorm is Post-LN with an up-weighted residual: `x_{l+1} = LayerNorm(alpha * x_l +
//! G_l(x_l))` ([`Norm::add_forward`](crate::Norm::add_forward) with `alpha`). `beta` is the
//! gain of the Xavier-normal initialization of the feed-forward weights and of the attention
//! value and output projections (the query and key projections keep gain 1; nothing is
//! initialized to zero). Inference uses only `alpha`; `beta` is given for completeness.
//!
//! microsoft/torchscale uses 1.15 where the paper's encoder-decoder encoder `beta` has 0.87
//! (= 1/1.15); these functions follow the paper. GLM-130B trains with DeepNorm but
//! `alpha = (2N)^(1/2)` (N = 70 layers), larger than the paper's decoder-only value: pass that
//! alpha directly.

/// DeepNorm's residual scale and initialization gain for one stack of layers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeepNorm {
    /// The residual scale: `x_{l+1} = LayerNorm(alpha * x_l + G_l(x_l))`.
    pub alpha: f64,
    /// The Xavier-normal gain of the FFN, value and output projection weights at initialization.
    pub beta: f64,
}

impl DeepNorm {
    /// `alpha` as the `f32` the kernels take.
    pub fn alpha_f32(&self) -> f32 {
        self.alpha as f32
    }
}

/// An encoder-only model of `n` layers: `alpha = (2N)^(1/4)`, `beta = (8N)^(-1/4)`.
pub fn encoder_only(n: u32) -> DeepNorm {
    let n = n as f64;
    DeepNorm {
        alpha: (2.0 * n).powf(0.25),
        beta: (8.0 * n).powf(-0.25),
    }
}

/// A decoder-only model of `m` layers: `alpha = (2M)^(1/4)`, `beta = (8M)^(-1/4)`.
pub fn decoder_only(m: u32) -> DeepNorm {
    let m = m as f64;
    DeepNorm {
        alpha: (2.0 * m).powf(0.25),
        beta: (8.0 * m).powf(-0.25),
    }
}

/// An encoder-decoder model of `n` encoder and `m` decoder layers: (encoder, decoder) with
/// encoder `alpha = 0.81 (N^4 M)^(1/16)`, `beta = 0.87 (N^4 M)^(-1/16)` and decoder
/// `alpha = (3M)^(1/4)`, `beta = (12M)^(-1/4)`.
pub fn encoder_decoder(n: u32, m: u32) -> (DeepNorm, DeepNorm) {
    let (nf, mf) = (n as f64, m as f64);
    let nm = nf.powi(4) * mf;
    (
        DeepNorm {
            alpha: 0.81 * nm.powf(1.0 / 16.0),
            beta: 0.87 * nm.powf(-1.0 / 16.0),
        },
        DeepNorm {
            alpha: (3.0 * mf).powf(0.25),
            beta: (12.0 * mf).powf(-0.25),
        },
    )
}
