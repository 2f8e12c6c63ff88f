//! Where an event keeps its strings and payload without an allocation each.
//!
//! Every text field (`source`, `category`, the optional ones) and every
//! payload key is copied into one [`Text`] buffer, inline in the event up to
//! [`INLINE`] bytes (one heap buffer past that), and remembered as a
//! [`Span`]. Up to [`INLINE_ATTRS`] payload entries are kept inline, in the
//! order `serde_json::Map` keeps them (key order, or insertion order with
//! its `preserve_order` feature); the map that [`Event::payload`]
//! returns is built from them on first call. Building an event like
//! `simulation.step` (source, correlation id, detail, two payload fields)
//! so makes two allocations instead of eight: the `Arc` and the one
//! payload string value.
//!
//! [`Event::payload`]: super::Event::payload

use super::{EventData, Payload};
use serde_json::Value;

/// Bytes of text kept inline in the event before it moves to the heap.
pub(super) const INLINE: usize = 160;

/// Payload entries kept inline before the payload becomes a map.
pub(super) const INLINE_ATTRS: usize = 4;

/// Where one string lies in a [`Text`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Span {
    start: u32,
    len: u32,
}

/// The event's strings, one after another.
#[derive(Clone)]
pub(super) enum Text {
    Inline { len: u16, buf: [u8; INLINE] },
    Heap(String),
}

impl Text {
    pub(super) const fn new() -> Self {
        Text::Inline {
            len: 0,
            buf: [0; INLINE],
        }
    }

    /// Bytes held (including strings since replaced by a setter).
    pub(super) fn len(&self) -> usize {
        match self {
            Text::Inline { len, .. } => *len as usize,
            Text::Heap(h) => h.len(),
        }
    }

    /// Appends `s`; returns where it lies. A text past 4 GiB in total is
    /// cut short (at a character boundary) rather than panic.
    #[inline]
    pub(super) fn push(&mut self, s: &str) -> Span {
        let start = self.len();
        let room = (u32::MAX as usize).saturating_sub(start);
        let s = if s.len() > room {
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            &s[..end]
        } else {
            s
        };
        let end = start + s.len();
        match self {
            Text::Inline { len, buf } if end <= INLINE => {
                buf[start..end].copy_from_slice(s.as_bytes());
                *len = end as u16;
            }
            Text::Inline { buf, .. } => {
                let mut heap = String::with_capacity(end.next_power_of_two().max(2 * INLINE));
                // SAFETY: the inline bytes are whole `&str`s appended above.
                heap.push_str(unsafe { std::str::from_utf8_unchecked(&buf[..start]) });
                heap.push_str(s);
                *self = Text::Heap(heap);
            }
            Text::Heap(h) => h.push_str(s),
        }
        Span {
            start: start as u32,
            len: s.len() as u32,
        }
    }

    /// The string at `span` (a span this text returned).
    #[inline]
    pub(super) fn get(&self, span: Span) -> &str {
        let (start, end) = (span.start as usize, span.start as usize + span.len as usize);
        let bytes = match self {
            Text::Inline { buf, .. } => &buf[..],
            Text::Heap(h) => h.as_bytes(),
        };
        // SAFETY: spans are only made by `push`, which appends whole `&str`s
        // and never removes bytes, so `start..end` is one of them.
        unsafe { std::str::from_utf8_unchecked(&bytes[start..end]) }
    }

    /// Heap bytes held (none while inline).
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Text::Inline { .. } => 0,
            Text::Heap(h) => h.capacity(),
        }
    }
}

/// The payload: inline entries in the order the map keeps (key order, or
/// insertion order with serde_json's `preserve_order`), or a map.
#[derive(Clone)]
pub(super) enum Attrs {
    Inline {
        len: u8,
        entries: [(Span, Value); INLINE_ATTRS],
    },
    Map(Payload),
}

const EMPTY_ENTRY: (Span, Value) = (Span { start: 0, len: 0 }, Value::Null);

impl Attrs {
    pub(super) const fn new() -> Self {
        Attrs::Inline {
            len: 0,
            entries: [EMPTY_ENTRY; INLINE_ATTRS],
        }
    }

    /// How many entries.
    pub(super) fn len(&self) -> usize {
        match self {
            Attrs::Inline { len, .. } => *len as usize,
            Attrs::Map(m) => m.len(),
        }
    }
}

/// Whether `serde_json::Map` keeps insertion order (its `preserve_order`
/// feature, which any crate in the build may turn on) rather than key
/// order: the inline entries keep the order the map would, so the JSON
/// form and [`Event::payload`](super::Event::payload) agree either way.
fn map_keeps_insertion_order() -> bool {
    static INSERTION: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INSERTION.get_or_init(|| {
        let mut m = serde_json::Map::new();
        m.insert("b".to_owned(), Value::Null);
        m.insert("a".to_owned(), Value::Null);
        m.keys().next().is_some_and(|k| k == "b")
    })
}

/// The payload's entries in the map's order.
pub(super) enum AttrIter<'a> {
    Inline(&'a Text, std::slice::Iter<'a, (Span, Value)>),
    Map(serde_json::map::Iter<'a>),
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = (&'a str, &'a Value);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            AttrIter::Inline(text, it) => it.next().map(|(k, v)| (text.get(*k), v)),
            AttrIter::Map(it) => it.next().map(|(k, v)| (k.as_str(), v)),
        }
    }
}

impl EventData {
    /// The payload's entries, in the map's order (the order of its JSON form).
    #[inline]
    pub(super) fn attrs(&self) -> AttrIter<'_> {
        match &self.attrs {
            Attrs::Inline { len, entries } => {
                AttrIter::Inline(&self.text, entries[..*len as usize].iter())
            }
            Attrs::Map(m) => AttrIter::Map(m.iter()),
        }
    }

    /// Sets payload field `key` (replacing one of the same name).
    #[inline]
    pub(super) fn set_attr(&mut self, key: &str, value: Value) {
        let text = &mut self.text;
        match &mut self.attrs {
            Attrs::Inline { len, entries } => {
                let n = *len as usize;
                let found = entries[..n].iter().position(|(k, _)| text.get(*k) == key);
                // Where the map would put a new key: in key order, or last
                // when serde_json keeps insertion order (`preserve_order`).
                let at = || {
                    if map_keeps_insertion_order() {
                        n
                    } else {
                        entries[..n].partition_point(|(k, _)| text.get(*k) < key)
                    }
                };
                match found.ok_or_else(at) {
                    Ok(i) => entries[i].1 = value,
                    Err(i) if n < INLINE_ATTRS => {
                        let span = text.push(key);
                        entries[i..=n].rotate_right(1);
                        entries[i] = (span, value);
                        *len += 1;
                    }
                    Err(_) => {
                        let mut map: Payload = entries
                            .iter_mut()
                            .map(|(k, v)| (text.get(*k).to_owned(), std::mem::take(v)))
                            .collect();
                        map.insert(key.to_owned(), value);
                        self.attrs = Attrs::Map(map);
                    }
                }
            }
            Attrs::Map(m) => {
                m.insert(key.to_owned(), value);
            }
        }
        self.materialized = std::sync::OnceLock::new();
    }

    /// Replaces the payload.
    pub(super) fn set_payload(&mut self, payload: Payload) {
        self.attrs = if payload.is_empty() {
            Attrs::new()
        } else {
            Attrs::Map(payload)
        };
        self.materialized = std::sync::OnceLock::new();
    }

    /// The payload as a map (built from the inline entries; owned).
    fn payload_map(&self) -> Payload {
        self.attrs()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }

    /// The payload as a map: the map itself, or one built from the inline
    /// entries on first call and kept.
    pub(super) fn payload(&self) -> &Payload {
        match &self.attrs {
            Attrs::Map(m) => m,
            Attrs::Inline { .. } => self.materialized.get_or_init(|| self.payload_map()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, EventType};
    use serde_json::json;

    #[test]
    fn long_text_moves_to_the_heap_and_reads_back() {
        let long = "x".repeat(3 * super::INLINE);
        let e = Event::builder(EventType::ActionStarted, "src")
            .detail("short")
            .resource(&long)
            .correlation_id("é✓🚀")
            .build();
        assert_eq!(e.source(), "src");
        assert_eq!(e.detail(), Some("short"));
        assert_eq!(e.resource(), Some(long.as_str()));
        assert_eq!(e.correlation_id(), Some("é✓🚀"));
    }

    #[test]
    fn fcc_reads_an_inline_payload_without_building_its_map() {
        let e = Event::builder(EventType::ActionStarted, "src")
            .attr("b", 1)
            .attr("a", "x")
            .build();
        let entries: Vec<_> = e.payload_entries().collect();
        assert_eq!(entries, [("a", &json!("x")), ("b", &json!(1))]);
        assert_eq!(e.payload_len(), 2);
        assert_eq!(e.payload_get("b"), Some(&json!(1)));
        assert_eq!(e.payload_get("c"), None);
        assert!(e.0.materialized.get().is_none(), "the map was built");
        // The attributes fcc gives span events and log records read it too.
        let kv = crate::export::event_attributes::event_attributes(&e);
        assert!(kv.iter().any(|kv| kv.key.as_str() == "payload.a"));
        assert!(e.0.materialized.get().is_none(), "the map was built");
    }

    #[test]
    fn equal_payloads_compare_equal_inline_or_as_a_map() {
        let inline = Event::builder(EventType::ActionStarted, "src")
            .attr("b", 1)
            .attr("a", 2)
            .build();
        let map = inline.to_builder().payload(json!({"a": 2, "b": 1})).build();
        assert_eq!(inline, map);
        let other = inline.to_builder().payload(json!({"a": 2, "b": 3})).build();
        assert_ne!(inline, other);
    }

    #[test]
    fn inline_attrs_behave_like_the_map() {
        let keys = ["b", "a", "d", "c", "a", "e", "f", "b"];
        let mut b = Event::builder(EventType::ActionStarted, "src");
        let mut map = serde_json::Map::new();
        for (i, k) in keys.iter().enumerate() {
            b = b.attr(*k, i);
            map.insert((*k).to_owned(), json!(i));
            let e = b.clone().build();
            assert_eq!(e.payload(), &map, "after {} inserts", i + 1);
            let v: serde_json::Value = serde_json::from_str(e.json()).unwrap();
            assert_eq!(v["payload"], serde_json::Value::Object(map.clone()));
            assert_eq!(e.json(), serde_json::to_string(&e).unwrap());
        }
        let e = Event::builder(EventType::ActionStarted, "src")
            .attr("k", 1)
            .payload(json!({"z": 1}))
            .attr("a", 2)
            .build();
        assert_eq!(e.payload(), json!({"a": 2, "z": 1}).as_object().unwrap());
        let e = Event::builder(EventType::ActionStarted, "src")
            .attr("k", 1)
            .payload(serde_json::Value::Null)
            .build();
        assert!(e.payload().is_empty());
    }
}
