//! The packed store against a flat model: after every kind of change, plain and gzip
//! scrapes must equal the model rendered family by family.

use std::collections::BTreeMap;
use std::io::Read;

use super::*;
use crate::exposition::{Format, MetricType};

const NAMES: [&str; 4] = ["f0", "f1", "f2", "f3"];

type Model = BTreeMap<ObjectKey, (String, Vec<String>)>;

fn random_lines(rng: &mut fastrand::Rng, key: &ObjectKey) -> Vec<String> {
    lines_for(key, [rng.u8(..6), rng.u8(..6), rng.u8(..6), rng.u8(..6)])
}

/// One object's lines, family by family, chosen by `variants`.
fn lines_for(key: &ObjectKey, variants: [u8; 4]) -> Vec<String> {
    NAMES
        .iter()
        .zip(variants)
        .map(|(f, variant)| match variant % 6 {
            0 => String::new(),
            1 => format!(
                "{f}{{o=\"{}\",c=\"x\"}} 1\n{f}{{o=\"{}\",c=\"y\"}} 2\n",
                key.name(),
                key.name()
            ),
            // Few distinct values, so many updates leave a family's bytes as they were.
            v => format!("{f}{{n=\"{}\",o=\"{}\"}} {}\n", key.namespace(), key.name(), v % 3),
        })
        .collect()
}

fn new_store() -> Store {
    let headers = NAMES
        .iter()
        .map(|n| FamilyHeader::new(*n, "H.", MetricType::Gauge))
        .collect();
    Store::new(vec![KindStore::new("pods", headers, &[])])
}

fn expected(model: &Model) -> Vec<u8> {
    let mut out = Vec::new();
    if model.is_empty() {
        return out;
    }
    for (f, name) in NAMES.iter().enumerate() {
        out.extend_from_slice(format!("# HELP {name} H.\n# TYPE {name} gauge\n").as_bytes());
        for (_, lines) in model.values() {
            out.extend_from_slice(lines[f].as_bytes());
        }
    }
    out
}

fn check(store: &Store, model: &Model, step: usize) {
    let plain = store.snapshot(|_| true).to_bytes(Format::Text);
    assert!(
        plain == expected(model),
        "plain scrape differs from the model at step {step}"
    );
    for _ in 0..2 {
        let gz: Vec<u8> = store
            .snapshot(|_| true)
            .into_chunks(Format::Text, Encoding::Gzip, 4096)
            .flat_map(|c| c.to_vec())
            .collect();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert!(unzipped == plain, "gzip scrape differs from plain at step {step}");
    }
    // Segments written apart (as parallel plain scrapes write them) join to the same bytes,
    // wherever they are cut: at every block, every few blocks, or not at all.
    for segment_bytes in [0, 1 + step % 700, usize::MAX] {
        for format in [Format::Text, Format::OpenMetrics] {
            let joined: Vec<u8> = store
                .snapshot(|_| true)
                .into_segments(format, 4096, segment_bytes)
                .into_iter()
                .flatten()
                .flat_map(|c| c.to_vec())
                .collect();
            let whole = store.snapshot(|_| true).to_bytes(format);
            assert!(
                joined == whole,
                "segments of {segment_bytes} bytes differ from the whole at step {step}"
            );
        }
    }
    assert_eq!(store.kinds()[0].stats().0, model.len());
}

#[test]
fn packed_blocks_match_a_flat_model_through_every_kind_of_change() {
    let store = new_store();
    let kind = store.kinds()[0].clone();
    let scope = &kind.scopes()[0];
    let mut model = Model::new();
    let mut rng = fastrand::Rng::with_seed(11);
    let mut rv = 1u64;
    for step in 0..4000 {
        let ns = ["a", "a-b", "b"][rng.usize(..3)];
        let key = ObjectKey::new(Some(ns), Some(&format!("p{:03}", rng.usize(..400))));
        rv += 1;
        match rng.u8(..100) {
            0..=59 => {
                let lines = random_lines(&mut rng, &key);
                let uid = model.get(&key).map_or_else(|| format!("u{rv}"), |(u, _)| u.clone());
                scope.apply(key.clone(), &uid, &rv.to_string(), || Rendered::from_families(&lines));
                model.insert(key, (uid, lines));
            }
            60..=89 => {
                let uid = model.get(&key).map(|(u, _)| u.clone()).unwrap_or_default();
                assert_eq!(scope.delete(&key, &uid), model.remove(&key).is_some());
            }
            90..=92 => {
                // A relist: most objects unchanged (reused), some changed, some gone, new
                // ones added, a few delivered out of order.
                let mut items: Vec<(ObjectKey, String, Vec<String>, bool)> = Vec::new();
                for (k, (uid, lines)) in &model {
                    match rng.u8(..10) {
                        0 => {}
                        1 => items.push((k.clone(), uid.clone(), random_lines(&mut rng, k), true)),
                        _ => items.push((k.clone(), uid.clone(), lines.clone(), false)),
                    }
                }
                for _ in 0..rng.usize(..20) {
                    let k = ObjectKey::new(Some("c"), Some(&format!("new{}", rng.usize(..50))));
                    items.push((k.clone(), format!("u{rv}"), random_lines(&mut rng, &k), true));
                }
                for _ in 0..rng.usize(..4) {
                    if items.len() > 1 {
                        let (i, j) = (rng.usize(..items.len()), rng.usize(..items.len()));
                        items.swap(i, j);
                    }
                }
                let mut relist = scope.begin_relist();
                model.clear();
                for (k, uid, lines, changed) in items {
                    let version = if changed {
                        rv.to_string()
                    } else {
                        scope
                            .get(&k)
                            .map_or_else(|| rv.to_string(), |e| e.resource_version.to_string())
                    };
                    relist.apply(scope, k.clone(), &uid, &version, || Rendered::from_families(&lines));
                    model.insert(k, (uid, lines));
                }
                scope.commit_relist(relist);
            }
            // Every block cold at once (the background thread freezes only some in time),
            // so updates, deletes, relists and scrapes all run on fragments alone.
            93..=94 => scope.freeze_all(),
            _ => check(&store, &model, step),
        }
    }
    check(&store, &model, usize::MAX);
}

/// Invariant: a scrape taken while relists are committed on another thread equals the state
/// before one of them or after it, never a mix, in plain and in gzip.
#[test]
fn scrapes_concurrent_with_relists_see_one_whole_state() {
    let store = new_store();
    let kind = store.kinds()[0].clone();
    let scope = &kind.scopes()[0];
    let mut rng = fastrand::Rng::with_seed(5);
    // Two states sharing some objects (with other lines) and each holding some of its own.
    let states: Vec<Model> = (0..2)
        .map(|s| {
            (0..400)
                .filter(|i| i % 3 != s)
                .map(|i| {
                    let key = ObjectKey::new(Some(["a", "b"][i % 2]), Some(&format!("p{i:03}")));
                    let lines = random_lines(&mut rng, &key);
                    (key, (format!("u{i}"), lines))
                })
                .collect()
        })
        .collect();
    let relist = |model: &Model, rv: usize| {
        let mut relist = scope.begin_relist();
        for (key, (uid, lines)) in model {
            relist.apply(scope, key.clone(), uid, &rv.to_string(), || {
                Rendered::from_families(lines)
            });
        }
        scope.commit_relist(relist);
    };
    relist(&states[0], 1);
    let wanted: Vec<Vec<u8>> = states.iter().map(expected).collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|threads| {
        for encoding in [Encoding::Identity, Encoding::Gzip] {
            let (store, wanted, done) = (&store, &wanted, &done);
            threads.spawn(move || {
                let mut scrapes = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) || scrapes < 5 {
                    let body: Vec<u8> = store
                        .snapshot(|_| true)
                        .into_chunks(Format::Text, encoding, 4096)
                        .flat_map(|c| c.to_vec())
                        .collect();
                    let body = match encoding {
                        Encoding::Gzip => {
                            let mut plain = Vec::new();
                            flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain).unwrap();
                            plain
                        }
                        _ => body,
                    };
                    assert!(wanted.contains(&body), "a {encoding:?} scrape saw neither whole state");
                    scrapes += 1;
                }
            });
        }
        for round in 2..42 {
            relist(&states[round % 2], round);
            if round % 5 == 0 {
                scope.freeze_all();
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

/// Property tests: random event sequences against the reference model of the watch semantics.
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Keys: a few hot ones that events keep hitting, and a range wide enough for several blocks.
    const KEYS: usize = 600;

    fn key(k: usize) -> ObjectKey {
        ObjectKey::new(Some(["a", "a-b", "b"][k % 3]), Some(&format!("p{k:03}")))
    }

    /// What the API says of one live object: its newest version.
    #[derive(Clone, Debug)]
    struct Held {
        uid: String,
        rv: u64,
        lines: Vec<String>,
    }

    /// The reference: the newest version of each live object, nothing else.
    #[derive(Default)]
    struct Reference {
        objects: BTreeMap<ObjectKey, Held>,
        /// Last resourceVersion handed out (the API server's counter).
        rv: u64,
        /// UIDs handed out.
        uids: u64,
    }

    impl Reference {
        fn next_rv(&mut self) -> u64 {
            self.rv += 1;
            self.rv
        }

        fn fresh_uid(&mut self) -> String {
            self.uids += 1;
            format!("uid-{}", self.uids)
        }

        fn rendered(&self) -> Model {
            self.objects
                .iter()
                .map(|(k, h)| (k.clone(), (h.uid.clone(), h.lines.clone())))
                .collect()
        }
    }

    /// How an event's resourceVersion relates to the one held.
    #[derive(Clone, Copy, Debug)]
    enum Version {
        Newer,
        Same,
        Older(u64),
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// An ADDED/MODIFIED event, of the held incarnation or of a new one (same name, new UID).
        Apply {
            k: usize,
            version: Version,
            new_uid: bool,
            lines: [u8; 4],
        },
        /// A DELETED event carrying the held UID or another one.
        Delete { k: usize, right_uid: bool },
        /// A relist after a watch broke: each held object kept, changed or deleted while the
        /// watch was down (by `fates`, cycled), `added` objects new, the items delivered in an
        /// order disturbed by `swaps`. A scrape is taken halfway through.
        Relist {
            fates: Vec<u8>,
            added: Vec<(usize, [u8; 4])>,
            swaps: Vec<(usize, usize)>,
        },
        /// Every block compressed and its lines dropped, as the background thread does.
        Freeze,
        /// An object added and deleted again.
        AddThenDelete { k: usize, lines: [u8; 4] },
    }

    fn any_key() -> impl Strategy<Value = usize> {
        prop_oneof![0..12usize, 0..KEYS]
    }

    fn any_lines() -> impl Strategy<Value = [u8; 4]> {
        any::<[u8; 4]>()
    }

    fn any_op() -> impl Strategy<Value = Op> {
        let version = prop_oneof![
            3 => Just(Version::Newer),
            1 => Just(Version::Same),
            1 => (1..5u64).prop_map(Version::Older),
        ];
        prop_oneof![
            10 => (any_key(), version, prop::bool::weighted(0.1), any_lines())
                .prop_map(|(k, version, new_uid, lines)| Op::Apply { k, version, new_uid, lines }),
            4 => (any_key(), prop::bool::weighted(0.8)).prop_map(|(k, right_uid)| Op::Delete { k, right_uid }),
            1 => (
                prop::collection::vec(any::<u8>(), 1..8),
                prop::collection::vec((0..KEYS, any_lines()), 0..300),
                prop::collection::vec((any::<usize>(), any::<usize>()), 0..4),
            )
                .prop_map(|(fates, added, swaps)| Op::Relist { fates, added, swaps }),
            1 => Just(Op::Freeze),
            1 => (0..KEYS, any_lines()).prop_map(|(k, lines)| Op::AddThenDelete { k, lines }),
        ]
    }

    /// Runs `ops` against the store and the reference, checking every scrape form after each.
    fn run(ops: &[Op]) {
        let store = new_store();
        let kind = store.kinds()[0].clone();
        let scope = &kind.scopes()[0];
        let mut reference = Reference::default();
        for (step, op) in ops.iter().enumerate() {
            match op.clone() {
                Op::Apply {
                    k,
                    version,
                    new_uid,
                    lines,
                } => {
                    let key = key(k);
                    let held = reference.objects.get(&key).cloned();
                    let uid = match &held {
                        Some(h) if !new_uid => h.uid.clone(),
                        _ => reference.fresh_uid(),
                    };
                    let rv = match (version, &held) {
                        (Version::Same, Some(h)) => h.rv,
                        (Version::Older(back), Some(h)) => h.rv.saturating_sub(back),
                        _ => reference.next_rv(),
                    };
                    let lines = lines_for(&key, lines);
                    let stale = held.as_ref().is_some_and(|h| h.uid == uid && rv <= h.rv);
                    let outcome = scope.apply(key.clone(), &uid, &rv.to_string(), || Rendered::from_families(&lines));
                    assert_eq!(matches!(outcome, ApplyOutcome::Stale), stale, "step {step}: {op:?}");
                    if !stale {
                        reference.objects.insert(key, Held { uid, rv, lines });
                    }
                }
                Op::Delete { k, right_uid } => {
                    let key = key(k);
                    let uid = match reference.objects.get(&key) {
                        Some(h) if right_uid => h.uid.clone(),
                        _ => "uid-of-another-incarnation".to_string(),
                    };
                    let removed = right_uid && reference.objects.remove(&key).is_some();
                    assert_eq!(scope.delete(&key, &uid), removed, "step {step}: {op:?}");
                }
                Op::Relist { fates, added, swaps } => {
                    let before = reference.rendered();
                    let mut items: Vec<(ObjectKey, Held)> = Vec::new();
                    let held: Vec<(ObjectKey, Held)> =
                        reference.objects.iter().map(|(k, h)| (k.clone(), h.clone())).collect();
                    for (i, (k, h)) in held.into_iter().enumerate() {
                        match fates[i % fates.len()] % 4 {
                            0 => {}
                            1 => {
                                let variants = [i as u8, 1, 2, 3];
                                let rv = reference.next_rv();
                                items.push((
                                    k.clone(),
                                    Held {
                                        uid: h.uid,
                                        rv,
                                        lines: lines_for(&k, variants),
                                    },
                                ));
                            }
                            _ => items.push((k, h)),
                        }
                    }
                    for (k, lines) in added {
                        let k = key(k);
                        if !items.iter().any(|(held, _)| *held == k) {
                            let (uid, rv) = (reference.fresh_uid(), reference.next_rv());
                            let lines = lines_for(&k, lines);
                            items.push((k, Held { uid, rv, lines }));
                        }
                    }
                    items.sort_by(|a, b| a.0.cmp(&b.0));
                    for (i, j) in swaps {
                        if !items.is_empty() {
                            let n = items.len();
                            items.swap(i % n, j % n);
                        }
                    }
                    let mut relist = scope.begin_relist();
                    let half = items.len() / 2;
                    for (i, (k, h)) in items.iter().enumerate() {
                        if i == half {
                            // Until the commit, scrapes see the state before the relist.
                            check(&store, &before, step);
                        }
                        relist.apply(scope, k.clone(), &h.uid, &h.rv.to_string(), || {
                            Rendered::from_families(&h.lines)
                        });
                    }
                    scope.commit_relist(relist);
                    reference.objects = items.into_iter().collect();
                }
                Op::Freeze => scope.freeze_all(),
                Op::AddThenDelete { k, lines } => {
                    let probe = ObjectKey::new(Some("a-b"), Some(&format!("probe{k:03}")));
                    // Compressed and frozen first, so the background thread has nothing left to
                    // change in these blocks while the figure is read.
                    scope.freeze_all();
                    let (bytes, layout) = (kind.stats().1, scope.audit());
                    let uid = reference.fresh_uid();
                    let rv = reference.next_rv();
                    let lines = lines_for(&probe, lines);
                    scope.apply(probe.clone(), &uid, &rv.to_string(), || Rendered::from_families(&lines));
                    assert!(scope.delete(&probe, &uid));
                    let after = scope.audit();
                    // A repack (the add can tip a block over its churn limit) folds earlier
                    // updates in and so moves the figure; short of one, only a grown slot
                    // vector may stay behind. (`layout` holds the packings, so a new one cannot
                    // take an old one's address.)
                    let same_packings =
                        after.len() == layout.len() && after.iter().zip(&layout).all(|(a, b)| Arc::ptr_eq(&a.0, &b.0));
                    if same_packings {
                        let grown: usize = after.iter().zip(&layout).map(|(a, b)| a.1 - b.1).sum();
                        assert_eq!(
                            kind.stats().1,
                            bytes + grown * std::mem::size_of::<block::Slot>(),
                            "step {step}: cached bytes after {op:?}"
                        );
                    }
                }
            }
            scope.audit();
            check(&store, &reference.rendered(), step);
        }
    }

    /// Cases per property: a few dozen in `cargo test`; `PROPTEST_CASES=N` for long runs.
    fn config() -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(24);
        ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Invariant: after any sequence of events, relists and freezes, the plain scrape equals
        /// the reference model's rendering byte for byte, the gzip scrape decodes to it, a scrape
        /// during a relist equals the state before it, and adding then deleting an object leaves
        /// the cached bytes where they were.
        #[test]
        fn every_scrape_equals_the_newest_version_of_each_live_object(ops in prop::collection::vec(any_op(), 1..120)) {
            run(&ops);
        }
    }
}
