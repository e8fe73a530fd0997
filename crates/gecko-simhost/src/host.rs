//! Our side of `AudioServerPlugInHostInterface` (AudioServerPlugIn.h): the
//! callbacks the driver makes into "coreaudiod".
//!
//! * `PropertiesChanged` is recorded ([`Host::notifications`]).
//! * Storage (`CopyFromStorage` / `WriteToStorage` / `DeleteFromStorage`) is an
//!   in-memory map from key to a retained CF object. Only the CF types this
//!   host implements (CFString, CFUUID, CFNumber) can be stored; any other
//!   CFPropertyList is refused with `kAudioHardwareUnsupportedOperationError`.
//!   A missing key yields `*outData = NULL` and
//!   `kAudioHardwareUnknownPropertyError`.
//! * `RequestDeviceConfigurationChange` is recorded; the host performs it
//!   later, on a non-IO thread, with [`crate::Driver::perform_pending_configuration_changes`].

use crate::cf;
use crate::ffi::*;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Mutex, MutexGuard};

/// One `PropertiesChanged` call.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The object whose properties changed.
    pub object_id: AudioObjectID,
    /// The changed addresses, as passed.
    pub addresses: Vec<AudioObjectPropertyAddress>,
}

/// One `RequestDeviceConfigurationChange` call, not yet performed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigChangeRequest {
    /// The device asking.
    pub device_id: AudioObjectID,
    /// `inChangeAction`, opaque to the host.
    pub action: u64,
    /// `inChangeInfo` as an address, opaque to the host.
    pub info: usize,
}

#[derive(Default)]
struct HostState {
    notifications: Vec<Notification>,
    storage: HashMap<String, usize>,
    requests: Vec<ConfigChangeRequest>,
}

/// The host object handed to the driver's `Initialize`. `#[repr(C)]` with the
/// interface first, so the `AudioServerPlugInHostRef` the driver passes back
/// is also a pointer to the `Host`. It must outlive the driver: keep it in
/// an `Arc` (the [`crate::Driver`] does).
#[repr(C)]
pub struct Host {
    interface: AudioServerPlugInHostInterface,
    state: Mutex<HostState>,
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

impl Host {
    /// A host with empty storage and no recorded calls.
    pub fn new() -> Self {
        Host {
            interface: AudioServerPlugInHostInterface {
                PropertiesChanged: Some(properties_changed),
                CopyFromStorage: Some(copy_from_storage),
                WriteToStorage: Some(write_to_storage),
                DeleteFromStorage: Some(delete_from_storage),
                RequestDeviceConfigurationChange: Some(request_config_change),
            },
            state: Mutex::new(HostState::default()),
        }
    }

    /// The pointer to pass to `Initialize`.
    pub fn as_host_ref(&self) -> AudioServerPlugInHostRef {
        &self.interface
    }

    fn lock(&self) -> MutexGuard<'_, HostState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every `PropertiesChanged` call so far, oldest first.
    pub fn notifications(&self) -> Vec<Notification> {
        self.lock().notifications.clone()
    }

    /// Removes and returns the recorded notifications.
    pub fn take_notifications(&self) -> Vec<Notification> {
        std::mem::take(&mut self.lock().notifications)
    }

    /// Configuration-change requests not yet performed, oldest first.
    pub fn pending_config_changes(&self) -> Vec<ConfigChangeRequest> {
        self.lock().requests.clone()
    }

    /// Removes and returns the pending configuration-change requests.
    pub fn take_config_changes(&self) -> Vec<ConfigChangeRequest> {
        std::mem::take(&mut self.lock().requests)
    }

    /// The stored value for `key` as a string, if it is a CFString.
    pub fn storage_string(&self, key: &str) -> Option<String> {
        let p = *self.lock().storage.get(key)?;
        cf::string_value(p as *const c_void)
    }

    /// The stored value for `key`, if it is a CFNumber.
    pub fn storage_number(&self, key: &str) -> Option<cf::Number> {
        let p = *self.lock().storage.get(key)?;
        cf::number_value(p as *const c_void)
    }

    /// Stores a number under `key` (as if a previous run had written it).
    pub fn preset_storage_number(&self, key: &str, value: cf::Number) {
        let n = cf::number_create(value);
        if let Some(old) = self.lock().storage.insert(key.to_owned(), n as usize) {
            cf::release(old as *const c_void);
        }
    }

    /// Keys currently in storage.
    pub fn storage_keys(&self) -> Vec<String> {
        self.lock().storage.keys().cloned().collect()
    }

    /// Stores a string under `key` (as if a previous run had written it).
    pub fn preset_storage_string(&self, key: &str, value: &str) {
        let s = cf::string_create(value);
        if let Some(old) = self.lock().storage.insert(key.to_owned(), s as usize) {
            cf::release(old as *const c_void);
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        for (_, p) in st.storage.drain() {
            cf::release(p as *const c_void);
        }
    }
}

/// # Safety
/// `h` must be the `AudioServerPlugInHostRef` of a live [`Host`].
unsafe fn host<'a>(h: AudioServerPlugInHostRef) -> Option<&'a Host> {
    // SAFETY: `Host` is repr(C) with the interface at offset 0, and the
    // driver only has pointers we gave it, to Hosts kept alive by the Driver.
    unsafe { (h as *const Host).as_ref() }
}

unsafe extern "C" fn properties_changed(
    h: AudioServerPlugInHostRef,
    object_id: AudioObjectID,
    n: u32,
    addresses: *const AudioObjectPropertyAddress,
) -> OSStatus {
    // SAFETY: see `host`.
    let Some(host) = (unsafe { host(h) }) else { return kAudioHardwareIllegalOperationError };
    if n > 0 && addresses.is_null() {
        return kAudioHardwareIllegalOperationError;
    }
    let addresses = if n == 0 {
        Vec::new()
    } else {
        // SAFETY: the driver passes `n` addresses at `addresses` (checked non-null).
        unsafe { std::slice::from_raw_parts(addresses, n as usize) }.to_vec()
    };
    host.lock().notifications.push(Notification { object_id, addresses });
    kAudioHardwareNoError
}

unsafe extern "C" fn copy_from_storage(
    h: AudioServerPlugInHostRef,
    key: cf::CFStringRef,
    out: *mut *const c_void,
) -> OSStatus {
    // SAFETY: see `host`.
    let Some(host) = (unsafe { host(h) }) else { return kAudioHardwareIllegalOperationError };
    if out.is_null() {
        return kAudioHardwareIllegalOperationError;
    }
    let found = cf::string_value(key).and_then(|k| host.lock().storage.get(&k).copied());
    let (value, status) = match found {
        Some(p) => {
            // SAFETY: stored values are live CF objects we retain; the caller
            // gets its own +1 reference.
            unsafe { cf::CFRetain(p as *const c_void) };
            (p as *const c_void, kAudioHardwareNoError)
        }
        None => (std::ptr::null(), kAudioHardwareUnknownPropertyError),
    };
    // SAFETY: `out` checked non-null; the driver passes a writable pointer.
    unsafe { *out = value };
    status
}

unsafe extern "C" fn write_to_storage(
    h: AudioServerPlugInHostRef,
    key: cf::CFStringRef,
    data: *const c_void,
) -> OSStatus {
    // SAFETY: see `host`.
    let Some(host) = (unsafe { host(h) }) else { return kAudioHardwareIllegalOperationError };
    let Some(k) = cf::string_value(key) else { return kAudioHardwareIllegalOperationError };
    match cf::type_of(data) {
        Some(cf::CF_STRING_TYPE_ID) | Some(cf::CF_UUID_TYPE_ID) | Some(cf::CF_NUMBER_TYPE_ID) => {}
        _ => return kAudioHardwareUnsupportedOperationError,
    }
    // SAFETY: `data` is a live CF object (checked above); we keep a reference.
    unsafe { cf::CFRetain(data) };
    if let Some(old) = host.lock().storage.insert(k, data as usize) {
        cf::release(old as *const c_void);
    }
    kAudioHardwareNoError
}

unsafe extern "C" fn delete_from_storage(h: AudioServerPlugInHostRef, key: cf::CFStringRef) -> OSStatus {
    // SAFETY: see `host`.
    let Some(host) = (unsafe { host(h) }) else { return kAudioHardwareIllegalOperationError };
    let Some(k) = cf::string_value(key) else { return kAudioHardwareIllegalOperationError };
    let old = host.lock().storage.remove(&k);
    match old {
        Some(p) => {
            cf::release(p as *const c_void);
            kAudioHardwareNoError
        }
        None => kAudioHardwareUnknownPropertyError,
    }
}

unsafe extern "C" fn request_config_change(
    h: AudioServerPlugInHostRef,
    device_id: AudioObjectID,
    action: u64,
    info: *mut c_void,
) -> OSStatus {
    // SAFETY: see `host`.
    let Some(host) = (unsafe { host(h) }) else { return kAudioHardwareIllegalOperationError };
    host.lock().requests.push(ConfigChangeRequest { device_id, action, info: info as usize });
    kAudioHardwareNoError
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_record_and_store() {
        let h = Host::new();
        let r = h.as_host_ref();
        let addr = [AudioObjectPropertyAddress::global(kAudioDevicePropertyNominalSampleRate)];
        // SAFETY: `r` is a live host; arguments valid.
        unsafe {
            let i = &*r;
            assert_eq!(i.PropertiesChanged.map(|f| f(r, 2, 1, addr.as_ptr())), Some(0));
            assert_eq!(i.RequestDeviceConfigurationChange.map(|f| f(r, 2, 7, std::ptr::null_mut())), Some(0));
            let key = cf::string_create("k");
            let val = cf::string_create("v");
            assert_eq!(i.WriteToStorage.map(|f| f(r, key, val)), Some(0));
            cf::release(val);
            let mut out: *const c_void = std::ptr::null();
            assert_eq!(i.CopyFromStorage.map(|f| f(r, key, &mut out)), Some(0));
            assert_eq!(cf::string_value(out).as_deref(), Some("v"));
            cf::release(out);
            assert_eq!(i.DeleteFromStorage.map(|f| f(r, key)), Some(0));
            assert_eq!(i.CopyFromStorage.map(|f| f(r, key, &mut out)), Some(kAudioHardwareUnknownPropertyError));
            assert!(out.is_null());
            // Not a CF object we know: refused.
            let bogus = 16usize as *const c_void;
            assert_eq!(i.WriteToStorage.map(|f| f(r, key, bogus)), Some(kAudioHardwareUnsupportedOperationError));
            cf::release(key);
        }
        assert_eq!(h.notifications(), vec![Notification { object_id: 2, addresses: addr.to_vec() }]);
        assert_eq!(h.take_config_changes(), vec![ConfigChangeRequest { device_id: 2, action: 7, info: 0 }]);
        assert!(h.pending_config_changes().is_empty());
    }
}
