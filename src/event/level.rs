//! [`Severity`] and [`Outcome`]: the Go seed's normalised levels and results.

use std::fmt;
use std::str::FromStr;

/// Why a string is not one of a fixed set of names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    what: &'static str,
    input: String,
    expected: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} `{}`: expected one of {}",
            self.what,
            self.input,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $var:ident => $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $var,)+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The lower-case name used in JSON, logs and the store.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$var => $text,)+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($text $(| $alias)* => Ok($name::$var),)+
                    _ => Err(UnknownName { what: $what, input: s.to_owned(), expected: &[$($text),+] }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

named_enum!(
    /// How much an event matters: `debug < info < warn < error`.
    ///
    /// Parsing also accepts `warning` for [`Severity::Warn`], as slog and
    /// OpenTelemetry spell it.
    ///
    /// ```
    /// use fcc::Severity;
    /// assert!(Severity::Debug < Severity::Error);
    /// assert_eq!("warning".parse::<Severity>().unwrap(), Severity::Warn);
    /// ```
    Severity, "severity" {
        /// Local detail, normally filtered out.
        Debug => "debug",
        /// Normal lifecycle progress (the default).
        Info => "info",
        /// Something went wrong but the system coped.
        Warn => "warn" | "warning",
        /// Something failed and needs attention.
        Error => "error",
    }
);

// The variants come from a macro, so `#[derive(Default)]` cannot mark one.
#[allow(clippy::derivable_impls)]
impl Default for Severity {
    fn default() -> Self {
        Severity::Info
    }
}

impl Severity {
    /// The OpenTelemetry `SeverityNumber` for this level (DEBUG=5, INFO=9, WARN=13, ERROR=17).
    pub const fn otel_severity_number(self) -> i32 {
        match self {
            Severity::Debug => 5,
            Severity::Info => 9,
            Severity::Warn => 13,
            Severity::Error => 17,
        }
    }
}

named_enum!(
    /// The normalised result an event reports (the Go seed's `Outcome`).
    ///
    /// ```
    /// use fcc::Outcome;
    /// assert_eq!("timeout".parse::<Outcome>().unwrap(), Outcome::Timeout);
    /// assert!(Outcome::Failure.is_unsuccessful());
    /// ```
    Outcome, "outcome" {
        /// It worked.
        Success => "success",
        /// It failed.
        Failure => "failure",
        /// It ran out of time.
        Timeout => "timeout",
        /// It was cancelled before finishing.
        Cancelled => "cancelled" | "canceled",
        /// A policy or peer refused it (a failed gate, a 403, a full queue).
        Rejected => "rejected",
        /// It was deliberately not done.
        Skipped => "skipped",
        /// Started or accepted; the result comes in a later event.
        Pending => "pending",
    }
);

impl Outcome {
    /// True for failure, timeout and rejected.
    pub const fn is_unsuccessful(self) -> bool {
        matches!(
            self,
            Outcome::Failure | Outcome::Timeout | Outcome::Rejected
        )
    }
}
