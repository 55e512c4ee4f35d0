//! The peer the benchmarks compare with: candle's CPU `rms_norm` and `layer_norm`
//! (`candle_nn::ops`, the fused custom ops candle's models call). Compiled only with
//! `--features bench-peers`; shared by `examples/normbench.rs` and `benches/norms.rs`.

use candle_core::{DType, Device, Tensor};
use simdnorm::Element;

/// One shape's inputs as candle tensors, built once, outside the timed loop.
pub struct Candle {
    x: Tensor,
    gamma: Tensor,
    beta: Option<Tensor>,
    eps: f32,
}

impl Candle {
    /// `x` (`rows * width`), `gamma` and `beta` (`width`) as candle tensors of `T`'s dtype,
    /// holding the same values as simdnorm's inputs. `beta: None` is RMSNorm, `Some` LayerNorm.
    pub fn new<T: Element>(
        x: &[T],
        rows: usize,
        width: usize,
        gamma: &[T],
        beta: Option<&[T]>,
        eps: f32,
    ) -> Candle {
        let dt = match T::NAME {
            "f32" => DType::F32,
            "f16" => DType::F16,
            _ => DType::BF16,
        };
        let cpu = Device::Cpu;
        // Widening to f32 is exact, so the tensors converted back to `dt` hold the same values.
        let t = |v: &[T], shape: &[usize]| {
            let v: Vec<f32> = v.iter().map(|e| e.to_f32()).collect();
            Tensor::from_slice(&v, shape, &cpu)
                .and_then(|t| t.to_dtype(dt))
                .expect("candle tensor")
        };
        Candle {
            x: t(x, &[rows, width]),
            gamma: t(gamma, &[width]),
            beta: beta.map(|b| t(b, &[width])),
            eps,
        }
    }

    /// One call: RMSNorm or LayerNorm of every row (candle allocates the output).
    pub fn run(&self) -> Tensor {
        match &self.beta {
            None => candle_nn::ops::rms_norm(&self.x, &self.gamma, self.eps),
            Some(b) => candle_nn::ops::layer_norm(&self.x, &self.gamma, b, self.eps),
        }
        .expect("candle norm")
    }
}
