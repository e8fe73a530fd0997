//! gecko-simhost
