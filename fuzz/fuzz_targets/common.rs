//! Decoding of fuzz input into a normalization case, and the differential check of every path
//! this CPU has against the f64 reference (shared by the `rms` and `layer` targets).

use simdnorm::reference::{self, check_row};
use simdnorm::{Element, Isa, Norm, Parallelism, Stats};

/// A little reader over the fuzz bytes (zeros once they run out).
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// Any element of type `T`, from raw bits (NaN payloads, Inf, subnormals, -0.0 included).
    pub fn elem<T: Element>(&mut self) -> T {
        match T::BYTES {
            2 if T::NAME == "f16" => T::from_f32(half::f16::from_bits(self.u16()).to_f32()),
            2 => T::from_f32(half::bf16::from_bits(self.u16()).to_f32()),
            _ => T::from_f32(f32::from_bits(self.u32())),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(dead_code)] // each target constructs one variant
pub enum Kind {
    Rms,
    Layer,
}

/// Decodes a case of element type `T` (weights `W`) and checks it on every path.
pub fn run<T: Element, W: Element>(kind: Kind, b: &mut Bytes<'_>) {
    let width = 1 + (b.u16() as usize % 300);
    let rows = 1 + (b.u8() as usize % 4);
    let flags = b.u8();
    // eps: a few model values, or raw bits made finite and >= 0 (NaN/negative are API errors,
    // checked by the api target).
    let eps = match flags % 4 {
        0 => 0.0,
        1 => 1e-6,
        2 => 1e-5,
        _ => {
            let e = f32::from_bits(b.u32()).abs();
            if e.is_finite() { e } else { 1.0 }
        }
    };
    let x: Vec<T> = (0..rows * width).map(|_| b.elem::<T>()).collect();
    // Weights and biases: finite values in [-4, 4] (non-finite weights propagate by IEEE rules
    // and have no bound to check).
    let mut param = |on: bool| -> Option<Vec<W>> {
        on.then(|| {
            (0..width)
                .map(|_| W::from_f32((b.u16() as f32 / 65535.0) * 8.0 - 4.0))
                .collect()
        })
    };
    let gamma = param(flags & 4 != 0);
    let beta = if kind == Kind::Layer {
        param(flags & 8 != 0)
    } else {
        None
    };
    for isa in Isa::available() {
        let norm = match kind {
            Kind::Rms => Norm::rms(eps),
            Kind::Layer => Norm::layer(eps),
        }
        .isa(isa)
        .parallelism(Parallelism::None);
        let mut y = vec![T::ZERO; x.len()];
        let mut rstd = vec![0.0f32; rows];
        norm.forward_with_stats(
            &x,
            rows,
            width,
            gamma.as_deref(),
            beta.as_deref(),
            &mut y,
            Stats {
                mean: None,
                rstd: Some(&mut rstd),
            },
        )
        .expect("valid arguments");
        for r in 0..rows {
            let xr = &x[r * width..(r + 1) * width];
            let want = match kind {
                Kind::Rms => reference::rms_norm(xr, gamma.as_deref(), eps),
                Kind::Layer => reference::layer_norm(xr, gamma.as_deref(), beta.as_deref(), eps),
            };
            if let Err((i, msg)) = check_row(
                &y[r * width..(r + 1) * width],
                &want,
                gamma.as_deref(),
                beta.as_deref(),
            ) {
                panic!(
                    "{kind:?} {}->{} {isa} width {width} eps {eps} row {r} elem {i}: {msg}",
                    T::NAME,
                    W::NAME
                );
            }
            assert_eq!(
                rstd[r].is_nan(),
                want.rstd.is_nan(),
                "NaN rule for the statistics"
            );
        }
        // In place gives the same bits.
        let mut z = x.clone();
        norm.forward_inplace(&mut z, rows, width, gamma.as_deref(), beta.as_deref())
            .expect("valid arguments");
        assert!(
            z.iter()
                .zip(&y)
                .all(|(a, b)| a.to_f32().to_bits() == b.to_f32().to_bits())
        );
    }
}

/// Picks the element and weight types from one byte.
pub fn run_any(kind: Kind, data: &[u8]) {
    let mut b = Bytes(data);
    match b.u8() % 5 {
        0 => run::<f32, f32>(kind, &mut b),
        1 => run::<half::f16, half::f16>(kind, &mut b),
        2 => run::<half::f16, f32>(kind, &mut b),
        3 => run::<half::bf16, half::bf16>(kind, &mut b),
        _ => run::<half::bf16, f32>(kind, &mut b),
    }
}
