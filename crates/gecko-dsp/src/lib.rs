//! gecko-dsp
