//! The data model every bridle crate speaks.
//!
//! A check flows like this (see `DESIGN.md`):
//!
//! ```text
//! acquisition -> evidence view -> modules -> records + observables -> matcher -> alerts -> outputs
//! ```
//!
//! This crate holds the types that cross those arrows and nothing that does I/O:
//!
//! * [`Record`]: one row of one artifact (an SMS, a Safari visit, a process), shaped like the
//!   JSON MVT writes for it, together with the [`Observable`]s it mentions, its
//!   [`TimelineEvent`]s, the [`Heuristic`] alerts its module raised on it, and its [`Source`]
//!   (which evidence file, which table and row).
//! * [`Module`] and [`Sink`]: a module streams records into a sink, so memory does not grow
//!   with the size of a database.
//! * [`Alert`]: what the engine produces once observables have been matched, or heuristics
//!   raised, with full provenance.
//! * [`time`]: the timestamp conversions iOS and Android artifacts need (Cocoa, Unix, WebKit).
//!
//! Modules never call the indicator matcher themselves: they only say what they saw. That
//! keeps matching semantics in one place and lets `bridle recheck` re-match saved observables
//! later without the evidence.

#![deny(missing_docs)]

mod alert;
mod level;
mod module;
mod observable;
mod record;
pub mod sanitize;
pub mod time;

pub use alert::{Alert, AlertRecord, IndicatorRef, Provenance};
pub use level::Level;
pub use module::{
    Module, ModuleError, ModuleInfo, ModuleOutcome, OutputShape, Problem, ProblemKind, Sink,
    VecSink,
};
pub use observable::{Observable, ObservableKind};
pub use record::{EvidenceFile, Heuristic, Record, Source, TimelineEvent};
pub use time::Timestamp;

/// A JSON object, in insertion order (serde_json is built with `preserve_order`).
pub type Map = serde_json::Map<String, serde_json::Value>;
