//! DataUsage.sqlite: which processes used the network, when, and how much.
//!
//! Spyware processes leave rows here (Pegasus' `bh`, `roleaccountd`...), and attempts to hide
//! them leave traces: a `ZLIVEUSAGE` row whose process row was deleted, or a gap in the
//! `ZPROCESS` primary keys. MVT's three checks are reproduced and always run:
//!
//! * a usage row with no process → HIGH "Found manipulated process entry N. Entry on T" once
//!   per missing process id, and HIGH "Found manipulated process entry N/" on every such row,
//!   whose process name becomes `MANIPULATED [process record deleted]`;
//! * a gap in the `ZPROCESS.Z_PK` sequence → LOW "Missing process N. Previous process at …" on
//!   the process before the gap, and a placeholder row `MISSING [follows …]` appended to the
//!   records;
//! * (filesystem dumps only, not run on backups) a process with no bundle id whose binary is
//!   nowhere in the dump → MEDIUM, answered by the dump's file-name index.
//!
//! A damaged database is read as far as it goes (the two tables separately when the combined
//! query fails), but the deletion checks are then not run: an unreadable page looks exactly
//! like a deleted row, and the problem report says so instead.
//!
//! The parsing and the checks are shared with `netusage` (same Core Data model) in
//! [`super::net_base`]; DataUsage reads the first database found, as MVT does.

use crate::{Ios, Locations};
use bridle_model::{ModuleError, ModuleOutcome, Sink};

ios_module!(
    Datausage,
    "datausage",
    "Datausage",
    "Network use per process (DataUsage.sqlite), with checks for deleted process records"
);

const LOCATIONS: Locations = Locations {
    backup: &[("WirelessDomain", "Library/Databases/DataUsage.sqlite")],
    backup_like: &[],
    fs: &["private/var/wireless/Library/Databases/DataUsage.sqlite"],
};

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    match super::found::first(ios, &LOCATIONS, "DataUsage.sqlite")? {
        Ok(first) => super::net_base::run(ios, sink, &[first]),
        Err(not_found) => Ok(not_found),
    }
}
