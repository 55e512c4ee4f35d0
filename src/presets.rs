//! Model presets: which norm, epsilon, bias, weight convention and placement each model family
//! uses, from `../shared/NORMS.md` (its "Model table"; each entry names the source NORMS.md
//! gives). Models whose epsilon is not published (GPT-3, PaLM, Gopher, Chinchilla) have no
//! preset.

use crate::Norm;

/// Which normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NormKind {
    /// LayerNorm: mean and variance.
    Layer,
    /// RMSNorm: root mean square, no mean.
    Rms,
}

/// Where a model places its norms (NORMS.md, "Placements").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// `y = LN(x + f(x))`: [`Norm::add_forward`] with `alpha = 1`.
    PostLn,
    /// `y = x + f(LN(x))`, plus a final norm: [`Norm::residual_forward`].
    PreLn,
    /// `y = x + Attn(LN1(x)) + MLP(LN2(x))`.
    Parallel,
    /// Norm before and after each sublayer (Gemma 2 and 3).
    Sandwich,
    /// `x + RMSNorm(f(x))`, no input norm (OLMo 2).
    Reordered,
    /// DeepNorm: `LN(alpha * x + f(x))`, Post-LN with an up-weighted residual.
    DeepNorm,
}

/// A model family's norm: what a backend needs to call the right kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormSpec {
    /// LayerNorm or RMSNorm.
    pub kind: NormKind,
    /// Epsilon, inside the square root.
    pub eps: f32,
    /// Whether the norm has a learned weight (OLMo 1's has none).
    pub weight: bool,
    /// Whether the norm has a bias.
    pub bias: bool,
    /// Added to the stored weight before scaling (Gemma: 1, its scale is `1 + w`).
    pub weight_offset: f32,
    /// Where the model puts the norm.
    pub placement: Placement,
}

impl NormSpec {
    /// The configured kernel: [`Norm::rms`] or [`Norm::layer`] with this epsilon and weight
    /// offset.
    pub fn norm(&self) -> Norm {
        match self.kind {
            NormKind::Layer => Norm::layer(self.eps),
            NormKind::Rms => Norm::rms(self.eps),
        }
        .weight_offset(self.weight_offset)
    }
}

/// Model families with published norm settings (NORMS.md, "Model table").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// BERT: LayerNorm, Post-LN, eps 1e-12, bias (google-research/bert modeling.py; HF config).
    Bert,
    /// RoBERTa: LayerNorm, Post-LN, eps 1e-5, bias (HF config).
    Roberta,
    /// GPT-1: LayerNorm, Post-LN, eps 1e-5, bias (openai/finetune-transformer-lm train.py).
    Gpt1,
    /// GPT-2: LayerNorm, Pre-LN + final ln_f, eps 1e-5, bias (openai/gpt-2 src/model.py).
    Gpt2,
    /// T5: RMSNorm ("T5LayerNorm", no mean, no bias), Pre-LN, eps 1e-6 (HF modeling_t5.py).
    T5,
    /// LLaMA 1: RMSNorm, Pre-LN, eps 1e-6 (meta-llama model.py; HF config).
    Llama1,
    /// LLaMA 2: RMSNorm, Pre-LN, eps 1e-5 (meta-llama model.py; HF config).
    Llama2,
    /// LLaMA 3: RMSNorm, Pre-LN, eps 1e-5 (meta-llama model.py; HF config).
    Llama3,
    /// Mistral 7B: RMSNorm, Pre-LN, eps 1e-5 (model config).
    Mistral7B,
    /// Qwen2: RMSNorm, Pre-LN, eps 1e-6 (HF config).
    Qwen2,
    /// Gemma: RMSNorm with scale `1 + w` in f32, Pre-LN, eps 1e-6 (HF modeling_gemma.py).
    /// llama.cpp's converter stores `1 + w` in the weight: use [`Preset::GemmaGguf`] for such
    /// weights.
    Gemma,
    /// Gemma with the weight already holding `1 + w` (llama.cpp's GGUF conversion).
    GemmaGguf,
    /// Gemma 2: as Gemma, sandwich placement (HF modeling_gemma2.py).
    Gemma2,
    /// Gemma 3: as Gemma, sandwich placement, QK-norm (HF modeling_gemma3.py).
    Gemma3,
    /// GPT-NeoX-20B and Pythia: LayerNorm with bias, parallel blocks, eps 1e-5
    /// (EleutherAI/gpt-neox configs/20B.yml).
    GptNeoX,
    /// Falcon: LayerNorm with bias, parallel blocks, eps 1e-5 (HF modeling_falcon.py).
    Falcon,
    /// BLOOM: LayerNorm with bias, Pre-LN + embedding LN, eps 1e-5 (HF modeling_bloom.py).
    Bloom,
    /// GLM-130B: LayerNorm with bias, DeepNorm (Post-LN, alpha = sqrt(2N)), eps 1e-5 (NORMS.md:
    /// assumed, not confirmed) (THUDM/GLM-130B).
    Glm130b,
    /// OLMo 1: non-parametric LayerNorm (no weight, no bias), Pre-LN, eps 1e-5
    /// (HF modeling_olmo.py).
    Olmo1,
    /// OLMo 2: RMSNorm, reordered (`x + RMSNorm(f(x))`) + QK-norm, eps 1e-6 (HF default 1e-5)
    /// (HF modeling_olmo2.py).
    Olmo2,
    /// Phi-1, 1.5 and 2: LayerNorm with bias, parallel with one shared LN, eps 1e-5
    /// (HF modeling_phi.py).
    Phi2,
    /// Phi-3: RMSNorm, Pre-LN, eps 1e-5 (HF config).
    Phi3,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 22] = [
        Preset::Bert,
        Preset::Roberta,
        Preset::Gpt1,
        Preset::Gpt2,
        Preset::T5,
        Preset::Llama1,
        Preset::Llama2,
        Preset::Llama3,
        Preset::Mistral7B,
        Preset::Qwen2,
        Preset::Gemma,
        Preset::GemmaGguf,
        Preset::Gemma2,
        Preset::Gemma3,
        Preset::GptNeoX,
        Preset::Falcon,
        Preset::Bloom,
        Preset::Glm130b,
        Preset::Olmo1,
        Preset::Olmo2,
        Preset::Phi2,
        Preset::Phi3,
    ];

    /// The family's norm (values and sources in each variant's documentation).
    pub fn spec(self) -> NormSpec {
        use NormKind::{Layer, Rms};
        use Placement::*;
        let ln = |eps: f32, placement| NormSpec {
            kind: Layer,
            eps,
            weight: true,
            bias: true,
            weight_offset: 0.0,
            placement,
        };
        let rms = |eps: f32, placement| NormSpec {
            kind: Rms,
            eps,
            weight: true,
            bias: false,
            weight_offset: 0.0,
            placement,
        };
        let gemma = |placement| NormSpec {
            weight_offset: 1.0,
            ..rms(1e-6, placement)
        };
        match self {
            Preset::Bert => ln(1e-12, PostLn),
            Preset::Roberta => ln(1e-5, PostLn),
            Preset::Gpt1 => ln(1e-5, PostLn),
            Preset::Gpt2 => ln(1e-5, PreLn),
            Preset::T5 => rms(1e-6, PreLn),
            Preset::Llama1 => rms(1e-6, PreLn),
            Preset::Llama2 => rms(1e-5, PreLn),
            Preset::Llama3 => rms(1e-5, PreLn),
            Preset::Mistral7B => rms(1e-5, PreLn),
            Preset::Qwen2 => rms(1e-6, PreLn),
            Preset::Gemma => gemma(PreLn),
            Preset::GemmaGguf => rms(1e-6, PreLn),
            Preset::Gemma2 => gemma(Sandwich),
            Preset::Gemma3 => gemma(Sandwich),
            Preset::GptNeoX => ln(1e-5, Parallel),
            Preset::Falcon => ln(1e-5, Parallel),
            Preset::Bloom => ln(1e-5, PreLn),
            Preset::Glm130b => ln(1e-5, DeepNorm),
            Preset::Olmo1 => NormSpec {
                weight: false,
                bias: false,
                ..ln(1e-5, PreLn)
            },
            Preset::Olmo2 => rms(1e-6, Reordered),
            Preset::Phi2 => ln(1e-5, Parallel),
            Preset::Phi3 => rms(1e-5, PreLn),
        }
    }
}
