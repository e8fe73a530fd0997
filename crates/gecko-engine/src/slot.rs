//! A slot that lends a value to the real-time thread without ever making it
//! wait: the audio callback *tries* to borrow the value (one compare-and-swap)
//! and outputs silence if the control thread holds it; the control thread
//! takes it by spinning politely (sleeping) until the callback's current
//! borrow ends. Unlike `Mutex::try_lock`, releasing never wakes a waiter
//! through a futex, so the real-time side makes no system call.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

const FREE: u8 = 0;
const RT: u8 = 1;
const MAIN: u8 = 2;

/// See the module docs. `T` moves between threads, hence `T: Send`.
pub struct CoreSlot<T> {
    state: AtomicU8,
    value: UnsafeCell<T>,
}

// SAFETY: access to `value` is exclusive by construction: only the holder of
// the RT or MAIN state (acquired by CAS from FREE) touches it.
unsafe impl<T: Send> Sync for CoreSlot<T> {}

/// A borrow by the real-time thread; gives the slot back on drop.
pub struct RtGuard<'a, T> {
    slot: &'a CoreSlot<T>,
}

/// A borrow by the control thread; gives the slot back on drop.
pub struct MainGuard<'a, T> {
    slot: &'a CoreSlot<T>,
}

impl<T> CoreSlot<T> {
    /// A free slot holding `value`.
    pub fn new(value: T) -> Self {
        CoreSlot { state: AtomicU8::new(FREE), value: UnsafeCell::new(value) }
    }

    /// Real-time side: borrows the value if the control thread does not hold
    /// it. Never waits; one CAS, no system call.
    pub fn try_rt(&self) -> Option<RtGuard<'_, T>> {
        self.state.compare_exchange(FREE, RT, Ordering::Acquire, Ordering::Relaxed).ok().map(|_| RtGuard { slot: self })
    }

    /// Control side: waits (sleeping 100 µs at a time) until the real-time
    /// side's current borrow ends, then holds the value; while held, the
    /// real-time side gets `None`.
    pub fn lock_main(&self) -> MainGuard<'_, T> {
        while self.state.compare_exchange(FREE, MAIN, Ordering::Acquire, Ordering::Relaxed).is_err() {
            std::thread::sleep(Duration::from_micros(100));
        }
        MainGuard { slot: self }
    }

    /// The value, when no other reference to the slot exists.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

macro_rules! guard_impls {
    ($g:ident) => {
        impl<T> std::ops::Deref for $g<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: this guard's state gives exclusive access.
                unsafe { &*self.slot.value.get() }
            }
        }
        impl<T> std::ops::DerefMut for $g<'_, T> {
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: this guard's state gives exclusive access.
                unsafe { &mut *self.slot.value.get() }
            }
        }
        impl<T> Drop for $g<'_, T> {
            fn drop(&mut self) {
                self.slot.state.store(FREE, Ordering::Release);
            }
        }
    };
}
guard_impls!(RtGuard);
guard_impls!(MainGuard);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn the_real_time_side_never_waits_and_sees_every_update_in_order() {
        let slot = Arc::new(CoreSlot::new((0u64, 0u64)));
        let stop = Arc::new(AtomicBool::new(false));
        let rt = {
            let (slot, stop) = (slot.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut got, mut missed) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    match slot.try_rt() {
                        Some(mut v) => {
                            // the pair is only ever seen consistent
                            assert_eq!(v.0, v.1);
                            v.0 += 1;
                            v.1 += 1;
                            got += 1;
                        }
                        None => missed += 1,
                    }
                }
                (got, missed)
            })
        };
        for _ in 0..200 {
            let mut v = slot.lock_main();
            assert_eq!(v.0, v.1);
            v.0 += 1000;
            v.1 += 1000;
        }
        stop.store(true, Ordering::Relaxed);
        let (got, _missed) = rt.join().unwrap();
        let v = Arc::try_unwrap(slot).ok().unwrap().into_inner();
        assert_eq!(v.0, 200 * 1000 + got);
    }

    #[test]
    fn try_rt_is_allocation_free_and_refused_while_main_holds() {
        let slot = CoreSlot::new(vec![1.0f32; 16]);
        let g = slot.lock_main();
        assert_no_alloc::assert_no_alloc(|| assert!(slot.try_rt().is_none()));
        drop(g);
        assert_no_alloc::assert_no_alloc(|| {
            let mut v = slot.try_rt().expect("free");
            v[0] = 2.0;
        });
        assert_eq!(slot.lock_main()[0], 2.0);
    }
}
