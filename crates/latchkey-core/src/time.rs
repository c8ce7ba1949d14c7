//! Time as the core sees it: a parameter, never read from a clock here.

/// Seconds since the Unix epoch.
pub type UnixTime = i64;
