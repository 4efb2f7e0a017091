//! Web origins visited through SafariViewService inside apps (MVT's
//! `WebkitSafariViewService`): the in-app browser sheet keeps its own WebKit data per app.
//! MVT gives these records no timeline event; neither does bridle.

use crate::Ios;
use bridle_model::{ModuleError, ModuleOutcome, Sink};

ios_module!(
    WebkitSafariViewService,
    "webkit_safari_view_service",
    "WebkitSafariViewService",
    "Web origins visited in apps' SafariViewService browser sheets"
);

const PATTERNS: &[&str] = &[
    "private/var/mobile/Containers/Data/Application/*/SystemData/com.apple.SafariViewService/Library/WebKit/WebsiteData/",
];

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    super::webkit::run(ios, sink, PATTERNS, None)
}
