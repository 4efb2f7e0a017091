//! Property tests: the pattern parser and the matcher never panic on arbitrary input, and
//! quoted strings round-trip.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use bridle_indicators::{IndicatorSet, pattern};
use bridle_model::{Observable, ObservableKind};
use proptest::prelude::*;

/// Strings made of pattern-ish pieces, so the parser gets past the first token often.
fn pattern_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(" AND ".to_owned()),
        Just(" OR ".to_owned()),
        Just(" = ".to_owned()),
        Just("!=".to_owned()),
        Just("domain-name:value".to_owned()),
        Just("file:hashes.'SHA-256'".to_owned()),
        Just(" WITHIN 5 SECONDS".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just(".".to_owned()),
        Just(":".to_owned()),
        "'[a-z\\\\']{0,6}'",
        "[a-z0-9-]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in any::<String>()) {
        if let Ok(p) = pattern::parse(&text) {
            let _ = p.to_dnf(pattern::MAX_DNF_CLAUSES);
        }
    }

    #[test]
    fn parser_never_panics_on_pattern_like_text(text in pattern_like()) {
        match pattern::parse(&text) {
            Ok(p) => { let _ = p.to_dnf(pattern::MAX_DNF_CLAUSES); }
            Err(e) => prop_assert!(e.offset <= text.len()),
        }
    }

    #[test]
    fn quoted_strings_round_trip(value in any::<String>()) {
        let text = format!("[url:value = {}]", pattern::quote(&value));
        let parsed = pattern::parse(&text).unwrap();
        prop_assert_eq!(&parsed.comparisons()[0].value, &value);
    }

    #[test]
    fn loading_and_matching_never_panic(pat in pattern_like(), obs in any::<String>(), kind in 0usize..12) {
        let doc = serde_json::json!({"type": "bundle", "objects": [
            {"type": "indicator", "id": "indicator--p", "pattern": pat},
            {"type": "indicator", "id": "indicator--q", "pattern": format!("[domain-name:value = {}]", pattern::quote(&obs))},
            {"type": "indicator", "id": "indicator--r", "pattern": format!("[url:value = {}]", pattern::quote(&obs))},
        ]});
        let report = IndicatorSet::from_bytes("p.json", &serde_json::to_vec(&doc).unwrap());
        let matcher = report.set.compile();
        let kind = ObservableKind::ALL[kind];
        let _ = matcher.match_record(&[Observable::new(kind, obs, "f")]);
    }
}
