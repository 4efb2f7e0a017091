//! One test per rule of docs/matching.md, including each place where bridle deliberately
//! differs from MVT.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use bridle_indicators::{Hit, MatchRule, Matcher};
use bridle_model::{Level, Observable, ObservableKind as K};
use common::set_of;

fn matcher(patterns: &[&str]) -> Matcher {
    set_of(patterns).compile()
}

/// The rule by which a single observable matches, or None. Panics if it matches more than
/// one indicator (tests below use one-indicator sets unless they say otherwise).
fn rule(m: &Matcher, kind: K, value: &str) -> Option<MatchRule> {
    let hits = m.match_record(&[Observable::new(kind, value, "test")]);
    assert!(hits.len() <= 1, "{value}: {hits:?}");
    hits.first().map(|h| h.rule)
}

fn values(m: &Matcher, hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .map(|h| m.indicator(h.indicator).unwrap().value.clone())
        .collect()
}

// ---- domains ---------------------------------------------------------------------------

#[test]
fn domain_matches_the_host_and_every_subdomain() {
    let m = matcher(&["[domain-name:value = 'evil.com']"]);
    assert_eq!(rule(&m, K::Domain, "evil.com"), Some(MatchRule::Exact));
    assert_eq!(
        rule(&m, K::Domain, "a.evil.com"),
        Some(MatchRule::Subdomain)
    );
    assert_eq!(
        rule(&m, K::Domain, "a.b.c.evil.com"),
        Some(MatchRule::Subdomain)
    );
    assert_eq!(rule(&m, K::Domain, "notevil.com"), None);
    assert_eq!(rule(&m, K::Domain, "evil.com.attacker.net"), None);
    assert_eq!(rule(&m, K::Domain, "evil.co"), None);
}

#[test]
fn subdomain_indicator_matches_deeper_subdomains_unlike_mvt() {
    // MVT compares only the full host and the registrable domain, so `x.sub.evil.com`
    // escapes an indicator `sub.evil.com` there.
    let m = matcher(&["[domain-name:value = 'sub.evil.com']"]);
    assert_eq!(
        rule(&m, K::Domain, "x.sub.evil.com"),
        Some(MatchRule::Subdomain)
    );
    assert_eq!(
        rule(&m, K::Url, "https://y.x.sub.evil.com/p"),
        Some(MatchRule::UrlSubdomain)
    );
    assert_eq!(rule(&m, K::Domain, "evil.com"), None);
    assert_eq!(rule(&m, K::Domain, "other.evil.com"), None);
}

#[test]
fn the_parent_walk_stops_before_an_icann_public_suffix() {
    let m = matcher(&[
        "[domain-name:value = 'co.uk']",
        "[domain-name:value = 'com']",
    ]);
    assert_eq!(rule(&m, K::Domain, "co.uk"), Some(MatchRule::Exact));
    assert_eq!(rule(&m, K::Domain, "evil.co.uk"), None);
    assert_eq!(rule(&m, K::Domain, "evil.com"), None);
    // A private-section suffix is an ordinary domain for this purpose.
    let m = matcher(&[
        "[domain-name:value = 'evil.github.io']",
        "[domain-name:value = 'blogspot.com']",
    ]);
    assert_eq!(
        rule(&m, K::Domain, "x.evil.github.io"),
        Some(MatchRule::Subdomain)
    );
    assert_eq!(
        rule(&m, K::Domain, "someone.blogspot.com"),
        Some(MatchRule::Subdomain)
    );
    assert_eq!(rule(&m, K::Domain, "github.io"), None);
}

#[test]
fn hosts_are_lower_cased_idna_normalised_without_trailing_dot_port_or_userinfo() {
    let m = matcher(&["[domain-name:value = 'Bücher.Example']"]);
    for host in [
        "bücher.example",
        "BÜCHER.EXAMPLE",
        "xn--bcher-kva.example",
        "bücher.example.",
        "bücher.example:8443",
        "user:pw@bücher.example",
    ] {
        assert_eq!(rule(&m, K::Domain, host), Some(MatchRule::Exact), "{host}");
    }
    assert_eq!(
        rule(&m, K::Url, "https://user@BÜCHER.example.:8443/x"),
        Some(MatchRule::UrlHost)
    );
    assert_eq!(rule(&m, K::Domain, "bucher.example"), None);
}

#[test]
fn no_leading_w_strip_unlike_mvt() {
    // MVT strips every leading 'w' and '.' (`lstrip("www.")`), so these indicators can
    // never match their own host there.
    let m = matcher(&[
        "[domain-name:value = 'www2.evil.com']",
        "[domain-name:value = 'ww.x.com']",
    ]);
    assert_eq!(
        rule(&m, K::Url, "https://www2.evil.com/a"),
        Some(MatchRule::UrlHost)
    );
    assert_eq!(
        rule(&m, K::Url, "http://ww.x.com/"),
        Some(MatchRule::UrlHost)
    );
    // And `wikipedia.org` is not confused with `ikipedia.org`.
    let m = matcher(&["[domain-name:value = 'ikipedia.org']"]);
    assert_eq!(rule(&m, K::Url, "https://wikipedia.org/"), None);
    assert_eq!(rule(&m, K::Url, "https://www.wikipedia.org/"), None);
}

// ---- URLs ------------------------------------------------------------------------------

#[test]
fn url_indicators_match_the_normalised_url() {
    let m = matcher(&["[url:value = 'http://example.com/thisisbad']"]);
    for same in [
        "http://example.com/thisisbad",
        "HTTP://EXAMPLE.COM/thisisbad",
        "http://example.com:80/thisisbad",
        "http://user@example.com/thisisbad",
        "example.com/thisisbad",
        "https://example.com/thisisbad",
        "http://example.com/thisisbad#fragment",
    ] {
        assert_eq!(rule(&m, K::Url, same), Some(MatchRule::Exact), "{same}");
    }
    for different in [
        "http://example.com/thisisgood",
        "http://example.com/ThisIsBad",
        "http://example.com/thisisbad/more",
        "http://example.com:8080/thisisbad",
        "http://www.example.com/thisisbad",
        "ftp://example.com/thisisbad",
    ] {
        assert_eq!(rule(&m, K::Url, different), None, "{different}");
    }
}

#[test]
fn url_queries_an_indicator_without_query_ignores_the_observed_one() {
    let m = matcher(&["[url:value = 'https://e.example/a']"]);
    assert_eq!(
        rule(&m, K::Url, "https://e.example/a?utm=1"),
        Some(MatchRule::UrlWithoutQuery)
    );
    let m = matcher(&["[url:value = 'https://e.example/a?id=1']"]);
    assert_eq!(
        rule(&m, K::Url, "https://e.example/a?id=1"),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::Url, "https://e.example/a?id=2"), None);
    assert_eq!(rule(&m, K::Url, "https://e.example/a"), None);
    // Empty path and `/` are the same URL.
    let m = matcher(&["[url:value = 'https://e.example']"]);
    assert_eq!(
        rule(&m, K::Url, "https://e.example/"),
        Some(MatchRule::Exact)
    );
}

#[test]
fn no_substring_fallback_unlike_mvt() {
    // MVT falls back to a substring test when its URL parser fails: 198.51.100.1 then
    // matches 198.51.100.10, and evil.com matches notevil.com.<unknown tld>.
    let m = matcher(&[
        "[ipv4-addr:value = '198.51.100.1']",
        "[domain-name:value = 'evil.com']",
    ]);
    assert!(
        m.match_record(&[Observable::new(K::Url, "https://198.51.100.10/", "u")])
            .is_empty()
    );
    assert!(
        m.match_record(&[Observable::new(
            K::Url,
            "http://notevil.com.invalidtld/",
            "u"
        )])
        .is_empty()
    );
    assert!(
        m.match_record(&[Observable::new(K::Url, "http://x.org/?next=evil.com", "u")])
            .is_empty()
    );
    assert!(
        m.match_record(&[Observable::new(K::Domain, "evil.com.invalidtld", "d")])
            .is_empty()
    );
}

#[test]
fn garbage_urls_match_nothing_and_do_not_panic() {
    let m = matcher(&[
        "[domain-name:value = 'evil.com']",
        "[url:value = 'http://evil.com/x']",
    ]);
    for garbage in [
        "",
        " ",
        "://",
        "http://",
        "http://[",
        "http://[::1",
        "http://evil.com:99999/x",
        "http://evil.com:-1/",
        "@",
        "http://@/",
        "%",
        "\u{0}",
        "http://\u{fffd}/",
        "[]:/",
        "http:///evil.com",
        "javascript:alert(1)",
        "a\u{0}b",
        "http://evil com/",
    ] {
        let _ = m.match_record(&[Observable::new(K::Url, garbage, "u")]);
        let _ = m.match_record(&[Observable::new(K::Domain, garbage, "u")]);
    }
    // An invalid port still lets the host be checked, but not the URL.
    let hits = m.match_record(&[Observable::new(K::Url, "http://evil.com:99999/x", "u")]);
    assert_eq!(values(&m, &hits), ["evil.com"]);
}

// ---- IPs -------------------------------------------------------------------------------

#[test]
fn ips_match_exactly_in_any_form() {
    let m = matcher(&[
        "[ipv4-addr:value = '198.51.100.1']",
        "[ipv6-addr:value = '2001:db8::1']",
    ]);
    assert_eq!(rule(&m, K::Ip, "198.51.100.1"), Some(MatchRule::Exact));
    assert_eq!(rule(&m, K::Domain, "198.51.100.1"), Some(MatchRule::Exact));
    assert_eq!(
        rule(&m, K::Url, "https://198.51.100.1:8080/"),
        Some(MatchRule::UrlHost)
    );
    assert_eq!(
        rule(&m, K::Ip, "::ffff:198.51.100.1"),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::Ip, "198.51.100.10"), None);
    assert_eq!(rule(&m, K::Ip, "198.51.100.2"), None);
    assert_eq!(
        rule(&m, K::Ip, "2001:0DB8:0000:0000:0000:0000:0000:0001"),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::Ip, "[2001:db8::1]"), Some(MatchRule::Exact));
    assert_eq!(
        rule(&m, K::Url, "http://[2001:db8::1]:8080/x"),
        Some(MatchRule::UrlHost)
    );
    assert_eq!(rule(&m, K::Url, "http://[2001:db8::10]/"), None);
}

#[test]
fn ip_literals_in_domain_indicators_are_ips_and_cidr_ranges_contain() {
    let m = matcher(&[
        "[domain-name:value = '203.0.113.5']",
        "[ipv4-addr:value = '192.0.2.0/24']",
    ]);
    assert_eq!(rule(&m, K::Ip, "203.0.113.5"), Some(MatchRule::Exact));
    assert_eq!(
        rule(&m, K::Url, "http://203.0.113.5/"),
        Some(MatchRule::UrlHost)
    );
    assert_eq!(rule(&m, K::Ip, "192.0.2.77"), Some(MatchRule::IpInRange));
    assert_eq!(
        rule(&m, K::Url, "https://192.0.2.1:443/x"),
        Some(MatchRule::IpInRange)
    );
    assert_eq!(rule(&m, K::Ip, "192.0.3.1"), None);
}

// ---- processes -------------------------------------------------------------------------

#[test]
fn process_names_match_exactly_on_the_basename() {
    let m = matcher(&["[process:name = 'Launch']"]);
    assert_eq!(rule(&m, K::Process, "Launch"), Some(MatchRule::Exact));
    assert_eq!(
        rule(&m, K::Process, "/usr/libexec/Launch"),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::Process, "launch"), None);
    assert_eq!(rule(&m, K::Process, "Launchd"), None);
    assert_eq!(rule(&m, K::Process, "Launch/other"), None);
}

#[test]
fn truncated_process_names_at_15_and_16_characters() {
    let m = matcher(&["[process:name = 'com.apple.Mappit.SnapshotService']"]);
    // iOS keeps 16 characters (MAXCOMLEN); Linux/Android 15 (TASK_COMM_LEN - 1).
    assert_eq!(
        rule(&m, K::Process, "com.apple.Mappit"),
        Some(MatchRule::TruncatedProcessName)
    );
    assert_eq!(
        rule(&m, K::Process, "com.apple.Mappi"),
        Some(MatchRule::TruncatedProcessName)
    );
    assert_eq!(rule(&m, K::Process, "com.apple.Mapp"), None);
    assert_eq!(rule(&m, K::Process, "com.apple.Mappix"), None);
    // A 16-character indicator is matched by its 15-character truncation, and exactly.
    let m = matcher(&["[process:name = 'contextstoremgrd']"]);
    assert_eq!(
        rule(&m, K::Process, "contextstoremgr"),
        Some(MatchRule::TruncatedProcessName)
    );
    assert_eq!(
        rule(&m, K::Process, "contextstoremgrd"),
        Some(MatchRule::Exact)
    );
}

#[test]
fn fifteen_character_truncation_unlike_mvt() {
    // MVT only considers names of exactly 16 characters truncated.
    let m = matcher(&["[process:name = 'ReminderIntentsUIExtension']"]);
    assert_eq!(
        rule(&m, K::Process, "ReminderIntents"),
        Some(MatchRule::TruncatedProcessName)
    );
}

// ---- paths and file names --------------------------------------------------------------

#[test]
fn file_paths_match_on_component_boundaries_unlike_mvt() {
    // MVT uses a plain string prefix, so /usr/sbin/foo matches /usr/sbin/foobar there.
    let m = matcher(&["[file:path = '/usr/sbin/foo']"]);
    assert_eq!(
        rule(&m, K::FilePath, "/usr/sbin/foo"),
        Some(MatchRule::Exact)
    );
    assert_eq!(
        rule(&m, K::FilePath, "/usr/sbin/foo/x/y"),
        Some(MatchRule::UnderPath)
    );
    assert_eq!(
        rule(&m, K::FilePath, "/usr/sbin//foo/"),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::FilePath, "/usr/sbin/foobar"), None);
    assert_eq!(rule(&m, K::FilePath, "/usr/sbin"), None);
    assert_eq!(rule(&m, K::FilePath, "/USR/sbin/foo"), None);
    // A trailing slash on the indicator changes nothing.
    let m = matcher(&["[file:path = '/data/local/tmp/wd/']"]);
    assert_eq!(
        rule(&m, K::FilePath, "/data/local/tmp/wd/fs.db"),
        Some(MatchRule::UnderPath)
    );
    assert_eq!(rule(&m, K::FilePath, "/data/local/tmp/wdx"), None);
}

#[test]
fn private_var_and_var_are_the_same_path() {
    let m = matcher(&[
        "[file:path = '/private/var/tmp/hooker']",
        "[file:path = '/var/db/x']",
    ]);
    assert_eq!(
        rule(&m, K::FilePath, "/var/tmp/hooker"),
        Some(MatchRule::Exact)
    );
    assert_eq!(
        rule(&m, K::FilePath, "/private/var/tmp/hooker/a"),
        Some(MatchRule::UnderPath)
    );
    assert_eq!(
        rule(&m, K::FilePath, "/private/var/db/x"),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::FilePath, "/private/tmp/hooker"), None);
}

#[test]
fn file_names_match_exactly_and_on_the_basename_of_paths() {
    let m = matcher(&["[file:name = 'roleaccountd.plist']"]);
    assert_eq!(
        rule(&m, K::FileName, "roleaccountd.plist"),
        Some(MatchRule::Exact)
    );
    assert_eq!(
        rule(&m, K::FilePath, "/private/var/db/roleaccountd.plist"),
        Some(MatchRule::FileNameOfPath)
    );
    assert_eq!(rule(&m, K::FileName, "RoleAccountd.plist"), None);
    assert_eq!(rule(&m, K::FileName, "roleaccountd.plist.bak"), None);
}

// ---- case-insensitive identifiers ------------------------------------------------------

#[test]
fn emails_app_ids_properties_and_profile_ids_ignore_case() {
    let m = matcher(&[
        "[email-addr:value = 'foobar@example.org']",
        "[app:id = 'com.Evil.App']",
        "[android-property:name = 'sys.foobar']",
        "[configuration-profile:id = '76DAB334-7E17-475D-A5D6-0794EB5818A5']",
    ]);
    assert_eq!(
        rule(&m, K::Email, "FooBar@Example.ORG"),
        Some(MatchRule::Exact)
    );
    assert_eq!(
        rule(&m, K::Email, "mailto:foobar@example.org"),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::Email, "foobar@example.org.evil"), None);
    assert_eq!(rule(&m, K::AppId, "COM.EVIL.APP"), Some(MatchRule::Exact));
    assert_eq!(rule(&m, K::AppId, "com.evil.app2"), None);
    assert_eq!(
        rule(&m, K::AndroidProperty, "SYS.FOOBAR"),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::AndroidProperty, "sys.soundsokay"), None);
    assert_eq!(
        rule(&m, K::ProfileId, "76dab334-7e17-475d-a5d6-0794eb5818a5"),
        Some(MatchRule::Exact)
    );
}

#[test]
fn profile_ids_are_not_substring_matched_unlike_mvt() {
    // MVT tests whether the observed id is a substring of the indicator.
    let m = matcher(&["[configuration-profile:id = '76DAB334-7E17-475D-A5D6-0794EB5818A5']"]);
    for part in [
        "76DAB334",
        "7E17",
        "",
        "A",
        "76DAB334-7E17-475D-A5D6-0794EB5818A5-extra",
    ] {
        assert_eq!(rule(&m, K::ProfileId, part), None, "{part}");
    }
}

#[test]
fn file_hashes_pick_the_algorithm_by_length_and_ignore_case() {
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    let sha1 = "da0611a300a9ce9aa7a09d1212f203fca5856794";
    let sha256 = "570cd76bf49cf52e0cb347a68bdcf0590b2eaece134e1b1eba7e8d66261bdbe6";
    let m = matcher(&[
        &format!("[file:hashes.MD5 = '{md5}']"),
        &format!("[file:hashes.'SHA-1' = '{sha1}']"),
        &format!("[file:hashes.SHA256 = '{sha256}']"),
    ]);
    assert_eq!(
        rule(&m, K::FileHash, &md5.to_uppercase()),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::FileHash, sha1), Some(MatchRule::Exact));
    assert_eq!(
        rule(&m, K::FileHash, &sha256.to_uppercase()),
        Some(MatchRule::Exact)
    );
    assert_eq!(
        rule(
            &m,
            K::FileHash,
            "003764fd74bf13cff9bf1ddd870cbf593b23e2b584ba4465114023870ea6fbef"
        ),
        None
    );
    // Other lengths and non-hex match nothing (MVT falls back to SHA-256 for them).
    assert_eq!(rule(&m, K::FileHash, &sha256[..50]), None);
    assert_eq!(rule(&m, K::FileHash, &format!("{}zz", &sha1[..38])), None);
    assert_eq!(rule(&m, K::FileHash, ""), None);
}

#[test]
fn certificate_hashes_ignore_case_and_colons() {
    let cert = "aabbccddeeff00112233445566778899aabbccdd";
    let m = matcher(&[&format!("[app:cert.sha1 = '{cert}']")]);
    assert_eq!(
        rule(&m, K::CertHash, &cert.to_uppercase()),
        Some(MatchRule::Exact)
    );
    assert_eq!(
        rule(
            &m,
            K::CertHash,
            "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"
        ),
        Some(MatchRule::Exact)
    );
    assert_eq!(rule(&m, K::CertHash, &cert[..38]), None);
    // A certificate hash is not a file hash.
    assert_eq!(rule(&m, K::FileHash, cert), None);
}

// ---- conjunctions, order, citing -------------------------------------------------------

#[test]
fn and_clauses_need_every_comparison_in_the_same_record() {
    let m = matcher(&["[process:name = 'implant'] AND [file:path = '/var/tmp/drop']"]);
    let process = Observable::new(K::Process, "implant", "name");
    let path = Observable::new(K::FilePath, "/private/var/tmp/drop/x", "path");
    assert!(m.match_record(std::slice::from_ref(&process)).is_empty());
    assert!(m.match_record(std::slice::from_ref(&path)).is_empty());
    let hits = m.match_record(&[path.clone(), process.clone()]);
    assert_eq!(hits.len(), 2);
    assert_eq!(
        (hits[0].observable, hits[0].rule),
        (0, MatchRule::UnderPath)
    );
    assert_eq!((hits[1].observable, hits[1].rule), (1, MatchRule::Exact));
    assert_eq!(
        m.indicator(hits[0].indicator).unwrap().clause,
        m.indicator(hits[1].indicator).unwrap().clause
    );
    // A clause is independent from ordinary indicators in the same record.
    let m = matcher(&[
        "[process:name = 'implant'] AND [file:name = 'x']",
        "[process:name = 'implant']",
    ]);
    let hits = m.match_record(&[process]);
    assert_eq!(hits.len(), 1);
    assert_eq!(
        m.indicator(hits[0].indicator).unwrap().stix_id,
        "indicator--1"
    );
}

#[test]
fn hits_are_sorted_and_one_per_observable_and_indicator() {
    let m = matcher(&[
        "[domain-name:value = 'b.evil.com']",
        "[domain-name:value = 'evil.com']",
        "[url:value = 'https://a.b.evil.com/x']",
    ]);
    let observables = [
        Observable::new(K::Process, "nothing", "p"),
        Observable::new(K::Url, "https://a.b.evil.com/x?q", "u"),
        Observable::new(K::Domain, "evil.com", "d"),
    ];
    let hits = m.match_record(&observables);
    let got: Vec<(usize, usize, MatchRule)> = hits
        .iter()
        .map(|h| (h.observable, h.indicator.index(), h.rule))
        .collect();
    assert_eq!(
        got,
        [
            (1, 0, MatchRule::UrlSubdomain),
            (1, 1, MatchRule::UrlSubdomain),
            (1, 2, MatchRule::UrlWithoutQuery),
            (2, 1, MatchRule::Exact),
        ]
    );
    assert_eq!(m.match_record(&observables), hits);
}

#[test]
fn indicator_ref_cites_indicator_file_and_observable() {
    let m = matcher(&["[domain-name:value = 'evil.com']"]);
    let observables =
        [Observable::new(K::Url, "https://x.evil.com/a", "links").with_level(Level::High)];
    let hits = m.match_record(&observables);
    let r = m.indicator_ref(&hits[0], &observables).unwrap();
    assert_eq!(r.value, "evil.com");
    assert_eq!(r.bucket, "domains");
    assert_eq!(r.name, "TestSet");
    assert_eq!(r.stix2_file_name, "test.stix2");
    assert_eq!(r.stix2_file_sha256, m.set().files()[0].sha256);
    assert_eq!(r.stix_id, "indicator--0");
    assert_eq!(r.pattern, "[domain-name:value = 'evil.com']");
    assert_eq!(r.observable_kind, K::Url);
    assert_eq!(r.observable_value, "https://x.evil.com/a");
    assert_eq!(r.observable_field, "links");
    assert_eq!(r.match_rule, "url host subdomain");
    // A hit that does not fit the observables gives nothing rather than a wrong citation.
    assert!(m.indicator_ref(&hits[0], &[]).is_none());
}
