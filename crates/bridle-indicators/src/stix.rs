//! Reading STIX 2.1 bundles, leniently: objects are kept as JSON values and read field by
//! field, so one malformed object (a name that is a number, an unknown type) costs that
//! object, not the file.

use crate::set::LoadProblemKind;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// Most objects read from one bundle; the rest are ignored with a problem.
pub const MAX_OBJECTS: usize = 1_000_000;

/// The fields of a STIX object bridle reads, borrowed from the file's bytes where possible.
///
/// Parsing each object into this small struct, rather than a JSON tree, keeps loading cheap:
/// a tree of the Amnesty and MVT files took about ten times their size in memory.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct StixObject<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pattern: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pattern_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source_ref: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target_ref: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    relationship_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    object_refs: Option<Vec<Cow<'a, str>>>,
    #[serde(default)]
    pub(crate) revoked: Option<bool>,
}

impl<'a> StixObject<'a> {
    /// Reads one object. An object whose fields have unexpected types (a name that is a
    /// number) is read field by field instead, keeping the string fields that are strings:
    /// one odd object costs that object's odd fields, not the file.
    fn from_raw(raw: &'a RawValue) -> Option<StixObject<'a>> {
        if let Ok(o) = serde_json::from_str::<StixObject<'a>>(raw.get()) {
            return Some(o);
        }
        let value: Value = serde_json::from_str(raw.get()).ok()?;
        let s = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .map(|v| Cow::Owned(v.to_owned()))
        };
        Some(StixObject {
            kind: s("type"),
            id: s("id"),
            name: s("name"),
            pattern: s("pattern"),
            pattern_type: s("pattern_type"),
            source_ref: s("source_ref"),
            target_ref: s("target_ref"),
            relationship_type: s("relationship_type"),
            object_refs: value.get("object_refs").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|v| Cow::Owned(v.to_owned()))
                    .collect()
            }),
            revoked: value.get("revoked").and_then(Value::as_bool),
        })
    }

    /// A string field by its STIX name.
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        match key {
            "type" => self.kind.as_deref(),
            "id" => self.id.as_deref(),
            "name" => self.name.as_deref(),
            "pattern" => self.pattern.as_deref(),
            "pattern_type" => self.pattern_type.as_deref(),
            "source_ref" => self.source_ref.as_deref(),
            "target_ref" => self.target_ref.as_deref(),
            "relationship_type" => self.relationship_type.as_deref(),
            _ => None,
        }
    }
}

pub(crate) struct Bundle<'a> {
    pub(crate) objects: Vec<StixObject<'a>>,
    pub(crate) truncated: bool,
}

#[derive(serde::Deserialize)]
struct RawBundle<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    objects: Option<Vec<&'a RawValue>>,
}

impl<'a> Bundle<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Bundle<'a>, LoadProblemKind> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text =
            std::str::from_utf8(bytes).map_err(|e| LoadProblemKind::NotJson(e.to_string()))?;
        let top: RawBundle<'a> = match serde_json::from_str(text) {
            Ok(t) => t,
            Err(e) if e.is_data() => {
                return Err(LoadProblemKind::NotBundle(
                    "the top level is not a JSON object with an \"objects\" array".into(),
                ));
            }
            Err(e) => return Err(LoadProblemKind::NotJson(e.to_string())),
        };
        match top.kind.map(RawValue::get) {
            None | Some("\"bundle\"") => {}
            Some(other) => {
                return Err(LoadProblemKind::NotBundle(format!(
                    "its type is {other}, not \"bundle\""
                )));
            }
        }
        let Some(mut raw) = top.objects else {
            return Err(LoadProblemKind::NotBundle("no \"objects\" array".into()));
        };
        let truncated = raw.len() > MAX_OBJECTS;
        raw.truncate(MAX_OBJECTS);
        let objects = raw
            .into_iter()
            .map(|r| StixObject::from_raw(r).unwrap_or_default())
            .collect();
        Ok(Bundle { objects, truncated })
    }
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
    pub(crate) fn collect(objects: &'a [StixObject<'a>]) -> Links<'a> {
        let mut malware: HashMap<&str, &str> = HashMap::new();
        for object in objects {
            if object.str("type") == Some("malware")
                && let Some(id) = object.str("id")
            {
                malware.insert(id, object.str("name").unwrap_or(id));
            }
        }
        let mut links = Links::default();
        for object in objects {
            match object.str("type") {
                Some("relationship") => {
                    let (Some(source), Some(target)) =
                        (object.str("source_ref"), object.str("target_ref"))
                    else {
                        continue;
                    };
                    let Some(name) = malware.get(target) else {
                        continue;
                    };
                    let map = if object.str("relationship_type") == Some("indicates") {
                        &mut links.indicates
                    } else {
                        &mut links.other
                    };
                    map.entry(source).or_default().push(name);
                }
                Some("report") => {
                    let name = object
                        .str("name")
                        .or_else(|| object.str("id"))
                        .unwrap_or("report");
                    for r in object.object_refs.iter().flatten() {
                        links.reports.entry(r.as_ref()).or_default().push(name);
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
