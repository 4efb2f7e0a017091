//! netusage.sqlite: network use per process, kept by networkd in a filesystem dump.
//!
//! The database has DataUsage's Core Data model; records, timeline and checks are those of
//! [`super::net_base`] (MVT's `NetBase`), including the search for process binaries missing
//! from the dump. MVT reads every netusage database found.

use crate::{Ios, Locations};
use bridle_model::{ModuleError, ModuleOutcome, Sink};

ios_module!(
    Netusage,
    "netusage",
    "Netusage",
    "Network use per process (netusage.sqlite), with checks for deleted process records and missing binaries"
);

const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[],
    fs: &[
        "private/var/networkd/netusage.sqlite",
        "private/var/networkd/db/netusage.sqlite",
    ],
};

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    match super::found::all(ios, &LOCATIONS, "netusage.sqlite")? {
        Ok(found) => super::net_base::run(ios, sink, &found),
        Err(not_found) => Ok(not_found),
    }
}
