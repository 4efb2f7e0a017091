//! `dumpsys adb`: the hosts the phone trusts for USB debugging, with their key fingerprints
//! and, on newer Android, when each last connected.

use base64::Engine;
use bridle_evidence::plist_json::escape_bytes;
use bridle_model::Timestamp;
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// Most nodes built from the indented dump (a hostile dump could nest without end).
const MAX_NODES: usize = 100_000;
/// Deepest nesting followed.
const MAX_DEPTH: usize = 64;

/// A trusted (or presented) ADB host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdbKey {
    /// The comment after the key (`user@host`).
    pub user: String,
    /// MD5 of the decoded key, upper-case hex pairs joined by `:` (empty if not base64).
    pub fingerprint: String,
    /// The base64 key.
    pub key: String,
    /// `lastConnection` (milliseconds since the epoch, as written), from the XML keystore.
    pub last_connected: Option<String>,
}

impl AdbKey {
    /// Computes the fingerprint of `key [user]`.
    pub fn from_line(line: &[u8]) -> AdbKey {
        let (key, user) = match line.iter().position(|b| *b == b' ') {
            Some(i) => (
                line.get(..i).unwrap_or_default(),
                line.get(i + 1..).unwrap_or_default(),
            ),
            None => (line, &b""[..]),
        };
        let fingerprint = decode_lenient(key)
            .map(|raw| {
                let hex = hex::encode_upper(Md5::digest(&raw));
                hex.as_bytes()
                    .chunks(2)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .unwrap_or_default();
        AdbKey {
            user: escape_bytes(user),
            fingerprint,
            key: escape_bytes(key),
            last_connected: None,
        }
    }

    /// As MVT writes it.
    pub fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("user".into(), json!(self.user));
        m.insert("fingerprint".into(), json!(self.fingerprint));
        m.insert("key".into(), json!(self.key));
        if let Some(l) = &self.last_connected {
            m.insert("last_connected".into(), json!(l));
        }
        Value::Object(m)
    }

    /// When it last connected.
    pub fn last_connected_time(&self) -> Option<Timestamp> {
        self.last_connected
            .as_deref()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .and_then(Timestamp::from_unix_millis)
    }
}

/// Python's non-validating `b64decode`: characters outside the alphabet are dropped, but the
/// padding must be right.
fn decode_lenient(s: &[u8]) -> Option<Vec<u8>> {
    let kept: Vec<u8> = s
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/' || *b == b'=')
        .collect();
    base64::engine::general_purpose::STANDARD.decode(kept).ok()
}

/// Strict base64 that decodes to something (MVT's `_is_valid_key`).
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|d| !d.is_empty())
}

/// The key material of `key [comment]` (MVT's `_key_material`).
pub fn key_material(public_key: &str) -> &str {
    public_key.trim().split(' ').next().unwrap_or_default()
}

/// What the adb section holds.
#[derive(Debug, Clone, PartialEq)]
pub struct AdbState {
    /// The `debugging_manager` object as MVT writes it.
    pub json: Map<String, Value>,
    /// `user_keys`.
    pub user_keys: Vec<AdbKey>,
    /// The XML keystore's keys (empty for the older raw or binary keystores).
    pub keystore: Vec<AdbKey>,
}

impl AdbState {
    /// Trusted keys, de-duplicated by key material, keystore entries (which carry their last
    /// connection) first.
    pub fn trusted_keys(&self) -> Vec<&AdbKey> {
        let mut seen = std::collections::BTreeSet::new();
        self.keystore
            .iter()
            .chain(self.user_keys.iter())
            .filter(|k| {
                let m = key_material(&k.key);
                let id = if m.is_empty() {
                    format!("{k:?}")
                } else {
                    m.to_owned()
                };
                seen.insert(id)
            })
            .collect()
    }
}

#[derive(Debug)]
enum Node {
    Dict(Vec<(String, usize)>),
    List(Vec<Vec<u8>>),
    Bytes(Vec<u8>),
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn is_structural(key: &str, has_value: bool) -> bool {
    key == "}" || (has_value && is_identifier(key))
}

fn lstrip(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_whitespace() || **c == 0x0b)
        .count();
    b.get(n..).unwrap_or_default()
}

fn rstrip(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace() || **c == 0x0b)
        .count();
    b.get(..b.len() - n).unwrap_or_default()
}

/// Android's `DualDumpOutputStream` indented dump, as MVT reads it.
fn indented(data: &[u8]) -> Result<Vec<Node>, String> {
    let mut nodes = vec![Node::Dict(Vec::new())];
    let mut stack: Vec<usize> = vec![0];
    let mut cur_indent = 0usize;
    let mut in_multiline = false;
    let start = data.iter().take_while(|b| **b == b'\n').count();
    let end = data.len() - data.iter().rev().take_while(|b| **b == b'\n').count();
    let body = data.get(start..end.max(start)).unwrap_or_default();
    for line in body.split(|b| *b == b'\n') {
        if nodes.len() > MAX_NODES || stack.len() > MAX_DEPTH {
            return Err("the adb dump nests too deep or holds too many values".into());
        }
        let stripped = lstrip(line);
        let indent = line.len() - stripped.len();
        if indent < cur_indent {
            stack.pop();
        }
        cur_indent = indent;
        let (key_bytes, value) = match stripped.iter().position(|b| *b == b'=') {
            Some(i) => (stripped.get(..i).unwrap_or_default(), stripped.get(i + 1..)),
            None => (stripped, None),
        };
        let key = std::str::from_utf8(key_bytes)
            .map_err(|_| "a key of the adb dump is not UTF-8".to_owned())?
            .to_owned();
        let mut top = *stack
            .last()
            .ok_or("the adb dump closes more than it opens")?;
        if in_multiline {
            if key.is_empty() {
                in_multiline = false;
                if matches!(nodes.get(top), Some(Node::List(_))) {
                    stack.pop();
                }
                continue;
            }
            if !is_structural(&key, value.is_some()) {
                if let Some(Node::List(items)) = nodes.get_mut(top) {
                    items.push(stripped.to_vec());
                }
                continue;
            }
            in_multiline = false;
            if matches!(nodes.get(top), Some(Node::List(_))) {
                stack.pop();
            }
            top = *stack
                .last()
                .ok_or("the adb dump closes more than it opens")?;
        }
        if key == "}" {
            stack.pop();
            continue;
        }
        let Some(value) = value else {
            return Err(format!(
                "adb dump line without `=`: `{}`",
                escape_bytes(stripped)
            ));
        };
        let child = if value == b"{" {
            Some(Node::Dict(Vec::new()))
        } else if key == "user_keys" || key == "keystore" {
            in_multiline = true;
            Some(Node::List(vec![value.to_vec()]))
        } else {
            None
        };
        let id = nodes.len();
        let (node, push) = match child {
            Some(n) => (n, true),
            None => (Node::Bytes(value.to_vec()), false),
        };
        nodes.push(node);
        match nodes.get_mut(top) {
            Some(Node::Dict(entries)) => match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(e) => e.1 = id,
                None => entries.push((key, id)),
            },
            _ => return Err("the adb dump puts a value inside a list".into()),
        }
        if push {
            stack.push(id);
        }
    }
    Ok(nodes)
}

fn to_json(nodes: &[Node], id: usize, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    match nodes.get(id) {
        Some(Node::Dict(entries)) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(nodes, *v, depth + 1)))
                .collect(),
        ),
        Some(Node::List(items)) => {
            Value::Array(items.iter().map(|b| json!(escape_bytes(b))).collect())
        }
        Some(Node::Bytes(b)) => json!(escape_bytes(b)),
        None => Value::Null,
    }
}

fn child<'a>(nodes: &'a [Node], id: usize, key: &str) -> Option<(usize, &'a Node)> {
    match nodes.get(id)? {
        Node::Dict(entries) => {
            let (_, c) = entries.iter().find(|(k, _)| k == key)?;
            Some((*c, nodes.get(*c)?))
        }
        _ => None,
    }
}

static ADB_KEY: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"<adbKey\s([^>]*)>").ok());
static ATTR: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(r#"([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')"#).ok()
});

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The `<adbKey key=... lastConnection=...>` entries of the XML keystore.
fn parse_xml_keystore(xml: &str) -> Vec<AdbKey> {
    let (Some(tag), Some(attr)) = (ADB_KEY.as_ref(), ATTR.as_ref()) else {
        return Vec::new();
    };
    tag.captures_iter(xml)
        .filter_map(|c| {
            let attrs = c.get(1)?.as_str();
            let mut key = None;
            let mut last = None;
            for a in attr.captures_iter(attrs) {
                let name = a.get(1).map_or("", |m| m.as_str());
                let value = a.get(2).or_else(|| a.get(3)).map_or("", |m| m.as_str());
                match name {
                    "key" => key = Some(unescape_xml(value)),
                    "lastConnection" => last = Some(unescape_xml(value)),
                    _ => {}
                }
            }
            let mut k = AdbKey::from_line(key?.as_bytes());
            k.last_connected = last;
            Some(k)
        })
        .collect()
}

/// Parses the adb section (its raw bytes). `Err` says why nothing could be read.
pub fn parse(content: &[u8]) -> Result<AdbState, String> {
    if content.is_empty() || content.windows(24).any(|w| w == b"Can't find service: adb") {
        return Err("no ADB data in the dump (not supported on this device?)".into());
    }
    let find = |pat: &[u8]| content.windows(pat.len()).position(|w| w == pat);
    let rfind = |pat: &[u8]| content.windows(pat.len()).rposition(|w| w == pat);
    let start = find(b"\n{").ok_or("no ADB manager state in the dump")?;
    let end = rfind(b"}\n")
        .filter(|e| *e > start)
        .ok_or("the ADB manager state is incomplete")?;
    let body = rstrip(
        content
            .get(start + 2..end.saturating_sub(2).max(start + 2))
            .unwrap_or_default(),
    );
    let nodes = indented(body)?;
    let (dm, _) =
        child(&nodes, 0, "debugging_manager").ok_or("no debugging_manager in the ADB state")?;
    let keystore_node = child(&nodes, 0, "keystore").or_else(|| child(&nodes, dm, "keystore"));
    let keystore_bytes = keystore_node.and_then(|(_, n)| match n {
        Node::List(items) if !items.is_empty() => Some(items.join(&b"\n"[..])),
        _ => None,
    });
    let mut json = match to_json(&nodes, dm, 0) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut keystore = Vec::new();
    match &keystore_bytes {
        Some(b) if b.starts_with(b"<?xml") => {
            keystore = parse_xml_keystore(&String::from_utf8_lossy(b));
            json.insert(
                "keystore".into(),
                Value::Array(keystore.iter().map(AdbKey::json).collect()),
            );
        }
        Some(b) => {
            json.insert("keystore".into(), json!(escape_bytes(b)));
        }
        None => {
            json.insert("keystore".into(), Value::Null);
        }
    }
    let user_keys: Vec<AdbKey> = match child(&nodes, dm, "user_keys") {
        Some((_, Node::List(items))) => items.iter().map(|l| AdbKey::from_line(l)).collect(),
        _ => Vec::new(),
    };
    json.insert(
        "user_keys".into(),
        Value::Array(user_keys.iter().map(AdbKey::json).collect()),
    );
    Ok(AdbState {
        json,
        user_keys,
        keystore,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_dumps_do_not_panic() {
        for bad in [
            &b""[..],
            b"\n{\n}\n",
            b"\n{\n}\n}\n}\n",
            b"x\n{\n  a={\n}\n}\n}\n",
            b"\n{\n  debugging_manager={\n    novalue\n  }\n}\n",
            b"\n{\n  debugging_manager={\n    user_keys=!!!! x\n\n  }\n}\n",
        ] {
            let _ = parse(bad);
        }
        let ok = parse(b"\n{\n  debugging_manager={\n    user_keys=QUJDRA== me@host\n\n  }\n}\n")
            .unwrap();
        assert_eq!(ok.user_keys.len(), 1);
        assert_eq!(ok.user_keys[0].user, "me@host");
        assert!(!ok.user_keys[0].fingerprint.is_empty());
        assert!(is_valid_key("QUJDRA=="));
        assert!(!is_valid_key("QUJDRA"));
    }
}
