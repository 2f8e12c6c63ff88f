//! Span attributes as plain Rust: `("step", 3)`, `("scenario_id", "SC-001")`,
//! or an OpenTelemetry `KeyValue`, for [`FccTracer::span_with`](super::FccTracer::span_with)
//! and [`Span::set_attributes`](super::Span::set_attributes).
//!
//! ```
//! let tracer = fcc::FccTracer::new("svc");
//! // Pairs of one value type in an array or Vec...
//! drop(tracer.span_with("op", [("scenario_id", "SC-001"), ("node", "N1")]));
//! // ...pairs of different value types with `attrs!` (an array's items
//! // share one type in Rust)...
//! drop(tracer.span_with("op", fcc::attrs![("scenario_id", "SC-001"), ("step", 3), ("ok", true)]));
//! // ...or OpenTelemetry key-values.
//! drop(tracer.span_with("op", [fcc::trace::KeyValue::new("step", 3_i64)]));
//! let spans = tracer.completed_spans();
//! assert_eq!(spans[1].attribute("step"), Some(&fcc::trace::Value::I64(3)));
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use super::{Key, KeyValue, Value};

/// A value an attribute can hold: numbers, `bool`, strings, or an
/// OpenTelemetry [`Value`].
pub trait AttributeValue {
    /// As an OpenTelemetry value.
    fn into_value(self) -> Value;
}

macro_rules! ints {
    ($($t:ty),*) => {$(
        impl AttributeValue for $t {
            fn into_value(self) -> Value {
                Value::I64(i64::from(self))
            }
        }
    )*};
}
ints!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_ints {
    ($($t:ty),*) => {$(
        /// Past `i64::MAX` the value is kept as its decimal text.
        impl AttributeValue for $t {
            fn into_value(self) -> Value {
                match i64::try_from(self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                }
            }
        }
    )*};
}
wide_ints!(u64, usize, i128, u128);

impl AttributeValue for isize {
    fn into_value(self) -> Value {
        Value::I64(self as i64)
    }
}

impl AttributeValue for f64 {
    fn into_value(self) -> Value {
        Value::F64(self)
    }
}

impl AttributeValue for f32 {
    fn into_value(self) -> Value {
        Value::F64(f64::from(self))
    }
}

impl AttributeValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl AttributeValue for &str {
    fn into_value(self) -> Value {
        Value::String(self.to_owned().into())
    }
}

impl AttributeValue for String {
    fn into_value(self) -> Value {
        Value::String(self.into())
    }
}

impl AttributeValue for &String {
    fn into_value(self) -> Value {
        Value::String(self.clone().into())
    }
}

impl AttributeValue for Cow<'static, str> {
    fn into_value(self) -> Value {
        Value::String(self.into())
    }
}

impl AttributeValue for Arc<str> {
    fn into_value(self) -> Value {
        Value::String(self.into())
    }
}

impl AttributeValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

/// One attribute: a `(key, value)` pair or a [`KeyValue`].
pub trait IntoAttribute {
    /// As an OpenTelemetry key-value.
    fn into_attribute(self) -> KeyValue;
}

impl IntoAttribute for KeyValue {
    fn into_attribute(self) -> KeyValue {
        self
    }
}

impl<K: Into<Key>, V: AttributeValue> IntoAttribute for (K, V) {
    fn into_attribute(self) -> KeyValue {
        KeyValue::new(self.0, self.1.into_value())
    }
}

/// A set of attributes: any iterator of [`IntoAttribute`] items (an
/// array, a `Vec`, a `map`). Pairs with values of different types go in an
/// [`attrs!`](crate::attrs) list (a Rust array's items share one type).
pub trait Attributes {
    /// Appends them to `out`.
    fn push_into(self, out: &mut Vec<KeyValue>);
}

impl<I> Attributes for I
where
    I: IntoIterator,
    I::Item: IntoAttribute,
{
    fn push_into(self, out: &mut Vec<KeyValue>) {
        out.extend(self.into_iter().map(IntoAttribute::into_attribute));
    }
}

/// Attributes of different value types, for
/// [`FccTracer::span_with`](crate::FccTracer::span_with) and
/// [`Span::set_attributes`](crate::trace::Span::set_attributes): each item is
/// a `(key, value)` pair or a `KeyValue`.
///
/// ```
/// let tracer = fcc::FccTracer::new("svc");
/// drop(tracer.span_with("simulation.run", fcc::attrs![("scenario_id", "SC-001"), ("step", 3)]));
/// assert_eq!(tracer.completed_spans()[0].attributes.len(), 2);
/// ```
#[macro_export]
macro_rules! attrs {
    ($($item:expr),* $(,)?) => {
        [$($crate::trace::IntoAttribute::into_attribute($item)),*]
    };
}
