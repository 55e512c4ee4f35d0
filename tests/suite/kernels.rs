//! Every kernel x every element type x every path this CPU has, against the f64 reference,
//! under the numerics contract's bound.

use crate::common;
use crate::common::{Case, Kind, Rng, STYLES, Style, param, row};
use proptest::prelude::*;
use simdnorm::{Element, Isa, Parallelism};

fn kinds() -> [Kind; 2] {
    [Kind::Rms, Kind::Layer]
}

fn tails<T: Element, W: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for isa in Isa::available() {
        for kind in kinds() {
            for width in 1..=70 {
                let style = if width % 2 == 0 {
                    Style::Plain
                } else {
                    Style::BigMean
                };
                let case = Case::<T, W>::random(&mut rng, kind, style, 3, width);
                case.check(isa, "tails");
            }
        }
    }
}

/// Every width 1..=70, so each tail length of every path (up to 16 lanes x 4 vectors) is hit.
#[test]
fn every_tail_width() {
    for_each_type!(tails(1));
}

fn adversarial<T: Element, W: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for isa in Isa::available() {
        for kind in kinds() {
            for style in STYLES {
                // 16, 32 and 128 (and 136, with a tail) give every Welford accumulator
                // exactly one vector on NEON, AVX2 and AVX-512: a block of Chan merges only.
                for width in [1, 2, 7, 16, 32, 64, 100, 128, 136, 1000, 4099] {
                    let case = Case::<T, W>::random(&mut rng, kind, style, 2, width);
                    case.check(isa, &format!("adversarial {style:?}"));
                }
            }
        }
    }
}

/// Constant rows, zeros, one huge element, big means, f16-max values, subnormals, wide ranges,
/// overflowing squares: every style on every path.
#[test]
fn adversarial_rows() {
    for_each_type!(adversarial(2));
}

fn mixed_batch<T: Element, W: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for isa in Isa::available() {
        for kind in kinds() {
            for width in [2048, 4100] {
                let rows = 40;
                let mut x = Vec::with_capacity(rows * width);
                for r in 0..rows {
                    x.extend(row::<T>(&mut rng, STYLES[r % STYLES.len()], width));
                }
                // A row with a NaN between fast rows of the same group.
                x[7 * width + 5] = T::from_f32(f32::NAN);
                let gamma = param::<W>(&mut rng, width);
                let beta = param::<W>(&mut rng, width).filter(|_| kind == Kind::Layer);
                let case = Case::<T, W> {
                    kind,
                    width,
                    x,
                    gamma: gamma.or_else(|| beta.is_none().then(|| vec![W::from_f32(1.5); width])),
                    beta,
                    eps: 1e-5,
                };
                case.check(isa, "mixed batch");
            }
        }
    }
}

/// Batches of wide rows take the grouped, tiled apply (statistics of a group of rows, then the
/// apply tile by tile): every row style in one batch, so that rescaled, constant and NaN rows
/// sit between fast rows of a group; more rows than a group; a width with a partial last tile;
/// every path and type, in place and out, with statistics.
#[test]
fn mixed_styles_in_one_batch() {
    for_each_type!(mixed_batch(5));
}

fn rows_alone<T: Element, W: Element>(seed: u64) {
    let mut rng = Rng(seed);
    let bits = |v: &[T]| v.iter().map(|e| e.to_f32().to_bits()).collect::<Vec<_>>();
    let fbits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
    for isa in Isa::available() {
        for kind in kinds() {
            for width in [1, 5, 16, 17, 32, 64, 100, 128, 255, 256, 1000] {
                let rows = 37;
                let mut x = Vec::with_capacity(rows * width);
                for r in 0..rows {
                    x.extend(row::<T>(&mut rng, STYLES[r % STYLES.len()], width));
                }
                x[3 * width + width / 2] = T::from_f32(f32::NAN);
                let case = Case::<T, W> {
                    kind,
                    width,
                    x,
                    gamma: param::<W>(&mut rng, width),
                    beta: param::<W>(&mut rng, width).filter(|_| kind == Kind::Layer),
                    eps: common::eps(&mut rng),
                };
                let (y, mean, rstd) = case.run(isa, Parallelism::None);
                for r in 0..rows {
                    let one = Case::<T, W> {
                        x: case.x[r * width..(r + 1) * width].to_vec(),
                        gamma: case.gamma.clone(),
                        beta: case.beta.clone(),
                        ..case
                    };
                    let (y1, m1, s1) = one.run(isa, Parallelism::None);
                    let label = format!("{isa} {kind:?} {} width {width} row {r}", T::NAME);
                    assert_eq!(bits(&y[r * width..(r + 1) * width]), bits(&y1), "{label}");
                    assert_eq!(fbits(&mean[r..r + 1]), fbits(&m1), "{label}: mean");
                    assert_eq!(fbits(&rstd[r..r + 1]), fbits(&s1), "{label}: rstd");
                }
            }
        }
    }
}

/// A row gives the same bits in a batch as alone: short rows of a batch (LayerNorm and RMSNorm)
/// have their statistics reduced `N` rows at a time, a row alone (or the last of a batch) on its own; every
/// row style (rescaled, constant, NaN rows among the fast ones), in place and out, with
/// statistics.
#[test]
fn batch_rows_equal_rows_alone() {
    for_each_type!(rows_alone(13));
}

fn subnormal_factor<T: Element, W: Element>() {
    for isa in Isa::available() {
        for kind in kinds() {
            for eps in [f32::MAX, 3.396_177_3e38, 1e36, 1e30] {
                for e in -110..=-60 {
                    for m in [1.0f32, 1.5, 1.999] {
                        let a = m * 2f32.powi(e);
                        for width in [2usize, 37] {
                            let x: Vec<T> = (0..width)
                                .map(|i| T::from_f32(if i % 2 == 0 { a } else { -a * 0.75 }))
                                .collect();
                            let gamma: Vec<W> = (0..width)
                                .map(|i| W::from_f32(if i % 3 == 0 { -4.0 } else { 4.0 }))
                                .collect();
                            let case = Case::<T, W> {
                                kind,
                                width,
                                x,
                                gamma: Some(gamma),
                                beta: None,
                                eps,
                            };
                            case.check(isa, &format!("subnormal factor a={a:e}"));
                        }
                    }
                }
            }
        }
    }
}

/// Rows so small that they take the rescaled path, with an `eps` so large that the rescaled
/// row's factor `1 / sqrt(var + eps)` falls below f32's normal range, on either side of
/// 2^-149: the factor's power-of-two part must not round to zero (a fuzz finding: RMSNorm,
/// width 2, `eps` 3.396e38, gave 0 for an output of 4 x 2^-149).
#[test]
fn factor_below_the_normal_range() {
    for_each_type!(subnormal_factor());
}

fn random_case<T: Element, W: Element>(seed: u64, width: usize, rows: usize, style: usize) {
    let mut rng = Rng(seed);
    let style = STYLES[style % STYLES.len()];
    for isa in Isa::available() {
        for kind in kinds() {
            let case = Case::<T, W>::random(&mut rng, kind, style, rows, width);
            case.check(isa, &format!("proptest {style:?}"));
        }
    }
}

fn width_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=70, 71usize..=2048, 2049usize..=20000]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("SIMDNORM_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// Random widths 1..=20000, rows, styles, eps, weights and biases, on every path and type.
    #[test]
    fn random_rows_match_reference(seed in any::<u64>(), width in width_strategy(),
                                   rows in 1usize..4, style in 0usize..STYLES.len()) {
        for_each_type!(random_case(seed, width, rows, style));
    }
}

/// All forced paths agree with each other within the sum of their bounds (each is within its
/// bound of the reference).
#[test]
fn paths_agree() {
    let mut rng = Rng(7);
    for kind in kinds() {
        for width in [5, 33, 768, 4096, 4097] {
            let case = Case::<f32, f32>::random(&mut rng, kind, Style::Plain, 3, width);
            let outs: Vec<_> = Isa::available()
                .into_iter()
                .map(|isa| (isa, case.run(isa, simdnorm::Parallelism::None).0))
                .collect();
            for r in 0..case.rows() {
                let xr = &case.x[r * width..(r + 1) * width];
                let refr = common::reference(
                    kind,
                    xr,
                    case.gamma.as_deref(),
                    case.beta.as_deref(),
                    case.eps,
                );
                for i in 0..width {
                    let tol = simdnorm::reference::bound::<f32, f32>(
                        &refr,
                        case.gamma.as_deref(),
                        case.beta.as_deref(),
                        i,
                    );
                    for (a, ya) in &outs {
                        for (b, yb) in &outs {
                            let d = (ya[r * width + i] - yb[r * width + i]).abs() as f64;
                            assert!(
                                d <= 2.0 * tol,
                                "{a} and {b} differ by {d:e} > 2 x {tol:e} at row {r} elem {i} ({kind:?}, width {width})"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Slices that start at an odd element offset inside a larger buffer (misaligned for every
/// vector width) give the same bits as aligned ones.
#[test]
fn misaligned_slices() {
    let mut rng = Rng(11);
    for isa in Isa::available() {
        for kind in kinds() {
            let width = 77;
            let case = Case::<f32, f32>::random(&mut rng, kind, Style::Plain, 2, width);
            let (want, _, _) = case.run(isa, simdnorm::Parallelism::None);
            for off in 1..4 {
                let mut buf = vec![0.0f32; case.x.len() + off];
                buf[off..].copy_from_slice(&case.x);
                let mut out = vec![0.0f32; case.x.len() + off];
                common::norm(kind, case.eps)
                    .isa(isa)
                    .forward(
                        &buf[off..],
                        2,
                        width,
                        case.gamma.as_deref(),
                        case.beta.as_deref(),
                        &mut out[off..],
                    )
                    .unwrap();
                assert_eq!(&out[off..], &want[..], "offset {off} on {isa}");
                let h: Vec<half::f16> = buf.iter().map(|&v| half::f16::from_f32(v)).collect();
                let mut ho = vec![half::f16::ZERO; h.len()];
                let mut ho_aligned = vec![half::f16::ZERO; h.len() - off];
                let g: Option<Vec<half::f16>> = case
                    .gamma
                    .as_ref()
                    .map(|g| g.iter().map(|&v| half::f16::from_f32(v)).collect());
                let n = common::norm(kind, case.eps).isa(isa);
                n.forward(&h[off..], 2, width, g.as_deref(), None, &mut ho[off..])
                    .unwrap();
                let h_aligned = h[off..].to_vec();
                n.forward(&h_aligned, 2, width, g.as_deref(), None, &mut ho_aligned)
                    .unwrap();
                assert_eq!(&ho[off..], &ho_aligned[..], "f16 offset {off} on {isa}");
            }
        }
    }
}

/// Every offset of the output within a 64-byte line, with the input where it is, gives the
/// same bits; so does normalizing in place at every offset. An element's result may not depend
/// on where the output lies (a kernel that peels a row's first elements off so that its stores
/// are aligned, as the streaming stores do, must keep this).
fn output_offsets<T: Element + PartialEq + std::fmt::Debug>(
    n: &simdnorm::Norm,
    x: &[T],
    width: usize,
    g: Option<&[f32]>,
    be: Option<&[f32]>,
    label: &str,
) {
    let rows = x.len() / width;
    let mut want = vec![T::ZERO; x.len()];
    n.forward(x, rows, width, g, be, &mut want).unwrap();
    let lanes = 64 / T::BYTES;
    for off in 0..lanes {
        let mut out = vec![T::ZERO; x.len() + lanes];
        n.forward(x, rows, width, g, be, &mut out[off..off + x.len()])
            .unwrap();
        assert_eq!(
            &out[off..off + x.len()],
            &want[..],
            "{} {label} offset {off}",
            T::NAME
        );
        let mut buf = vec![T::ZERO; x.len() + lanes];
        buf[off..off + x.len()].copy_from_slice(x);
        n.forward_inplace(&mut buf[off..off + x.len()], rows, width, g, be)
            .unwrap();
        assert_eq!(
            &buf[off..off + x.len()],
            &want[..],
            "{} {label} in place, offset {off}",
            T::NAME
        );
    }
}

#[test]
fn output_alignment_keeps_bits() {
    let mut rng = Rng(17);
    for isa in Isa::available() {
        for kind in kinds() {
            for width in [1usize, 7, 16, 23, 64, 128, 129, 300] {
                let case = Case::<f32, f32>::random(&mut rng, kind, Style::Plain, 3, width);
                let h: Vec<half::f16> = case.x.iter().map(|&v| half::f16::from_f32(v)).collect();
                let b: Vec<half::bf16> = case.x.iter().map(|&v| half::bf16::from_f32(v)).collect();
                let n = common::norm(kind, case.eps).isa(isa);
                let (g, be) = (case.gamma.as_deref(), case.beta.as_deref());
                let label = format!("{isa} {kind:?} width {width}");
                output_offsets(&n, &case.x, width, g, be, &label);
                output_offsets(&n, &h, width, g, be, &label);
                output_offsets(&n, &b, width, g, be, &label);
            }
        }
    }
}

/// `n` on the `rows` rows of `x`, written `off` elements into the output, gives the same bits
/// with streaming and with cached stores.
#[allow(clippy::too_many_arguments)]
fn stores_agree<T: Element + PartialEq + std::fmt::Debug, W: Element>(
    n: &simdnorm::Norm,
    x: &[T],
    rows: usize,
    width: usize,
    g: Option<&[W]>,
    be: Option<&[W]>,
    off: usize,
    label: &str,
) {
    use simdnorm::Stores;
    let mut a = vec![T::ZERO; x.len() + off];
    let mut c = vec![T::ZERO; x.len() + off];
    n.stores(Stores::Streaming)
        .forward(x, rows, width, g, be, &mut a[off..])
        .unwrap();
    n.stores(Stores::Cached)
        .forward(x, rows, width, g, be, &mut c[off..])
        .unwrap();
    assert_eq!(a, c, "{} {label}", T::NAME);
}

/// Non-temporal stores (forced; automatic only for outputs of 64 MiB and more) give the same
/// bits as ordinary ones, for every type, path, alignment of the output and tail length; bf16
/// rows with f32 weights, and with bf16 weights (read in the split order of AVX2's bf16 pairs).
#[test]
fn streaming_stores_match() {
    let mut rng = Rng(13);
    for isa in Isa::available() {
        for kind in kinds() {
            for width in [1usize, 12, 15, 16, 17, 20, 100, 1000] {
                let case = Case::<f32, f32>::random(&mut rng, kind, Style::Plain, 3, width);
                let h: Vec<half::f16> = case.x.iter().map(|&v| half::f16::from_f32(v)).collect();
                let b: Vec<half::bf16> = case.x.iter().map(|&v| half::bf16::from_f32(v)).collect();
                // Offsets of 0 to 32 elements: every misalignment of the widest aligned stores
                // (64 bytes: f32 vectors, and bf16 stored in pairs on AVX-512 with
                // AVX512-BF16; 32 bytes of bf16 pairs on AVX2) from the 16-byte alignment of
                // the allocation. Widths 12 and 20 end before the first aligned store (rows
                // shorter than the way to it).
                for off in 0..33 {
                    let n = common::norm(kind, case.eps).isa(isa);
                    let (g, be) = (case.gamma.as_deref(), case.beta.as_deref());
                    let label = format!("{isa} {kind:?} width {width} offset {off}");
                    stores_agree(&n, &case.x, 3, width, g, be, off, &label);
                    stores_agree(&n, &h, 3, width, g, be, off, &label);
                    stores_agree(&n, &b, 3, width, g, be, off, &label);
                    let (gb, bb) = (bf16_copy(g), bf16_copy(be));
                    stores_agree(&n, &b, 3, width, gb.as_deref(), bb.as_deref(), off, &label);
                }
            }
        }
    }
}

/// A weight or bias rounded to bf16.
fn bf16_copy(w: Option<&[f32]>) -> Option<Vec<half::bf16>> {
    w.map(|w| w.iter().map(|&v| half::bf16::from_f32(v)).collect())
}

/// [`stores_agree`] out of place (`off` 0), and the same in place.
fn stores_agree_both<T: Element + PartialEq + std::fmt::Debug, W: Element>(
    n: &simdnorm::Norm,
    x: &[T],
    rows: usize,
    width: usize,
    g: Option<&[W]>,
    be: Option<&[W]>,
    label: &str,
) {
    use simdnorm::Stores;
    stores_agree(
        n,
        x,
        rows,
        width,
        g,
        be,
        0,
        &format!("out of place {label}"),
    );
    let (s, c) = (n.stores(Stores::Streaming), n.stores(Stores::Cached));
    let (mut a, mut b) = (x.to_vec(), x.to_vec());
    s.forward_inplace(&mut a, rows, width, g, be).unwrap();
    c.forward_inplace(&mut b, rows, width, g, be).unwrap();
    assert_eq!(a, b, "{} in place {label}", T::NAME);
}

/// Batches of rows wide enough for the tiled apply: the same bits with streaming and with
/// cached stores, out of place and in place, with a constant row (the rescaled path) among
/// them and every combination of weight and bias. With streaming stores LayerNorm tiles a row
/// only when the row, its weight and its bias exceed 40 KiB (width 4100 with both weight and
/// bias, for `f32` and for 16-bit rows with `f32` weights); its other rows, and every row of
/// width 2100, go one by one. bf16 rows also with bf16 weights and biases (AVX2 reads all-bf16
/// streams in its split order).
#[test]
fn streaming_stores_match_wide_rows() {
    let mut rng = Rng(29);
    let rows = 5;
    for (isa, width) in Isa::available()
        .into_iter()
        .flat_map(|i| [(i, 2100), (i, 4100)])
    {
        for kind in kinds() {
            let mut case = Case::<f32, f32>::random(&mut rng, kind, Style::Plain, rows, width);
            case.x[2 * width..3 * width].fill(0.75);
            let h: Vec<half::f16> = case.x.iter().map(|&v| half::f16::from_f32(v)).collect();
            let b: Vec<half::bf16> = case.x.iter().map(|&v| half::bf16::from_f32(v)).collect();
            let g = param::<f32>(&mut rng, width).unwrap_or_else(|| vec![1.5; width]);
            let bias = param::<f32>(&mut rng, width).unwrap_or_else(|| vec![-0.25; width]);
            let n = common::norm(kind, case.eps).isa(isa);
            for (gw, bw) in [(true, true), (true, false), (false, true), (false, false)] {
                let gg = gw.then_some(&g[..]);
                let bb = (bw && kind == Kind::Layer).then_some(&bias[..]);
                let label = format!("{isa} {kind:?} width {width} weight {gw} bias {bw}");
                stores_agree_both(&n, &case.x, rows, width, gg, bb, &label);
                stores_agree_both(&n, &h, rows, width, gg, bb, &label);
                stores_agree_both(&n, &b, rows, width, gg, bb, &label);
                let (gb, bb) = (bf16_copy(gg), bf16_copy(bb));
                stores_agree_both(&n, &b, rows, width, gb.as_deref(), bb.as_deref(), &label);
            }
        }
    }
}

fn mixed<TI: Element, TO: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for isa in Isa::available() {
        for kind in kinds() {
            for width in [1usize, 17, 64, 777, 4096] {
                for style in [
                    Style::Plain,
                    Style::BigMean,
                    Style::Overflow,
                    Style::Constant,
                ] {
                    let case = Case::<TI, f32>::random(&mut rng, kind, style, 2, width);
                    let mut y = vec![TO::ZERO; case.x.len()];
                    common::norm(kind, case.eps)
                        .isa(isa)
                        .forward(
                            &case.x,
                            2,
                            width,
                            case.gamma.as_deref(),
                            case.beta.as_deref(),
                            &mut y,
                        )
                        .unwrap();
                    for r in 0..2 {
                        let xr = &case.x[r * width..(r + 1) * width];
                        let want = common::reference(
                            kind,
                            xr,
                            case.gamma.as_deref(),
                            case.beta.as_deref(),
                            case.eps,
                        );
                        if let Err((i, msg)) = simdnorm::reference::check_row(
                            &y[r * width..(r + 1) * width],
                            &want,
                            case.gamma.as_deref(),
                            case.beta.as_deref(),
                        ) {
                            panic!(
                                "{} -> {} {isa} {kind:?} {style:?} width {width} row {r} elem {i}: {msg}",
                                TI::NAME,
                                TO::NAME
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Mixed input and output types, as backends use them: an f32 residual stream normalized into
/// the f16/bf16 input of a matmul, and 16-bit rows normalized into f32.
#[test]
fn mixed_input_and_output_types() {
    mixed::<f32, half::f16>(51);
    mixed::<f32, half::bf16>(52);
    mixed::<half::bf16, f32>(53);
    mixed::<half::f16, f32>(54);
    mixed::<half::f16, half::bf16>(55);
}
