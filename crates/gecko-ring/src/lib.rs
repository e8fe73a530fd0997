//! gecko-ring
