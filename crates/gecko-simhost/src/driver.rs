//! A safe handle on a loaded driver: one method per vtable entry, typed
//! property helpers, and HAL-style device discovery.

use crate::bundle::{BundleInfo, LoadError, LoadedLibrary};
use crate::cf;
use crate::ffi::*;
use crate::host::Host;
use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;

/// A non-zero `OSStatus` from the driver, rendered as its four-char code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OsStatus(pub OSStatus);

impl fmt::Display for OsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", fourcc_str(self.0 as u32), self.0)
    }
}

/// Errors from calls into the driver.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The driver returned a non-zero OSStatus.
    #[error("{call} failed: OSStatus {status}")]
    Status {
        /// The vtable entry called (e.g. `GetPropertyData`).
        call: &'static str,
        /// The OSStatus it returned (a four-char code for CoreAudio errors).
        status: OsStatus,
    },
    /// A property's data had an unexpected size (bytes).
    #[error("{what}: driver returned {got} bytes, expected {expected}")]
    Size {
        /// The property asked for.
        what: String,
        /// Bytes the driver returned.
        got: usize,
        /// Bytes the property's type has.
        expected: usize,
    },
    /// A CF object the driver returned was not what the property promises.
    #[error("{0}: driver returned an invalid CF object")]
    BadCfObject(String),
    /// The vtable entry is NULL.
    #[error("driver vtable entry {0} is NULL")]
    NullEntry(&'static str),
    /// Device discovery found nothing usable.
    #[error("device discovery: {0}")]
    Discovery(String),
    /// `GeckoSim_Configure` is not exported or refused the configuration.
    #[error("GeckoSim_Configure: {0}")]
    Configure(String),
    /// A caller-side argument was invalid (e.g. a buffer not a whole number of frames).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl DriverError {
    /// The driver's OSStatus, if this error carries one.
    pub fn status(&self) -> Option<OSStatus> {
        match self {
            DriverError::Status { status, .. } => Some(status.0),
            _ => None,
        }
    }
}

/// Gecko's custom device property `'gkrs'` (`GECKO_PROPERTY_RING_STATE`,
/// driver/src/gecko_driver.h): the writer side of the shm ring as a CFString
/// of `key=value` lines, global scope, listed in the device's
/// `kAudioObjectPropertyCustomPropertyInfoList`.
pub const GECKO_PROPERTY_RING_STATE: u32 = fourcc(b"gkrs");

fn check(call: &'static str, st: OSStatus) -> Result<(), DriverError> {
    if st == kAudioHardwareNoError { Ok(()) } else { Err(DriverError::Status { call, status: OsStatus(st) }) }
}

/// What [`Driver::find_device`] discovers, the way the HAL does.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    /// Device object ID.
    pub device_id: AudioObjectID,
    /// The output stream's object ID.
    pub stream_id: AudioObjectID,
    /// `kAudioObjectPropertyName`.
    pub name: String,
    /// `kAudioDevicePropertyDeviceUID`.
    pub uid: String,
    /// Channels per frame (from the stream's VirtualFormat).
    pub channels: u32,
    /// Nominal sample rate, Hz.
    pub sample_rate: f64,
    /// The stream's virtual format.
    pub format: AudioStreamBasicDescription,
    /// `kAudioDevicePropertyZeroTimeStampPeriod`, frames.
    pub zero_timestamp_period: u32,
    /// Output-scope `kAudioDevicePropertySafetyOffset`, frames (0 if absent).
    pub safety_offset: u32,
    /// Output-scope `kAudioDevicePropertyLatency`, frames (0 if absent).
    pub latency: u32,
    /// The device's input stream (the first of `kAudioDevicePropertyStreams`
    /// in input scope with direction 1 and the same format), if it has one.
    pub input_stream_id: Option<AudioObjectID>,
}

/// Host-clock settings for `GeckoSim_Configure` (gecko_sim.h).
pub struct SimClock {
    /// The clock function: host time in host ticks. `None` = the driver's
    /// default CLOCK_MONOTONIC, ns.
    pub func: Option<GeckoSimHostClockFn>,
    /// Its context pointer; must stay valid for the driver's lifetime.
    pub ctx: *mut c_void,
    /// Host ticks per second of `func`.
    pub ticks_per_second: f64,
}

/// A loaded driver (`AudioServerPlugInDriverRef` + the host it was given).
///
/// All methods call the vtable and return the driver's OSStatus as
/// [`DriverError::Status`]; none panics on driver errors. The handle is
/// `Send + Sync`: the HAL calls drivers from several threads, and the driver
/// is responsible for its own locking.
pub struct Driver {
    raw: AudioServerPlugInDriverRef,
    configure_fn: Option<GeckoSimConfigureFn>,
    host: Option<Arc<Host>>,
    keepalive: Vec<Box<dyn std::any::Any + Send + Sync>>,
    lib: LoadedLibrary,
    ignore_clock_requests: bool,
    deny_shm_create: bool,
}

// SAFETY: AudioServerPlugIn drivers must accept calls from any HAL thread;
// the raw pointers are only used through the vtable.
unsafe impl Send for Driver {}
// SAFETY: as above.
unsafe impl Sync for Driver {}

impl Drop for Driver {
    fn drop(&mut self) {
        // Give back the reference QueryInterface gave us. The library stays
        // mapped (never dlclosed), and the Host is kept alive by the leaked
        // Arc below since the driver may still hold its pointer.
        if let Some(release) = self.vtbl().ok().and_then(|v| v.Release) {
            // SAFETY: IUnknown Release of the reference we own.
            unsafe { release(self.raw as *mut c_void) };
        }
        if let Some(h) = self.host.take() {
            // The driver keeps the host pointer forever (it is told the host
            // outlives it): never free it.
            std::mem::forget(h);
        }
        for k in self.keepalive.drain(..) {
            std::mem::forget(k);
        }
    }
}

impl Driver {
    /// # Safety
    /// `raw` must be a valid `AudioServerPlugInDriverRef` holding one reference.
    pub(crate) unsafe fn from_raw(
        raw: AudioServerPlugInDriverRef,
        configure_fn: Option<GeckoSimConfigureFn>,
        lib: LoadedLibrary,
    ) -> Result<Self, LoadError> {
        let d = Driver {
            raw,
            configure_fn,
            host: None,
            keepalive: Vec::new(),
            lib,
            ignore_clock_requests: false,
            deny_shm_create: false,
        };
        d.vtbl().map_err(|_| LoadError::NullVtableEntry("vtable"))?;
        Ok(d)
    }

    /// The bundle this driver came from.
    pub fn bundle_info(&self) -> &BundleInfo {
        &self.lib.info
    }

    /// The raw `AudioServerPlugInDriverRef`.
    pub fn raw(&self) -> AudioServerPlugInDriverRef {
        self.raw
    }

    /// The host given to [`Driver::initialize`], if any.
    pub fn host(&self) -> Option<&Arc<Host>> {
        self.host.as_ref()
    }

    /// Whether the library exports `GeckoSim_Configure`.
    pub fn has_sim_configure(&self) -> bool {
        self.configure_fn.is_some()
    }

    fn vtbl(&self) -> Result<&AudioServerPlugInDriverInterface, DriverError> {
        // SAFETY: `raw` points to a pointer to the driver's static vtable.
        unsafe { (*self.raw).as_ref() }.ok_or(DriverError::NullEntry("vtable"))
    }

    /// Makes the next [`Driver::configure`] ask the driver to ignore the
    /// engine's clock requests (`GeckoSimConfig.ignore_clock_requests`): a
    /// driver that cannot steer, for testing the engine's fallback to
    /// adaptive resampling.
    pub fn set_ignore_clock_requests(&mut self, ignore: bool) {
        self.ignore_clock_requests = ignore;
    }

    /// Makes the next [`Driver::configure`] play the plug-in sandbox that
    /// refuses to create POSIX shared memory (`GeckoSimConfig.deny_shm_create`:
    /// every `shm_open` with `O_CREAT` in the driver fails with EPERM), so the
    /// driver's fallback to a pre-created segment can be tested.
    pub fn set_deny_shm_create(&mut self, deny: bool) {
        self.deny_shm_create = deny;
    }

    /// Calls `GeckoSim_Configure` (gecko_sim.h) with `shm_name` (≤ 28 bytes,
    /// `/name`; empty = default) and an optional host clock. Call before
    /// [`Driver::initialize`]. `keepalive` is kept (never freed) for as long
    /// as the driver may call the clock; put the clock's context there.
    pub fn configure(
        &mut self,
        shm_name: &str,
        clock: Option<SimClock>,
        keepalive: Option<Box<dyn std::any::Any + Send + Sync>>,
    ) -> Result<(), DriverError> {
        let f = self.configure_fn.ok_or_else(|| DriverError::Configure("symbol not exported by the driver".into()))?;
        if shm_name.len() > GECKO_SHM_WRITER_NAME_MAX || shm_name.contains('\0') {
            return Err(DriverError::Configure(format!("shm name {shm_name:?} longer than 28 bytes or contains NUL")));
        }
        let mut cfg = GeckoSimConfig {
            struct_size: std::mem::size_of::<GeckoSimConfig>() as u32,
            shm_name: [0; 32],
            host_clock: None,
            host_clock_ctx: std::ptr::null_mut(),
            host_ticks_per_second: 0.0,
            ignore_clock_requests: self.ignore_clock_requests as u32,
            deny_shm_create: self.deny_shm_create as u32,
        };
        for (d, s) in cfg.shm_name.iter_mut().zip(shm_name.bytes()) {
            *d = s as std::ffi::c_char;
        }
        if let Some(c) = clock {
            cfg.host_clock = c.func;
            cfg.host_clock_ctx = c.ctx;
            cfg.host_ticks_per_second = c.ticks_per_second;
        }
        // SAFETY: `cfg` is a valid GeckoSimConfig for the call's duration.
        let r = unsafe { f(&cfg) };
        if let Some(k) = keepalive {
            self.keepalive.push(k);
        }
        if r != 0 {
            return Err(DriverError::Configure(format!("driver refused the configuration (returned {r})")));
        }
        Ok(())
    }

    /// `Initialize(inDriver, inHost)`. The host is kept alive for the life of
    /// the process (the driver may keep its pointer).
    pub fn initialize(&mut self, host: Arc<Host>) -> Result<(), DriverError> {
        let f = self.vtbl()?.Initialize.ok_or(DriverError::NullEntry("Initialize"))?;
        let href = host.as_host_ref();
        if let Some(old) = self.host.replace(host) {
            std::mem::forget(old);
        }
        // SAFETY: valid driver ref; the host lives as long as `self` (and longer).
        check("Initialize", unsafe { f(self.raw, href) })
    }

    /// `AddRef`: returns the new reference count.
    pub fn add_ref(&self) -> Result<u32, DriverError> {
        let f = self.vtbl()?.AddRef.ok_or(DriverError::NullEntry("AddRef"))?;
        // SAFETY: IUnknown AddRef on our reference.
        Ok(unsafe { f(self.raw as *mut c_void) })
    }

    /// `Release`: returns the new reference count. Balance with [`Driver::add_ref`].
    pub fn release_ref(&self) -> Result<u32, DriverError> {
        let f = self.vtbl()?.Release.ok_or(DriverError::NullEntry("Release"))?;
        // SAFETY: IUnknown Release of a reference taken with add_ref.
        Ok(unsafe { f(self.raw as *mut c_void) })
    }

    /// `QueryInterface(uuid)`: `Ok(ptr)` on S_OK (the caller owns one
    /// reference and must release it through that interface), `Err(HRESULT)`
    /// otherwise.
    pub fn query_interface(&self, uuid: [u8; 16]) -> Result<*mut c_void, HRESULT> {
        let f = self.vtbl().ok().and_then(|v| v.QueryInterface).ok_or(E_NOINTERFACE)?;
        let mut out: *mut c_void = std::ptr::null_mut();
        // SAFETY: COM call with a writable out pointer.
        let hr = unsafe { f(self.raw as *mut c_void, cf::CFUUIDBytes { bytes: uuid }, &mut out) };
        if hr == S_OK { Ok(out) } else { Err(hr) }
    }

    /// `CreateDevice` with an empty description (our driver does not support it).
    pub fn create_device(&self, client: &AudioServerPlugInClientInfo) -> Result<AudioObjectID, DriverError> {
        let f = self.vtbl()?.CreateDevice.ok_or(DriverError::NullEntry("CreateDevice"))?;
        let mut id = 0;
        // SAFETY: valid pointers for the call's duration.
        check("CreateDevice", unsafe { f(self.raw, std::ptr::null(), client, &mut id) })?;
        Ok(id)
    }

    /// `DestroyDevice`.
    pub fn destroy_device(&self, device: AudioObjectID) -> Result<(), DriverError> {
        let f = self.vtbl()?.DestroyDevice.ok_or(DriverError::NullEntry("DestroyDevice"))?;
        // SAFETY: plain call.
        check("DestroyDevice", unsafe { f(self.raw, device) })
    }

    /// `AddDeviceClient`.
    pub fn add_device_client(
        &self,
        device: AudioObjectID,
        client: &AudioServerPlugInClientInfo,
    ) -> Result<(), DriverError> {
        let f = self.vtbl()?.AddDeviceClient.ok_or(DriverError::NullEntry("AddDeviceClient"))?;
        // SAFETY: `client` valid for the call.
        check("AddDeviceClient", unsafe { f(self.raw, device, client) })
    }

    /// `RemoveDeviceClient`.
    pub fn remove_device_client(
        &self,
        device: AudioObjectID,
        client: &AudioServerPlugInClientInfo,
    ) -> Result<(), DriverError> {
        let f = self.vtbl()?.RemoveDeviceClient.ok_or(DriverError::NullEntry("RemoveDeviceClient"))?;
        // SAFETY: `client` valid for the call.
        check("RemoveDeviceClient", unsafe { f(self.raw, device, client) })
    }

    /// `PerformDeviceConfigurationChange`. Call on a non-IO thread with IO stopped.
    pub fn perform_configuration_change(
        &self,
        device: AudioObjectID,
        action: u64,
        info: usize,
    ) -> Result<(), DriverError> {
        let f = self
            .vtbl()?
            .PerformDeviceConfigurationChange
            .ok_or(DriverError::NullEntry("PerformDeviceConfigurationChange"))?;
        // SAFETY: `info` is the driver's own opaque pointer, passed back.
        check("PerformDeviceConfigurationChange", unsafe { f(self.raw, device, action, info as *mut c_void) })
    }

    /// `AbortDeviceConfigurationChange`.
    pub fn abort_configuration_change(
        &self,
        device: AudioObjectID,
        action: u64,
        info: usize,
    ) -> Result<(), DriverError> {
        let f = self
            .vtbl()?
            .AbortDeviceConfigurationChange
            .ok_or(DriverError::NullEntry("AbortDeviceConfigurationChange"))?;
        // SAFETY: `info` is the driver's own opaque pointer, passed back.
        check("AbortDeviceConfigurationChange", unsafe { f(self.raw, device, action, info as *mut c_void) })
    }

    /// Performs every configuration change the driver requested through the
    /// host (in order), as the HAL does after stopping IO. Returns how many
    /// were performed; stops at the first error.
    pub fn perform_pending_configuration_changes(&self) -> Result<usize, DriverError> {
        let Some(host) = &self.host else { return Ok(0) };
        let reqs = host.take_config_changes();
        for r in &reqs {
            self.perform_configuration_change(r.device_id, r.action, r.info)?;
        }
        Ok(reqs.len())
    }

    /// `HasProperty` (client pid 0 = the host).
    pub fn has_property(&self, object: AudioObjectID, addr: &AudioObjectPropertyAddress) -> Result<bool, DriverError> {
        let f = self.vtbl()?.HasProperty.ok_or(DriverError::NullEntry("HasProperty"))?;
        // SAFETY: `addr` valid for the call.
        Ok(unsafe { f(self.raw, object, 0, addr) } != 0)
    }

    /// `IsPropertySettable`.
    pub fn is_property_settable(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
    ) -> Result<bool, DriverError> {
        let f = self.vtbl()?.IsPropertySettable.ok_or(DriverError::NullEntry("IsPropertySettable"))?;
        let mut out: cf::Boolean = 0;
        // SAFETY: valid pointers for the call.
        check("IsPropertySettable", unsafe { f(self.raw, object, 0, addr, &mut out) })?;
        Ok(out != 0)
    }

    /// `GetPropertyDataSize`, bytes.
    pub fn get_property_data_size(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
        qualifier: &[u8],
    ) -> Result<usize, DriverError> {
        let f = self.vtbl()?.GetPropertyDataSize.ok_or(DriverError::NullEntry("GetPropertyDataSize"))?;
        let mut size = 0u32;
        let (qn, qp) = qual(qualifier);
        // SAFETY: valid pointers for the call.
        check("GetPropertyDataSize", unsafe { f(self.raw, object, 0, addr, qn, qp, &mut size) })?;
        Ok(size as usize)
    }

    /// `GetPropertyData` into `buf` (its length is `inDataSize`); returns the
    /// bytes the driver reports it wrote (`outDataSize`), checked ≤ `buf.len()`.
    pub fn get_property_data(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
        qualifier: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, DriverError> {
        let f = self.vtbl()?.GetPropertyData.ok_or(DriverError::NullEntry("GetPropertyData"))?;
        let in_size = u32::try_from(buf.len()).map_err(|_| DriverError::InvalidArgument("buffer > 4 GiB".into()))?;
        let mut out_size = 0u32;
        let (qn, qp) = qual(qualifier);
        // SAFETY: `buf` is writable for `in_size` bytes; other pointers valid.
        let st =
            unsafe { f(self.raw, object, 0, addr, qn, qp, in_size, &mut out_size, buf.as_mut_ptr() as *mut c_void) };
        check("GetPropertyData", st)?;
        if out_size as usize > buf.len() {
            return Err(DriverError::Size {
                what: format!("GetPropertyData {} of object {object}", fourcc_str(addr.mSelector)),
                got: out_size as usize,
                expected: buf.len(),
            });
        }
        Ok(out_size as usize)
    }

    /// `SetPropertyData` from `data`.
    pub fn set_property_data(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
        qualifier: &[u8],
        data: &[u8],
    ) -> Result<(), DriverError> {
        let f = self.vtbl()?.SetPropertyData.ok_or(DriverError::NullEntry("SetPropertyData"))?;
        let n = u32::try_from(data.len()).map_err(|_| DriverError::InvalidArgument("data > 4 GiB".into()))?;
        let (qn, qp) = qual(qualifier);
        // SAFETY: `data` readable for `n` bytes.
        check("SetPropertyData", unsafe { f(self.raw, object, 0, addr, qn, qp, n, data.as_ptr() as *const c_void) })
    }

    /// Reads a fixed-size POD property (`T` = u32, f64, ASBD, …), requiring
    /// the driver to write exactly `size_of::<T>()` bytes.
    pub fn get_pod<T: Pod>(&self, object: AudioObjectID, addr: &AudioObjectPropertyAddress) -> Result<T, DriverError> {
        let mut v = T::zeroed();
        let n = std::mem::size_of::<T>();
        // SAFETY: T: Pod, so any byte pattern is a valid T and it has no padding
        // the driver could not write.
        let bytes = unsafe { std::slice::from_raw_parts_mut(&mut v as *mut T as *mut u8, n) };
        let got = self.get_property_data(object, addr, &[], bytes)?;
        if got != n {
            return Err(DriverError::Size {
                what: format!("{} of object {object}", fourcc_str(addr.mSelector)),
                got,
                expected: n,
            });
        }
        Ok(v)
    }

    /// Reads a variable-length array property of `T` (size query first).
    pub fn get_pod_array<T: Pod>(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
        qualifier: &[u8],
    ) -> Result<Vec<T>, DriverError> {
        let elem = std::mem::size_of::<T>();
        let size = self.get_property_data_size(object, addr, qualifier)?;
        if size % elem != 0 {
            return Err(DriverError::Size {
                what: format!("{} of object {object} (not a multiple of {elem})", fourcc_str(addr.mSelector)),
                got: size,
                expected: size - size % elem,
            });
        }
        let mut v = vec![T::zeroed(); size / elem];
        // SAFETY: T: Pod; the Vec holds `size` bytes.
        let bytes = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, size) };
        let got = self.get_property_data(object, addr, qualifier, bytes)?;
        if got % elem != 0 {
            return Err(DriverError::Size {
                what: format!("{} of object {object}", fourcc_str(addr.mSelector)),
                got,
                expected: size,
            });
        }
        v.truncate(got / elem);
        Ok(v)
    }

    /// A `UInt32` property.
    pub fn get_u32(&self, object: AudioObjectID, addr: &AudioObjectPropertyAddress) -> Result<u32, DriverError> {
        self.get_pod(object, addr)
    }

    /// A `Float64` property.
    pub fn get_f64(&self, object: AudioObjectID, addr: &AudioObjectPropertyAddress) -> Result<f64, DriverError> {
        self.get_pod(object, addr)
    }

    /// A `Float32` property.
    pub fn get_f32(&self, object: AudioObjectID, addr: &AudioObjectPropertyAddress) -> Result<f32, DriverError> {
        self.get_pod(object, addr)
    }

    /// An `AudioObjectID` array property (DeviceList, Streams, OwnedObjects, …).
    pub fn get_object_list(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
    ) -> Result<Vec<AudioObjectID>, DriverError> {
        self.get_pod_array(object, addr, &[])
    }

    /// An `AudioStreamBasicDescription` property.
    pub fn get_asbd(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
    ) -> Result<AudioStreamBasicDescription, DriverError> {
        self.get_pod(object, addr)
    }

    /// An `AudioValueRange` array property (e.g. AvailableNominalSampleRates).
    pub fn get_value_ranges(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
    ) -> Result<Vec<AudioValueRange>, DriverError> {
        self.get_pod_array(object, addr, &[])
    }

    /// An `AudioStreamRangedDescription` array property (AvailableVirtualFormats, …).
    pub fn get_ranged_formats(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
    ) -> Result<Vec<AudioStreamRangedDescription>, DriverError> {
        self.get_pod_array(object, addr, &[])
    }

    /// A CFString property: copies it into a `String` and releases the
    /// reference the driver returned (the caller-releases rule of the HAL).
    pub fn get_cfstring(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
    ) -> Result<String, DriverError> {
        self.get_cfstring_qualified(object, addr, &[])
    }

    /// [`Driver::get_cfstring`] with qualifier data.
    pub fn get_cfstring_qualified(
        &self,
        object: AudioObjectID,
        addr: &AudioObjectPropertyAddress,
        qualifier: &[u8],
    ) -> Result<String, DriverError> {
        let mut buf = [0u8; std::mem::size_of::<usize>()];
        let got = self.get_property_data(object, addr, qualifier, &mut buf)?;
        if got != buf.len() {
            return Err(DriverError::Size {
                what: format!("{} of object {object}", fourcc_str(addr.mSelector)),
                got,
                expected: buf.len(),
            });
        }
        let p = usize::from_ne_bytes(buf) as *const c_void;
        let what = || format!("{} of object {object}", fourcc_str(addr.mSelector));
        let s = cf::string_value(p).ok_or_else(|| DriverError::BadCfObject(what()))?;
        cf::release(p);
        Ok(s)
    }

    /// Gecko's ring-state property ([`GECKO_PROPERTY_RING_STATE`]) of `device`:
    /// the text, `key=value` lines in the driver's order (writer, reader,
    /// mapped, segment_bytes, open_errno, open_error, source, reader_attached,
    /// reader_faults, generation, io_running). The CFString is released as
    /// for every string property.
    pub fn ring_state(&self, device: AudioObjectID) -> Result<String, DriverError> {
        self.get_cfstring(device, &AudioObjectPropertyAddress::global(GECKO_PROPERTY_RING_STATE))
    }

    /// `StartIO` for `client` (use [`kAudioServerPlugInHostClientID`] for the host).
    pub fn start_io(&self, device: AudioObjectID, client: u32) -> Result<(), DriverError> {
        let f = self.vtbl()?.StartIO.ok_or(DriverError::NullEntry("StartIO"))?;
        // SAFETY: plain call.
        check("StartIO", unsafe { f(self.raw, device, client) })
    }

    /// `StopIO`.
    pub fn stop_io(&self, device: AudioObjectID, client: u32) -> Result<(), DriverError> {
        let f = self.vtbl()?.StopIO.ok_or(DriverError::NullEntry("StopIO"))?;
        // SAFETY: plain call.
        check("StopIO", unsafe { f(self.raw, device, client) })
    }

    /// `GetZeroTimeStamp`: (sample time in frames, host time in host ticks, seed).
    pub fn get_zero_time_stamp(&self, device: AudioObjectID, client: u32) -> Result<(f64, u64, u64), DriverError> {
        let f = self.vtbl()?.GetZeroTimeStamp.ok_or(DriverError::NullEntry("GetZeroTimeStamp"))?;
        let (mut s, mut h, mut seed) = (0.0f64, 0u64, 0u64);
        // SAFETY: valid out pointers.
        check("GetZeroTimeStamp", unsafe { f(self.raw, device, client, &mut s, &mut h, &mut seed) })?;
        Ok((s, h, seed))
    }

    /// `WillDoIOOperation`: (will do, in place).
    pub fn will_do_io_operation(
        &self,
        device: AudioObjectID,
        client: u32,
        op: u32,
    ) -> Result<(bool, bool), DriverError> {
        let f = self.vtbl()?.WillDoIOOperation.ok_or(DriverError::NullEntry("WillDoIOOperation"))?;
        let (mut will, mut in_place) = (0u8, 0u8);
        // SAFETY: valid out pointers.
        check("WillDoIOOperation", unsafe { f(self.raw, device, client, op, &mut will, &mut in_place) })?;
        Ok((will != 0, in_place != 0))
    }

    /// `BeginIOOperation`; `frames` is `inIOBufferFrameSize`.
    pub fn begin_io_operation(
        &self,
        device: AudioObjectID,
        client: u32,
        op: u32,
        frames: u32,
        info: &AudioServerPlugInIOCycleInfo,
    ) -> Result<(), DriverError> {
        let f = self.vtbl()?.BeginIOOperation.ok_or(DriverError::NullEntry("BeginIOOperation"))?;
        // SAFETY: `info` valid for the call.
        check("BeginIOOperation", unsafe { f(self.raw, device, client, op, frames, info) })
    }

    /// `DoIOOperation` on `main` (and optionally `secondary`), each holding
    /// at least `frames × channels` f32 samples, interleaved.
    ///
    /// # Safety
    /// `main`/`secondary` must be valid for reads and writes of `frames`
    /// frames of the stream's format (the driver accesses them in place).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn do_io_operation_raw(
        &self,
        device: AudioObjectID,
        stream: AudioObjectID,
        client: u32,
        op: u32,
        frames: u32,
        info: &AudioServerPlugInIOCycleInfo,
        main: *mut c_void,
        secondary: *mut c_void,
    ) -> Result<(), DriverError> {
        let f = self.vtbl()?.DoIOOperation.ok_or(DriverError::NullEntry("DoIOOperation"))?;
        // SAFETY: guaranteed by the caller.
        check("DoIOOperation", unsafe { f(self.raw, device, stream, client, op, frames, info, main, secondary) })
    }

    /// Safe `DoIOOperation` on an interleaved f32 buffer of
    /// `frames × channels` samples (checked), no secondary buffer.
    #[allow(clippy::too_many_arguments)]
    pub fn do_io_operation(
        &self,
        device: AudioObjectID,
        stream: AudioObjectID,
        client: u32,
        op: u32,
        channels: u32,
        info: &AudioServerPlugInIOCycleInfo,
        main: &mut [f32],
    ) -> Result<(), DriverError> {
        if channels == 0 || !main.len().is_multiple_of(channels as usize) {
            return Err(DriverError::InvalidArgument(format!(
                "{} samples is not a whole number of {channels}-channel frames",
                main.len()
            )));
        }
        let frames = u32::try_from(main.len() / channels as usize)
            .map_err(|_| DriverError::InvalidArgument("too many frames".into()))?;
        // SAFETY: `main` holds exactly `frames` frames of `channels` f32 samples.
        unsafe {
            self.do_io_operation_raw(
                device,
                stream,
                client,
                op,
                frames,
                info,
                main.as_mut_ptr() as *mut c_void,
                std::ptr::null_mut(),
            )
        }
    }

    /// `EndIOOperation`.
    pub fn end_io_operation(
        &self,
        device: AudioObjectID,
        client: u32,
        op: u32,
        frames: u32,
        info: &AudioServerPlugInIOCycleInfo,
    ) -> Result<(), DriverError> {
        let f = self.vtbl()?.EndIOOperation.ok_or(DriverError::NullEntry("EndIOOperation"))?;
        // SAFETY: `info` valid for the call.
        check("EndIOOperation", unsafe { f(self.raw, device, client, op, frames, info) })
    }

    /// The first input stream of `dev` (input-scope `kAudioDevicePropertyStreams`,
    /// direction 1) whose virtual format is `fmt`; `None` if it has none.
    pub fn find_input_stream(
        &self,
        dev: AudioObjectID,
        fmt: &AudioStreamBasicDescription,
    ) -> Result<Option<AudioObjectID>, DriverError> {
        let streams = self.get_object_list(
            dev,
            &AudioObjectPropertyAddress::new(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeInput),
        )?;
        for s in streams {
            if self.get_u32(s, &AudioObjectPropertyAddress::global(kAudioStreamPropertyDirection))? != 1 {
                continue;
            }
            let f = self.get_asbd(s, &AudioObjectPropertyAddress::global(kAudioStreamPropertyVirtualFormat))?;
            if f.mChannelsPerFrame == fmt.mChannelsPerFrame
                && f.mBytesPerFrame == fmt.mBytesPerFrame
                && f.mFormatFlags == fmt.mFormatFlags
            {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    /// Discovers the output device as the HAL does: plug-in DeviceList →
    /// each device's output-scope Streams → stream Direction (0 = output) and
    /// VirtualFormat → NominalSampleRate, name, UID, zero-timestamp period,
    /// safety offset, latency, and its input stream (if any). Picks the first device with an output stream
    /// in linear-PCM float32 interleaved format.
    pub fn find_device(&self) -> Result<DeviceInfo, DriverError> {
        let devices = self.get_object_list(
            kAudioObjectPlugInObject,
            &AudioObjectPropertyAddress::global(kAudioPlugInPropertyDeviceList),
        )?;
        if devices.is_empty() {
            return Err(DriverError::Discovery("the plug-in's DeviceList is empty".into()));
        }
        let mut why = Vec::new();
        for dev in devices {
            let streams = self.get_object_list(
                dev,
                &AudioObjectPropertyAddress::new(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeOutput),
            )?;
            for s in streams {
                let dir = self.get_u32(s, &AudioObjectPropertyAddress::global(kAudioStreamPropertyDirection))?;
                if dir != 0 {
                    why.push(format!("stream {s} of device {dev} is not an output stream"));
                    continue;
                }
                let fmt = self.get_asbd(s, &AudioObjectPropertyAddress::global(kAudioStreamPropertyVirtualFormat))?;
                let float_packed = fmt.mFormatID == kAudioFormatLinearPCM
                    && fmt.mFormatFlags & kAudioFormatFlagIsFloat != 0
                    && fmt.mFormatFlags & kAudioFormatFlagIsNonInterleaved == 0
                    && fmt.mFormatFlags & kAudioFormatFlagIsBigEndian == 0
                    && fmt.mBitsPerChannel == 32
                    && fmt.mChannelsPerFrame > 0
                    && fmt.mBytesPerFrame == 4 * fmt.mChannelsPerFrame;
                if !float_packed {
                    why.push(format!("stream {s} of device {dev} is not float32 interleaved: {fmt:?}"));
                    continue;
                }
                let rate =
                    self.get_f64(dev, &AudioObjectPropertyAddress::global(kAudioDevicePropertyNominalSampleRate))?;
                if !(rate.is_finite() && rate > 0.0) {
                    why.push(format!("device {dev} has nominal rate {rate}"));
                    continue;
                }
                let opt_u32 = |sel: u32, scope: u32| -> Result<u32, DriverError> {
                    let a = AudioObjectPropertyAddress::new(sel, scope);
                    if self.has_property(dev, &a)? { self.get_u32(dev, &a) } else { Ok(0) }
                };
                return Ok(DeviceInfo {
                    device_id: dev,
                    stream_id: s,
                    name: self.get_cfstring(dev, &AudioObjectPropertyAddress::global(kAudioObjectPropertyName))?,
                    uid: self.get_cfstring(dev, &AudioObjectPropertyAddress::global(kAudioDevicePropertyDeviceUID))?,
                    channels: fmt.mChannelsPerFrame,
                    sample_rate: rate,
                    format: fmt,
                    zero_timestamp_period: self
                        .get_u32(dev, &AudioObjectPropertyAddress::global(kAudioDevicePropertyZeroTimeStampPeriod))?,
                    safety_offset: opt_u32(kAudioDevicePropertySafetyOffset, kAudioObjectPropertyScopeOutput)?,
                    latency: opt_u32(kAudioDevicePropertyLatency, kAudioObjectPropertyScopeOutput)?,
                    input_stream_id: self.find_input_stream(dev, &fmt)?,
                });
            }
        }
        Err(DriverError::Discovery(if why.is_empty() {
            "no device has an output stream".into()
        } else {
            why.join("; ")
        }))
    }
}

fn qual(q: &[u8]) -> (u32, *const c_void) {
    if q.is_empty() { (0, std::ptr::null()) } else { (q.len() as u32, q.as_ptr() as *const c_void) }
}

/// Plain-old-data types that any byte pattern initialises validly.
///
/// # Safety
/// Implementors must be `#[repr(C)]` (or primitive) with no padding bytes,
/// no pointers that would be dereferenced, and valid for every bit pattern.
pub unsafe trait Pod: Copy {
    /// All-zero value.
    fn zeroed() -> Self {
        // SAFETY: Pod types are valid for the all-zero pattern.
        unsafe { std::mem::zeroed() }
    }
}
// SAFETY: primitives and padding-free repr(C) structs of primitives.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for f32 {}
// SAFETY: as above.
unsafe impl Pod for f64 {}
// SAFETY: as above (40 bytes, no padding).
unsafe impl Pod for AudioStreamBasicDescription {}
// SAFETY: as above.
unsafe impl Pod for AudioValueRange {}
// SAFETY: as above (56 bytes, no padding).
unsafe impl Pod for AudioStreamRangedDescription {}
// SAFETY: as above.
unsafe impl Pod for AudioObjectPropertyAddress {}

/// The driver's write-mix entry points taken from its vtable once, called
/// with nothing in between, as the HAL's IO thread calls them: no
/// allocation, no lock, no system call on our side. For the benchmarks and
/// the tests that measure or police the driver's own IO path
/// ([`IoRunner`](crate::IoRunner) is the checked, convenient form).
///
/// Valid while the [`Driver`] it came from is alive (it copies the raw
/// reference; the vtable is static).
#[derive(Clone, Copy)]
pub struct RawWriteMix {
    drv: AudioServerPlugInDriverRef,
    device: AudioObjectID,
    stream: AudioObjectID,
    zts: unsafe extern "C" fn(AudioServerPlugInDriverRef, AudioObjectID, u32, *mut f64, *mut u64, *mut u64) -> OSStatus,
    begin: unsafe extern "C" fn(
        AudioServerPlugInDriverRef,
        AudioObjectID,
        u32,
        u32,
        u32,
        *const AudioServerPlugInIOCycleInfo,
    ) -> OSStatus,
    #[allow(clippy::type_complexity)]
    do_io: unsafe extern "C" fn(
        AudioServerPlugInDriverRef,
        AudioObjectID,
        AudioObjectID,
        u32,
        u32,
        u32,
        *const AudioServerPlugInIOCycleInfo,
        *mut c_void,
        *mut c_void,
    ) -> OSStatus,
    end: unsafe extern "C" fn(
        AudioServerPlugInDriverRef,
        AudioObjectID,
        u32,
        u32,
        u32,
        *const AudioServerPlugInIOCycleInfo,
    ) -> OSStatus,
}

// SAFETY: plain function pointers and the driver reference, which the HAL
// also uses from its IO thread; the driver's IO entry points are thread-safe.
unsafe impl Send for RawWriteMix {}
// SAFETY: as for Send: the pointers are only called, never written, and the
// driver serialises its own IO state.
unsafe impl Sync for RawWriteMix {}

impl RawWriteMix {
    /// The entry points of `driver` for `device`'s output `stream`. Errors
    /// when the vtable lacks one of them.
    pub fn new(driver: &Driver, device: AudioObjectID, stream: AudioObjectID) -> Result<RawWriteMix, DriverError> {
        let vt = driver.vtbl()?;
        Ok(RawWriteMix {
            drv: driver.raw(),
            device,
            stream,
            zts: vt.GetZeroTimeStamp.ok_or(DriverError::NullEntry("GetZeroTimeStamp"))?,
            begin: vt.BeginIOOperation.ok_or(DriverError::NullEntry("BeginIOOperation"))?,
            do_io: vt.DoIOOperation.ok_or(DriverError::NullEntry("DoIOOperation"))?,
            end: vt.EndIOOperation.ok_or(DriverError::NullEntry("EndIOOperation"))?,
        })
    }

    /// `DoIOOperation(WriteMix)` alone on `frames` frames at `buf`; the
    /// driver's status.
    ///
    /// # Safety
    /// `buf` holds `frames` frames of the stream's channels as interleaved
    /// f32 (WriteMix only reads it), and the driver is alive with IO started.
    #[inline(always)]
    pub unsafe fn do_write_mix(&self, frames: u32, info: &AudioServerPlugInIOCycleInfo, buf: *const f32) -> OSStatus {
        let op = kAudioServerPlugInIOOperationWriteMix;
        // SAFETY: the caller's promise; valid info.
        unsafe {
            (self.do_io)(
                self.drv,
                self.device,
                self.stream,
                0,
                op,
                frames,
                info,
                buf as *mut c_void,
                std::ptr::null_mut(),
            )
        }
    }

    /// `DoIOOperation(ReadInput)` alone: `frames` frames of the device's
    /// input stream `input_stream` (the loopback) into `buf`; the driver's status.
    ///
    /// # Safety
    /// `buf` has room for `frames` frames of the stream's channels as
    /// interleaved f32, and the driver is alive with IO started.
    #[inline(always)]
    pub unsafe fn do_read_input(
        &self,
        input_stream: AudioObjectID,
        frames: u32,
        info: &AudioServerPlugInIOCycleInfo,
        buf: *mut f32,
    ) -> OSStatus {
        let op = kAudioServerPlugInIOOperationReadInput;
        // SAFETY: the caller's promise; valid info.
        unsafe {
            (self.do_io)(
                self.drv,
                self.device,
                input_stream,
                0,
                op,
                frames,
                info,
                buf as *mut c_void,
                std::ptr::null_mut(),
            )
        }
    }

    /// A whole HAL write-mix cycle: GetZeroTimeStamp, then
    /// Begin/Do/End(WriteMix) (the driver declines every other operation).
    /// Returns the OR of the four OSStatus values (0 when all succeeded).
    ///
    /// # Safety
    /// As [`RawWriteMix::do_write_mix`].
    #[inline(always)]
    pub unsafe fn cycle(&self, frames: u32, info: &AudioServerPlugInIOCycleInfo, buf: *const f32) -> OSStatus {
        let op = kAudioServerPlugInIOOperationWriteMix;
        let c = kAudioServerPlugInHostClientID;
        let (mut s, mut h, mut seed) = (0.0f64, 0u64, 0u64);
        // SAFETY: valid out pointers; see do_write_mix.
        unsafe {
            (self.zts)(self.drv, self.device, c, &mut s, &mut h, &mut seed)
                | (self.begin)(self.drv, self.device, c, op, frames, info)
                | self.do_write_mix(frames, info, buf)
                | (self.end)(self.drv, self.device, c, op, frames, info)
        }
    }
}
