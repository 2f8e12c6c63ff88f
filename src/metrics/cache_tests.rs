//! The thread cache's tests: series never mixed, exact compares, pinning
//! only what is read-only.

use crate::metrics::{FccMetrics, SeriesValue};

fn value(m: &FccMetrics, labels: &[(&str, &str)]) -> f64 {
    let snap = m.snapshot();
    let series = &snap.iter().find(|f| f.name == "c").unwrap().series;
    let s = series
        .iter()
        .find(|s| {
            s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no series {labels:?}"));
    match s.value {
        SeriesValue::Counter(v) => v,
        _ => unreachable!(),
    }
}

#[test]
fn the_thread_cache_never_mixes_series() {
    let m = FccMetrics::builder().points_capacity(0).build();
    // The same labels in another order are the same series.
    m.increment("c", &[("a", "1"), ("b", "2")]).unwrap();
    m.increment("c", &[("b", "2"), ("a", "1")]).unwrap();
    assert_eq!(value(&m, &[("a", "1"), ("b", "2")]), 2.0);
    // Long values (hashed fingerprints) that differ only after byte 8.
    for v in ["/orders/aaaa1", "/orders/aaaa2", "/orders/aaaa1"] {
        m.increment("c", &[("route", v)]).unwrap();
    }
    assert_eq!(value(&m, &[("route", "/orders/aaaa1")]), 2.0);
    assert_eq!(value(&m, &[("route", "/orders/aaaa2")]), 1.0);
    // More labels than the cache takes.
    let five = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")];
    for _ in 0..3 {
        m.increment("c", &five).unwrap();
    }
    assert_eq!(value(&m, &five), 3.0);
    // A reused buffer with new content at the same address and length.
    let mut s = String::from("x1");
    m.increment("c", &[("k", &s)]).unwrap();
    s.clear();
    s.push_str("x2");
    m.increment("c", &[("k", &s)]).unwrap();
    assert_eq!(value(&m, &[("k", "x1")]), 1.0);
    assert_eq!(value(&m, &[("k", "x2")]), 1.0);
    // A repeated key collapses to one label and is still counted right.
    m.increment("c", &[("k", "x1"), ("k", "x1")]).unwrap();
    m.increment("c", &[("k", "x1"), ("k", "x1")]).unwrap();
    assert_eq!(value(&m, &[("k", "x1")]), 3.0);
    // A label whose fingerprints are all-zero words is not "no label".
    let zeros = "\0".repeat(8);
    m.increment("c", &[]).unwrap();
    m.increment("c", &[(&zeros, &zeros)]).unwrap();
    m.increment("c", &[]).unwrap();
    assert_eq!(value(&m, &[]), 2.0);
    assert_eq!(value(&m, &[(&zeros, &zeros)]), 1.0);
    // 7 and 8 bytes, and a value that only differs in its last byte.
    for v in ["abcdefg", "abcdefgh", "abcdefg", "abcdefgi"] {
        m.increment("c", &[("len", v)]).unwrap();
    }
    assert_eq!(value(&m, &[("len", "abcdefg")]), 2.0);
    assert_eq!(value(&m, &[("len", "abcdefgh")]), 1.0);
}

#[test]
fn ten_labels_are_one_series_in_any_order_and_distinct_otherwise() {
    let m = FccMetrics::builder().points_capacity(0).build();
    let ten: Vec<(String, String)> = (0..10)
        .map(|i| (format!("key{i}"), format!("value-number-{i}")))
        .collect();
    fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
        v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }
    let labels = as_refs(&ten);
    let mut reversed = labels.clone();
    reversed.reverse();
    for _ in 0..3 {
        m.increment("c", &labels).unwrap();
        m.increment("c", &reversed).unwrap();
    }
    // One value differs (in its last byte, or past byte 16 where the
    // code is a hash): other series.
    let mut other = ten.clone();
    other[9].1 = "value-number-X".into();
    let mut long = ten.clone();
    long[4].1 = "a value longer than sixteen bytes".into();
    let mut long2 = ten.clone();
    long2[4].1 = "a value longer than sixteen bytez".into();
    for _ in 0..2 {
        m.increment("c", &as_refs(&other)).unwrap();
        m.increment("c", &as_refs(&long)).unwrap();
        m.increment("c", &as_refs(&long2)).unwrap();
    }
    assert_eq!(value(&m, &labels), 6.0);
    assert_eq!(value(&m, &as_refs(&other)), 2.0);
    assert_eq!(value(&m, &as_refs(&long)), 2.0);
    assert_eq!(value(&m, &as_refs(&long2)), 2.0);
    // The same label sets from one call site in turn (the by-site slot
    // changes hands every call).
    for i in 0..40 {
        let set = if i % 2 == 0 { &labels } else { &reversed };
        m.increment("c", set).unwrap();
    }
    assert_eq!(value(&m, &labels), 46.0);
}

/// Over 16 bytes a string is kept as a hash: two strings with the same
/// hash are still two series, because such an entry confirms its match
/// byte for byte.
#[test]
fn a_hash_collision_is_still_another_series() {
    use super::{code, Cached};
    use crate::metrics::MetricType;
    let m = FccMetrics::builder().points_capacity(0).build();
    let reg = &m.inner.registry;
    let (a, b) = (
        "a value longer than 16 bytes, A",
        "a value longer than 16 bytes, B",
    );
    let family = reg.family("c", MetricType::Counter).unwrap();
    let series = family.series(&[("k", a)]);
    // An entry for `a` whose code for it is `b`'s: as if they collided.
    let entry = Cached {
        header: super::header(reg.id, MetricType::Counter, 1),
        pin: [0; 3],
        codes: vec![code("c"), code("k"), code(b)].into(),
        verify: true,
        family,
        series,
        order: vec![0].into(),
        shard: None,
        _lease: None,
    };
    assert!(!entry.matches(reg.id, MetricType::Counter, "c", &[("k", b)], [1; 3]));
    let honest = Cached {
        codes: vec![code("c"), code("k"), code(a)].into(),
        ..entry
    };
    assert!(honest.matches(reg.id, MetricType::Counter, "c", &[("k", a)], [1; 3]));
    assert!(!honest.matches(reg.id, MetricType::Counter, "c", &[("k", b)], [1; 3]));
}

#[test]
fn codes_are_exact_up_to_16_bytes() {
    use super::code;
    let strings = [
        "",
        "a",
        "ab",
        "abc",
        "abcdefgh",
        "abcdefghi",
        "abcdefgha",
        "bbcdefghi",
        "abcdefghijklmnop",
        "abcdefghijklmnoq",
        "xbcdefghijklmnop",
        "abcdefghijklmno",
    ];
    for x in strings {
        for y in strings {
            assert_eq!(code(x) == code(y), x == y, "{x:?} {y:?}");
        }
    }
}

#[test]
fn static_and_runtime_copies_of_a_label_set_are_one_series() {
    const SET: [(&str, &str); 2] = [("a", "1"), ("b", "2")];
    let m = FccMetrics::builder().points_capacity(0).build();
    for _ in 0..3 {
        m.increment("c", &SET).unwrap(); // pinned on Linux
    }
    let (a, one) = (String::from("a"), String::from("1"));
    let heap = [(a.as_str(), one.as_str()), ("b", "2")];
    for _ in 0..2 {
        m.increment("c", &heap).unwrap();
    }
    // One call site, the static set and the runtime copy in turn.
    for i in 0..4 {
        let set: &[(&str, &str)] = if i % 2 == 0 { &SET } else { &heap };
        m.increment("c", set).unwrap();
    }
    assert_eq!(value(&m, &SET), 9.0);
    // Other static content at another address: another series.
    m.increment("c", &[("a", "1"), ("b", "3")]).unwrap();
    assert_eq!(value(&m, &[("a", "1"), ("b", "3")]), 1.0);
    assert_eq!(value(&m, &SET), 9.0);
}

#[test]
fn a_static_site_found_through_the_label_set_table_gets_its_own_pin() {
    static SET: [(&str, &str); 1] = [("k", "v")];
    if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
        return;
    }
    let m = FccMetrics::builder().points_capacity(0).build();
    let (k, v) = (String::from("k"), String::from("v"));
    // A runtime copy fills both tables with an entry that is not pinned.
    m.increment("c", &[(k.as_str(), v.as_str())]).unwrap();
    // Another site, the static set: found in the label-set table.
    m.increment("c", &SET).unwrap();
    let pinned = super::CACHE.with(|c| {
        c.borrow()
            .by_site
            .iter()
            .flatten()
            .any(|e| e.pin[2] == SET.as_ptr() as usize)
    });
    assert!(pinned);
    assert_eq!(value(&m, &SET), 2.0);
}

#[test]
fn only_read_only_label_sets_and_keys_are_pinned() {
    use super::Pin;
    if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
        return;
    }
    let promoted: &[(&str, &str)] = &[("k", "v")];
    assert!(Pin::Args.holds("c", promoted));
    let on_stack = [("k", "v")];
    assert!(!Pin::Args.holds("c", &on_stack));
    let heap = String::from("v");
    let boxed: Box<[(&str, &str)]> = Box::new([("k", heap.as_str())]);
    assert!(!Pin::Args.holds("c", &boxed));
    let name = String::from("c");
    assert!(!Pin::Args.holds(&name, promoted));

    static LABELS: [metrics::Label; 1] = [metrics::Label::from_static_parts("k", "v")];
    static KEY: metrics::Key = metrics::Key::from_static_parts("c", &LABELS);
    let key_pin = |k: &metrics::Key| {
        Pin::Key(
            std::ptr::from_ref(k) as usize,
            std::mem::size_of::<metrics::Key>(),
        )
    };
    assert!(key_pin(&KEY).holds("", &[]));
    let boxed = Box::new(metrics::Key::from_static_parts("c", &LABELS));
    assert!(!key_pin(&boxed).holds("", &[]));
}

#[test]
fn a_cached_name_still_refuses_another_type() {
    let m = FccMetrics::builder().points_capacity(0).build();
    m.increment("c", &[("k", "v")]).unwrap();
    m.increment("c", &[("k", "v")]).unwrap();
    assert!(m.record("c", 1.0, &[("k", "v")]).is_err());
    assert!(m.observe("c", 1.0, &[("k", "v")]).is_err());
    assert_eq!(value(&m, &[("k", "v")]), 2.0);
}

#[test]
fn two_registries_never_share_a_cached_series() {
    let (a, b) = (FccMetrics::new(), FccMetrics::new());
    for _ in 0..3 {
        a.increment("c", &[("k", "v")]).unwrap();
    }
    b.increment("c", &[("k", "v")]).unwrap();
    assert_eq!(value(&a, &[("k", "v")]), 3.0);
    assert_eq!(value(&b, &[("k", "v")]), 1.0);
}
