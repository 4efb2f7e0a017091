//! NSKeyedArchiver decoding with budgets.
//!
//! An archive is a plist with `$objects` (a flat table) and `$top` (roots), where objects
//! refer to each other by UID. Decoding means following those references, which on hostile
//! input can loop (a dictionary containing itself) or explode (a DAG where each level refers
//! twice to the next: 2^n nodes from n objects). This decoder keeps a stack of objects being
//! decoded (a reference back into it becomes a `"<cycle>"` marker) and a budget of output
//! nodes and depth, and says when either ran out rather than hanging or allocating without
//! limit. Written here rather than taken from a crate because none we found bounds output
//! size (reference/crates.md §1), and this code sits directly on attacker data.

use plist::{Dictionary, Value};

/// Budgets for one decode.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Deepest nesting of decoded values.
    pub max_depth: usize,
    /// Most values produced in total.
    pub max_nodes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_depth: 64,
            max_nodes: 200_000,
        }
    }
}

/// Why an archive could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NskaError {
    /// Not an NSKeyedArchiver archive.
    #[error("not an NSKeyedArchiver archive: {0}")]
    NotAnArchive(&'static str),
    /// The output budget ran out (exponential sharing or a huge graph).
    #[error("archive expands beyond {0} values")]
    TooManyNodes(usize),
}

/// A decoded archive, and whether anything had to be cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The root object as a plain plist value tree.
    pub value: Value,
    /// Whether a cycle was cut or the depth budget was reached somewhere.
    pub truncated: bool,
}

/// Decodes the `$top` `root` object of an archive (or the first top object if there is no
/// `root` key).
pub fn decode(archive: &Value, budget: Budget) -> Result<Decoded, NskaError> {
    let dict = archive
        .as_dictionary()
        .ok_or(NskaError::NotAnArchive("not a dictionary"))?;
    let objects = dict
        .get("$objects")
        .and_then(Value::as_array)
        .ok_or(NskaError::NotAnArchive("no $objects array"))?;
    let top = dict
        .get("$top")
        .and_then(Value::as_dictionary)
        .ok_or(NskaError::NotAnArchive("no $top dictionary"))?;
    let root = top
        .get("root")
        .or_else(|| top.values().next())
        .ok_or(NskaError::NotAnArchive("empty $top"))?;
    let mut d = Decoder {
        objects,
        budget,
        nodes: 0,
        stack: Vec::new(),
        truncated: false,
    };
    let value = d.value(root, 0)?;
    Ok(Decoded {
        value,
        truncated: d.truncated,
    })
}

/// The object at a given index of `$objects`, without following references. MVT reads the
/// Manifest.db `file` blob this way (`$objects[1]`), and it is by far the cheapest route for
/// the flat MBFile records.
pub fn object(archive: &Value, index: usize) -> Option<&Value> {
    archive
        .as_dictionary()?
        .get("$objects")?
        .as_array()?
        .get(index)
}

/// Resolves a value that may be a UID reference into `$objects` (one level, no recursion).
pub fn deref<'a>(archive: &'a Value, value: &'a Value) -> Option<&'a Value> {
    match value {
        Value::Uid(u) => object(archive, usize::try_from(u.get()).ok()?),
        other => Some(other),
    }
}

struct Decoder<'a> {
    objects: &'a [Value],
    budget: Budget,
    nodes: usize,
    stack: Vec<usize>,
    truncated: bool,
}

impl Decoder<'_> {
    fn bump(&mut self) -> Result<(), NskaError> {
        self.nodes += 1;
        if self.nodes > self.budget.max_nodes {
            return Err(NskaError::TooManyNodes(self.budget.max_nodes));
        }
        Ok(())
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<Value, NskaError> {
        self.bump()?;
        if depth > self.budget.max_depth {
            self.truncated = true;
            return Ok(Value::String("<too deep>".into()));
        }
        match v {
            Value::Uid(uid) => {
                let Ok(idx) = usize::try_from(uid.get()) else {
                    return Ok(Value::String("<bad reference>".into()));
                };
                if self.stack.contains(&idx) {
                    self.truncated = true;
                    return Ok(Value::String("<cycle>".into()));
                }
                let Some(obj) = self.objects.get(idx) else {
                    return Ok(Value::String("<bad reference>".into()));
                };
                if let Value::String(s) = obj
                    && s == "$null"
                {
                    return Ok(Value::String(String::new()));
                }
                self.stack.push(idx);
                let out = self.object(obj, depth);
                self.stack.pop();
                out
            }
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len().min(1024));
                for x in a {
                    out.push(self.value(x, depth + 1)?);
                }
                Ok(Value::Array(out))
            }
            Value::Dictionary(d) => {
                let mut out = Dictionary::new();
                for (k, x) in d {
                    out.insert(k.clone(), self.value(x, depth + 1)?);
                }
                Ok(Value::Dictionary(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn class_name(&self, d: &Dictionary) -> Option<String> {
        let Value::Uid(u) = d.get("$class")? else {
            return None;
        };
        let class = self.objects.get(usize::try_from(u.get()).ok()?)?;
        class
            .as_dictionary()?
            .get("$classname")?
            .as_string()
            .map(str::to_owned)
    }

    fn object(&mut self, obj: &Value, depth: usize) -> Result<Value, NskaError> {
        let Value::Dictionary(d) = obj else {
            return self.value(obj, depth + 1);
        };
        let class = self.class_name(d).unwrap_or_default();
        match class.as_str() {
            "NSDictionary" | "NSMutableDictionary" => {
                let keys = d.get("NS.keys").and_then(Value::as_array);
                let vals = d.get("NS.objects").and_then(Value::as_array);
                let mut out = Dictionary::new();
                if let (Some(keys), Some(vals)) = (keys, vals) {
                    for (k, v) in keys.iter().zip(vals) {
                        let key = match self.value(k, depth + 1)? {
                            Value::String(s) => s,
                            other => format!("{other:?}"),
                        };
                        let val = self.value(v, depth + 1)?;
                        out.insert(key, val);
                    }
                }
                Ok(Value::Dictionary(out))
            }
            "NSArray" | "NSMutableArray" | "NSSet" | "NSMutableSet" | "NSOrderedSet" => {
                let mut out = Vec::new();
                if let Some(items) = d.get("NS.objects").and_then(Value::as_array) {
                    for x in items {
                        out.push(self.value(x, depth + 1)?);
                    }
                }
                Ok(Value::Array(out))
            }
            "NSData" | "NSMutableData" => Ok(match d.get("NS.data") {
                Some(Value::Data(b)) => Value::Data(b.clone()),
                Some(other) => self.value(other, depth + 1)?,
                None => Value::Data(Vec::new()),
            }),
            "NSString" | "NSMutableString" => Ok(match d.get("NS.string") {
                Some(v) => self.value(v, depth + 1)?,
                None => Value::String(String::new()),
            }),
            "NSDate" => Ok(d
                .get("NS.time")
                .and_then(crate::plist_json::as_f64)
                .map_or(Value::String(String::new()), Value::Real)),
            "NSURL" => Ok(match d.get("NS.relative") {
                Some(v) => self.value(v, depth + 1)?,
                None => Value::String(String::new()),
            }),
            _ => {
                // An unknown class (MBFile and friends): keep its fields, decoded, and name it.
                let mut out = Dictionary::new();
                if !class.is_empty() {
                    out.insert("$class".into(), Value::String(class));
                }
                for (k, v) in d {
                    if k == "$class" {
                        continue;
                    }
                    out.insert(k.clone(), self.value(v, depth + 1)?);
                }
                Ok(Value::Dictionary(out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plist::Uid;

    fn archive(objects: Vec<Value>) -> Value {
        let mut top = Dictionary::new();
        top.insert("root".into(), Value::Uid(Uid::new(1)));
        let mut d = Dictionary::new();
        d.insert("$archiver".into(), Value::String("NSKeyedArchiver".into()));
        d.insert("$objects".into(), Value::Array(objects));
        d.insert("$top".into(), Value::Dictionary(top));
        Value::Dictionary(d)
    }

    fn class(name: &str) -> Value {
        let mut c = Dictionary::new();
        c.insert("$classname".into(), Value::String(name.into()));
        Value::Dictionary(c)
    }

    fn dict(pairs: &[(&str, Value)]) -> Value {
        let mut d = Dictionary::new();
        for (k, v) in pairs {
            d.insert((*k).into(), v.clone());
        }
        Value::Dictionary(d)
    }

    #[test]
    fn decodes_dictionary_and_string() {
        let a = archive(vec![
            Value::String("$null".into()),
            dict(&[
                ("NS.keys", Value::Array(vec![Value::Uid(Uid::new(2))])),
                ("NS.objects", Value::Array(vec![Value::Uid(Uid::new(3))])),
                ("$class", Value::Uid(Uid::new(4))),
            ]),
            Value::String("key".into()),
            Value::String("value".into()),
            class("NSDictionary"),
        ]);
        let d = decode(&a, Budget::default()).unwrap();
        assert!(!d.truncated);
        assert_eq!(d.value, dict(&[("key", Value::String("value".into()))]));
    }

    #[test]
    fn cycle_is_cut() {
        // Object 1 is an array containing itself.
        let a = archive(vec![
            Value::String("$null".into()),
            dict(&[
                ("NS.objects", Value::Array(vec![Value::Uid(Uid::new(1))])),
                ("$class", Value::Uid(Uid::new(2))),
            ]),
            class("NSArray"),
        ]);
        let d = decode(&a, Budget::default()).unwrap();
        assert!(d.truncated);
        assert_eq!(d.value, Value::Array(vec![Value::String("<cycle>".into())]));
    }

    #[test]
    fn exponential_sharing_hits_the_budget() {
        // 40 levels, each an array referring twice to the next: 2^40 nodes if expanded.
        let mut objects = vec![Value::String("$null".into())];
        let n = 40;
        for i in 1..=n {
            let next = Value::Uid(Uid::new(if i == n { 0 } else { i + 1 }));
            objects.push(dict(&[
                ("NS.objects", Value::Array(vec![next.clone(), next])),
                ("$class", Value::Uid(Uid::new(n + 1))),
            ]));
        }
        objects.push(class("NSArray"));
        let err = decode(&archive(objects), Budget::default()).unwrap_err();
        assert_eq!(err, NskaError::TooManyNodes(200_000));
    }

    #[test]
    fn bad_references_do_not_panic() {
        let a = archive(vec![
            Value::String("$null".into()),
            dict(&[
                ("x", Value::Uid(Uid::new(u64::MAX))),
                ("$class", Value::Uid(Uid::new(99))),
            ]),
        ]);
        let d = decode(&a, Budget::default()).unwrap();
        assert_eq!(
            d.value,
            dict(&[("x", Value::String("<bad reference>".into()))])
        );
        assert!(decode(&Value::Boolean(true), Budget::default()).is_err());
    }
}
