//! Noticing that the system's output devices may have changed (hot-plug,
//! the default output switched), so the engine's control thread knows when
//! to take a new [`crate::follow::DeviceSnapshot`].
//!
//! - **macOS:** property listeners on the system object
//!   (`kAudioObjectSystemObject`) for `kAudioHardwarePropertyDevices` and
//!   `kAudioHardwarePropertyDefaultOutputDevice` (CoreAudio/AudioHardware.h).
//!   The HAL calls them on its own notification thread; the listener only
//!   bumps an atomic counter, and the control thread compares it on its next
//!   tick. A slow poll backs them up.
//! - **Elsewhere (ALSA):** no notification exists for PCMs appearing in the
//!   configuration, so the watch says "maybe changed" every poll interval and
//!   the snapshot itself is compared.
//!
//! Nothing here touches the audio thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Tells the control thread when to look at the devices again.
pub struct DeviceWatch {
    /// Bumped by the platform's notifications (never on Linux).
    events: Arc<AtomicU64>,
    seen: u64,
    poll: Duration,
    last_poll: Instant,
    #[cfg(target_os = "macos")]
    _listeners: Option<mac::Listeners>,
}

impl DeviceWatch {
    /// A watch that says "maybe changed" at least every `poll`, and at once
    /// when the platform notifies a change (macOS). If the listeners cannot
    /// be installed, the poll alone remains (and a warning is logged).
    pub fn new(poll: Duration) -> DeviceWatch {
        let events = Arc::new(AtomicU64::new(0));
        #[cfg(target_os = "macos")]
        let listeners = match mac::Listeners::install(events.clone()) {
            Ok(l) => Some(l),
            Err(status) => {
                tracing::warn!("cannot listen for device changes (OSStatus {status}); checking every {poll:?}");
                None
            }
        };
        DeviceWatch {
            events,
            seen: 0,
            poll,
            last_poll: Instant::now(),
            #[cfg(target_os = "macos")]
            _listeners: listeners,
        }
    }

    /// A counter the platform's notifications bump; tests and other event
    /// sources may bump it too ([`DeviceWatch::notify`]).
    pub fn notifier(&self) -> Arc<AtomicU64> {
        self.events.clone()
    }

    /// Marks the devices as possibly changed.
    pub fn notify(&self) {
        self.events.fetch_add(1, Ordering::Release);
    }

    /// Whether the devices may have changed since the last call that said
    /// so: a notification arrived, or `poll` has passed.
    pub fn changed(&mut self) -> bool {
        let now = self.events.load(Ordering::Acquire);
        let notified = now != self.seen;
        self.seen = now;
        let due = self.last_poll.elapsed() >= self.poll;
        if notified || due {
            self.last_poll = Instant::now();
        }
        notified || due
    }
}

#[cfg(target_os = "macos")]
mod mac {
    //! The CoreAudio property listeners: registration and the callback, nothing more.

    use objc2_core_audio::{
        AudioObjectAddPropertyListener, AudioObjectID, AudioObjectPropertyAddress, AudioObjectRemovePropertyListener,
        kAudioHardwareNoError, kAudioHardwarePropertyDefaultOutputDevice, kAudioHardwarePropertyDevices,
        kAudioObjectPropertyElementMain, kAudioObjectPropertyScopeGlobal, kAudioObjectSystemObject,
    };
    use std::ffi::c_void;
    use std::ptr::NonNull;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    const SELECTORS: [u32; 2] = [kAudioHardwarePropertyDevices, kAudioHardwarePropertyDefaultOutputDevice];

    fn address(selector: u32) -> AudioObjectPropertyAddress {
        AudioObjectPropertyAddress {
            mSelector: selector,
            mScope: kAudioObjectPropertyScopeGlobal,
            mElement: kAudioObjectPropertyElementMain,
        }
    }

    /// The registered listeners; removed on drop.
    pub(super) struct Listeners {
        /// The counter the callback bumps, leaked into the client-data
        /// pointer until the listeners are removed.
        counter: *const AtomicU64,
        installed: Vec<u32>,
    }

    // SAFETY: the raw pointer is an `Arc<AtomicU64>` kept alive until drop;
    // the counter itself is atomic.
    unsafe impl Send for Listeners {}

    /// Runs on the HAL's notification thread: one atomic add, nothing else.
    unsafe extern "C-unwind" fn on_change(
        _object: AudioObjectID,
        _count: u32,
        _addresses: NonNull<AudioObjectPropertyAddress>,
        client: *mut c_void,
    ) -> i32 {
        // SAFETY: `client` is the `Arc<AtomicU64>` pointer `install` leaked;
        // it stays valid until every listener using it is removed.
        let counter = unsafe { &*(client as *const AtomicU64) };
        counter.fetch_add(1, Ordering::Release);
        0
    }

    impl Listeners {
        pub(super) fn install(counter: Arc<AtomicU64>) -> Result<Listeners, i32> {
            let mut l = Listeners { counter: Arc::into_raw(counter), installed: Vec::new() };
            for selector in SELECTORS {
                let a = address(selector);
                // SAFETY: a valid address; the callback only reads the counter
                // pointer, which outlives the registration (removed in drop).
                let status = unsafe {
                    AudioObjectAddPropertyListener(
                        kAudioObjectSystemObject as AudioObjectID,
                        NonNull::from(&a),
                        Some(on_change),
                        l.counter as *mut c_void,
                    )
                };
                if status != kAudioHardwareNoError {
                    return Err(status); // drop removes what was installed
                }
                l.installed.push(selector);
            }
            Ok(l)
        }
    }

    impl Drop for Listeners {
        fn drop(&mut self) {
            for selector in self.installed.drain(..) {
                let a = address(selector);
                // SAFETY: the same (object, address, proc, client data) as registered.
                // The HAL does not call a listener after its removal returns.
                let _ = unsafe {
                    AudioObjectRemovePropertyListener(
                        kAudioObjectSystemObject as AudioObjectID,
                        NonNull::from(&a),
                        Some(on_change),
                        self.counter as *mut c_void,
                    )
                };
            }
            // SAFETY: from `Arc::into_raw` in `install`; no listener refers to it any more.
            drop(unsafe { Arc::from_raw(self.counter) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_is_reported_once() {
        let mut w = DeviceWatch::new(Duration::from_secs(3600));
        assert!(!w.changed());
        w.notify();
        assert!(w.changed());
        assert!(!w.changed());
        let n = w.notifier();
        n.fetch_add(3, Ordering::Release);
        assert!(w.changed());
        assert!(!w.changed());
    }

    #[test]
    fn the_poll_says_maybe_changed_on_schedule() {
        let mut w = DeviceWatch::new(Duration::from_millis(30));
        assert!(!w.changed());
        std::thread::sleep(Duration::from_millis(40));
        assert!(w.changed());
        assert!(!w.changed());
    }
}
