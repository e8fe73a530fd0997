//! Compiles `driver/include/gecko_coreaudio_compat.h` under `-Wall -Wextra
//! -Werror` in a probe program and checks every size, offset and constant it
//! prints against the values of Apple's headers (AudioServerPlugIn.h,
//! AudioHardwareBase.h, CoreAudioBaseTypes.h, CFPlugInCOM.h), written out
//! here independently of the C header.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

/// A four-character code as Apple spells it: 'abcd' = big-endian bytes.
fn fourcc(s: &str) -> u64 {
    let b = s.as_bytes();
    assert_eq!(b.len(), 4);
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64
}

fn probe() -> HashMap<String, u64> {
    let driver = gecko_driver_bundle::driver_source_dir();
    let src = PathBuf::from(manifest_dir()).join("tests/c/layout_probe.c");
    let dir = std::env::temp_dir().join(format!("gecko-layout-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("layout_probe");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic-errors", "-Wno-overlength-strings"])
        .arg("-I")
        .arg(driver.join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(out.status.success(), "probe does not compile:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn compat_header_matches_apple_headers() {
    let p = probe();
    let expected: Vec<(&str, u64)> = vec![
        ("sizeof Boolean", 1),
        ("sizeof CFUUIDBytes", 16),
        ("sizeof AudioObjectPropertyAddress", 12),
        ("sizeof AudioValueRange", 16),
        ("sizeof AudioStreamBasicDescription", 40),
        ("offsetof AudioStreamBasicDescription.mFormatID", 8),
        ("offsetof AudioStreamBasicDescription.mChannelsPerFrame", 28),
        ("offsetof AudioStreamBasicDescription.mReserved", 36),
        ("sizeof AudioStreamRangedDescription", 56),
        ("offsetof AudioStreamRangedDescription.mSampleRateRange", 40),
        ("sizeof SMPTETime", 24),
        ("offsetof SMPTETime.mCounter", 4),
        ("offsetof SMPTETime.mHours", 16),
        ("sizeof AudioTimeStamp", 64),
        ("offsetof AudioTimeStamp.mHostTime", 8),
        ("offsetof AudioTimeStamp.mRateScalar", 16),
        ("offsetof AudioTimeStamp.mWordClockTime", 24),
        ("offsetof AudioTimeStamp.mSMPTETime", 32),
        ("offsetof AudioTimeStamp.mFlags", 56),
        ("sizeof AudioServerPlugInClientInfo", 24),
        ("offsetof AudioServerPlugInClientInfo.mIsNativeEndian", 8),
        ("offsetof AudioServerPlugInClientInfo.mBundleID", 16),
        ("sizeof AudioServerPlugInIOCycleInfo", 224),
        ("offsetof AudioServerPlugInIOCycleInfo.mNominalIOBufferFrameSize", 8),
        ("offsetof AudioServerPlugInIOCycleInfo.mCurrentTime", 16),
        ("offsetof AudioServerPlugInIOCycleInfo.mInputTime", 80),
        ("offsetof AudioServerPlugInIOCycleInfo.mOutputTime", 144),
        ("offsetof AudioServerPlugInIOCycleInfo.mMainHostTicksPerFrame", 208),
        ("offsetof AudioServerPlugInIOCycleInfo.mDeviceHostTicksPerFrame", 216),
        ("sizeof AudioServerPlugInHostInterface", 40),
        ("offsetof AudioServerPlugInHostInterface.RequestDeviceConfigurationChange", 32),
        ("sizeof AudioServerPlugInDriverInterface", 23 * 8),
        ("offsetof AudioServerPlugInDriverInterface.QueryInterface", 8),
        ("offsetof AudioServerPlugInDriverInterface.Initialize", 4 * 8),
        ("offsetof AudioServerPlugInDriverInterface.HasProperty", 11 * 8),
        ("offsetof AudioServerPlugInDriverInterface.StartIO", 16 * 8),
        ("offsetof AudioServerPlugInDriverInterface.GetZeroTimeStamp", 18 * 8),
        ("offsetof AudioServerPlugInDriverInterface.DoIOOperation", 21 * 8),
        ("offsetof AudioServerPlugInDriverInterface.EndIOOperation", 22 * 8),
        ("kAudioHardwareUnknownPropertyError", fourcc("who?")),
        ("kAudioHardwareBadPropertySizeError", fourcc("!siz")),
        ("kAudioHardwareIllegalOperationError", fourcc("nope")),
        ("kAudioHardwareBadObjectError", fourcc("!obj")),
        ("kAudioHardwareUnsupportedOperationError", fourcc("unop")),
        ("kAudioHardwareNotRunningError", fourcc("stop")),
        ("kAudioObjectPropertyScopeGlobal", fourcc("glob")),
        ("kAudioObjectPropertyScopeOutput", fourcc("outp")),
        ("kAudioObjectPropertyElementMain", 0),
        ("kAudioObjectPropertyOwnedObjects", fourcc("ownd")),
        ("kAudioPlugInPropertyTranslateUIDToDevice", fourcc("uidd")),
        ("kAudioDevicePropertyDeviceUID", fourcc("uid ")),
        ("kAudioDevicePropertyStreams", fourcc("stm#")),
        ("kAudioDevicePropertyZeroTimeStampPeriod", fourcc("ring")),
        ("kAudioDeviceTransportTypeVirtual", fourcc("virt")),
        ("kAudioStreamPropertyPhysicalFormat", fourcc("pft ")),
        ("kAudioStreamPropertyLatency", fourcc("ltnc")),
        ("kAudioServerPlugInIOOperationWriteMix", fourcc("rite")),
        ("kAudioFormatLinearPCM", fourcc("lpcm")),
        ("kAudioFormatFlagIsFloat", 1),
        ("kAudioFormatFlagIsPacked", 8),
        ("kAudioFormatFlagIsNonInterleaved", 32),
        ("kCFStringEncodingUTF8", 0x0800_0100),
        ("E_NOINTERFACE", 0x8000_0004),
        ("kAudioObjectPlugInObject", 1),
        ("sizeof AudioChannelDescription", 20),
        ("offsetof AudioChannelLayout.mChannelDescriptions", 12),
        ("sizeof AudioChannelLayout", 32),
        ("kAudioVolumeControlClassID", fourcc("vlme")),
        ("kAudioMuteControlClassID", fourcc("mute")),
        ("kAudioLevelControlClassID", fourcc("levl")),
        ("kAudioBooleanControlClassID", fourcc("togl")),
        ("kAudioControlClassID", fourcc("actl")),
        ("kAudioControlPropertyScope", fourcc("cscp")),
        ("kAudioControlPropertyElement", fourcc("celm")),
        ("kAudioLevelControlPropertyScalarValue", fourcc("lcsv")),
        ("kAudioLevelControlPropertyDecibelValue", fourcc("lcdv")),
        ("kAudioLevelControlPropertyDecibelRange", fourcc("lcdr")),
        ("kAudioLevelControlPropertyConvertScalarToDecibels", fourcc("lcsd")),
        ("kAudioLevelControlPropertyConvertDecibelsToScalar", fourcc("lcds")),
        ("kAudioBooleanControlPropertyValue", fourcc("bcvl")),
        ("kAudioDevicePropertyPreferredChannelLayout", fourcc("srnd")),
        ("kAudioDevicePropertyDeviceIsRunningSomewhere", fourcc("gone")),
        ("kAudioDevicePropertyConfigurationApplication", fourcc("capp")),
        ("kAudioChannelLayoutTag_UseChannelDescriptions", 0),
        ("kAudioChannelLabel_Left", 1),
        ("kAudioChannelLabel_Right", 2),
        ("kAudioChannelLabel_Mono", 42),
        ("kAudioChannelLabel_Discrete_0", 0x1_0000),
        ("kAudioChannelLabel_Unknown", 0xFFFF_FFFF),
        ("kCFNumberSInt32Type", 3),
        ("kCFNumberFloat32Type", 5),
        ("kCFNumberFloat64Type", 6),
        // AudioServerPlugIn.h: device clock properties and the clock algorithms.
        ("kAudioDevicePropertyClockAlgorithm", fourcc("clok")),
        ("kAudioDevicePropertyClockIsStable", fourcc("cstb")),
        ("kAudioDeviceClockAlgorithmRaw", fourcc("raww")),
        ("kAudioDeviceClockAlgorithmSimpleIIR", fourcc("iirf")),
        ("kAudioDeviceClockAlgorithm12PtMovingWindowAverage", fourcc("mavg")),
        // AudioServerPlugIn.h: custom properties.
        ("kAudioObjectPropertyCustomPropertyInfoList", fourcc("cust")),
        ("sizeof AudioServerPlugInCustomPropertyInfo", 12),
        ("offsetof AudioServerPlugInCustomPropertyInfo.mPropertyDataType", 4),
        ("offsetof AudioServerPlugInCustomPropertyInfo.mQualifierDataType", 8),
        ("kAudioServerPlugInCustomPropertyDataTypeNone", 0),
        ("kAudioServerPlugInCustomPropertyDataTypeCFString", fourcc("cfst")),
        ("kAudioServerPlugInCustomPropertyDataTypeCFPropertyList", fourcc("plst")),
        // AudioHardwareBase.h.
        ("kAudioStreamPropertyIsActive", fourcc("sact")),
        ("kAudioObjectPropertyElementWildcard", 0xFFFF_FFFF),
    ];
    let mut wrong = Vec::new();
    for (name, want) in &expected {
        match p.get(*name) {
            Some(got) if got == want => {}
            got => wrong.push(format!("{name}: got {got:?}, Apple's headers say {want}")),
        }
    }
    assert!(wrong.is_empty(), "compat header mismatches:\n{}", wrong.join("\n"));
    assert_eq!(p.len(), expected.len(), "probe and expectations list different items");
}

/// This package's directory, read when the test runs (cargo sets it), not
/// baked in: a test binary cached in a shared target directory may have been
/// compiled in another checkout.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test")
}
