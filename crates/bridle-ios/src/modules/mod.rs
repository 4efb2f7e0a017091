//! The artifact modules MVT runs in `check-backup`, one file each.
//!
//! Every module follows the same shape: find the artifact ([`crate::Locations`]), read it
//! row by row, and stream [`bridle_model::Record`]s shaped like MVT's JSON, each with the
//! observables it mentions, its timeline events and any heuristic alerts. Modules never match
//! indicators and never stop the run: a damaged file is reported as a
//! [`bridle_model::Problem`] and the rows that could be read are kept.

use crate::Ios;
use bridle_evidence::EvidenceError;
use bridle_evidence::sqlite::RowsRead;
use bridle_model::{EvidenceFile, Module, ModuleError, Problem, ProblemKind, Sink};
use std::sync::Arc;

/// Declares a module struct holding the acquisition, and its [`Module`] impl calling the
/// file's `run` function.
macro_rules! ios_module {
    ($ty:ident, $slug:literal, $name:literal, $desc:literal) => {
        ios_module!($ty, $slug, $name, $desc, bridle_model::OutputShape::List);
    };
    ($ty:ident, $slug:literal, $name:literal, $desc:literal, $shape:expr) => {
        #[doc = $desc]
        #[derive(Debug)]
        pub struct $ty {
            ios: std::sync::Arc<crate::Ios>,
        }

        impl $ty {
            /// The module over an acquisition.
            pub fn new(ios: std::sync::Arc<crate::Ios>) -> Self {
                Self { ios }
            }
        }

        impl bridle_model::Module for $ty {
            fn info(&self) -> bridle_model::ModuleInfo {
                bridle_model::ModuleInfo {
                    slug: $slug,
                    name: $name,
                    description: $desc,
                    shape: $shape,
                }
            }

            fn run(
                &self,
                sink: &mut dyn bridle_model::Sink,
            ) -> Result<bridle_model::ModuleOutcome, bridle_model::ModuleError> {
                run(&self.ios, sink)
            }
        }
    };
}

pub mod applications;
pub mod backup_info;
pub mod calendar;
pub mod calls;
pub mod configuration_profiles;
pub mod contacts;
mod coredata;
pub mod global_preferences;
pub mod interaction_c;
pub mod manifest;
pub mod profile_events;
pub mod shortcuts;
pub mod sms;
pub mod sms_attachments;
pub mod tcc;
pub mod whatsapp;
pub mod whatsapp_contacts;

/// Every module of `check` on a backup, in MVT's order.
pub fn backup_modules(ios: &Arc<Ios>) -> Vec<Box<dyn Module>> {
    let i = || Arc::clone(ios);
    vec![
        Box::new(backup_info::BackupInfo::new(i())),
        Box::new(configuration_profiles::ConfigurationProfiles::new(i())),
        Box::new(manifest::Manifest::new(i())),
        Box::new(profile_events::ProfileEvents::new(i())),
        Box::new(calls::Calls::new(i())),
        Box::new(contacts::Contacts::new(i())),
        Box::new(interaction_c::InteractionC::new(i())),
        Box::new(tcc::Tcc::new(i())),
        Box::new(sms::Sms::new(i())),
        Box::new(sms_attachments::SmsAttachments::new(i())),
        Box::new(whatsapp::Whatsapp::new(i())),
        Box::new(whatsapp_contacts::WhatsappContacts::new(i())),
        Box::new(shortcuts::Shortcuts::new(i())),
        Box::new(applications::Applications::new(i())),
        Box::new(calendar::Calendar::new(i())),
        Box::new(global_preferences::GlobalPreferences::new(i())),
    ]
}

/// A module error for an evidence error, naming the file.
pub(crate) fn unreadable(logical: &str, e: &EvidenceError) -> ModuleError {
    ModuleError::Unreadable {
        file: logical.to_owned(),
        reason: e.to_string(),
    }
}

/// Reports a partial read (rows lost to corruption) as a problem; a complete read reports
/// nothing.
pub(crate) fn report_rows(sink: &mut dyn Sink, file: &EvidenceFile, table: &str, read: &RowsRead) {
    if let Some(err) = &read.error {
        sink.problem(Problem::file(
            ProblemKind::Partial,
            file.logical_path.clone(),
            format!("table {table}: read {} rows, then: {err}", read.rows),
        ));
    }
}
