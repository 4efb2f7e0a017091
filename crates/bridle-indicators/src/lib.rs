//! STIX 2.1 indicators for bridle: loading, a pattern parser, a compiled index, and the
//! matching semantics written down in `docs/matching.md`.
//!
//! ```text
//! files/folders ──IndicatorSet::load──► IndicatorSet ──compile──► Matcher
//!                                                                  │
//!        observables of one record ──────────── match_record ──────┴──► Vec<Hit> ──► IndicatorRef
//! ```
//!
//! * [`IndicatorSet::load`] reads bundles from files and folders. It never aborts: a file
//!   that is not a bundle, or an indicator whose pattern cannot be used, becomes a
//!   [`LoadProblem`] naming the file and STIX id, and the rest loads.
//! * [`pattern`] parses STIX patterns (quoted strings with escapes, `AND`/`OR` inside and
//!   between brackets) and expands them to disjunctive normal form. A clause of several
//!   comparisons matches only when all of them are matched in the same record.
//! * [`Matcher`] answers with hash lookups only: the cost per observable does not grow with
//!   the number of indicators, and there is no substring matching anywhere.
//! * With the `update` feature, [`update::update`] replaces a local indicator folder from an
//!   `indicators.yaml` index, atomically.
//!
//! Modules never call the matcher: the engine hands it all observables of one record.

#![deny(missing_docs)]

mod kind;
mod matcher;
pub mod normalize;
pub mod pattern;
pub mod probe;
mod set;
mod sources;
mod stix;
#[cfg(feature = "update")]
pub mod update;

pub use kind::IndicatorKind;
pub use matcher::{Hit, MatchRule, Matcher};
pub use probe::{IndexKey, KeySpace, PROBE_KEYS_VERSION, ProbeKey, index_keys, probe_keys};
pub use set::{
    Clause, ClauseId, FileSummary, Indicator, IndicatorFile, IndicatorId, IndicatorSet,
    LoadProblem, LoadProblemKind, LoadReport, MAX_FILE_BYTES, MAX_FILES, MAX_FOLDER_DEPTH,
};
pub use sources::{ENV_IOCS, default_data_dir, resolve_sources};
pub use stix::MAX_OBJECTS;
