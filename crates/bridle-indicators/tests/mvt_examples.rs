//! MVT's own indicator tests (tests/common/test_indicators.py), run against MVT's fixture
//! `test.stix2`, plus the case where bridle must not follow MVT.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use bridle_indicators::{IndicatorSet, Matcher};
use bridle_model::{Observable, ObservableKind as K};
use common::stix2;

fn fixture() -> Matcher {
    let report = IndicatorSet::load(&[stix2("test.stix2")]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    report.set.compile()
}

/// The indicator values an observable matches.
fn matched(m: &Matcher, kind: K, value: &str) -> Vec<String> {
    let observables = [Observable::new(kind, value, "f")];
    m.match_record(&observables)
        .iter()
        .map(|h| m.indicator_ref(h, &observables).unwrap().value)
        .collect()
}

#[test]
fn check_url_examples() {
    let m = fixture();
    assert_eq!(
        matched(&m, K::Url, "http://example.com/thisisbad"),
        ["http://example.com/thisisbad"]
    );
    assert!(matched(&m, K::Url, "http://example.com/thisisgood").is_empty());
    assert_eq!(
        matched(&m, K::Url, "https://www.example.org/foobar"),
        ["example.org"]
    );
    assert_eq!(
        matched(&m, K::Url, "http://example.org:8080/toto"),
        ["example.org"]
    );
    assert!(matched(&m, K::Url, "https://github.com").is_empty());
    assert!(matched(&m, K::Url, "https://example.com/").is_empty());
    assert_eq!(
        matched(&m, K::Url, "https://198.51.100.1:8080/"),
        ["198.51.100.1"]
    );
    assert!(matched(&m, K::Url, "https://1.1.1.1/").is_empty());
    assert!(matched(&m, K::Url, "42").is_empty());
}

#[test]
fn ip_prefix_is_not_a_match_unlike_mvt() {
    // MVT's substring fallback reports 198.51.100.1 for this URL.
    let m = fixture();
    assert!(matched(&m, K::Url, "https://198.51.100.10/").is_empty());
    assert!(matched(&m, K::Ip, "198.51.100.10").is_empty());
}

#[test]
fn check_file_hash_examples() {
    let m = fixture();
    assert!(
        matched(
            &m,
            K::FileHash,
            "003764fd74bf13cff9bf1ddd870cbf593b23e2b584ba4465114023870ea6fbef"
        )
        .is_empty()
    );
    assert_eq!(
        matched(
            &m,
            K::FileHash,
            "570cd76bf49cf52e0cb347a68bdcf0590b2eaece134e1b1eba7e8d66261bdbe6"
        )
        .len(),
        1
    );
    assert_eq!(
        matched(&m, K::FileHash, "da0611a300a9ce9aa7a09d1212f203fca5856794").len(),
        1
    );
}

#[test]
fn check_android_property_and_other_examples() {
    let m = fixture();
    assert_eq!(
        matched(&m, K::AndroidProperty, "sys.foobar"),
        ["sys.foobar"]
    );
    assert!(matched(&m, K::AndroidProperty, "sys.soundsokay").is_empty());
    assert_eq!(matched(&m, K::Process, "Launch"), ["Launch"]);
    assert_eq!(
        matched(&m, K::Email, "FOOBAR@example.org"),
        ["foobar@example.org"]
    );
    // The fixture's file name contains slashes; it is matched as a whole name.
    assert_eq!(
        matched(&m, K::FileName, "/var/foobar/txt"),
        ["/var/foobar/txt"]
    );
}

#[test]
fn every_shared_feed_compiles_and_matches_its_own_values() {
    // Each indicator of every real feed matches an observable built from its own value
    // (the kind that feeds it), so nothing in real feeds is silently unmatchable.
    let set = IndicatorSet::load(&[common::shared().join("iocs")]).set;
    let m = set.compile();
    use bridle_indicators::IndicatorKind as I;
    for (n, indicator) in set.indicators().iter().enumerate() {
        let kind = match indicator.kind {
            I::Domain => K::Domain,
            I::Ipv4 | I::Ipv6 => K::Ip,
            I::Url => K::Url,
            I::Email => K::Email,
            I::Process => K::Process,
            I::FileName => K::FileName,
            I::FilePath => K::FilePath,
            I::FileMd5 | I::FileSha1 | I::FileSha256 => K::FileHash,
            I::CertMd5 | I::CertSha1 | I::CertSha256 => K::CertHash,
            I::AppId => K::AppId,
            I::ProfileId => K::ProfileId,
            I::AndroidProperty => K::AndroidProperty,
        };
        let hits = m.match_record(&[Observable::new(kind, indicator.value.clone(), "v")]);
        assert!(
            hits.iter().any(|h| h.indicator.index() == n),
            "{} {:?} does not match itself",
            indicator.stix_id,
            indicator.value
        );
    }
}
