//! `dumpsys package`, Receiver Resolver Table: which apps receive which broadcasts (SMS,
//! calls...).

use super::{DumpsysOrigin, with_section};
use crate::parsers::dumpsys_misc::parse_receivers;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, OutputShape, Record, Sink, Source,
};
use serde_json::{Map, Value, json};

dumpsys_module!(
    DumpsysReceivers,
    "dumpsys_receivers",
    "DumpsysReceivers",
    "aqf_dumpsys_receivers",
    "AQFDumpsysReceivers",
    "Broadcast receivers by intent (dumpsys package, Receiver Resolver Table)",
    OutputShape::Object
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "package", sink, |ds, lines, sink, _| {
        let intents = parse_receivers(lines);
        if intents.is_empty() {
            return;
        }
        let mut r = Record::new(Source::row(
            ds.file(),
            "dumpsys package",
            "Receiver Resolver Table",
        ));
        let mut data = Map::new();
        for (intent, receivers) in intents {
            let list: Vec<Value> = receivers
                .iter()
                .map(|x| json!({"package_name": x.package_name, "receiver": x.receiver}))
                .collect();
            for x in &receivers {
                r.observe(Observable::new(
                    ObservableKind::AppId,
                    x.package_name.clone(),
                    "package_name",
                ));
            }
            data.insert(intent, Value::Array(list));
        }
        r.data = data;
        sink.record(r);
    })
}
