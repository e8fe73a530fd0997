//! gecko-engine
