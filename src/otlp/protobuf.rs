//! The protobuf wire format, written by hand: varints, keys,
//! length-delimited fields, and `common.proto`'s `AnyValue`, `ArrayValue`
//! and `KeyValue`. Each message has a `*_len` function (its size, so the
//! length prefix is known before writing) and a `put_*` function (its
//! bytes). [`super::trace_encode`] builds OTLP trace requests from these.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::{Array, KeyValue, Value};

pub(super) const VARINT: u8 = 0;
pub(super) const FIXED64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const FIXED32: u8 = 5;

pub(super) fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn key_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

pub(super) fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// The size of a length-delimited field holding `len` bytes.
pub(super) fn len_field(field: u32, len: usize) -> usize {
    key_len(field) + varint_len(len as u64) + len
}

pub(super) fn put_len(out: &mut Vec<u8>, field: u32, len: usize) {
    put_key(out, field, LEN);
    put_varint(out, len as u64);
}

pub(super) fn put_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    put_len(out, field, b.len());
    out.extend_from_slice(b);
}

pub(super) fn put_fixed64(out: &mut Vec<u8>, field: u32, v: u64) {
    put_key(out, field, FIXED64);
    out.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

// --- common.proto: AnyValue, ArrayValue, KeyValue ---------------------------

/// One array element as an `AnyValue` (its size and writer).
pub(super) enum Scalar<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
}

impl Scalar<'_> {
    pub(super) fn len(&self) -> usize {
        match self {
            Scalar::Str(s) => len_field(1, s.len()),
            Scalar::Bool(_) => key_len(2) + 1,
            Scalar::Int(i) => key_len(3) + varint_len(*i as u64),
            Scalar::Double(_) => key_len(4) + 8,
        }
    }

    pub(super) fn put(&self, out: &mut Vec<u8>) {
        match self {
            Scalar::Str(s) => put_bytes(out, 1, s.as_bytes()),
            Scalar::Bool(b) => {
                put_key(out, 2, VARINT);
                out.push(u8::from(*b));
            }
            Scalar::Int(i) => {
                put_key(out, 3, VARINT);
                put_varint(out, *i as u64);
            }
            Scalar::Double(d) => {
                put_key(out, 4, FIXED64);
                out.extend_from_slice(&d.to_le_bytes());
            }
        }
    }
}

pub(super) fn array_items(a: &Array) -> Box<dyn Iterator<Item = Scalar<'_>> + '_> {
    match a {
        Array::Bool(v) => Box::new(v.iter().map(|b| Scalar::Bool(*b))),
        Array::I64(v) => Box::new(v.iter().map(|i| Scalar::Int(*i))),
        Array::F64(v) => Box::new(v.iter().map(|d| Scalar::Double(*d))),
        Array::String(v) => Box::new(v.iter().map(|s| Scalar::Str(s.as_str()))),
        _ => Box::new(std::iter::empty()),
    }
}

/// The `ArrayValue` body's size.
pub(super) fn array_len(a: &Array) -> usize {
    array_items(a).map(|s| len_field(1, s.len())).sum()
}

/// The `AnyValue` body's size (`value` as one of its cases).
pub(super) fn any_len(v: &Value) -> usize {
    match v {
        Value::Bool(b) => Scalar::Bool(*b).len(),
        Value::I64(i) => Scalar::Int(*i).len(),
        Value::F64(d) => Scalar::Double(*d).len(),
        Value::String(s) => Scalar::Str(s.as_str()).len(),
        Value::Array(a) => len_field(5, array_len(a)),
        other => len_field(1, other.to_string().len()),
    }
}

pub(super) fn put_any(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Bool(b) => Scalar::Bool(*b).put(out),
        Value::I64(i) => Scalar::Int(*i).put(out),
        Value::F64(d) => Scalar::Double(*d).put(out),
        Value::String(s) => Scalar::Str(s.as_str()).put(out),
        Value::Array(a) => {
            put_len(out, 5, array_len(a));
            for s in array_items(a) {
                put_len(out, 1, s.len());
                s.put(out);
            }
        }
        other => put_bytes(out, 1, other.to_string().as_bytes()),
    }
}

/// The `KeyValue` body's size.
pub(super) fn kv_len(kv: &KeyValue) -> usize {
    len_field(1, kv.key.as_str().len()) + len_field(2, any_len(&kv.value))
}

/// Writes `kv` as field `field` of the enclosing message.
pub(super) fn put_kv(out: &mut Vec<u8>, field: u32, kv: &KeyValue) {
    put_len(out, field, kv_len(kv));
    put_bytes(out, 1, kv.key.as_str().as_bytes());
    put_len(out, 2, any_len(&kv.value));
    put_any(out, &kv.value);
}

pub(super) fn kvs_len(field: u32, kvs: &[KeyValue]) -> usize {
    kvs.iter().map(|kv| len_field(field, kv_len(kv))).sum()
}

pub(super) fn uint_len(field: u32, v: u32) -> usize {
    if v == 0 {
        0
    } else {
        key_len(field) + varint_len(u64::from(v))
    }
}

pub(super) fn put_uint(out: &mut Vec<u8>, field: u32, v: u32) {
    if v != 0 {
        put_key(out, field, VARINT);
        put_varint(out, u64::from(v));
    }
}
