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

/// How many times [`STACK`] the suite gets under AddressSanitizer (`scripts/test-asan.sh` sets
/// `SIMDNORM_TEST_ASAN`). ASan puts a redzone around every stack slot, and an unoptimized frame
/// keeps every local in a slot of its own: on an AVX-512 machine the `f32` apply sweep's own
/// frame alone took about 209 KiB under ASan (the thirty-second session's Xeon), so 256 KiB
/// overflowed there while the plain `cargo test` build passes with it. Three times is 768 KiB,
/// still well under the 2 MiB default stack of a spawned thread that this test guards.
const ASAN_FACTOR: usize = 3;

/// Runs `f` on a thread with a [`STACK`]-byte stack ([`ASAN_FACTOR`] times that under
/// AddressSanitizer). Overflowing it aborts the test binary.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let asan = std::env::var_os("SIMDNORM_TEST_ASAN").is_some();
    std::thread::Builder::new()
        .stack_size(if asan { STACK * ASAN_FACTOR } else { STACK })
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
