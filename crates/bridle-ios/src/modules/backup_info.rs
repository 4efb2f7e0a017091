//! Info.plist: the device the backup was made from.

use crate::Ios;
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{ModuleError, ModuleOutcome, OutputShape, Record, Sink, Source};
use serde_json::Value as Json;

ios_module!(
    BackupInfo,
    "backup_info",
    "BackupInfo",
    "Device information from the backup's Info.plist",
    OutputShape::Object
);

/// The keys MVT reports, in its order.
pub const FIELDS: [&str; 18] = [
    "Build Version",
    "Device Name",
    "Display Name",
    "GUID",
    "ICCID",
    "IMEI",
    "MEID",
    "Installed Applications",
    "Last Backup Date",
    "Phone Number",
    "Product Name",
    "Product Type",
    "Product Version",
    "Serial Number",
    "Target Identifier",
    "Target Type",
    "Unique Identifier",
    "iTunes Version",
];

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .root_file("Info.plist")
        .map_err(|e| super::unreadable("Info.plist", &e))?
    else {
        return Ok(ModuleOutcome::NotFound(
            "no Info.plist in the backup".into(),
        ));
    };
    let (info, file) = ios
        .read_plist(&located)
        .map_err(|e| super::unreadable("Info.plist", &e))?;
    if info.as_dictionary().is_none() {
        return Err(ModuleError::Unreadable {
            file: "Info.plist".into(),
            reason: "the plist is not a dictionary".into(),
        });
    }
    let mut r = Record::new(Source::file(&file));
    for field in FIELDS {
        let v = plist_json::get(&info, field)
            .map_or(Json::Null, |v| plist_json::to_json(v, Bytes::Base64));
        r.set(field, v);
    }
    sink.record(r);
    Ok(ModuleOutcome::Done)
}
