//! WebKit IndexedDB origins of apps (MVT's `WebkitIndexedDB`): one record per web origin that
//! stored IndexedDB data.

use crate::Ios;
use bridle_model::{ModuleError, ModuleOutcome, Sink};

ios_module!(
    WebkitIndexedDb,
    "webkit_indexeddb",
    "WebkitIndexedDB",
    "Web origins that stored IndexedDB data in apps' WebKit folders"
);

const PATTERNS: &[&str] =
    &["private/var/mobile/Containers/Data/Application/*/Library/WebKit/WebsiteData/IndexedDB"];

fn describe(folder: &str, url: &str) -> String {
    format!("IndexedDB folder {folder} containing file for URL {url}")
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    super::webkit::run(ios, sink, PATTERNS, Some(("webkit_indexeddb", describe)))
}
