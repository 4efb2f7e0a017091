//! The artifact modules MVT runs in `check-backup` and `check-fs`, and bridle's sysdiagnose
//! modules, one file each.
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

pub mod analytics;
pub mod analytics_ios_versions;
pub mod applications;
pub mod backup_info;
pub mod cache_files;
pub mod calendar;
pub mod calls;
pub mod chrome_favicon;
pub mod chrome_history;
pub mod configuration_profiles;
pub mod contacts;
mod coredata;
pub mod crash_reports;
pub mod datausage;
pub mod exploit_files;
pub mod filesystem;
pub mod firefox_favicon;
pub mod firefox_history;
mod found;
pub mod global_preferences;
pub mod id_status_cache;
pub mod interaction_c;
pub mod ios_version_history;
pub mod locationd_clients;
pub mod manifest;
pub mod mc_state;
pub mod mobile_installation;
pub mod net_base;
pub mod netusage;
pub mod os_analytics_ad_daily;
pub mod profile_events;
pub mod ps;
pub mod safari_browser_state;
pub mod safari_favicon;
pub mod safari_history;
pub mod shortcuts;
pub mod shutdown_log;
pub mod sms;
pub mod sms_attachments;
pub mod sysdiagnose_info;
pub mod tcc;
pub mod webkit;
pub mod webkit_indexeddb;
pub mod webkit_local_storage;
pub mod webkit_resource_load_statistics;
pub mod webkit_safari_view_service;
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
        exploit_files::ExploitFiles,
    ]
);

// MVT's check-fs runs its fs-only modules first, then the mixed ones (tcc, sms, ... in
// `backup_modules` order).
module_list!(
    fs_modules,
    fs_module_infos,
    "a filesystem dump",
    [
        cache_files::CacheFiles,
        filesystem::Filesystem,
        netusage::Netusage,
        analytics::Analytics,
        analytics_ios_versions::AnalyticsIosVersions,
        safari_favicon::SafariFavicon,
        shutdown_log::ShutdownLog,
        ios_version_history::IosVersionHistory,
        webkit_indexeddb::WebkitIndexedDb,
        webkit_local_storage::WebkitLocalStorage,
        webkit_safari_view_service::WebkitSafariViewService,
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
        exploit_files::ExploitFiles,
    ]
);

// MVT has no sysdiagnose modules; these are bridle's (docs/sysdiagnose.md).
module_list!(
    sysdiagnose_modules,
    sysdiagnose_module_infos,
    "an unpacked sysdiagnose",
    [
        sysdiagnose_info::SysdiagnoseInfo,
        ps::Ps,
        shutdown_log::ShutdownLog,
        crash_reports::CrashReports,
        mobile_installation::MobileInstallation,
        mc_state::McState,
    ]
);

/// A record source naming no single evidence file: a folder entry, with the folder as the
/// "table" and the entry as the "row".
pub(crate) fn entry_source(table: &str, row: &str) -> bridle_model::Source {
    bridle_model::Source {
        file: None,
        table: Some(std::borrow::Cow::Owned(table.to_owned())),
        row: Some(row.to_owned()),
    }
}

/// MVT's `isodate` text for an optional time: `""` when there is none.
pub(crate) fn iso(t: Option<bridle_model::Timestamp>) -> String {
    t.map(bridle_model::Timestamp::to_mvt).unwrap_or_default()
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
