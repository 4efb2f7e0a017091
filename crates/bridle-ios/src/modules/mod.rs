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
use bridle_model::{EvidenceFile, Module, ModuleError, ModuleInfo, Problem, ProblemKind, Sink};
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

        impl $ty {
            /// What this module is.
            pub const INFO: bridle_model::ModuleInfo = bridle_model::ModuleInfo {
                slug: $slug,
                name: $name,
                description: $desc,
                shape: $shape,
            };
        }

        impl bridle_model::Module for $ty {
            fn info(&self) -> bridle_model::ModuleInfo {
                Self::INFO
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
pub mod chrome_favicon;
pub mod chrome_history;
pub mod configuration_profiles;
pub mod contacts;
mod coredata;
pub mod datausage;
pub mod firefox_favicon;
pub mod firefox_history;
mod found;
pub mod global_preferences;
pub mod id_status_cache;
pub mod interaction_c;
pub mod locationd_clients;
pub mod manifest;
pub mod os_analytics_ad_daily;
pub mod profile_events;
pub mod safari_browser_state;
pub mod safari_history;
pub mod shortcuts;
pub mod sms;
pub mod sms_attachments;
pub mod tcc;
pub mod webkit_resource_load_statistics;
pub mod webkit_session_resource_log;
pub mod whatsapp;
pub mod whatsapp_contacts;

/// Lists the backup modules once, in MVT's order, to build both the modules and their
/// descriptions (for `--list-modules`, which needs no acquisition).
macro_rules! module_list {
    ($modules:ident, $infos:ident, $what:literal, [$($module:ident :: $ty:ident),* $(,)?]) => {
        #[doc = concat!("Every module of `check` on ", $what, ", in MVT's order.")]
        pub fn $modules(ios: &Arc<Ios>) -> Vec<Box<dyn Module>> {
            vec![$(Box::new($module::$ty::new(Arc::clone(ios)))),*]
        }

        #[doc = concat!("The modules for ", $what, ", without an acquisition.")]
        pub fn $infos() -> Vec<ModuleInfo> {
            vec![$($module::$ty::INFO),*]
        }
    };
}

module_list!(
    backup_modules,
    backup_module_infos,
    "a backup",
    [
        backup_info::BackupInfo,
        configuration_profiles::ConfigurationProfiles,
        manifest::Manifest,
        profile_events::ProfileEvents,
        calls::Calls,
        chrome_favicon::ChromeFavicon,
        chrome_history::ChromeHistory,
        contacts::Contacts,
        firefox_favicon::FirefoxFavicon,
        firefox_history::FirefoxHistory,
        id_status_cache::IdStatusCache,
        interaction_c::InteractionC,
        locationd_clients::LocationdClients,
        os_analytics_ad_daily::OsAnalyticsAdDaily,
        datausage::Datausage,
        safari_browser_state::SafariBrowserState,
        safari_history::SafariHistory,
        tcc::Tcc,
        sms::Sms,
        sms_attachments::SmsAttachments,
        webkit_resource_load_statistics::WebkitResourceLoadStatistics,
        webkit_session_resource_log::WebkitSessionResourceLog,
        whatsapp::Whatsapp,
        whatsapp_contacts::WhatsappContacts,
        shortcuts::Shortcuts,
        applications::Applications,
        calendar::Calendar,
        global_preferences::GlobalPreferences,
    ]
);

module_list!(
    fs_modules,
    fs_module_infos,
    "a filesystem dump",
    [
        calls::Calls,
        chrome_favicon::ChromeFavicon,
        chrome_history::ChromeHistory,
        contacts::Contacts,
        firefox_favicon::FirefoxFavicon,
        firefox_history::FirefoxHistory,
        id_status_cache::IdStatusCache,
        interaction_c::InteractionC,
        locationd_clients::LocationdClients,
        os_analytics_ad_daily::OsAnalyticsAdDaily,
        datausage::Datausage,
        safari_browser_state::SafariBrowserState,
        safari_history::SafariHistory,
        tcc::Tcc,
        sms::Sms,
        sms_attachments::SmsAttachments,
        webkit_resource_load_statistics::WebkitResourceLoadStatistics,
        webkit_session_resource_log::WebkitSessionResourceLog,
        whatsapp::Whatsapp,
        whatsapp_contacts::WhatsappContacts,
        shortcuts::Shortcuts,
        applications::Applications,
        calendar::Calendar,
        global_preferences::GlobalPreferences,
    ]
);

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
