//! W3C trace context identifiers carried by events.

use std::fmt;
use std::str::FromStr;

/// Why a trace or span id is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    what: &'static str,
    input: String,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = if self.what == "trace id" { 32 } else { 16 };
        write!(
            f,
            "`{}` is not a valid {}: expected {digits} lower-case hex digits, not all zero",
            self.input, self.what
        )
    }
}

impl std::error::Error for IdError {}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $int:ty, $nonzero:ty, $digits:literal, $what:literal) => {
        $(#[$doc])*
        // Non-zero inside: an `Option` of an id (a span's parent) is no
        // bigger than the id.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($nonzero);

        impl $name {
            /// From the integer form; `None` for the all-zero (invalid) id.
            pub const fn new(value: $int) -> Option<Self> {
                match <$nonzero>::new(value) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// The integer form (big-endian reading of the W3C bytes).
            pub const fn get(self) -> $int {
                self.0.get()
            }

            /// The W3C byte form.
            pub const fn to_bytes(self) -> [u8; $digits / 2] {
                self.0.get().to_be_bytes()
            }

            /// From the W3C byte form; `None` if all zero.
            pub const fn from_bytes(bytes: [u8; $digits / 2]) -> Option<Self> {
                Self::new(<$int>::from_be_bytes(bytes))
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let err = || IdError { what: $what, input: s.to_owned() };
                let ok = s.len() == $digits
                    && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if !ok {
                    return Err(err());
                }
                <$int>::from_str_radix(s, 16).ok().and_then(Self::new).ok_or_else(err)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:0width$x}", self.0.get(), width = $digits)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }
    };
}

hex_id!(
    /// A 16-byte W3C trace id, written as 32 lower-case hex digits.
    ///
    /// ```
    /// let id: fcc::TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
    /// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// ```
    TraceId, u128, std::num::NonZeroU128, 32, "trace id"
);
hex_id!(
    /// An 8-byte W3C span id, written as 16 lower-case hex digits.
    SpanId, u64, std::num::NonZeroU64, 16, "span id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejections() {
        let s: SpanId = "00f067aa0ba902b7".parse().unwrap();
        assert_eq!(s.to_string(), "00f067aa0ba902b7");
        assert_eq!(SpanId::from_bytes(s.to_bytes()), Some(s));
        for bad in [
            "",
            "0000000000000000",
            "00F067AA0BA902B7",
            "00f067aa0ba902b",
            "+0f067aa0ba902b7",
        ] {
            assert!(bad.parse::<SpanId>().is_err(), "{bad}");
        }
        assert!("4bf92f3577b34da6a3ce929d0e0e4736"
            .parse::<TraceId>()
            .is_ok());
        assert!("00000000000000000000000000000000"
            .parse::<TraceId>()
            .is_err());
    }
}
