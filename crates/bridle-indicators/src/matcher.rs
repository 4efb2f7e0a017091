//! The compiled index and the matching semantics (`docs/matching.md`).
//!
//! Every lookup is a hash-map probe. The work per observable is bounded by the observable
//! itself (its host's labels, its path's components, a constant number of probes), never by
//! the number of indicators: there is no scan over indicators and no substring search.

use crate::IndicatorKind;
use crate::normalize::{self, Host};
use crate::set::{Indicator, IndicatorFile, IndicatorId, IndicatorSet};
use bridle_model::{IndicatorRef, Observable, ObservableKind};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// How an observable matched an indicator. The variant order is the preference order when
/// one observable matches one indicator in two ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchRule {
    /// Same normalised value.
    Exact,
    /// The observed host is a subdomain of the indicator's domain.
    Subdomain,
    /// The host of an observed URL is the indicator's domain or IP address.
    UrlHost,
    /// The host of an observed URL is a subdomain of the indicator's domain.
    UrlSubdomain,
    /// The observed URL without its query is the indicator's URL (which has no query).
    UrlWithoutQuery,
    /// The observed IP address (or URL host) is inside the indicator's CIDR range.
    IpInRange,
    /// The observed process name (15 or 16 characters) is a kernel truncation of the
    /// indicator's longer name.
    TruncatedProcessName,
    /// The observed path is inside the indicator's path (component boundary).
    UnderPath,
    /// The last component of the observed path is the indicator's file name.
    FileNameOfPath,
}

impl MatchRule {
    /// The name written in alerts (`IndicatorRef::match_rule`).
    pub fn as_str(self) -> &'static str {
        match self {
            MatchRule::Exact => "exact",
            MatchRule::Subdomain => "subdomain",
            MatchRule::UrlHost => "url host",
            MatchRule::UrlSubdomain => "url host subdomain",
            MatchRule::UrlWithoutQuery => "url without query",
            MatchRule::IpInRange => "ip in range",
            MatchRule::TruncatedProcessName => "truncated process name",
            MatchRule::UnderPath => "under path",
            MatchRule::FileNameOfPath => "file name of path",
        }
    }
}

impl std::fmt::Display for MatchRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One observable matching one indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hit {
    /// Position of the observable in the slice given to [`Matcher::match_record`].
    pub observable: usize,
    /// The indicator.
    pub indicator: IndicatorId,
    /// How it matched.
    pub rule: MatchRule,
}

type Table = HashMap<String, Vec<IndicatorId>>;

/// A compiled, immutable index over an [`IndicatorSet`]; cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Matcher {
    set: Arc<IndicatorSet>,
    domains: Table,
    ips: HashMap<IpAddr, Vec<IndicatorId>>,
    ranges: HashMap<(IpAddr, u8), Vec<IndicatorId>>,
    range_lengths_v4: Vec<u8>,
    range_lengths_v6: Vec<u8>,
    urls: Table,
    processes: Table,
    /// 15- and 16-byte prefixes of process names longer than that.
    process_prefixes: Table,
    emails: Table,
    file_names: Table,
    file_paths: Table,
    md5: Table,
    sha1: Table,
    sha256: Table,
    certs: Table,
    app_ids: Table,
    profile_ids: Table,
    properties: Table,
}

/// Lengths at which iOS (`MAXCOMLEN` 16) and Linux/Android (`TASK_COMM_LEN` 16 with the NUL,
/// so 15) truncate process names.
const TRUNCATION_LENGTHS: [usize; 2] = [15, 16];

fn add(table: &mut Table, key: &str, id: IndicatorId) {
    table.entry(key.to_owned()).or_default().push(id);
}

impl IndicatorSet {
    /// Build the index. The matcher keeps its own copy of the set.
    pub fn compile(&self) -> Matcher {
        Matcher::new(Arc::new(self.clone()))
    }
}

impl Matcher {
    /// Build the index over a shared set.
    pub fn new(set: Arc<IndicatorSet>) -> Matcher {
        let mut m = Matcher {
            set: Arc::clone(&set),
            domains: Table::new(),
            ips: HashMap::new(),
            ranges: HashMap::new(),
            range_lengths_v4: Vec::new(),
            range_lengths_v6: Vec::new(),
            urls: Table::new(),
            processes: Table::new(),
            process_prefixes: Table::new(),
            emails: Table::new(),
            file_names: Table::new(),
            file_paths: Table::new(),
            md5: Table::new(),
            sha1: Table::new(),
            sha256: Table::new(),
            certs: Table::new(),
            app_ids: Table::new(),
            profile_ids: Table::new(),
            properties: Table::new(),
        };
        for (index, indicator) in set.indicators.iter().enumerate() {
            m.insert(IndicatorId(index), indicator);
        }
        m.range_lengths_v4.sort_unstable();
        m.range_lengths_v4.dedup();
        m.range_lengths_v6.sort_unstable();
        m.range_lengths_v6.dedup();
        m
    }

    fn insert(&mut self, id: IndicatorId, indicator: &Indicator) {
        let value = indicator.normalized.as_str();
        match indicator.kind {
            IndicatorKind::Domain | IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
                match normalize::ip_range(value) {
                    Some((ip, len)) if u32::from(len) == if ip.is_ipv4() { 32 } else { 128 } => {
                        self.ips.entry(ip).or_default().push(id);
                    }
                    Some((ip, len)) => {
                        self.ranges.entry((ip, len)).or_default().push(id);
                        if ip.is_ipv4() {
                            self.range_lengths_v4.push(len);
                        } else {
                            self.range_lengths_v6.push(len);
                        }
                    }
                    None => add(&mut self.domains, value, id),
                }
            }
            IndicatorKind::Url => {
                if let Some(key) = normalize::url(value).key {
                    add(&mut self.urls, &key, id);
                }
            }
            IndicatorKind::Process => {
                add(&mut self.processes, value, id);
                for len in TRUNCATION_LENGTHS {
                    if value.len() > len
                        && let Some(prefix) = value.get(..len)
                    {
                        add(&mut self.process_prefixes, prefix, id);
                    }
                }
            }
            IndicatorKind::Email => add(&mut self.emails, value, id),
            IndicatorKind::FileName => add(&mut self.file_names, value, id),
            IndicatorKind::FilePath => add(&mut self.file_paths, value, id),
            IndicatorKind::FileMd5 => add(&mut self.md5, value, id),
            IndicatorKind::FileSha1 => add(&mut self.sha1, value, id),
            IndicatorKind::FileSha256 => add(&mut self.sha256, value, id),
            IndicatorKind::CertMd5 | IndicatorKind::CertSha1 | IndicatorKind::CertSha256 => {
                add(&mut self.certs, value, id);
            }
            IndicatorKind::AppId => add(&mut self.app_ids, value, id),
            IndicatorKind::ProfileId => add(&mut self.profile_ids, value, id),
            IndicatorKind::AndroidProperty => add(&mut self.properties, value, id),
        }
    }

    /// The set this matcher was built from.
    pub fn set(&self) -> &IndicatorSet {
        &self.set
    }

    /// One indicator.
    pub fn indicator(&self, id: IndicatorId) -> Option<&Indicator> {
        self.set.indicator(id)
    }

    /// The file an indicator came from.
    pub fn file_of(&self, id: IndicatorId) -> Option<&IndicatorFile> {
        self.set.file_of(id)
    }

    /// Match all observables of one record. Hits are sorted by observable, then indicator
    /// (load order), and one observable matches one indicator at most once (with its most
    /// specific rule). An indicator that is part of a conjunctive clause is reported only
    /// when every comparison of its clause is matched by some observable of this record.
    pub fn match_record(&self, observables: &[Observable]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for (index, observable) in observables.iter().enumerate() {
            self.match_one(index, observable, &mut hits);
        }
        hits.sort_unstable();
        hits.dedup_by_key(|h| (h.observable, h.indicator));
        let in_clause = |h: &Hit| {
            self.set
                .indicator(h.indicator)
                .and_then(|i| i.clause)
                .and_then(|c| self.set.clause(c))
        };
        if hits.iter().any(|h| in_clause(h).is_some()) {
            let matched: HashSet<IndicatorId> = hits.iter().map(|h| h.indicator).collect();
            hits.retain(|h| match in_clause(h) {
                None => true,
                Some(clause) => clause.members.iter().all(|m| matched.contains(m)),
            });
        }
        hits
    }

    /// What an alert needs to cite a hit. `None` when the hit does not belong to this
    /// matcher.
    pub fn indicator_ref(&self, hit: &Hit, observables: &[Observable]) -> Option<IndicatorRef> {
        let indicator = self.set.indicator(hit.indicator)?;
        let file = self.set.files.get(indicator.file)?;
        let observable = observables.get(hit.observable)?;
        Some(IndicatorRef {
            value: indicator.value.clone(),
            bucket: indicator.bucket().to_owned(),
            name: indicator.name().to_owned(),
            stix2_file_name: file.name.clone(),
            stix2_file_sha256: file.sha256.clone(),
            stix_id: indicator.stix_id.clone(),
            pattern: indicator.pattern.clone(),
            observable_kind: observable.kind,
            observable_value: observable.value.clone(),
            observable_field: observable.field.to_string(),
            match_rule: hit.rule.as_str().to_owned(),
            also_in: Vec::new(),
        })
    }

    fn match_one(&self, index: usize, observable: &Observable, hits: &mut Vec<Hit>) {
        let mut push = |ids: Option<&Vec<IndicatorId>>, rule: MatchRule| {
            for id in ids.into_iter().flatten() {
                hits.push(Hit {
                    observable: index,
                    indicator: *id,
                    rule,
                });
            }
        };
        let value = observable.value.as_str();
        if value.len() > normalize::MAX_VALUE_BYTES {
            return;
        }
        match observable.kind {
            ObservableKind::Url => {
                let url = normalize::url(value);
                if let Some(host) = &url.host {
                    self.match_host(host, MatchRule::UrlHost, MatchRule::UrlSubdomain, &mut push);
                }
                if let Some(key) = &url.key {
                    push(self.urls.get(key), MatchRule::Exact);
                }
                if let Some(key) = &url.key_without_query {
                    push(self.urls.get(key), MatchRule::UrlWithoutQuery);
                }
            }
            ObservableKind::Domain | ObservableKind::Ip => {
                if let Some(host) = normalize::url(value).host {
                    self.match_host(&host, MatchRule::Exact, MatchRule::Subdomain, &mut push);
                }
            }
            ObservableKind::Email => {
                if let Some(email) = normalize::email(value) {
                    push(self.emails.get(&email), MatchRule::Exact);
                }
            }
            ObservableKind::Process => {
                let name = normalize::basename(value);
                push(self.processes.get(name), MatchRule::Exact);
                if TRUNCATION_LENGTHS.contains(&name.len()) {
                    push(
                        self.process_prefixes.get(name),
                        MatchRule::TruncatedProcessName,
                    );
                }
            }
            ObservableKind::FileName => push(self.file_names.get(value), MatchRule::Exact),
            ObservableKind::FilePath => {
                if let Some(path) = normalize::file_path(value) {
                    push(self.file_paths.get(&path), MatchRule::Exact);
                    for ancestor in normalize::path_ancestors(&path) {
                        push(self.file_paths.get(ancestor), MatchRule::UnderPath);
                    }
                    push(
                        self.file_names.get(normalize::basename(&path)),
                        MatchRule::FileNameOfPath,
                    );
                }
            }
            ObservableKind::AppId => {
                if let Some(v) = normalize::folded(value) {
                    push(self.app_ids.get(&v), MatchRule::Exact);
                }
            }
            ObservableKind::ProfileId => {
                if let Some(v) = normalize::folded(value) {
                    push(self.profile_ids.get(&v), MatchRule::Exact);
                }
            }
            ObservableKind::AndroidProperty => {
                if let Some(v) = normalize::folded(value) {
                    push(self.properties.get(&v), MatchRule::Exact);
                }
            }
            ObservableKind::FileHash => {
                let table = match value.trim().len() {
                    32 => &self.md5,
                    40 => &self.sha1,
                    64 => &self.sha256,
                    _ => return,
                };
                if let Some(digest) = normalize::hex_digest(value, value.trim().len()) {
                    push(table.get(&digest), MatchRule::Exact);
                }
            }
            ObservableKind::CertHash => {
                if let Some(digest) = normalize::cert_digest(value) {
                    push(self.certs.get(&digest), MatchRule::Exact);
                }
            }
        }
    }

    fn match_host(
        &self,
        host: &Host,
        exact: MatchRule,
        subdomain: MatchRule,
        push: &mut impl FnMut(Option<&Vec<IndicatorId>>, MatchRule),
    ) {
        match host {
            Host::Ip(ip) => {
                push(self.ips.get(ip), exact);
                let lengths = if ip.is_ipv4() {
                    &self.range_lengths_v4
                } else {
                    &self.range_lengths_v6
                };
                for len in lengths {
                    push(
                        self.ranges.get(&(normalize::mask(*ip, *len), *len)),
                        MatchRule::IpInRange,
                    );
                }
            }
            Host::Name(name) => {
                push(self.domains.get(name), exact);
                for parent in normalize::parent_domains(name) {
                    push(self.domains.get(parent), subdomain);
                }
            }
        }
    }
}
