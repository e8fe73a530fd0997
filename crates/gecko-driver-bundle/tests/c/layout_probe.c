/*
 * layout_probe.c — compiled by tests/compat_layout.rs under -Wall -Wextra -Werror
 * against driver/include/gecko_coreaudio_compat.h; prints "name value" lines
 * (sizes, offsets, constants) that the Rust test compares with the values of
 * Apple's headers.
 */
#include "gecko_coreaudio_compat.h"

#include <stddef.h>
#include <stdio.h>

#define P(name, value) printf("%s %llu\n", name, (unsigned long long)(value))
#define SZ(type) P("sizeof " #type, sizeof(type))
#define OFF(type, field) P("offsetof " #type "." #field, offsetof(type, field))
#define K(constant) P(#constant, (UInt32)(constant))

int main(void) {
    SZ(Boolean);
    SZ(CFUUIDBytes);
    SZ(AudioObjectPropertyAddress);
    SZ(AudioValueRange);
    SZ(AudioStreamBasicDescription);
    OFF(AudioStreamBasicDescription, mFormatID);
    OFF(AudioStreamBasicDescription, mChannelsPerFrame);
    OFF(AudioStreamBasicDescription, mReserved);
    SZ(AudioStreamRangedDescription);
    OFF(AudioStreamRangedDescription, mSampleRateRange);
    SZ(SMPTETime);
    OFF(SMPTETime, mCounter);
    OFF(SMPTETime, mHours);
    SZ(AudioTimeStamp);
    OFF(AudioTimeStamp, mHostTime);
    OFF(AudioTimeStamp, mRateScalar);
    OFF(AudioTimeStamp, mWordClockTime);
    OFF(AudioTimeStamp, mSMPTETime);
    OFF(AudioTimeStamp, mFlags);
    SZ(AudioServerPlugInClientInfo);
    OFF(AudioServerPlugInClientInfo, mIsNativeEndian);
    OFF(AudioServerPlugInClientInfo, mBundleID);
    SZ(AudioServerPlugInIOCycleInfo);
    OFF(AudioServerPlugInIOCycleInfo, mNominalIOBufferFrameSize);
    OFF(AudioServerPlugInIOCycleInfo, mCurrentTime);
    OFF(AudioServerPlugInIOCycleInfo, mInputTime);
    OFF(AudioServerPlugInIOCycleInfo, mOutputTime);
    OFF(AudioServerPlugInIOCycleInfo, mMainHostTicksPerFrame);
    OFF(AudioServerPlugInIOCycleInfo, mDeviceHostTicksPerFrame);
    SZ(AudioServerPlugInHostInterface);
    OFF(AudioServerPlugInHostInterface, RequestDeviceConfigurationChange);
    SZ(AudioServerPlugInDriverInterface);
    OFF(AudioServerPlugInDriverInterface, QueryInterface);
    OFF(AudioServerPlugInDriverInterface, Initialize);
    OFF(AudioServerPlugInDriverInterface, HasProperty);
    OFF(AudioServerPlugInDriverInterface, StartIO);
    OFF(AudioServerPlugInDriverInterface, GetZeroTimeStamp);
    OFF(AudioServerPlugInDriverInterface, DoIOOperation);
    OFF(AudioServerPlugInDriverInterface, EndIOOperation);

    K(kAudioHardwareUnknownPropertyError);
    K(kAudioHardwareBadPropertySizeError);
    K(kAudioHardwareIllegalOperationError);
    K(kAudioHardwareBadObjectError);
    K(kAudioHardwareUnsupportedOperationError);
    K(kAudioHardwareNotRunningError);
    K(kAudioObjectPropertyScopeGlobal);
    K(kAudioObjectPropertyScopeOutput);
    K(kAudioObjectPropertyElementMain);
    K(kAudioObjectPropertyOwnedObjects);
    K(kAudioPlugInPropertyTranslateUIDToDevice);
    K(kAudioDevicePropertyDeviceUID);
    K(kAudioDevicePropertyStreams);
    K(kAudioDevicePropertyZeroTimeStampPeriod);
    K(kAudioDeviceTransportTypeVirtual);
    K(kAudioStreamPropertyPhysicalFormat);
    K(kAudioStreamPropertyLatency);
    K(kAudioServerPlugInIOOperationWriteMix);
    K(kAudioFormatLinearPCM);
    K(kAudioFormatFlagIsFloat);
    K(kAudioFormatFlagIsPacked);
    K(kAudioFormatFlagIsNonInterleaved);
    K(kCFStringEncodingUTF8);
    K(E_NOINTERFACE);
    K(kAudioObjectPlugInObject);
    SZ(AudioChannelDescription);
    OFF(AudioChannelLayout, mChannelDescriptions);
    SZ(AudioChannelLayout);
    K(kAudioVolumeControlClassID);
    K(kAudioMuteControlClassID);
    K(kAudioLevelControlClassID);
    K(kAudioBooleanControlClassID);
    K(kAudioControlClassID);
    K(kAudioControlPropertyScope);
    K(kAudioControlPropertyElement);
    K(kAudioLevelControlPropertyScalarValue);
    K(kAudioLevelControlPropertyDecibelValue);
    K(kAudioLevelControlPropertyDecibelRange);
    K(kAudioLevelControlPropertyConvertScalarToDecibels);
    K(kAudioLevelControlPropertyConvertDecibelsToScalar);
    K(kAudioBooleanControlPropertyValue);
    K(kAudioDevicePropertyPreferredChannelLayout);
    K(kAudioDevicePropertyDeviceIsRunningSomewhere);
    K(kAudioDevicePropertyConfigurationApplication);
    K(kAudioChannelLayoutTag_UseChannelDescriptions);
    K(kAudioChannelLabel_Left);
    K(kAudioChannelLabel_Right);
    K(kAudioChannelLabel_Mono);
    K(kAudioChannelLabel_Discrete_0);
    K(kAudioChannelLabel_Unknown);
    K(kCFNumberSInt32Type);
    K(kCFNumberFloat32Type);
    K(kCFNumberFloat64Type);
    K(kAudioDevicePropertyClockAlgorithm);
    K(kAudioDevicePropertyClockIsStable);
    K(kAudioDeviceClockAlgorithmRaw);
    K(kAudioDeviceClockAlgorithmSimpleIIR);
    K(kAudioDeviceClockAlgorithm12PtMovingWindowAverage);
    K(kAudioObjectPropertyCustomPropertyInfoList);
    SZ(AudioServerPlugInCustomPropertyInfo);
    OFF(AudioServerPlugInCustomPropertyInfo, mPropertyDataType);
    OFF(AudioServerPlugInCustomPropertyInfo, mQualifierDataType);
    K(kAudioServerPlugInCustomPropertyDataTypeNone);
    K(kAudioServerPlugInCustomPropertyDataTypeCFString);
    K(kAudioServerPlugInCustomPropertyDataTypeCFPropertyList);
    K(kAudioStreamPropertyIsActive);
    K(kAudioObjectPropertyElementWildcard);
    return 0;
}
