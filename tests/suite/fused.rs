//! The fused residual kernels against the composition of reference steps, on every path and
//! type combination; DeepNorm's constants against the paper's formulas (NORMS.md).

use crate::common;
use crate::common::{Kind, Rng, Style};
use approx::assert_relative_eq;
use simdnorm::reference::check_row;
use simdnorm::{Element, Isa, Norm, NormError, Parallelism, Stats, deepnorm};

/// `rows` rows of `width` elements of `style`, one after another.
fn batch<T: Element>(rng: &mut Rng, style: Style, rows: usize, width: usize) -> Vec<T> {
    (0..rows)
        .flat_map(|_| common::row::<T>(rng, style, width))
        .collect()
}

fn weights<W: Element>(
    rng: &mut Rng,
    kind: Kind,
    width: usize,
) -> (Option<Vec<W>>, Option<Vec<W>>) {
    let g = common::param::<W>(rng, width);
    let b = if kind == Kind::Layer {
        common::param::<W>(rng, width)
    } else {
        None
    };
    (g, b)
}

pub(crate) fn pre_ln<H: Element, O: Element, W: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            // 2100 and 4100: batches applied in column tiles (f32 streams with a weight or
            // bias), and rows wider than a statistics group.
            for width in [1usize, 7, 16, 33, 100, 1000, 2100, 4100] {
                let rows = 3;
                let h0: Vec<H> = batch(&mut rng, Style::Plain, rows, width);
                let d: Vec<H> = batch(&mut rng, Style::Plain, rows, width);
                let (g, b) = weights::<W>(&mut rng, kind, width);
                let eps = common::eps(&mut rng);
                let mut h = h0.clone();
                let mut y = vec![O::ZERO; h.len()];
                let mut rstd = vec![0.0f32; rows];
                let mut mean = vec![0.0f32; rows];
                common::norm(kind, eps)
                    .isa(isa)
                    .residual_forward(
                        &mut h,
                        &d,
                        rows,
                        width,
                        g.as_deref(),
                        b.as_deref(),
                        &mut y,
                        Stats {
                            mean: (kind == Kind::Layer).then_some(&mut mean[..]),
                            rstd: Some(&mut rstd),
                        },
                    )
                    .unwrap();
                for i in 0..h.len() {
                    let want = H::from_f32(h0[i].to_f32() + d[i].to_f32());
                    assert_eq!(
                        h[i].to_f32().to_bits(),
                        want.to_f32().to_bits(),
                        "h += d at {i} ({isa})"
                    );
                }
                for r in 0..rows {
                    let hr = &h[r * width..(r + 1) * width];
                    let want = common::reference(kind, hr, g.as_deref(), b.as_deref(), eps);
                    if let Err((i, msg)) = check_row(
                        &y[r * width..(r + 1) * width],
                        &want,
                        g.as_deref(),
                        b.as_deref(),
                    ) {
                        panic!(
                            "pre-LN {} -> {} {isa} {kind:?} width {width} row {r} elem {i}: {msg}",
                            H::NAME,
                            O::NAME
                        );
                    }
                    common::check_stats(kind, &want, mean[r], rstd[r], "pre-LN statistics");
                }
                // Threaded equals serial.
                let mut h2 = h0.clone();
                let mut y2 = vec![O::ZERO; h.len()];
                common::norm(kind, eps)
                    .isa(isa)
                    .parallelism(Parallelism::Rayon(2))
                    .residual_forward(
                        &mut h2,
                        &d,
                        rows,
                        width,
                        g.as_deref(),
                        b.as_deref(),
                        &mut y2,
                        Stats::default(),
                    )
                    .unwrap();
                assert!(
                    h2.iter()
                        .zip(&h)
                        .all(|(a, c)| a.to_f32().to_bits() == c.to_f32().to_bits())
                );
                assert!(
                    y2.iter()
                        .zip(&y)
                        .all(|(a, c)| a.to_f32().to_bits() == c.to_f32().to_bits())
                );
            }
        }
    }
}

/// Pre-LN: `h += d` stored exactly as `H::from_f32(h + d)`, and `y` is the norm of the stored
/// `h` under the contract's bound, for same and mixed types (f32 stream, 16-bit output).
#[test]
fn pre_ln_matches_reference() {
    pre_ln::<f32, f32, f32>(1);
    pre_ln::<f32, half::bf16, f32>(2);
    pre_ln::<f32, half::f16, f32>(3);
    pre_ln::<half::bf16, half::bf16, half::bf16>(4);
    pre_ln::<half::f16, half::f16, f32>(5);
    pre_ln::<half::bf16, f32, half::bf16>(6);
}

pub(crate) fn post_ln<X: Element, O: Element, W: Element>(seed: u64, alpha: f32) {
    let mut rng = Rng(seed);
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            // 2100 and 4100 as in `pre_ln`.
            for width in [1usize, 5, 16, 31, 257, 2000, 2100, 4100] {
                let rows = 3;
                let x: Vec<X> = batch(&mut rng, Style::Plain, rows, width);
                let d: Vec<X> = batch(&mut rng, Style::BigMean, rows, width);
                let (g, b) = weights::<W>(&mut rng, kind, width);
                let eps = common::eps(&mut rng);
                let mut y = vec![O::ZERO; x.len()];
                common::norm(kind, eps)
                    .isa(isa)
                    .add_forward(
                        &x,
                        &d,
                        alpha,
                        rows,
                        width,
                        g.as_deref(),
                        b.as_deref(),
                        &mut y,
                        Stats::default(),
                    )
                    .unwrap();
                // The documented sum: alpha * x and + d each rounded to f32.
                let s: Vec<f32> = x
                    .iter()
                    .zip(&d)
                    .map(|(a, c)| alpha * a.to_f32() + c.to_f32())
                    .collect();
                for r in 0..rows {
                    let sr = &s[r * width..(r + 1) * width];
                    let want = common::reference(kind, sr, g.as_deref(), b.as_deref(), eps);
                    if let Err((i, msg)) = check_row(
                        &y[r * width..(r + 1) * width],
                        &want,
                        g.as_deref(),
                        b.as_deref(),
                    ) {
                        panic!(
                            "add {} -> {} alpha {alpha} {isa} {kind:?} width {width} row {r} elem {i}: {msg}",
                            X::NAME,
                            O::NAME
                        );
                    }
                }
            }
        }
    }
}

/// Post-LN (`alpha = 1`) and DeepNorm (the paper's alpha for 6, 24 and 1000 layers) against the
/// reference norm of the documented f32 sum.
#[test]
fn post_ln_and_deepnorm_match_reference() {
    for alpha in [
        1.0f32,
        deepnorm::decoder_only(24).alpha_f32(),
        deepnorm::encoder_only(1000).alpha_f32(),
    ] {
        post_ln::<f32, f32, f32>(11, alpha);
        post_ln::<f32, half::f16, f32>(12, alpha);
        post_ln::<half::bf16, half::bf16, half::bf16>(13, alpha);
        post_ln::<half::f16, f32, half::f16>(14, alpha);
    }
}

/// One fused call over `rows` rows of `width`: Pre-LN (`place` 0), Post-LN out of place (1) or
/// in place (2); the bits of the residual stream after the call, the output, and the statistics.
#[allow(clippy::too_many_arguments)]
fn fused_bits<X: Element, O: Element, W: Element>(
    n: &Norm,
    place: usize,
    x: &[X],
    d: &[X],
    rows: usize,
    width: usize,
    g: Option<&[W]>,
    b: Option<&[W]>,
    layer: bool,
) -> (Vec<u32>, Vec<u32>, Vec<u32>, Vec<u32>) {
    let mut x = x.to_vec();
    let mut y = vec![O::ZERO; x.len()];
    let mut mean = vec![0.0f32; rows];
    let mut rstd = vec![0.0f32; rows];
    let stats = Stats {
        mean: layer.then_some(&mut mean[..]),
        rstd: Some(&mut rstd[..]),
    };
    match place {
        0 => n.residual_forward(&mut x, d, rows, width, g, b, &mut y, stats),
        1 => n.add_forward(&x, d, 0.75, rows, width, g, b, &mut y, stats),
        _ => n.add_forward_inplace(&mut x, d, 0.75, rows, width, g, b, stats),
    }
    .unwrap();
    let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
    let ebits = |v: &[X]| v.iter().map(|e| e.to_f32().to_bits()).collect::<Vec<_>>();
    let obits = |v: &[O]| v.iter().map(|e| e.to_f32().to_bits()).collect::<Vec<_>>();
    (ebits(&x), obits(&y), bits(&mean), bits(&rstd))
}

fn fused_rows_alone<X: Element, O: Element, W: Element>(seed: u64) {
    let mut rng = Rng(seed);
    let rows = 13;
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            // 2100: rows of two whole column tiles and a partial one, which a batch with a
            // weight or bias applies tile by tile (its f32 placements) and a row alone does
            // not. 4100: f32 rows of more than 16 KiB, wider than any statistics group.
            for width in [1usize, 7, 16, 33, 64, 100, 128, 300, 768, 1000, 2100, 4100] {
                // Every row style, so that rescaled, constant and NaN rows share groups with
                // ordinary ones.
                let x: Vec<X> = (0..rows)
                    .flat_map(|r| {
                        common::row::<X>(&mut rng, common::STYLES[r % common::STYLES.len()], width)
                    })
                    .collect();
                let d: Vec<X> = batch(&mut rng, Style::Plain, rows, width);
                let (g, b) = weights::<W>(&mut rng, kind, width);
                let n = common::norm(kind, 1e-5).isa(isa);
                let layer = kind == Kind::Layer;
                for place in 0..3 {
                    let all = fused_bits::<X, O, W>(
                        &n,
                        place,
                        &x,
                        &d,
                        rows,
                        width,
                        g.as_deref(),
                        b.as_deref(),
                        layer,
                    );
                    let mut alone = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                    for r in 0..rows {
                        let at = r * width..(r + 1) * width;
                        let one = fused_bits::<X, O, W>(
                            &n,
                            place,
                            &x[at.clone()],
                            &d[at],
                            1,
                            width,
                            g.as_deref(),
                            b.as_deref(),
                            layer,
                        );
                        alone.0.extend(one.0);
                        alone.1.extend(one.1);
                        alone.2.extend(one.2);
                        alone.3.extend(one.3);
                    }
                    assert!(
                        all == alone,
                        "{isa} {kind:?} {} -> {} width {width} placement {place}: a batch \
                         differs from its rows alone",
                        X::NAME,
                        O::NAME
                    );
                }
            }
        }
    }
}

/// A row gives the same bits in a fused batch as fused alone, for every placement: the rows of
/// a batch have their statistics computed a group at a time, as a plain norm's rows do.
#[test]
fn fused_batch_rows_equal_rows_alone() {
    fused_rows_alone::<f32, f32, f32>(31);
    fused_rows_alone::<half::bf16, half::bf16, half::bf16>(32);
    fused_rows_alone::<half::f16, half::f16, f32>(33);
}

/// A fused call gives the same bits on a thread that ran other fused calls before it as on a
/// fresh thread: the scratch rows a thread keeps from call to call still hold what the last
/// call left there (here NaN, from a wider call of NaN rows), and every one is written before
/// it is read.
fn fused_scratch_kept<T: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            let n = common::norm(kind, 1e-5)
                .isa(isa)
                .parallelism(Parallelism::None);
            let layer = kind == Kind::Layer;
            // One row and groups of rows, one Welford block and more, a row wider than any
            // statistics group.
            for (rows, width) in [(1usize, 7usize), (5, 100), (3, 768), (2, 2100), (1, 4100)] {
                let x: Vec<T> = batch(&mut rng, Style::Plain, rows, width);
                let d: Vec<T> = batch(&mut rng, Style::Plain, rows, width);
                let (g, b) = weights::<T>(&mut rng, kind, width);
                let (nan_rows, nan_width) = (rows + 2, width + 50);
                let nan = vec![T::from_f32(f32::NAN); nan_rows * nan_width];
                let ones = vec![T::from_f32(1.0); nan_width];
                for place in 0..3 {
                    let call = || {
                        fused_bits::<T, T, T>(
                            &n,
                            place,
                            &x,
                            &d,
                            rows,
                            width,
                            g.as_deref(),
                            b.as_deref(),
                            layer,
                        )
                    };
                    let fresh = std::thread::scope(|s| s.spawn(call).join().unwrap());
                    let (h, y, _, _) = fused_bits::<T, T, T>(
                        &n,
                        place,
                        &nan,
                        &nan,
                        nan_rows,
                        nan_width,
                        Some(&ones[..]),
                        layer.then_some(&ones[..]),
                        layer,
                    );
                    // In place (placement 2), the output is the stream itself.
                    let out = if place == 2 { h } else { y };
                    assert!(
                        out.iter().all(|&e| f32::from_bits(e).is_nan()),
                        "{isa} {kind:?} {}: NaN rows gave a number",
                        T::NAME
                    );
                    assert!(
                        call() == fresh,
                        "{isa} {kind:?} {} {rows}x{width} placement {place}: the bits differ \
                         after a call of NaN rows on the same thread",
                        T::NAME
                    );
                }
            }
        }
    }
}

#[test]
fn fused_scratch_kept_between_calls() {
    fused_scratch_kept::<f32>(41);
    fused_scratch_kept::<half::bf16>(42);
}

/// One Pre-LN RMSNorm row of 100 elements (not a whole number of vectors on any path).
fn pre_ln_row() -> Vec<u32> {
    let mut h: Vec<f32> = (0..100).map(|i| (i % 9) as f32 * 0.5 - 1.0).collect();
    let d = vec![0.25f32; 100];
    let mut y = vec![0.0f32; 100];
    Norm::rms(1e-6)
        .residual_forward(
            &mut h,
            &d,
            1,
            100,
            None::<&[f32]>,
            None,
            &mut y,
            Stats::default(),
        )
        .unwrap();
    y.iter().map(|e| e.to_bits()).collect()
}

/// A fused call from a thread-local's destructor that runs after the thread's kept scratch
/// (`fused_scratch_kept_between_calls`) is gone: the call uses a buffer of its own and gives
/// the same bits, where reaching for the kept one would panic (and abort the process).
#[test]
fn fused_call_in_thread_local_destructor() {
    struct Late(std::sync::mpsc::Sender<Vec<u32>>);
    impl Drop for Late {
        fn drop(&mut self) {
            let _ = self.0.send(pre_ln_row());
        }
    }
    std::thread_local! {
        static LATE: std::cell::RefCell<Option<Late>> = const { std::cell::RefCell::new(None) };
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // `LATE` is registered for destruction first, the kept scratch by the call after it:
        // thread-locals are destroyed in the reverse order, so `Late::drop` runs without it.
        LATE.with(|l| *l.borrow_mut() = Some(Late(tx)));
        pre_ln_row();
    })
    .join()
    .unwrap();
    assert_eq!(rx.recv().unwrap(), pre_ln_row());
}

/// In place over x gives the same bits as out of place.
#[test]
fn add_inplace_equals_out_of_place() {
    let mut rng = Rng(21);
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            let (rows, width) = (4, 77);
            let x: Vec<f32> = batch(&mut rng, Style::Plain, rows, width);
            let d: Vec<f32> = batch(&mut rng, Style::Plain, rows, width);
            let (g, b) = weights::<f32>(&mut rng, kind, width);
            let n = common::norm(kind, 1e-5).isa(isa);
            let mut y = vec![0.0f32; x.len()];
            n.add_forward(
                &x,
                &d,
                2.5,
                rows,
                width,
                g.as_deref(),
                b.as_deref(),
                &mut y,
                Stats::default(),
            )
            .unwrap();
            let mut z = x.clone();
            n.add_forward_inplace(
                &mut z,
                &d,
                2.5,
                rows,
                width,
                g.as_deref(),
                b.as_deref(),
                Stats::default(),
            )
            .unwrap();
            assert_eq!(y, z, "{isa} {kind:?}");
        }
    }
}

/// Pre-LN on f32 rows gives the same bits wherever the rows lie: short rows not aligned to 64
/// bytes are normalized from an aligned scratch copy, the others in place.
#[test]
fn pre_ln_independent_of_alignment() {
    let mut rng = Rng(23);
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            for width in [16usize, 77, 512, 600] {
                let rows = 5;
                let h0: Vec<f32> = batch(&mut rng, Style::Plain, rows, width);
                let d: Vec<f32> = batch(&mut rng, Style::Plain, rows, width);
                let (g, b) = weights::<f32>(&mut rng, kind, width);
                let n = common::norm(kind, 1e-5).isa(isa);
                let mut runs = Vec::new();
                // Every offset of a 64-byte line (16 f32): each row is 64-byte aligned at one
                // of them at least.
                for off in 0..16 {
                    let mut buf = vec![0.0f32; h0.len() + 16];
                    buf[off..off + h0.len()].copy_from_slice(&h0);
                    let h = &mut buf[off..off + h0.len()];
                    let mut y = vec![0.0f32; h0.len()];
                    let mut rstd = vec![0.0f32; rows];
                    n.residual_forward(
                        h,
                        &d,
                        rows,
                        width,
                        g.as_deref(),
                        b.as_deref(),
                        &mut y,
                        Stats {
                            mean: None,
                            rstd: Some(&mut rstd),
                        },
                    )
                    .unwrap();
                    let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
                    runs.push((bits(h), bits(&y), bits(&rstd)));
                }
                for (off, run) in runs.iter().enumerate() {
                    assert!(
                        run == &runs[0],
                        "{isa} {kind:?} width {width}: offset {off} differs from offset 0"
                    );
                }
            }
        }
    }
}

#[test]
fn fused_errors() {
    let mut h = [1.0f32; 8];
    let d = [1.0f32; 6];
    let mut y = [7.0f32; 8];
    let none: Option<&[f32]> = None;
    let n = Norm::layer(1e-5);
    assert_eq!(
        n.residual_forward(&mut h, &d, 2, 4, none, none, &mut y, Stats::default()),
        Err(NormError::ResidualLength {
            expected: 8,
            actual: 6
        })
    );
    assert!(matches!(
        n.add_forward(&h, &[0.0f32; 8], f32::NAN, 2, 4, none, none, &mut y, Stats::default()),
        Err(NormError::BadAlpha(a)) if a.is_nan()
    ));
    assert!(matches!(
        n.add_forward(&h, &[0.0f32; 8], f32::INFINITY, 2, 4, none, none, &mut y, Stats::default()),
        Err(NormError::BadAlpha(a)) if a == f32::INFINITY
    ));
    assert_eq!(
        n.add_forward(
            &h,
            &[0.0f32; 8],
            1.0,
            2,
            4,
            none,
            none,
            &mut y[..4],
            Stats::default()
        ),
        Err(NormError::OutputLength {
            expected: 8,
            actual: 4
        })
    );
    assert_eq!(
        n.add_forward_inplace(
            &mut h,
            &[0.0f32; 8],
            1.0,
            3,
            4,
            none,
            none,
            Stats::default()
        ),
        Err(NormError::InputLength {
            expected: 12,
            actual: 8
        })
    );
    assert_eq!(
        Norm::rms(1e-6).add_forward(
            &h,
            &[0.0f32; 8],
            1.0,
            2,
            4,
            none,
            Some(&[0.0f32; 4][..]),
            &mut y,
            Stats::default()
        ),
        Err(NormError::Unsupported("RMSNorm takes no bias (beta)"))
    );
    assert!(y.iter().all(|&v| v == 7.0) && h.iter().all(|&v| v == 1.0));
    assert!(NormError::BadAlpha(f32::NAN).to_string().contains("alpha"));
    assert!(
        NormError::ResidualLength {
            expected: 8,
            actual: 6
        }
        .to_string()
        .contains("residual")
    );
}

/// DeepNorm's alpha and beta against the paper's formulas (NORMS.md), computed independently.
#[test]
fn deepnorm_constants() {
    for n in [1u32, 6, 12, 18, 100, 1000] {
        let e = deepnorm::encoder_only(n);
        assert_relative_eq!(
            e.alpha,
            (2.0 * n as f64).sqrt().sqrt(),
            max_relative = 1e-14
        );
        assert_relative_eq!(
            e.beta,
            1.0 / (8.0 * n as f64).sqrt().sqrt(),
            max_relative = 1e-14
        );
        let dd = deepnorm::decoder_only(n);
        assert_eq!(dd, e, "encoder-only and decoder-only share the formula");
    }
    // Worked values: decoder-only, 100 layers: alpha = 200^(1/4), beta = 800^(-1/4).
    let d100 = deepnorm::decoder_only(100);
    assert_relative_eq!(d100.alpha, 3.760603093086394, max_relative = 1e-12);
    assert_relative_eq!(d100.beta, 0.1880301546543197, max_relative = 1e-12);
    for (n, m) in [(6u32, 6u32), (12, 12), (18, 18), (100, 100)] {
        let (enc, dec) = deepnorm::encoder_decoder(n, m);
        let nm = (n as f64).powi(4) * m as f64;
        assert_relative_eq!(enc.alpha, 0.81 * nm.powf(0.0625), max_relative = 1e-14);
        assert_relative_eq!(enc.beta, 0.87 / nm.powf(0.0625), max_relative = 1e-14);
        assert_relative_eq!(dec.alpha, (3.0 * m as f64).powf(0.25), max_relative = 1e-14);
        assert_relative_eq!(
            dec.beta,
            (12.0 * m as f64).powf(-0.25),
            max_relative = 1e-14
        );
    }
    // N = M = 6: encoder alpha = 0.81 * 6^(5/16).
    let (enc, _) = deepnorm::encoder_decoder(6, 6);
    assert_relative_eq!(
        enc.alpha,
        0.81 * 6f64.powf(5.0 / 16.0),
        max_relative = 1e-14
    );
    assert_relative_eq!(
        deepnorm::decoder_only(24).alpha_f32(),
        48f32.powf(0.25),
        max_relative = 1e-6
    );
}
