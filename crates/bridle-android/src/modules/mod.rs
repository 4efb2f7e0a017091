//! The artifact modules, one file each, with MVT's slugs.
//!
//! Every module finds its artifact in its acquisition, reads it streaming, and sends
//! [`bridle_model::Record`]s shaped like MVT's JSON, each with the observables it mentions
//! (package names, certificate and file hashes, paths, process names, properties, URLs,
//! domains, IPs), its timeline events and its heuristic alerts. Heuristics always run (MVT
//! runs some only when indicators are loaded). Modules never match indicators and never
//! stop the run: damage is reported as a [`bridle_model::Problem`] and what could be read
//! is kept.
//!
//! The dumpsys modules run on a bugreport's dumpstate, on the bugreport nested in an
//! AndroidQF acquisition, and (a bridle addition) on AndroidQF's own `dumpsys.txt`, under
//! `aqf_`-prefixed slugs so the two never collide in one run.

use crate::androidqf::AndroidQf;
use crate::backup::Backup;
use crate::bugreport::Bugreport;
use crate::context::AcquisitionContext;
use crate::dumpstate::{Dumpstate, Section};
use crate::intrusion::IntrusionLogs;
use crate::tz::DeviceTz;
use bridle_model::{Module, ModuleError, ModuleInfo, ModuleOutcome, Problem, Sink};
use std::sync::Arc;

/// Declares a module struct holding its acquisition handle, and its [`Module`] impl calling
/// the file's `run(&handle, sink)`.
macro_rules! android_module {
    ($ty:ident, $holder:ty, $slug:literal, $name:literal, $desc:literal) => {
        android_module!(
            $ty,
            $holder,
            $slug,
            $name,
            $desc,
            bridle_model::OutputShape::List
        );
    };
    ($ty:ident, $holder:ty, $slug:literal, $name:literal, $desc:literal, $shape:expr) => {
        #[doc = $desc]
        #[derive(Debug)]
        pub struct $ty {
            src: $holder,
        }

        impl $ty {
            /// The module over an acquisition.
            pub fn new(src: $holder) -> Self {
                Self { src }
            }

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
                run(&self.src, sink)
            }
        }
    };
}

/// Declares a dumpsys module: one struct, two identities (the bugreport one with MVT's
/// slug, and the `aqf_` one for AndroidQF's dumpsys.txt).
macro_rules! dumpsys_module {
    ($ty:ident, $slug:literal, $name:literal, $aqf_slug:literal, $aqf_name:literal, $desc:literal) => {
        dumpsys_module!(
            $ty,
            $slug,
            $name,
            $aqf_slug,
            $aqf_name,
            $desc,
            bridle_model::OutputShape::List
        );
    };
    ($ty:ident, $slug:literal, $name:literal, $aqf_slug:literal, $aqf_name:literal, $desc:literal, $shape:expr) => {
        #[doc = $desc]
        #[derive(Debug)]
        pub struct $ty {
            src: crate::modules::DumpsysOrigin,
        }

        impl $ty {
            /// The module over a dumpstate origin.
            pub fn new(src: crate::modules::DumpsysOrigin) -> Self {
                Self { src }
            }

            /// What this module is on a bugreport.
            pub const INFO: bridle_model::ModuleInfo = bridle_model::ModuleInfo {
                slug: $slug,
                name: $name,
                description: $desc,
                shape: $shape,
            };

            /// What this module is on AndroidQF's dumpsys.txt.
            pub const AQF_INFO: bridle_model::ModuleInfo = bridle_model::ModuleInfo {
                slug: $aqf_slug,
                name: $aqf_name,
                description: concat!($desc, " (AndroidQF dumpsys.txt)"),
                shape: $shape,
            };
        }

        impl bridle_model::Module for $ty {
            fn info(&self) -> bridle_model::ModuleInfo {
                if self.src.is_aqf_dumpsys() {
                    Self::AQF_INFO
                } else {
                    Self::INFO
                }
            }

            fn run(
                &self,
                sink: &mut dyn bridle_model::Sink,
            ) -> Result<bridle_model::ModuleOutcome, bridle_model::ModuleError> {
                run(&self.src, sink)
            }
        }
    };
}

mod aqf_common;
pub mod aqf_files;
pub mod aqf_get_prop;
pub mod aqf_log_timestamps;
pub mod aqf_packages;
pub mod aqf_processes;
pub mod aqf_settings;
pub mod bugreport_timestamps;
pub mod connect_event;
pub mod dbinfo;
pub mod dns_event;
pub mod dumpsys_accessibility;
pub mod dumpsys_activities;
pub mod dumpsys_adb_state;
pub mod dumpsys_appops;
pub mod dumpsys_battery_daily;
pub mod dumpsys_battery_history;
pub mod dumpsys_get_prop;
pub mod dumpsys_packages;
pub mod dumpsys_platform_compat;
pub mod dumpsys_receivers;
pub mod exploit_files;
mod intrusion_common;
pub mod mounts;
pub mod root_binaries;
pub mod security_event;
pub mod sms;
pub mod tombstones;

/// Where a dumpsys (or other bugreport) module reads from.
#[derive(Debug, Clone)]
pub enum DumpsysOrigin {
    /// A bugreport given directly.
    Bugreport(Arc<Bugreport>),
    /// The `bugreport.zip` inside an AndroidQF acquisition.
    NestedBugreport(Arc<AndroidQf>),
    /// AndroidQF's own `dumpsys.txt`.
    AqfDumpsys(Arc<AndroidQf>),
}

impl DumpsysOrigin {
    /// Whether this is AndroidQF's dumpsys.txt (the `aqf_` identity).
    pub fn is_aqf_dumpsys(&self) -> bool {
        matches!(self, DumpsysOrigin::AqfDumpsys(_))
    }

    /// The bugreport, if this origin is one.
    pub fn bugreport(&self) -> Result<Option<Arc<Bugreport>>, ModuleError> {
        match self {
            DumpsysOrigin::Bugreport(b) => Ok(Some(Arc::clone(b))),
            DumpsysOrigin::NestedBugreport(a) => a.bugreport(),
            DumpsysOrigin::AqfDumpsys(_) => Ok(None),
        }
    }

    /// The dumpstate.
    pub fn dumpstate(&self) -> Result<Option<Arc<Dumpstate>>, ModuleError> {
        match self {
            DumpsysOrigin::AqfDumpsys(a) => a.dumpsys(),
            other => match other.bugreport()? {
                Some(b) => b.dumpstate(),
                None => Ok(None),
            },
        }
    }

    /// The AndroidQF acquisition context, when the dump comes with one.
    pub fn context(&self) -> Option<AcquisitionContext> {
        match self {
            DumpsysOrigin::Bugreport(b) => b.context().cloned(),
            DumpsysOrigin::NestedBugreport(a) | DumpsysOrigin::AqfDumpsys(a) => {
                Some(a.context().clone())
            }
        }
    }

    /// Why there is nothing to read.
    pub fn missing(&self) -> ModuleOutcome {
        ModuleOutcome::NotFound(match self {
            DumpsysOrigin::Bugreport(_) => {
                "no dumpstate in this bugreport (main_entry.txt, dumpState_*.log, */dumpsys.txt)"
                    .into()
            }
            DumpsysOrigin::NestedBugreport(_) => {
                "no bugreport.zip (or no dumpstate in it) in this AndroidQF acquisition".into()
            }
            DumpsysOrigin::AqfDumpsys(_) => "no dumpsys.txt in this AndroidQF acquisition".into(),
        })
    }
}

/// Where the backup modules (SMS, exploit files) read from.
#[derive(Debug, Clone)]
pub enum BackupOrigin {
    /// A backup given directly.
    Backup(Arc<Backup>),
    /// The `backup.ab` inside an AndroidQF acquisition.
    Nested(Arc<AndroidQf>),
}

impl BackupOrigin {
    /// The backup, or the outcome of a module when an AndroidQF acquisition has none.
    pub fn open(&self) -> Result<Result<Arc<Backup>, ModuleOutcome>, bridle_model::ModuleError> {
        let backup = match self {
            BackupOrigin::Backup(b) => Some(Arc::clone(b)),
            BackupOrigin::Nested(a) => a.backup()?,
        };
        Ok(backup.ok_or_else(|| {
            ModuleOutcome::NotFound("no backup.ab in this AndroidQF acquisition".into())
        }))
    }

    /// The module error for a backup that could not be read.
    pub fn error(&self, backup: &Backup, e: crate::backup::AbError) -> bridle_model::ModuleError {
        match e {
            crate::backup::AbError::Encrypted { .. } => bridle_model::ModuleError::Encrypted {
                file: backup.label(),
            },
            e => bridle_model::ModuleError::Unreadable {
                file: backup.label(),
                reason: e.to_string(),
            },
        }
    }
}

/// Where the intrusion-log modules read from.
#[derive(Debug, Clone)]
pub enum LogsOrigin {
    /// Logs given directly.
    Logs(Arc<IntrusionLogs>),
    /// `intrusion_logs/` inside an AndroidQF acquisition.
    Nested(Arc<AndroidQf>),
}

impl LogsOrigin {
    pub(crate) fn logs(&self) -> Result<Option<Arc<IntrusionLogs>>, ModuleError> {
        match self {
            LogsOrigin::Logs(l) => Ok(Some(Arc::clone(l))),
            LogsOrigin::Nested(a) => a.intrusion_logs(),
        }
    }
}

/// Reads one dumpsys section: finds the dumpstate and the section, hands its lines to
/// `parse`, then reports the problems met (repeated sections, read errors, cut lines).
pub(crate) fn with_section(
    origin: &DumpsysOrigin,
    section: &str,
    sink: &mut dyn Sink,
    parse: impl FnOnce(&Arc<Dumpstate>, &mut Section, &mut dyn Sink, &mut Vec<Problem>),
) -> Result<ModuleOutcome, ModuleError> {
    let Some(ds) = origin.dumpstate()? else {
        return Ok(origin.missing());
    };
    let mut problems = Vec::new();
    let opened = ds
        .section(section, &mut problems)
        .map_err(|e| ModuleError::Unreadable {
            file: ds.files().stored(ds.member()),
            reason: e.to_string(),
        })?;
    let Some(mut lines) = opened else {
        for p in problems {
            sink.problem(p);
        }
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no `DUMP OF SERVICE {section}:` section",
            ds.files().stored(ds.member())
        )));
    };
    parse(&ds, &mut lines, sink, &mut problems);
    lines.finish(ds.files(), ds.member(), &mut problems);
    for p in problems {
        sink.problem(p);
    }
    Ok(ModuleOutcome::Done)
}

/// The `device_timezone` value of a dumpstate's records.
pub(crate) fn tz_json(tz: &DeviceTz) -> serde_json::Value {
    tz.json()
}

/// Lists modules once, in order, to build both the modules and their descriptions (for
/// `--list-modules`, which needs no acquisition).
macro_rules! module_list {
    ($(#[$doc:meta])* $build:ident, $infos:ident, $arg:ident : $argty:ty => [$($make:expr => $info:expr),* $(,)?]) => {
        $(#[$doc])*
        pub fn $build($arg: $argty) -> Vec<Box<dyn Module>> {
            vec![$(Box::new($make)),*]
        }

        /// What the function of the same acquisition kind returns, without an acquisition.
        pub fn $infos() -> Vec<ModuleInfo> {
            vec![$($info),*]
        }
    };
}

/// The 8 AndroidQF modules of MVT, in MVT's order.
fn aqf_own(aqf: &Arc<AndroidQf>) -> Vec<Box<dyn Module>> {
    let a = || Arc::clone(aqf);
    vec![
        Box::new(aqf_packages::AqfPackages::new(a())),
        Box::new(aqf_processes::AqfProcesses::new(a())),
        Box::new(aqf_get_prop::AqfGetProp::new(a())),
        Box::new(aqf_settings::AqfSettings::new(a())),
        Box::new(aqf_files::AqfFiles::new(a())),
        Box::new(aqf_log_timestamps::AqfLogTimestamps::new(a())),
        Box::new(root_binaries::RootBinaries::new(a())),
        Box::new(mounts::Mounts::new(a())),
    ]
}

fn aqf_own_infos() -> Vec<ModuleInfo> {
    vec![
        aqf_packages::AqfPackages::INFO,
        aqf_processes::AqfProcesses::INFO,
        aqf_get_prop::AqfGetProp::INFO,
        aqf_settings::AqfSettings::INFO,
        aqf_files::AqfFiles::INFO,
        aqf_log_timestamps::AqfLogTimestamps::INFO,
        root_binaries::RootBinaries::INFO,
        mounts::Mounts::INFO,
    ]
}

/// The dumpsys modules that apply to AndroidQF's dumpsys.txt (it has no system properties).
fn aqf_dumpsys(aqf: &Arc<AndroidQf>) -> Vec<Box<dyn Module>> {
    let o = || DumpsysOrigin::AqfDumpsys(Arc::clone(aqf));
    vec![
        Box::new(dumpsys_accessibility::DumpsysAccessibility::new(o())),
        Box::new(dumpsys_activities::DumpsysActivities::new(o())),
        Box::new(dumpsys_appops::DumpsysAppops::new(o())),
        Box::new(dumpsys_battery_daily::DumpsysBatteryDaily::new(o())),
        Box::new(dumpsys_battery_history::DumpsysBatteryHistory::new(o())),
        Box::new(dbinfo::DumpsysDbInfo::new(o())),
        Box::new(dumpsys_packages::DumpsysPackages::new(o())),
        Box::new(dumpsys_platform_compat::DumpsysPlatformCompat::new(o())),
        Box::new(dumpsys_receivers::DumpsysReceivers::new(o())),
        Box::new(dumpsys_adb_state::DumpsysAdbState::new(o())),
    ]
}

fn aqf_dumpsys_infos() -> Vec<ModuleInfo> {
    vec![
        dumpsys_accessibility::DumpsysAccessibility::AQF_INFO,
        dumpsys_activities::DumpsysActivities::AQF_INFO,
        dumpsys_appops::DumpsysAppops::AQF_INFO,
        dumpsys_battery_daily::DumpsysBatteryDaily::AQF_INFO,
        dumpsys_battery_history::DumpsysBatteryHistory::AQF_INFO,
        dbinfo::DumpsysDbInfo::AQF_INFO,
        dumpsys_packages::DumpsysPackages::AQF_INFO,
        dumpsys_platform_compat::DumpsysPlatformCompat::AQF_INFO,
        dumpsys_receivers::DumpsysReceivers::AQF_INFO,
        dumpsys_adb_state::DumpsysAdbState::AQF_INFO,
    ]
}

/// The 13 bugreport modules of MVT, in MVT's order, over a dumpstate origin.
fn bugreport_from(origin: &DumpsysOrigin) -> Vec<Box<dyn Module>> {
    let o = || origin.clone();
    vec![
        Box::new(dumpsys_accessibility::DumpsysAccessibility::new(o())),
        Box::new(dumpsys_activities::DumpsysActivities::new(o())),
        Box::new(dumpsys_appops::DumpsysAppops::new(o())),
        Box::new(dumpsys_battery_daily::DumpsysBatteryDaily::new(o())),
        Box::new(dumpsys_battery_history::DumpsysBatteryHistory::new(o())),
        Box::new(dbinfo::DumpsysDbInfo::new(o())),
        Box::new(dumpsys_get_prop::DumpsysGetProp::new(o())),
        Box::new(dumpsys_packages::DumpsysPackages::new(o())),
        Box::new(dumpsys_platform_compat::DumpsysPlatformCompat::new(o())),
        Box::new(dumpsys_receivers::DumpsysReceivers::new(o())),
        Box::new(dumpsys_adb_state::DumpsysAdbState::new(o())),
        Box::new(bugreport_timestamps::BugreportTimestamps::new(o())),
        Box::new(tombstones::Tombstones::new(o())),
    ]
}

/// Every module of a bugreport, in MVT's order.
pub fn bugreport_modules(bugreport: &Arc<Bugreport>) -> Vec<Box<dyn Module>> {
    bugreport_from(&DumpsysOrigin::Bugreport(Arc::clone(bugreport)))
}

/// What [`bugreport_modules`] returns, without an acquisition.
pub fn bugreport_module_infos() -> Vec<ModuleInfo> {
    vec![
        dumpsys_accessibility::DumpsysAccessibility::INFO,
        dumpsys_activities::DumpsysActivities::INFO,
        dumpsys_appops::DumpsysAppops::INFO,
        dumpsys_battery_daily::DumpsysBatteryDaily::INFO,
        dumpsys_battery_history::DumpsysBatteryHistory::INFO,
        dbinfo::DumpsysDbInfo::INFO,
        dumpsys_get_prop::DumpsysGetProp::INFO,
        dumpsys_packages::DumpsysPackages::INFO,
        dumpsys_platform_compat::DumpsysPlatformCompat::INFO,
        dumpsys_receivers::DumpsysReceivers::INFO,
        dumpsys_adb_state::DumpsysAdbState::INFO,
        bugreport_timestamps::BugreportTimestamps::INFO,
        tombstones::Tombstones::INFO,
    ]
}

module_list!(
    /// The modules of an Android backup (`.ab` or folder): SMS and MMS, exploit files.
    backup_modules, backup_module_infos, backup: &Arc<Backup> => [
        sms::Sms::new(BackupOrigin::Backup(Arc::clone(backup))) => sms::Sms::INFO,
        exploit_files::ExploitFiles::new(BackupOrigin::Backup(Arc::clone(backup))) => exploit_files::ExploitFiles::INFO,
    ]
);

module_list!(
    /// The 3 intrusion-log modules, in MVT's order.
    intrusion_log_modules, intrusion_log_module_infos, logs: &Arc<IntrusionLogs> => [
        dns_event::DnsEvent::new(LogsOrigin::Logs(Arc::clone(logs))) => dns_event::DnsEvent::INFO,
        connect_event::ConnectEvent::new(LogsOrigin::Logs(Arc::clone(logs))) => connect_event::ConnectEvent::INFO,
        security_event::SecurityEvent::new(LogsOrigin::Logs(Arc::clone(logs))) => security_event::SecurityEvent::INFO,
    ]
);

/// Every module of an AndroidQF acquisition: MVT's 8, then the dumpsys modules on its
/// dumpsys.txt (`aqf_` slugs), then, as MVT's nested commands, the 13 bugreport modules on
/// `bugreport.zip`, SMS on `backup.ab` and the 3 intrusion-log modules on
/// `intrusion_logs/` (each reporting "not found" when its part is absent).
pub fn androidqf_modules(aqf: &Arc<AndroidQf>) -> Vec<Box<dyn Module>> {
    let mut out = aqf_own(aqf);
    out.extend(aqf_dumpsys(aqf));
    out.extend(bugreport_from(&DumpsysOrigin::NestedBugreport(Arc::clone(
        aqf,
    ))));
    out.push(Box::new(sms::Sms::new(BackupOrigin::Nested(Arc::clone(
        aqf,
    )))));
    out.push(Box::new(exploit_files::ExploitFiles::new(
        BackupOrigin::Nested(Arc::clone(aqf)),
    )));
    let l = || LogsOrigin::Nested(Arc::clone(aqf));
    out.push(Box::new(dns_event::DnsEvent::new(l())));
    out.push(Box::new(connect_event::ConnectEvent::new(l())));
    out.push(Box::new(security_event::SecurityEvent::new(l())));
    out
}

/// What [`androidqf_modules`] returns, without an acquisition.
pub fn androidqf_module_infos() -> Vec<ModuleInfo> {
    let mut out = aqf_own_infos();
    out.extend(aqf_dumpsys_infos());
    out.extend(bugreport_module_infos());
    out.extend(backup_module_infos());
    out.extend(intrusion_log_module_infos());
    out
}
