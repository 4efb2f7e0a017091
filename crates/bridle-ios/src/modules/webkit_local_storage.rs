//! WebKit LocalStorage origins of apps (MVT's `WebkitLocalStorage`): one record per web origin
//! that stored LocalStorage data.

use crate::Ios;
use bridle_model::{ModuleError, ModuleOutcome, Sink};

ios_module!(
    WebkitLocalStorage,
    "webkit_local_storage",
    "WebkitLocalStorage",
    "Web origins that stored LocalStorage data in apps' WebKit folders"
);

const PATTERNS: &[&str] =
    &["private/var/mobile/Containers/Data/Application/*/Library/WebKit/WebsiteData/LocalStorage/"];

fn describe(folder: &str, url: &str) -> String {
    format!("WebKit Local Storage folder {folder} containing file for URL {url}")
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    super::webkit::run(
        ios,
        sink,
        PATTERNS,
        Some(("webkit_local_storage", describe)),
    )
}
