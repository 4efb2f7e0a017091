//! Reading STIX 2.1 bundles, leniently and in one pass: each object is read field by field
//! as the parser meets it, a field of an unexpected type (a name that is a number) is
//! dropped on its own, and only the objects bridle uses are kept. One odd object costs its
//! odd fields, not the file.

use crate::set::LoadProblemKind;
use foldhash::HashMap;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Most objects read from one bundle; the rest are ignored with a problem.
pub const MAX_OBJECTS: usize = 1_000_000;

/// The `Visitor` methods for numbers and `null`, which no field bridle reads can be: the
/// value is consumed and `$value` returned, so an odd value costs itself only.
macro_rules! numbers_and_null_are {
    ($value:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// The fields of a STIX object bridle reads, borrowed from the file's bytes where possible
/// (a string with escapes is copied).
#[derive(Debug, Default)]
pub(crate) struct StixObject<'a> {
    /// Position in the bundle's `objects` array, counting every element.
    pub(crate) ordinal: usize,
    kind: Option<Cow<'a, str>>,
    id: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    pattern: Option<Cow<'a, str>>,
    pattern_type: Option<Cow<'a, str>>,
    source_ref: Option<Cow<'a, str>>,
    target_ref: Option<Cow<'a, str>>,
    relationship_type: Option<Cow<'a, str>>,
    object_refs: Option<Vec<Cow<'a, str>>>,
    pub(crate) revoked: Option<bool>,
}

impl<'a> StixObject<'a> {
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

    /// Whether the loader ever looks at an object of this type: indicators, the malware
    /// they name, the relationships and reports that link the two.
    fn is_used(&self) -> bool {
        matches!(
            self.kind.as_deref(),
            Some("indicator" | "malware" | "relationship" | "report")
        )
    }
}

pub(crate) struct Bundle<'a> {
    /// The used objects (see [`StixObject::is_used`]), in bundle order.
    pub(crate) objects: Vec<StixObject<'a>>,
    pub(crate) truncated: bool,
}

impl<'a> Bundle<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Bundle<'a>, LoadProblemKind> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text =
            std::str::from_utf8(bytes).map_err(|e| LoadProblemKind::NotJson(e.to_string()))?;
        let mut de = serde_json::Deserializer::from_str(text);
        let top = match de
            .deserialize_map(TopVisitor)
            .and_then(|t| de.end().map(|()| t))
        {
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
        let Some(objects) = top.objects else {
            return Err(LoadProblemKind::NotBundle("no \"objects\" array".into()));
        };
        Ok(objects)
    }
}

/// The top level of a bundle: its `type` as written, and its objects.
struct Top<'a> {
    kind: Option<&'a RawValue>,
    objects: Option<Bundle<'a>>,
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX bundle object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let mut top = Top {
            kind: None,
            objects: None,
        };
        // Keys read through `Scalar`: serde's own `Cow<str>` always copies.
        while let Some(key) = map.next_key::<Scalar>()? {
            match key.str.as_deref().unwrap_or_default() {
                "type" => top.kind = Some(map.next_value()?),
                "objects" => top.objects = Some(map.next_value::<Objects>()?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// The `objects` array, read element by element.
struct Objects<'a>(Bundle<'a>);

impl<'de> de::Deserialize<'de> for Objects<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ObjectsVisitor)
    }
}

struct ObjectsVisitor;

impl<'de> Visitor<'de> for ObjectsVisitor {
    type Value = Objects<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of STIX objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Objects<'de>, A::Error> {
        let mut bundle = Bundle {
            objects: Vec::new(),
            truncated: false,
        };
        let mut ordinal = 0usize;
        loop {
            if ordinal >= MAX_OBJECTS {
                // Past the cap the rest is still parsed (the file must be valid JSON) but
                // nothing of it is kept.
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
                bundle.truncated = true;
                continue;
            }
            let Some(Lenient(mut object)) = seq.next_element::<Lenient>()? else {
                break;
            };
            object.ordinal = ordinal;
            ordinal += 1;
            if object.is_used() {
                bundle.objects.push(object);
            }
        }
        Ok(Objects(bundle))
    }
}

/// One element of `objects`: an object's known fields; anything else (a number, an array)
/// reads as an object without fields.
struct Lenient<'a>(StixObject<'a>);

impl<'de> de::Deserialize<'de> for Lenient<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Lenient<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX object")
    }

    numbers_and_null_are!(Lenient(StixObject::default()));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient<'de>, A::Error> {
        let mut o = StixObject::default();
        // A repeated key: the last one wins, as in a JSON object read into a map.
        while let Some(key) = map.next_key::<Scalar>()? {
            let slot = match key.str.as_deref().unwrap_or_default() {
                "type" => &mut o.kind,
                "id" => &mut o.id,
                "name" => &mut o.name,
                "pattern" => &mut o.pattern,
                "pattern_type" => &mut o.pattern_type,
                "source_ref" => &mut o.source_ref,
                "target_ref" => &mut o.target_ref,
                "relationship_type" => &mut o.relationship_type,
                "object_refs" => {
                    o.object_refs = map.next_value::<StrList>()?.0;
                    continue;
                }
                "revoked" => {
                    o.revoked = map.next_value::<Scalar>()?.bool;
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<Scalar>()?.str;
        }
        Ok(Lenient(o))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient(StixObject::default()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lenient<'de>, E> {
        Ok(Lenient(StixObject::default()))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Lenient<'de>, E> {
        Ok(Lenient(StixObject::default()))
    }
}

/// A field value kept only when it has the type bridle reads (a string, or a boolean);
/// any other value is consumed and dropped.
#[derive(Default)]
struct Scalar<'a> {
    str: Option<Cow<'a, str>>,
    bool: Option<bool>,
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    numbers_and_null_are!(Scalar::default());

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar {
            str: Some(Cow::Borrowed(v)),
            bool: None,
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar {
            str: Some(Cow::Owned(v.to_owned())),
            bool: None,
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar {
            str: Some(Cow::Owned(v)),
            bool: None,
        })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar {
            str: None,
            bool: Some(v),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::default())
    }
}

/// `object_refs`: the strings of an array (other elements dropped); `None` when the value
/// is not an array.
struct StrList<'a>(Option<Vec<Cow<'a, str>>>);

impl<'de> de::Deserialize<'de> for StrList<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrListVisitor)
    }
}

struct StrListVisitor;

impl<'de> Visitor<'de> for StrListVisitor {
    type Value = StrList<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    numbers_and_null_are!(StrList(None));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrList<'de>, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = seq.next_element::<Scalar>()? {
            list.extend(item.str);
        }
        Ok(StrList(Some(list)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrList<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(StrList(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<StrList<'de>, E> {
        Ok(StrList(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<StrList<'de>, E> {
        Ok(StrList(None))
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
    /// Name lists already made: the indicators of a file mostly share one list, and each
    /// gets a reference to it instead of its own copy.
    interned: HashMap<Vec<&'a str>, Arc<[String]>>,
    /// The list being made, reused from one indicator to the next.
    scratch: Vec<&'a str>,
}

impl<'a> Links<'a> {
    pub(crate) fn collect(objects: &'a [StixObject<'a>]) -> Links<'a> {
        let mut malware: HashMap<&str, &str> = HashMap::default();
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
    pub(crate) fn names_of(&mut self, indicator: &str, file_name: &'a str) -> Arc<[String]> {
        let mut names = std::mem::take(&mut self.scratch);
        names.clear();
        let mut add = |list: Option<&Vec<&'a str>>| {
            for name in list.into_iter().flatten() {
                if !names.contains(name) {
                    names.push(name);
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
            names.push(file_name);
        }
        if let Some(shared) = self.interned.get(&names) {
            let shared = Arc::clone(shared);
            self.scratch = names;
            return shared;
        }
        let shared: Arc<[String]> = names.iter().map(|n| (*n).to_owned()).collect();
        self.interned.insert(names, Arc::clone(&shared));
        shared
    }
}
