//! How indicator objects become indicators: problems, compound patterns, names.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use bridle_indicators::{IndicatorKind, IndicatorSet, LoadProblemKind, pattern::PatternErrorKind};
use common::{bundle, problems_by_file};
use serde_json::json;

#[test]
fn unusable_indicators_are_reported_with_their_id_and_skipped() {
    let patterns = [
        "[domain-name:value = 'good.example']",               // 0 fine
        "[domain-name:value != 'a.example']",                 // 1 unsupported operator
        "[file:size = '10']",                                 // 2 unsupported key
        "[file:hashes.md5 = 'xyz']",                          // 3 invalid value
        "[domain-name:value = 'a.example'] WITHIN 5 SECONDS", // 4 qualifier
        "[domain-name:value = 'b.example'",                   // 5 syntax
        "[ipv4-addr:value = '300.1.1.1']",                    // 6 invalid IP
        "[url:value = 'http://ok.example/a?b=c=d']",          // 7 fine: '=' in the value
    ];
    let report = IndicatorSet::from_bytes("t.stix2", &bundle(&patterns));
    let ids: Vec<&str> = report
        .problems
        .iter()
        .filter_map(|p| p.stix_id.as_deref())
        .collect();
    assert_eq!(
        ids,
        [
            "indicator--1",
            "indicator--2",
            "indicator--3",
            "indicator--4",
            "indicator--5",
            "indicator--6"
        ]
    );
    let kind = |n: usize| &report.problems[n].kind;
    assert!(
        matches!(kind(0), LoadProblemKind::Pattern { error, .. } if error.kind == PatternErrorKind::Unsupported)
    );
    assert!(matches!(kind(1), LoadProblemKind::UnsupportedKey { key, .. } if key == "file:size"));
    assert!(matches!(kind(2), LoadProblemKind::InvalidValue { .. }));
    assert!(
        matches!(kind(3), LoadProblemKind::Pattern { error, .. } if error.kind == PatternErrorKind::Unsupported)
    );
    assert!(
        matches!(kind(4), LoadProblemKind::Pattern { error, .. } if error.kind == PatternErrorKind::Syntax)
    );
    assert!(matches!(kind(5), LoadProblemKind::InvalidValue { .. }));
    // The messages name the file and the indicator.
    let text = report.problems[0].to_string();
    assert!(text.starts_with("t.stix2: indicator--1: pattern"), "{text}");
    let set = report.set;
    assert_eq!(set.len(), 2);
    assert_eq!(set.indicators()[1].value, "http://ok.example/a?b=c=d");
    assert_eq!(
        (set.files()[0].stix_indicators, set.files()[0].skipped),
        (2, 6)
    );
}

#[test]
fn objects_without_pattern_or_with_other_pattern_types_are_problems() {
    let doc = json!({"type": "bundle", "objects": [
        {"type": "indicator", "id": "indicator--a"},
        {"type": "indicator", "id": "indicator--b", "pattern": "title: x", "pattern_type": "sigma"},
        {"type": "indicator", "id": "indicator--c", "pattern": "[process:name = 'x']", "revoked": true},
        {"type": "indicator", "pattern": "[process:name = 'y']"},
        {"type": "indicator", "id": "indicator--d", "pattern": 42},
        {"type": "relationship", "relationship_type": "indicates"},
        {"type": "indicator", "id": "indicator--e", "pattern": "[process:name = 'z']"},
    ]});
    let report = IndicatorSet::from_bytes("t.json", &serde_json::to_vec(&doc).unwrap());
    let kinds: Vec<&LoadProblemKind> = report.problems.iter().map(|p| &p.kind).collect();
    assert!(
        matches!(
            kinds[..],
            [
                LoadProblemKind::MissingPattern,
                LoadProblemKind::UnsupportedPatternType(_),
                LoadProblemKind::Revoked,
                LoadProblemKind::MissingId { ordinal: 3 },
                LoadProblemKind::MissingPattern,
            ]
        ),
        "{kinds:?}"
    );
    assert_eq!(report.set.len(), 1);
    // Unattached: the file's name is its collection name.
    assert_eq!(*report.set.indicators()[0].names, ["t.json"]);
}

#[test]
fn or_gives_separate_indicators_and_and_gives_a_clause() {
    let set = common::set_of(&[
        "[domain-name:value = 'a.example' OR domain-name:value = 'b.example']",
        "[process:name = 'p'] AND [file:path = '/var/x']",
        "[process:name = 'q' AND (file:name = 'n1' OR file:name = 'n2')]",
    ]);
    let summary: Vec<(&str, IndicatorKind, Option<usize>)> = set
        .indicators()
        .iter()
        .map(|i| (i.normalized.as_str(), i.kind, i.clause.map(|c| c.index())))
        .collect();
    assert_eq!(
        summary,
        [
            ("a.example", IndicatorKind::Domain, None),
            ("b.example", IndicatorKind::Domain, None),
            ("p", IndicatorKind::Process, Some(0)),
            ("/var/x", IndicatorKind::FilePath, Some(0)),
            ("q", IndicatorKind::Process, Some(1)),
            ("n1", IndicatorKind::FileName, Some(1)),
            ("q", IndicatorKind::Process, Some(2)),
            ("n2", IndicatorKind::FileName, Some(2)),
        ]
    );
    assert_eq!(set.clauses().len(), 3);
    assert!(set.clauses().iter().all(|c| c.members.len() == 2));
    assert!(
        set.indicators()
            .iter()
            .take(2)
            .all(|i| i.stix_id == "indicator--0")
    );
}

#[test]
fn duplicates_and_absorbed_clauses_are_dropped() {
    let set = common::set_of(&[
        // Same value twice in one pattern (case differs: normalised equal).
        "[domain-name:value = 'a.example' OR domain-name:value = 'A.Example.']",
        // a OR (a AND b) is a.
        "[process:name = 'a'] OR ([process:name = 'a'] AND [file:name = 'b'])",
    ]);
    let values: Vec<&str> = set
        .indicators()
        .iter()
        .map(|i| i.normalized.as_str())
        .collect();
    assert_eq!(values, ["a.example", "a"]);
    assert!(set.clauses().is_empty());
    // The same indicator object twice in a file loads once.
    let doc = json!({"type": "bundle", "objects": [
        {"type": "indicator", "id": "indicator--x", "pattern": "[process:name = 'x']"},
        {"type": "indicator", "id": "indicator--x", "pattern": "[process:name = 'x']"},
        {"type": "indicator", "id": "indicator--y", "pattern": "[process:name = 'x']"},
    ]});
    let set = IndicatorSet::from_bytes("d.json", &serde_json::to_vec(&doc).unwrap()).set;
    let ids: Vec<&str> = set
        .indicators()
        .iter()
        .map(|i| i.stix_id.as_str())
        .collect();
    assert_eq!(ids, ["indicator--x", "indicator--y"]);
}

#[test]
fn a_pattern_expanding_past_the_dnf_cap_is_reported() {
    let unit = "[process:name = 'a' OR process:name = 'b']";
    let text = [unit; 7].join(" AND ");
    let report = IndicatorSet::from_bytes("t.stix2", &bundle(&[&text]));
    assert_eq!(report.set.len(), 0);
    assert!(matches!(
        &report.problems[0].kind,
        LoadProblemKind::Pattern { error, .. } if error.kind == PatternErrorKind::TooComplex
    ));
}

#[test]
fn names_prefer_indicates_then_reports_then_other_relationships() {
    let doc = json!({"type": "bundle", "objects": [
        {"type": "malware", "id": "malware--1", "name": "Alpha"},
        {"type": "malware", "id": "malware--2", "name": "Beta"},
        {"type": "report", "id": "report--1", "name": "Report One", "object_refs": ["indicator--a", "indicator--c"]},
        {"type": "indicator", "id": "indicator--a", "pattern": "[process:name = 'a']"},
        {"type": "indicator", "id": "indicator--b", "pattern": "[process:name = 'b']"},
        {"type": "indicator", "id": "indicator--c", "pattern": "[process:name = 'c']"},
        {"type": "indicator", "id": "indicator--d", "pattern": "[process:name = 'd']"},
        {"type": "relationship", "relationship_type": "related-to", "source_ref": "indicator--a", "target_ref": "malware--2"},
        {"type": "relationship", "relationship_type": "indicates", "source_ref": "indicator--a", "target_ref": "malware--1"},
        {"type": "relationship", "relationship_type": "indicates", "source_ref": "indicator--b", "target_ref": "malware--1"},
        {"type": "relationship", "relationship_type": "indicates", "source_ref": "indicator--b", "target_ref": "malware--2"},
        {"type": "relationship", "relationship_type": "related-to", "source_ref": "indicator--d", "target_ref": "malware--2"},
        {"type": "relationship", "relationship_type": "indicates", "source_ref": "indicator--d", "target_ref": "identity--x"},
    ]});
    let set = IndicatorSet::from_bytes("n.stix2", &serde_json::to_vec(&doc).unwrap()).set;
    let names: Vec<Vec<String>> = set.indicators().iter().map(|i| i.names.to_vec()).collect();
    assert_eq!(
        names,
        vec![
            vec!["Alpha".to_owned(), "Report One".to_owned()],
            vec!["Alpha".to_owned(), "Beta".to_owned()],
            vec!["Report One".to_owned()],
            vec!["Beta".to_owned()],
        ]
    );
    assert_eq!(set.indicators()[0].name(), "Alpha");
    let summary = &set.summaries()[0];
    assert_eq!(summary.names, ["Alpha", "Beta", "Report One"]);
    assert_eq!(summary.counts, [("processes", 4)]);
}

#[test]
fn values_are_normalised_per_kind() {
    let set = common::set_of(&[
        "[domain-name:value = ' WWW.Bücher.Example. ']",
        "[domain-name:value = '*.wild.example']",
        "[ipv6-addr:value = '2001:DB8:0:0::1']",
        "[ipv4-addr:value = '198.51.100.7/24']",
        "[url:value = 'HTTPS://Evil.Example:443/A?b=1#frag']",
        "[email-addr:value = 'Foo@Example.ORG']",
        "[file:path = '/private/var/tmp/x/']",
        "[file:hashes.'SHA-256' = '570CD76BF49CF52E0CB347A68BDCF0590B2EAECE134E1B1EBA7E8D66261BDBE6']",
        "[app:cert.'SHA-1' = 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD']",
        "[configuration-profile:id = '76DAB334-7E17-475D-A5D6-0794EB5818A5']",
        "[process:name = 'Launch']",
    ]);
    let normalized: Vec<&str> = set
        .indicators()
        .iter()
        .map(|i| i.normalized.as_str())
        .collect();
    assert_eq!(
        normalized,
        [
            "www.xn--bcher-kva.example",
            "wild.example",
            "2001:db8::1",
            "198.51.100.0/24",
            "https://evil.example/A?b=1",
            "foo@example.org",
            "/var/tmp/x",
            "570cd76bf49cf52e0cb347a68bdcf0590b2eaece134e1b1eba7e8d66261bdbe6",
            "aabbccddeeff00112233445566778899aabbccdd",
            "76dab334-7e17-475d-a5d6-0794eb5818a5",
            "Launch",
        ]
    );
    // The raw value is kept for citing.
    assert_eq!(set.indicators()[0].value, " WWW.Bücher.Example. ");
}

/// The bundle is read in one pass, field by field: odd values cost only themselves, the
/// ordinal counts every element (also those not kept), escaped keys and values are read, a
/// repeated key keeps its last value, and only a JSON syntax error loses the file.
#[test]
fn odd_objects_cost_only_their_odd_fields() {
    let text = r#"{"objects": [
        7,
        {"type": "identity", "id": "identity--x", "name": "lab"},
        ["not", "an", "object"],
        {"type": "indicator", "pattern": "[process:name = 'no-id']"},
        {"type": "malware", "id": "malware--m", "name": {"odd": true}},
        {"type": "malware", "id": "malware--n", "name": "Named"},
        {"type": "indicator", "id": "indicator--a", "name": 12, "revoked": "true",
         "p\u0061ttern": "[process:name = 'first']", "pattern": "[process:name = 'a\u0062\\'c']",
         "object_refs": 3, "extra": {"deep": [1, {"x": null}]}},
        {"type": "relationship", "relationship_type": "indicates",
         "source_ref": "indicator--a", "target_ref": "malware--m"},
        {"type": "report", "name": "R", "object_refs": ["indicator--a", 5, null, "indicator--b"]},
        {"type": "relationship", "relationship_type": "indicates",
         "source_ref": "indicator--b", "target_ref": "malware--n"},
        {"type": "indicator", "id": "indicator--b", "pattern": "[domain-name:value = 'Evil.example']",
         "revoked": false},
        {"type": "indicator", "id": "indicator--c", "pattern": "[domain-name:value = 'x.example']",
         "revoked": true}
    ], "type": "bundle"}"#;
    let report = IndicatorSet::from_bytes("odd.json", text.as_bytes());
    let kinds: Vec<&LoadProblemKind> = report.problems.iter().map(|p| &p.kind).collect();
    assert!(
        matches!(
            kinds[..],
            [
                LoadProblemKind::MissingId { ordinal: 3 },
                LoadProblemKind::Revoked
            ]
        ),
        "{kinds:?}"
    );
    let set = &report.set;
    let values: Vec<(&str, Vec<String>)> = set
        .indicators()
        .iter()
        .map(|i| (i.value.as_str(), i.names.to_vec()))
        .collect();
    assert_eq!(
        values,
        [
            // The later `pattern` key wins; a JSON escape and a STIX escape both resolved.
            // `malware--m` has no usable name, so its id names it; the report lists it too.
            ("ab'c", vec!["malware--m".to_owned(), "R".to_owned()]),
            ("Evil.example", vec!["Named".to_owned(), "R".to_owned()]),
        ]
    );
    // A syntax error anywhere loses the file, with the parser's message.
    let broken = IndicatorSet::from_bytes("cut.json", &text.as_bytes()[..text.len() - 40]);
    assert!(
        matches!(broken.problems[..], [ref p] if matches!(p.kind, LoadProblemKind::NotJson(_))),
        "{:?}",
        broken.problems
    );
    assert!(broken.set.is_empty());
}

/// Files are read on the parsing threads; what a file's reading or parsing meets is still
/// reported in the order of the walk, and the set keeps the walk's order of files.
#[test]
fn read_and_parse_problems_keep_the_walk_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bundle = |value: &str| {
        serde_json::to_vec(&json!({"type": "bundle", "objects": [
            {"type": "indicator", "id": format!("indicator--{value}"),
             "pattern": format!("[domain-name:value = '{value}.example']")}
        ]}))
        .unwrap()
    };
    std::fs::write(dir.join("a.stix2"), bundle("a")).unwrap();
    // Over the size cap: refused from its size, never read (a sparse file costs no disk).
    let huge = std::fs::File::create(dir.join("b.stix2")).unwrap();
    huge.set_len(bridle_indicators::MAX_FILE_BYTES + 1).unwrap();
    std::fs::write(dir.join("c.stix2"), b"{ not json").unwrap();
    std::fs::write(dir.join("d.stix2"), bundle("d")).unwrap();
    let report = IndicatorSet::load(&[dir.to_owned()]);
    let problems = problems_by_file(&report);
    assert!(
        matches!(
            problems[..],
            [
                (ref b, LoadProblemKind::TooLarge { .. }),
                (ref c, LoadProblemKind::NotJson(_)),
            ] if b == "b.stix2" && c == "c.stix2"
        ),
        "{problems:?}"
    );
    let files: Vec<&str> = report.set.files().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(files, ["a.stix2", "d.stix2"]);
    let values: Vec<&str> = report
        .set
        .indicators()
        .iter()
        .map(|i| i.value.as_str())
        .collect();
    assert_eq!(values, ["a.example", "d.example"]);
}

/// Deep nesting anywhere in a bundle (an ignored field, a read field, a list of references,
/// the objects array) costs no stack: values bridle does not keep are skipped without
/// recursion, and the object around them is still read.
#[test]
fn deeply_nested_values_cost_no_stack() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    for field in ["extra", "name", "pattern", "object_refs"] {
        let text = format!(
            r#"{{"objects": [{{"type": "indicator", "id": "indicator--a", "{field}": {}}}]}}"#,
            deep(200_000)
        );
        let report = IndicatorSet::from_bytes("deep.json", text.as_bytes());
        let kinds: Vec<&LoadProblemKind> = report.problems.iter().map(|p| &p.kind).collect();
        // The object is read; its pattern is missing (or was the deep value).
        assert!(
            matches!(kinds[..], [LoadProblemKind::MissingPattern]),
            "{field}: {kinds:?}"
        );
    }
    let text = format!(
        r#"{{"objects": [{}, {{"type": "indicator", "id": "indicator--b", "pattern": "[process:name = 'b']"}}]}}"#,
        deep(200_000)
    );
    let report = IndicatorSet::from_bytes("deep.json", text.as_bytes());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.set.len(), 1);
}
