//! Benchmark buffers placed on a 64-byte line (or `OFFSET` bytes past one), shared by the
//! examples normbench and rowtime.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes past a 64-byte line at which every buffer starts: 0 unless set (normbench's
/// `--offset`, once in its `parse`).
pub static OFFSET: AtomicUsize = AtomicUsize::new(0);

/// A buffer whose first element lies [`OFFSET`] bytes past a 64-byte line.
pub struct Buf<T> {
    v: Vec<T>,
    start: usize,
    len: usize,
}

impl<T: Copy> Buf<T> {
    /// `vals`, placed.
    pub fn new(vals: Vec<T>) -> Self {
        let size = std::mem::size_of::<T>();
        let len = vals.len();
        let Some(&fill) = vals.first() else {
            return Buf {
                v: vals,
                start: 0,
                len,
            };
        };
        let mut v = vec![fill; len + 128 / size];
        // The allocation is aligned to `size` (2 or 4) and `OFFSET` is a multiple of 4
        // (`parse`): the gap is a whole number of elements.
        let gap = (64 - v.as_ptr() as usize % 64) % 64 + OFFSET.load(Ordering::Relaxed);
        let start = gap / size;
        v[start..start + len].copy_from_slice(&vals);
        Buf { v, start, len }
    }

    /// `len` copies of `val`, placed.
    pub fn filled(val: T, len: usize) -> Self {
        Buf::new(vec![val; len])
    }
}

impl<T: Copy> Clone for Buf<T> {
    fn clone(&self) -> Self {
        Buf::new(self.to_vec())
    }
}

impl<T> Deref for Buf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.v[self.start..self.start + self.len]
    }
}

impl<T> DerefMut for Buf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.v[self.start..self.start + self.len]
    }
}
