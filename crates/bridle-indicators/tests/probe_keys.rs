//! The probe keys of observables joined with the index keys of indicators give exactly the
//! matcher's hits: the case store relies on it to re-check stored devices with a SQL join.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use bridle_indicators::{IndicatorKind, IndicatorSet, KeySpace, MatchRule, probe_keys};
use bridle_model::{Observable, ObservableKind as K};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Observables derived from each indicator so that every rule of docs/matching.md is
/// exercised (exact, subdomain, URL host, query, CIDR, truncation, under path, file name of
/// path), plus near misses that must not match.
fn corpus(set: &IndicatorSet) -> Vec<Observable> {
    let mut out = Vec::new();
    let mut push = |kind, value: String| out.push(Observable::new(kind, value, "test"));
    for i in set.indicators() {
        let v = i.value.trim().to_owned();
        match i.kind {
            IndicatorKind::Domain => {
                push(K::Domain, v.clone());
                push(K::Domain, format!("x.y.{v}"));
                push(K::Domain, format!("not{v}"));
                push(K::Url, format!("https://cdn.{v}:443/p?q=1#f"));
                push(K::Url, v.to_uppercase());
                push(K::Ip, v.clone());
            }
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
                let addr = v.split('/').next().unwrap().to_owned();
                push(K::Ip, addr.clone());
                push(K::Domain, addr.clone());
                if addr.contains(':') {
                    push(K::Url, format!("http://[{addr}]:8080/x"));
                } else {
                    push(K::Url, format!("http://{addr}:8080/x"));
                    push(K::Ip, format!("::ffff:{addr}"));
                }
            }
            IndicatorKind::Url => {
                push(K::Url, v.clone());
                push(K::Url, format!("{v}?utm_source=x"));
                push(K::Url, v.replacen("https://", "http://", 1));
                push(K::Url, format!("{v}/more"));
                push(K::Domain, v.clone());
            }
            IndicatorKind::Process => {
                push(K::Process, v.clone());
                push(K::Process, format!("/usr/libexec/{v}"));
                for n in [15, 16, 14] {
                    if let Some(p) = v.get(..n) {
                        push(K::Process, p.to_owned());
                    }
                }
                push(K::Process, v.to_uppercase());
            }
            IndicatorKind::FileName => {
                push(K::FileName, v.clone());
                push(K::FilePath, format!("/private/var/tmp/{v}"));
            }
            IndicatorKind::FilePath => {
                push(K::FilePath, v.clone());
                push(K::FilePath, format!("{v}/child/file"));
                push(K::FilePath, format!("/private{v}"));
                push(K::FilePath, format!("{v}x"));
            }
            IndicatorKind::FileMd5 | IndicatorKind::FileSha1 | IndicatorKind::FileSha256 => {
                push(K::FileHash, v.to_uppercase());
                push(K::FileHash, format!(" {v} "));
            }
            IndicatorKind::CertMd5 | IndicatorKind::CertSha1 | IndicatorKind::CertSha256 => {
                let colons: Vec<String> = v
                    .as_bytes()
                    .chunks(2)
                    .map(|c| String::from_utf8_lossy(c).to_uppercase())
                    .collect();
                push(K::CertHash, colons.join(":"));
            }
            IndicatorKind::Email => {
                push(K::Email, format!("mailto:{}", v.to_uppercase()));
            }
            IndicatorKind::AppId => push(K::AppId, v.to_uppercase()),
            IndicatorKind::ProfileId => push(K::ProfileId, v.to_lowercase()),
            IndicatorKind::AndroidProperty => push(K::AndroidProperty, v.to_uppercase()),
        }
    }
    out
}

/// The join the case store runs, written with hash maps: index keys of every indicator,
/// probe keys of every observable, the most specific rule per (observable, indicator), then
/// conjunctive clauses kept only when every member matched in the record.
type Index = HashMap<(KeySpace, String), Vec<usize>>;

fn index_of(set: &IndicatorSet) -> Index {
    let mut index = Index::new();
    for (n, indicator) in set.indicators().iter().enumerate() {
        for key in indicator.index_keys() {
            index.entry((key.space, key.key)).or_default().push(n);
        }
    }
    index
}

fn join_hits(
    set: &IndicatorSet,
    index: &Index,
    record: &[Observable],
) -> Vec<(usize, usize, MatchRule)> {
    let mut best: BTreeMap<(usize, usize), MatchRule> = BTreeMap::new();
    for (o, observable) in record.iter().enumerate() {
        for probe in probe_keys(observable.kind, &observable.value) {
            for n in index.get(&(probe.space, probe.key)).into_iter().flatten() {
                let rule = best.entry((o, *n)).or_insert(probe.rule);
                if probe.rule.rank() < rule.rank() {
                    *rule = probe.rule;
                }
            }
        }
    }
    let matched: HashSet<usize> = best.keys().map(|(_, n)| *n).collect();
    best.into_iter()
        .filter(|((_, n), _)| {
            let clause = set.indicators()[*n]
                .clause
                .map(|c| &set.clauses()[c.index()]);
            clause.is_none_or(|c| c.members.iter().all(|m| matched.contains(&m.index())))
        })
        .map(|((o, n), rule)| (o, n, rule))
        .collect()
}

fn matcher_hits(
    m: &bridle_indicators::Matcher,
    record: &[Observable],
) -> Vec<(usize, usize, MatchRule)> {
    m.match_record(record)
        .into_iter()
        .map(|h| (h.observable, h.indicator.index(), h.rule))
        .collect()
}

fn assert_same(set: &IndicatorSet, observables: &[Observable], group: usize) -> usize {
    let m = set.compile();
    let index = index_of(set);
    let mut total = 0;
    for record in observables.chunks(group) {
        let want = matcher_hits(&m, record);
        let got = join_hits(set, &index, record);
        assert_eq!(got, want, "record {record:?}");
        total += want.len();
    }
    total
}

#[test]
fn join_of_keys_equals_matcher_on_every_public_indicator_file() {
    let report = IndicatorSet::load(&[common::shared().join("iocs")]);
    let set = report.set;
    assert!(
        set.len() > 1000,
        "the shared indicators loaded: {}",
        set.len()
    );
    let observables = corpus(&set);
    // One observable per record, then records of seven (clauses across observables).
    let singles = assert_same(&set, &observables, 1);
    let grouped = assert_same(&set, &observables, 7);
    assert!(singles > observables.len() / 2, "{singles} hits");
    assert!(grouped >= singles);
}

#[test]
fn join_of_keys_equals_matcher_with_clauses_ranges_and_every_rule() {
    let set = common::set_of(&[
        "[domain-name:value = 'evil.com']",
        "[ipv4-addr:value = '198.51.100.0/24']",
        "[ipv6-addr:value = '2001:db8::/32']",
        "[url:value = 'https://evil.com/x']",
        "[process:name = 'averyveryverylongprocessname']",
        "[file:path = '/private/var/db/evil']",
        "[file:name = 'evil.dylib']",
        "[domain-name:value = 'both.net'] AND [process:name = 'bothd']",
        "[app:id = 'com.Evil.App'] OR [email-addr:value = 'Spy@Evil.com']",
        "[file:hashes.'SHA-256' = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']",
        "[app:cert.sha1 = '0123456789abcdef0123456789abcdef01234567']",
        "[configuration-profile:id = 'ABC-DEF']",
        "[android-property:name = 'persist.evil']",
    ]);
    let mut observables = corpus(&set);
    for (kind, value) in [
        (K::Ip, "198.51.100.200"),
        (K::Url, "http://[2001:db8:1::5]/"),
        (K::Domain, "both.net"),
        (K::Process, "bothd"),
        (K::Process, "averyveryverylon"),
        (K::FilePath, "/var/db/evil/x"),
        (K::Url, "https://evil.com/x?y=1"),
    ] {
        observables.push(Observable::new(kind, value, "extra"));
    }
    let m = set.compile();
    let rules: HashSet<MatchRule> = observables
        .iter()
        .flat_map(|o| matcher_hits(&m, std::slice::from_ref(o)))
        .map(|(_, _, r)| r)
        .collect();
    for rule in MatchRule::ALL {
        assert!(rules.contains(&rule), "the corpus exercises {rule}");
    }
    for group in [1, 2, 3, 5, 8] {
        assert_same(&set, &observables, group);
    }
}
