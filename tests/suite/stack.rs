//! Every kernel path runs within a small thread stack, in an unoptimized build as in an
//! optimized one. An unoptimized build keeps every local of every inlined function in a stack
//! slot of its own; when all of a block's row loops were inlined into one function, that
//! function's frame was over 2 MiB on the AVX-512 path, and a debug build crashed on any thread
//! spawned with the default stack (std's and rayon's: 2 MiB). `cargo test` builds without
//! optimization, so this test guards the unoptimized layout (see `outline` in
//! src/kernel/mod.rs).

use crate::common::{Case, Kind, Rng, Style};
use crate::fused::{post_ln, pre_ln};
use simdnorm::{Element, Isa};

/// An eighth of the default stack of a spawned thread.
const STACK: usize = 256 * 1024;

/// Runs `f` on a thread with a [`STACK`]-byte stack. Overflowing it aborts the test binary.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn a thread")
        .join()
        .expect("the checks passed");
}

/// Each row loop of the plain kernels (rows alone, short LayerNorm rows in groups, the tiled
/// apply of long rows, the rescaled path), checked against the reference, on every path.
fn row_loops<T: Element, W: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for kind in [Kind::Rms, Kind::Layer] {
        for (rows, width) in [(20, 128), (3, 33), (3, 4097)] {
            for style in [Style::Plain, Style::Overflow] {
                let case = Case::<T, W>::random(&mut rng, kind, style, rows, width);
                for isa in Isa::available() {
                    case.check(isa, "small stack");
                }
            }
        }
    }
}

#[test]
fn kernels_run_on_a_small_stack() {
    on_small_stack(|| {
        for_each_type!(row_loops(81));
        pre_ln::<half::bf16, half::bf16, half::bf16>(82);
        pre_ln::<f32, f32, f32>(83);
        post_ln::<half::f16, f32, half::f16>(84, 0.5);
    });
}
