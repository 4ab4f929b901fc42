//! The sign-in module's allocator: a bump arena that starts over at every call.
//!
//! Every call into the sign-in module (`abi`) begins with `buf`, which empties the arena
//! and takes the call's arguments from it; the call allocates what it works with, and its
//! answer stays there until the next call's `buf`. Nothing else is allocated: the module
//! holds no JS values, no statics that allocate, and wasm-bindgen is not linked. So
//! allocating is a pointer bump, freeing takes back only the block allocated last (so a
//! growing `String` stays in place), and the memory one call used is all reused by the
//! next. The arena's size is the most one call needs at once: a few KiB, in one 64 KiB
//! page.
//!
//! Single-threaded wasm only (no atomics): nothing else can run between the steps below.

#![allow(unsafe_code)]
// Addresses and sizes: every sum below is either checked or of an address and a size that
// the checks before it keep under `end`, which is at most 4 GiB (wasm32's whole memory).
#![allow(clippy::arithmetic_side_effects)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::ptr;

/// 64 KiB, the unit `memory.grow` counts in.
const PAGE: usize = 65_536;

// The allocator of the sign-in module built alone; in a build with the keeper (tests), the
// arena only holds the `abi` calls' arguments and answers.
#[cfg_attr(not(feature = "keeper"), global_allocator)]
static ARENA: Arena = Arena {
    base: Cell::new(0),
    top: Cell::new(0),
    end: Cell::new(0),
    last: Cell::new(0),
};

/// Empties the arena: everything allocated before is dead (see the module docs).
pub(crate) fn reset() {
    ARENA.top.set(ARENA.base.get());
}

/// `len` bytes from the arena (null when memory cannot grow).
pub(crate) fn take(len: usize) -> *mut u8 {
    ARENA.bump(len, 1) as *mut u8
}

struct Arena {
    /// Where the arena starts (0 until the first allocation takes memory from the host).
    base: Cell<usize>,
    /// The first free byte.
    top: Cell<usize>,
    /// One past the last byte the arena owns.
    end: Cell<usize>,
    /// The block allocated last, which `dealloc` and `realloc` can take back or grow.
    last: Cell<usize>,
}

// SAFETY: the wasm32 target without atomics has one thread.
unsafe impl Sync for Arena {}

impl Arena {
    /// Room for `size` bytes at `align`, taking pages from the host as needed; 0 when the
    /// host refuses (which `alloc` reports as a null pointer).
    fn bump(&self, size: usize, align: usize) -> usize {
        if self.base.get() == 0 {
            let Some((start, end)) = grow(1) else {
                return 0;
            };
            self.base.set(start);
            self.top.set(start);
            self.end.set(end);
        }
        // `align` is a power of two, at least 1 (Layout guarantees it).
        let Some(start) = self
            .top
            .get()
            .checked_add(align - 1)
            .map(|t| t & !(align - 1))
        else {
            return 0;
        };
        let Some(next) = start.checked_add(size) else {
            return 0;
        };
        if next > self.end.get() {
            let Some((fresh, end)) = grow((next - self.end.get()).div_ceil(PAGE)) else {
                return 0;
            };
            let contiguous = fresh == self.end.get();
            self.end.set(end);
            if !contiguous {
                // Something else grew memory meanwhile (nothing does here): the arena goes
                // on in the new pages.
                self.top.set(fresh);
                return self.bump(size, align);
            }
        }
        self.top.set(next);
        self.last.set(start);
        start
    }
}

/// `memory.grow` by `pages`: the first new byte and one past the last; `None` when the
/// host refuses.
fn grow(pages: usize) -> Option<(usize, usize)> {
    let old = core::arch::wasm32::memory_grow(0, pages);
    if old == usize::MAX {
        return None;
    }
    let start = old.checked_mul(PAGE)?;
    Some((start, start.checked_add(pages.checked_mul(PAGE)?)?))
}

// SAFETY: every block handed out lies inside pages taken from the host for the arena and
// is not handed out again before the next `reset`, except the last block once it is
// freed; `realloc` grows only the last block, within the arena.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.bump(layout.size(), layout.align()) as *mut u8
    }

    unsafe fn dealloc(&self, block: *mut u8, _layout: Layout) {
        if block as usize == self.last.get() {
            self.top.set(block as usize);
            // Nothing is the last block now: a block freed twice is not taken back twice.
            self.last.set(0);
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let at = block as usize;
        if at == self.last.get()
            && at
                .checked_add(new_size)
                .is_some_and(|e| e <= self.end.get())
        {
            // The last block grows (or shrinks) where it is.
            self.top.set(at + new_size);
            return block;
        }
        // SAFETY: `layout`'s alignment with `new_size` is a valid layout (the caller's
        // contract for `realloc`).
        let moved =
            unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !moved.is_null() {
            // SAFETY: both blocks are live and distinct; the copy is the smaller size.
            unsafe {
                ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
            }
        }
        moved
    }
}
