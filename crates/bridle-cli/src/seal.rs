//! The last steps of every command that writes a results folder (check, recheck): the HTML
//! report, then the manifest of every file, then (with --sign) the manifest's signature.
//! The manifest is written last so that it covers everything else.

use anyhow::{Context, Result};
use std::path::Path;

/// What sealing a folder produced.
pub struct Sealed {
    /// The signing key's fingerprint, when signed.
    pub fingerprint: Option<String>,
}

/// Writes report.html, bridle-manifest.json and (with a key) bridle-manifest.sig in `dir`.
pub fn seal(dir: &Path, sign: Option<&Path>) -> Result<Sealed> {
    // Load the key first: a bad key should fail before anything is written.
    let key = sign
        .map(bridle_report::sign::load_secret)
        .transpose()
        .context("cannot sign the results")?;
    let clock = std::time::Instant::now();
    bridle_report::html::write(dir).context("cannot write the HTML report")?;
    tracing::debug!(elapsed = ?clock.elapsed(), "report written");
    let manifest = bridle_engine::manifest::write(dir).context("cannot write the manifest")?;
    tracing::debug!(elapsed = ?clock.elapsed(), "manifest written");
    let fingerprint = match key {
        Some(key) => Some(
            bridle_report::sign::sign_manifest(dir, &manifest, &key)
                .context("cannot sign the results")?,
        ),
        None => None,
    };
    Ok(Sealed { fingerprint })
}
