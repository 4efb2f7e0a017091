use serde::{Deserialize, Serialize};
use std::fmt;

/// Alert severity, with MVT's five names so that `alerts.json` reads the same.
///
/// The order is meaningful: `Critical > High > Medium > Low > Informational`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// A note for the investigator (for example "Lockdown mode enabled").
    Informational,
    /// Weak or supporting evidence.
    Low,
    /// Suspicious, needs review.
    Medium,
    /// Strong evidence of compromise.
    High,
    /// An indicator of compromise matched.
    Critical,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// The upper-case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "INFORMATIONAL",
            Level::Low => "LOW",
            Level::Medium => "MEDIUM",
            Level::High => "HIGH",
            Level::Critical => "CRITICAL",
        }
    }

    /// Whether an alert at this level makes `bridle check` exit with "findings" (1).
    ///
    /// Indicator matches always count, whatever their level; for heuristics only HIGH and
    /// CRITICAL do, so that a routine note (Lockdown mode, a third-party store) does not turn
    /// a clean phone into a "finding" for scripts.
    pub fn is_severe(self) -> bool {
        self >= Level::High
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown level `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_names() {
        assert!(Level::Critical > Level::High);
        assert!(Level::Low > Level::Informational);
        assert_eq!("medium".parse::<Level>(), Ok(Level::Medium));
        assert_eq!(
            serde_json::to_string(&Level::Informational).unwrap(),
            "\"INFORMATIONAL\""
        );
        assert!(Level::High.is_severe());
        assert!(!Level::Medium.is_severe());
    }
}
