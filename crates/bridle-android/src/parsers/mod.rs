//! Parsers of the Android text and binary formats, each reproducing MVT's reading of the
//! format (including its quirks, where records depend on them) without MVT's crashes: a
//! line MVT would fail on is skipped and counted instead.

pub mod adb;
pub mod appops;
pub mod battery;
pub mod dumpsys_misc;
pub mod packages;
pub mod simple;
pub mod tombstone;
