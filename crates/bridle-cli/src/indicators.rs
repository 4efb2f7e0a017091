//! Loading indicators for a command, and plugging them into the engine.

use crate::args::IocArgs;
use anyhow::Result;
use bridle_engine::IndicatorFileInfo;
use bridle_indicators::{IndicatorSet, LoadProblem, Matcher};
use bridle_model::{IndicatorRef, Observable};

/// Indicators loaded for a run, with what could not be used.
pub struct Loaded {
    /// What could not be read or used, in load order.
    pub problems: Vec<LoadProblem>,
    /// The compiled index, which owns the set ([`Loaded::set`]).
    pub matcher: Matcher,
}

/// Loads indicators from `--iocs`, `BRIDLE_IOCS` and the updated folder (unless
/// `--only-given-iocs`).
pub fn load(args: &IocArgs) -> Result<Loaded> {
    let sources = if args.only_given_iocs {
        args.iocs.clone()
    } else {
        bridle_indicators::resolve_sources(
            &args.iocs,
            std::env::var_os(bridle_indicators::ENV_IOCS).as_deref(),
            bridle_indicators::default_data_dir().as_deref(),
        )
    };
    for s in &args.iocs {
        if !s.exists() {
            anyhow::bail!("{}: no such indicator file or folder", s.display());
        }
    }
    let report = IndicatorSet::load(&sources);
    Ok(Loaded {
        problems: report.problems,
        matcher: report.set.into_matcher(),
    })
}

impl Loaded {
    /// The loaded indicators.
    pub fn set(&self) -> &IndicatorSet {
        self.matcher.set()
    }

    /// The files, as info.json lists them.
    pub fn files(&self) -> Vec<IndicatorFileInfo> {
        self.set()
            .summaries()
            .into_iter()
            .map(|s| IndicatorFileInfo {
                path: s.file.path.display().to_string(),
                sha256: s.file.sha256.clone(),
                indicators: s.counts.iter().map(|(_, n)| n).sum(),
            })
            .collect()
    }

    /// The problems, as text.
    pub fn problem_texts(&self) -> Vec<String> {
        self.problems.iter().map(ToString::to_string).collect()
    }
}

/// The engine's view of the indicator matcher.
pub struct EngineMatcher<'a>(pub &'a Matcher);

impl bridle_engine::Matcher for EngineMatcher<'_> {
    fn match_record(&self, observables: &[Observable]) -> Vec<(usize, IndicatorRef)> {
        self.0
            .match_record(observables)
            .iter()
            .filter_map(|hit| {
                self.0
                    .indicator_ref(hit, observables)
                    .map(|r| (hit.observable, r))
            })
            .collect()
    }
}
