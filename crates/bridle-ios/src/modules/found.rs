//! Finding a module's files, and accounting for the ones that could not be read.
//!
//! Single-file modules take the first file found (MVT's `_find_ios_database`); multi-file
//! modules (Safari profiles, one WebKit store per app) read every file, report a damaged one
//! as a problem and go on, and fail only when every file found was unreadable.

use super::unreadable;
use crate::{Ios, Located, Locations};
use bridle_evidence::EvidenceError;
use bridle_model::{ModuleError, ModuleOutcome, Problem, ProblemKind, Sink};

/// Every file matching `locations`, or why there is none. `what` names the artifact in the
/// "not found" reason.
pub(crate) fn all(
    ios: &Ios,
    locations: &Locations,
    what: &str,
) -> Result<Result<Vec<Located>, ModuleOutcome>, ModuleError> {
    let found = ios
        .locate(locations)
        .map_err(|e| unreadable("Manifest.db", &e))?;
    if !found.is_empty() {
        return Ok(Ok(found));
    }
    let mut reason = format!("no {what} in this acquisition");
    if !locations.backup_like.is_empty()
        && let Some(problem) = ios.manifest_problem()
    {
        // Without a readable Manifest the files found by relative path cannot be looked up.
        reason.push_str(&format!(" (Manifest.db cannot be searched: {problem})"));
    }
    Ok(Err(ModuleOutcome::NotFound(reason)))
}

/// The first file matching `locations`.
pub(crate) fn first(
    ios: &Ios,
    locations: &Locations,
    what: &str,
) -> Result<Result<Located, ModuleOutcome>, ModuleError> {
    Ok(all(ios, locations, what)?.map(|mut v| v.swap_remove(0)))
}

/// Tally of a multi-file module: a file that cannot be opened is a problem for the run, and
/// the module fails only if no file at all could be read.
#[derive(Default)]
pub(crate) struct Tally {
    read: usize,
    first_error: Option<ModuleError>,
}

impl Tally {
    /// Counts a file that was read.
    pub(crate) fn ok(&mut self) {
        self.read += 1;
    }

    /// Reports a file that could not be read at all.
    pub(crate) fn failed(&mut self, sink: &mut dyn Sink, located: &Located, e: &EvidenceError) {
        sink.problem(Problem::file(
            ProblemKind::Unreadable,
            located.logical.clone(),
            e.to_string(),
        ));
        if self.first_error.is_none() {
            self.first_error = Some(unreadable(&located.logical, e));
        }
    }

    /// Reports a file whose content is not what the module reads (missing table, wrong
    /// plist shape).
    pub(crate) fn unusable(&mut self, sink: &mut dyn Sink, located: &Located, reason: &str) {
        sink.problem(Problem::file(
            ProblemKind::Unreadable,
            located.logical.clone(),
            reason.to_owned(),
        ));
        if self.first_error.is_none() {
            self.first_error = Some(ModuleError::Unreadable {
                file: located.logical.clone(),
                reason: reason.to_owned(),
            });
        }
    }

    /// The module's outcome: done if any file was read, the first error otherwise.
    pub(crate) fn finish(self) -> Result<ModuleOutcome, ModuleError> {
        match (self.read, self.first_error) {
            (0, Some(e)) => Err(e),
            _ => Ok(ModuleOutcome::Done),
        }
    }
}
