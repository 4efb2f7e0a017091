//! Reading STIX 2.1 bundles, leniently: objects are kept as JSON values and read field by
//! field, so one malformed object (a name that is a number, an unknown type) costs that
//! object, not the file.

use crate::set::LoadProblemKind;
use serde_json::Value;
use std::collections::HashMap;

/// Most objects read from one bundle; the rest are ignored with a problem.
pub const MAX_OBJECTS: usize = 1_000_000;

pub(crate) struct Bundle {
    pub(crate) objects: Vec<Value>,
    pub(crate) truncated: bool,
}

impl Bundle {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Bundle, LoadProblemKind> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| LoadProblemKind::NotJson(e.to_string()))?;
        let Value::Object(mut top) = value else {
            return Err(LoadProblemKind::NotBundle(
                "the top level is not a JSON object".into(),
            ));
        };
        match top.get("type") {
            None => {}
            Some(Value::String(t)) if t == "bundle" => {}
            Some(other) => {
                return Err(LoadProblemKind::NotBundle(format!(
                    "its type is {other}, not \"bundle\""
                )));
            }
        }
        let Some(Value::Array(mut objects)) = top.remove("objects") else {
            return Err(LoadProblemKind::NotBundle("no \"objects\" array".into()));
        };
        let truncated = objects.len() > MAX_OBJECTS;
        objects.truncate(MAX_OBJECTS);
        Ok(Bundle { objects, truncated })
    }
}

pub(crate) fn str_field<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// Which malware and reports each indicator belongs to.
#[derive(Default)]
pub(crate) struct Links<'a> {
    /// indicator id → malware names through `indicates` relationships, in object order.
    indicates: HashMap<&'a str, Vec<&'a str>>,
    /// indicator id → malware names through other relationship types.
    other: HashMap<&'a str, Vec<&'a str>>,
    /// indicator id → names of the reports listing it in `object_refs`.
    reports: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Links<'a> {
    pub(crate) fn collect(objects: &'a [Value]) -> Links<'a> {
        let mut malware: HashMap<&str, &str> = HashMap::new();
        for object in objects {
            if str_field(object, "type") == Some("malware")
                && let Some(id) = str_field(object, "id")
            {
                malware.insert(id, str_field(object, "name").unwrap_or(id));
            }
        }
        let mut links = Links::default();
        for object in objects {
            match str_field(object, "type") {
                Some("relationship") => {
                    let (Some(source), Some(target)) = (
                        str_field(object, "source_ref"),
                        str_field(object, "target_ref"),
                    ) else {
                        continue;
                    };
                    let Some(name) = malware.get(target) else {
                        continue;
                    };
                    let map = if str_field(object, "relationship_type") == Some("indicates") {
                        &mut links.indicates
                    } else {
                        &mut links.other
                    };
                    map.entry(source).or_default().push(name);
                }
                Some("report") => {
                    let name = str_field(object, "name")
                        .or_else(|| str_field(object, "id"))
                        .unwrap_or("report");
                    let refs = object.get("object_refs").and_then(Value::as_array);
                    for r in refs.into_iter().flatten().filter_map(Value::as_str) {
                        links.reports.entry(r).or_default().push(name);
                    }
                }
                _ => {}
            }
        }
        links
    }

    /// The names of an indicator: malware it `indicates`, then reports listing it, then
    /// malware linked by other relationship types (only when there is no `indicates`);
    /// the file's base name when there is none.
    pub(crate) fn names_of(&self, indicator: &str, file_name: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut add = |list: Option<&Vec<&str>>| {
            for name in list.into_iter().flatten() {
                if !names.iter().any(|n| n == name) {
                    names.push((*name).to_owned());
                }
            }
        };
        let indicates = self.indicates.get(indicator);
        add(indicates);
        add(self.reports.get(indicator));
        if indicates.is_none() {
            add(self.other.get(indicator));
        }
        if names.is_empty() {
            names.push(file_name.to_owned());
        }
        names
    }
}
