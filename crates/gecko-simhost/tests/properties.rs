//! Load the real bundle, Initialize, and walk plug-in → device → stream the
//! way the HAL does, through the vtable only.

use gecko_driver_bundle as bundle;
use gecko_simhost::ffi::*;
use gecko_simhost::{Driver, Host, cf, load_isolated};
use std::sync::Arc;

fn g(sel: u32) -> AudioObjectPropertyAddress {
    AudioObjectPropertyAddress::global(sel)
}
fn out(sel: u32) -> AudioObjectPropertyAddress {
    AudioObjectPropertyAddress::new(sel, kAudioObjectPropertyScopeOutput)
}

fn shm_name(tag: &str) -> String {
    format!("/gkp{}{tag}", std::process::id())
}

fn loaded(tag: &str) -> (Driver, Arc<Host>, String) {
    let name = shm_name(tag);
    let _ = gecko_ring::unlink_segments(&name);
    let mut d = load_isolated(bundle::bundle_path()).expect("load the real bundle");
    assert!(d.has_sim_configure());
    d.configure(&name, None, None).expect("GeckoSim_Configure");
    let host = Arc::new(Host::new());
    d.initialize(host.clone()).expect("Initialize");
    (d, host, name)
}

#[test]
fn plugin_device_stream_walk() {
    let (d, _host, name) = loaded("w");
    let before = cf::live_objects_created_on_this_thread();
    assert_eq!(d.bundle_info().factory_symbol, bundle::FACTORY_FUNCTION);

    let plug = kAudioObjectPlugInObject;
    assert_eq!(d.get_u32(plug, &g(kAudioObjectPropertyClass)).expect("class"), kAudioPlugInClassID);
    let devices = d.get_object_list(plug, &g(kAudioPlugInPropertyDeviceList)).expect("DeviceList");
    assert_eq!(devices, vec![bundle::DEVICE_OBJECT_ID]);
    let dev = devices[0];
    assert_eq!(d.get_u32(dev, &g(kAudioObjectPropertyClass)).expect("class"), kAudioDeviceClassID);
    assert_eq!(d.get_u32(dev, &g(kAudioObjectPropertyOwner)).expect("owner"), plug);
    assert_eq!(d.get_cfstring(dev, &g(kAudioObjectPropertyName)).expect("name"), bundle::DEVICE_NAME);
    assert_eq!(d.get_cfstring(dev, &g(kAudioDevicePropertyDeviceUID)).expect("uid"), bundle::DEVICE_UID);
    assert_eq!(d.get_cfstring(dev, &g(kAudioDevicePropertyModelUID)).expect("model"), bundle::MODEL_UID);
    assert_eq!(d.get_cfstring(dev, &g(kAudioObjectPropertyManufacturer)).expect("maker"), bundle::MANUFACTURER);
    assert_eq!(d.get_f64(dev, &g(kAudioDevicePropertyNominalSampleRate)).expect("rate"), 48_000.0);
    let rates = d.get_value_ranges(dev, &g(kAudioDevicePropertyAvailableNominalSampleRates)).expect("rates");
    let rates: Vec<f64> = rates.iter().map(|r| r.mMinimum).collect();
    assert_eq!(rates, bundle::AVAILABLE_SAMPLE_RATES.to_vec());
    assert_eq!(
        d.get_u32(dev, &g(kAudioDevicePropertyZeroTimeStampPeriod)).expect("zts"),
        bundle::ZERO_TIMESTAMP_PERIOD_FRAMES
    );
    assert_eq!(d.get_u32(dev, &g(kAudioDevicePropertyDeviceIsAlive)).expect("alive"), 1);
    assert_eq!(d.get_u32(dev, &g(kAudioDevicePropertyDeviceIsRunning)).expect("running"), 0);

    // Translate UID → device, with a CFString qualifier.
    let uid = cf::string_create(bundle::DEVICE_UID);
    let q = (uid as usize).to_ne_bytes();
    let mut buf = [0u8; 4];
    let n = d.get_property_data(plug, &g(kAudioPlugInPropertyTranslateUIDToDevice), &q, &mut buf).expect("translate");
    assert_eq!((n, u32::from_ne_bytes(buf)), (4, dev));
    cf::release(uid);

    let streams = d.get_object_list(dev, &out(kAudioDevicePropertyStreams)).expect("streams");
    assert_eq!(streams, vec![bundle::STREAM_OBJECT_ID]);
    let input_streams = d
        .get_object_list(
            dev,
            &AudioObjectPropertyAddress::new(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeInput),
        )
        .expect("input streams");
    assert_eq!(input_streams, vec![bundle::INPUT_STREAM_OBJECT_ID], "the loopback input stream");
    let s = streams[0];
    assert_eq!(d.get_u32(s, &g(kAudioObjectPropertyClass)).expect("class"), kAudioStreamClassID);
    assert_eq!(d.get_u32(s, &g(kAudioStreamPropertyDirection)).expect("dir"), 0);
    let f = d.get_asbd(s, &g(kAudioStreamPropertyVirtualFormat)).expect("format");
    assert_eq!(f.mFormatID, kAudioFormatLinearPCM);
    assert_ne!(f.mFormatFlags & kAudioFormatFlagIsFloat, 0);
    assert_eq!(f.mFormatFlags & kAudioFormatFlagIsNonInterleaved, 0);
    assert_eq!(
        (f.mChannelsPerFrame, f.mBitsPerChannel, f.mBytesPerFrame),
        (bundle::CHANNELS, 32, 4 * bundle::CHANNELS)
    );
    assert_eq!(f.mSampleRate, 48_000.0);
    let phys = d.get_asbd(s, &g(kAudioStreamPropertyPhysicalFormat)).expect("physical");
    assert_eq!(phys, f);
    let avail = d.get_ranged_formats(s, &g(kAudioStreamPropertyAvailableVirtualFormats)).expect("available");
    assert!(avail.iter().any(|r| r.mFormat.mSampleRate == 48_000.0 && r.mFormat.mChannelsPerFrame == bundle::CHANNELS));

    let info = d.find_device().expect("find_device");
    assert_eq!((info.device_id, info.stream_id, info.channels, info.sample_rate), (dev, s, bundle::CHANNELS, 48_000.0));
    assert_eq!(info.name, bundle::DEVICE_NAME);

    // Every CFString the driver returned was released by the helpers: nothing leaked.
    assert_eq!(cf::live_objects_created_on_this_thread(), before, "CF objects leaked");
    assert_eq!(cf::misuse_count(), 0, "the driver misused CF");
    let _ = gecko_ring::unlink_segments(&name);
}

#[test]
fn errors_are_hal_codes_not_crashes() {
    let (d, _host, name) = loaded("e");
    let dev = bundle::DEVICE_OBJECT_ID;
    let st = |r: Result<u32, gecko_simhost::DriverError>| r.err().and_then(|e| e.status());

    // Unknown object.
    assert!(!d.has_property(999, &g(kAudioObjectPropertyName)).expect("has"));
    assert_eq!(st(d.get_u32(999, &g(kAudioObjectPropertyClass))), Some(kAudioHardwareBadObjectError));
    assert_eq!(
        d.get_property_data_size(999, &g(kAudioObjectPropertyClass), &[]).err().and_then(|e| e.status()),
        Some(kAudioHardwareBadObjectError)
    );
    // Unknown selector.
    let bogus = g(fourcc(b"zzzz"));
    assert!(!d.has_property(dev, &bogus).expect("has"));
    assert_eq!(st(d.get_u32(dev, &bogus)), Some(kAudioHardwareUnknownPropertyError));
    // Too small a buffer.
    let mut small = [0u8; 2];
    let e = d.get_property_data(dev, &g(kAudioObjectPropertyClass), &[], &mut small).err().and_then(|e| e.status());
    assert_eq!(e, Some(kAudioHardwareBadPropertySizeError));
    let mut small = [0u8; 4];
    let e = d
        .get_property_data(dev, &g(kAudioDevicePropertyNominalSampleRate), &[], &mut small)
        .err()
        .and_then(|e| e.status());
    assert_eq!(e, Some(kAudioHardwareBadPropertySizeError));
    // Setting a read-only property.
    assert!(!d.is_property_settable(dev, &g(kAudioObjectPropertyName)).expect("settable"));
    let e = d.set_property_data(dev, &g(kAudioObjectPropertyName), &[], &[0u8; 8]).err().and_then(|e| e.status());
    assert!(matches!(e, Some(x) if x != 0), "{e:?}");
    // IO calls on a wrong object.
    assert!(d.start_io(999, 0).is_err());
    assert!(d.get_zero_time_stamp(999, 0).is_err());
    assert!(d.will_do_io_operation(999, 0, kAudioServerPlugInIOOperationWriteMix).is_err());
    // StopIO without StartIO.
    assert_eq!(d.stop_io(dev, 0).err().and_then(|e| e.status()), Some(kAudioHardwareNotRunningError));
    // QueryInterface: IUnknown and the driver interface work, others do not.
    let p = d.query_interface(IUNKNOWN_UUID).expect("IUnknown");
    assert_eq!(p, d.raw() as *mut _);
    d.release_ref().expect("release");
    assert_eq!(d.query_interface([7u8; 16]).err(), Some(E_NOINTERFACE));
    let _ = gecko_ring::unlink_segments(&name);
}

#[test]
fn loader_errors_are_typed() {
    use gecko_simhost::LoadError;
    let tmp = tempfile::tempdir().expect("tmp");
    assert!(matches!(gecko_simhost::load(&tmp.path().join("none.driver")), Err(LoadError::MissingBundle(_))));
    // A copy of the real bundle whose plist names a factory that is not exported.
    let copy = tmp.path().join("Bad.driver");
    copy_dir(bundle::bundle_path(), &copy);
    let plist = copy.join("Contents/Info.plist");
    let text = std::fs::read_to_string(&plist).expect("plist");
    std::fs::write(&plist, text.replace(bundle::FACTORY_FUNCTION, "NoSuchFactory")).expect("write");
    match gecko_simhost::load(&copy) {
        Err(LoadError::MissingSymbol { symbol, .. }) => assert_eq!(symbol, "NoSuchFactory"),
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("loaded a bundle with a missing factory"),
    }
}

fn copy_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("readdir") {
        let e = e.expect("entry");
        let to = dst.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
}
