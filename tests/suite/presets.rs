//! Presets pinned to NORMS.md's model table, and Gemma's `1 + w` weight convention.

use simdnorm::presets::{NormKind, Placement, Preset};
use simdnorm::{Isa, Norm, Stats};

#[test]
fn presets_match_norms_md() {
    use NormKind::{Layer, Rms};
    use Placement::*;
    // (preset, kind, eps, weight, bias, weight offset, placement), transcribed from NORMS.md.
    let table = [
        (Preset::Bert, Layer, 1e-12, true, true, 0.0, PostLn),
        (Preset::Roberta, Layer, 1e-5, true, true, 0.0, PostLn),
        (Preset::Gpt1, Layer, 1e-5, true, true, 0.0, PostLn),
        (Preset::Gpt2, Layer, 1e-5, true, true, 0.0, PreLn),
        (Preset::T5, Rms, 1e-6, true, false, 0.0, PreLn),
        (Preset::Llama1, Rms, 1e-6, true, false, 0.0, PreLn),
        (Preset::Llama2, Rms, 1e-5, true, false, 0.0, PreLn),
        (Preset::Llama3, Rms, 1e-5, true, false, 0.0, PreLn),
        (Preset::Mistral7B, Rms, 1e-5, true, false, 0.0, PreLn),
        (Preset::Qwen2, Rms, 1e-6, true, false, 0.0, PreLn),
        (Preset::Gemma, Rms, 1e-6, true, false, 1.0, PreLn),
        (Preset::GemmaGguf, Rms, 1e-6, true, false, 0.0, PreLn),
        (Preset::Gemma2, Rms, 1e-6, true, false, 1.0, Sandwich),
        (Preset::Gemma3, Rms, 1e-6, true, false, 1.0, Sandwich),
        (Preset::GptNeoX, Layer, 1e-5, true, true, 0.0, Parallel),
        (Preset::Falcon, Layer, 1e-5, true, true, 0.0, Parallel),
        (Preset::Bloom, Layer, 1e-5, true, true, 0.0, PreLn),
        (Preset::Glm130b, Layer, 1e-5, true, true, 0.0, DeepNorm),
        (Preset::Olmo1, Layer, 1e-5, false, false, 0.0, PreLn),
        (Preset::Olmo2, Rms, 1e-6, true, false, 0.0, Reordered),
        (Preset::Phi2, Layer, 1e-5, true, true, 0.0, Parallel),
        (Preset::Phi3, Rms, 1e-5, true, false, 0.0, PreLn),
    ];
    assert_eq!(table.len(), Preset::ALL.len());
    for (p, kind, eps, weight, bias, offset, placement) in table {
        let s = p.spec();
        assert_eq!(s.kind, kind, "{p:?}");
        assert_eq!(s.eps, eps as f32, "{p:?}");
        assert_eq!(
            (s.weight, s.bias, s.weight_offset, s.placement),
            (weight, bias, offset as f32, placement),
            "{p:?}"
        );
        assert_eq!(s.norm().eps(), eps as f32);
    }
    // The common mistakes NORMS.md lists are not made here.
    assert_eq!(Preset::Bert.spec().placement, Placement::PostLn);
    assert_eq!(Preset::T5.spec().kind, NormKind::Rms);
    assert_eq!(Preset::GptNeoX.spec().kind, NormKind::Layer);
}

/// Gemma's scale `1 + w`: the preset's kernel equals a plain RMSNorm given `1 + w`, bit for bit,
/// plain and fused, on every path.
#[test]
fn gemma_weight_offset() {
    let width = 67;
    let x: Vec<f32> = (0..2 * width)
        .map(|i| ((i * 37) % 23) as f32 * 0.1 - 1.0)
        .collect();
    let d: Vec<f32> = (0..2 * width)
        .map(|i| ((i * 11) % 7) as f32 * 0.3)
        .collect();
    let w: Vec<half::bf16> = (0..width)
        .map(|i| half::bf16::from_f32((i % 5) as f32 * 0.25 - 0.5))
        .collect();
    let one_plus: Vec<f32> = w.iter().map(|v| 1.0 + v.to_f32()).collect();
    for isa in Isa::available() {
        let gemma = Preset::Gemma.spec().norm().isa(isa);
        let plain = Norm::rms(1e-6).isa(isa);
        let (mut a, mut b) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
        gemma
            .forward(&x, 2, width, Some(&w[..]), None, &mut a)
            .unwrap();
        plain
            .forward(&x, 2, width, Some(&one_plus[..]), None, &mut b)
            .unwrap();
        assert_eq!(a, b, "{isa}");
        let (mut h1, mut h2) = (x.clone(), x.clone());
        gemma
            .residual_forward(
                &mut h1,
                &d,
                2,
                width,
                Some(&w[..]),
                None,
                &mut a,
                Stats::default(),
            )
            .unwrap();
        plain
            .residual_forward(
                &mut h2,
                &d,
                2,
                width,
                Some(&one_plus[..]),
                None,
                &mut b,
                Stats::default(),
            )
            .unwrap();
        assert_eq!((a.clone(), h1), (b.clone(), h2), "{isa} fused");
        // A weight of the wrong length is still refused.
        assert!(
            gemma
                .forward(&x, 2, width, Some(&w[..3]), None, &mut a)
                .is_err()
        );
    }
}
