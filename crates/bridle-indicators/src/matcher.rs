//! The compiled index and the matching semantics (`docs/matching.md`).
//!
//! Every lookup is a hash-map probe. The work per observable is bounded by the observable
//! itself (its host's labels, its path's components, a constant number of probes), never by
//! the number of indicators: there is no scan over indicators and no substring search.

use crate::normalize;
use crate::probe::{KeySpace, Ranges, for_each_probe};
use crate::set::{Indicator, IndicatorFile, IndicatorId, IndicatorSet};
use bridle_model::{IndicatorRef, Observable};
use std::collections::{HashMap, HashSet};
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

impl MatchRule {
    /// Every rule, most specific first (the preference order).
    pub const ALL: [MatchRule; 9] = [
        MatchRule::Exact,
        MatchRule::Subdomain,
        MatchRule::UrlHost,
        MatchRule::UrlSubdomain,
        MatchRule::UrlWithoutQuery,
        MatchRule::IpInRange,
        MatchRule::TruncatedProcessName,
        MatchRule::UnderPath,
        MatchRule::FileNameOfPath,
    ];

    /// The position in [`Self::ALL`]: a smaller rank is preferred. Stored in databases next
    /// to probe keys, so that `MIN(rank)` picks the rule the matcher would.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The rule of a rank.
    pub fn from_rank(rank: u8) -> Option<MatchRule> {
        MatchRule::ALL.get(usize::from(rank)).copied()
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

/// Keys are indicator values; lookups come from evidence. foldhash rather than SipHash: a
/// few times faster on short keys, still seeded per process, and the tables' contents come
/// from the indicator files, not from the evidence an attacker controls.
type Table = HashMap<String, Vec<IndicatorId>, foldhash::fast::RandomState>;

/// A compiled, immutable index over an [`IndicatorSet`]; cheap to share between threads.
///
/// One hash table per [`KeySpace`], filled with each indicator's [`index_keys`]; matching
/// walks each observable's probe keys ([`crate::probe`]), so the case store's SQL join and
/// this matcher share one definition of the semantics.
#[derive(Debug, Clone)]
pub struct Matcher {
    set: Arc<IndicatorSet>,
    /// Indexed by [`KeySpace::index`].
    tables: Vec<Table>,
    /// CIDR prefix lengths present in the index, so that an observed address is probed only
    /// at lengths some indicator uses.
    range_lengths_v4: Vec<u8>,
    range_lengths_v6: Vec<u8>,
}

impl IndicatorSet {
    /// Build the index. The matcher keeps its own copy of the set.
    pub fn compile(&self) -> Matcher {
        Matcher::new(Arc::new(self.clone()))
    }

    /// Build the index, handing the set over to it (no copy, unlike [`Self::compile`]);
    /// [`Matcher::set`] gives it back.
    pub fn into_matcher(self) -> Matcher {
        Matcher::new(Arc::new(self))
    }
}

impl Matcher {
    /// Build the index over a shared set.
    pub fn new(set: Arc<IndicatorSet>) -> Matcher {
        let mut m = Matcher {
            set: Arc::clone(&set),
            tables: vec![Table::default(); KeySpace::ALL.len()],
            range_lengths_v4: Vec::new(),
            range_lengths_v6: Vec::new(),
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
        for key in indicator.index_keys() {
            if key.space == KeySpace::IpRange
                && let Some((ip, len)) = normalize::ip_range(&key.key)
            {
                if ip.is_ipv4() {
                    self.range_lengths_v4.push(len);
                } else {
                    self.range_lengths_v6.push(len);
                }
            }
            if let Some(table) = self.tables.get_mut(key.space.index()) {
                table.entry(key.key).or_default().push(id);
            }
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
        self.set
            .indicator_ref(hit.indicator, observables.get(hit.observable)?, hit.rule)
    }

    fn match_one(&self, index: usize, observable: &Observable, hits: &mut Vec<Hit>) {
        let ranges = Ranges::Only {
            v4: &self.range_lengths_v4,
            v6: &self.range_lengths_v6,
        };
        for_each_probe(
            observable.kind,
            &observable.value,
            ranges,
            &mut |space, key, rule| {
                let ids = self.tables.get(space.index()).and_then(|t| t.get(key));
                for id in ids.into_iter().flatten() {
                    hits.push(Hit {
                        observable: index,
                        indicator: *id,
                        rule,
                    });
                }
            },
        );
    }
}
