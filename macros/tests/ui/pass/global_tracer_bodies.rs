#![deny(warnings)]
//! With the global tracer, a `#[traced]` body runs as a closure: every
//! shape of body a plain function may have still compiles.

use fcc::traced;

struct Named {
    name: String,
    count: u32,
}

impl Named {
    // An elided lifetime in the return type, tied to `&self`.
    #[traced]
    fn name(&self) -> &str {
        &self.name
    }

    // `&mut self`, mutated.
    #[traced]
    fn bump(&mut self) -> u32 {
        self.count += 1;
        self.count
    }

    // Borrows out of `&mut self` and `&mut` arguments.
    #[traced]
    fn count_mut(&mut self) -> &mut u32 {
        &mut self.count
    }

    #[traced]
    fn name_of_mut(&mut self) -> &str {
        &self.name
    }

    #[traced]
    fn with_count(&mut self, n: u32) -> &mut Self {
        self.count = n;
        self
    }

    // `self` by value.
    #[traced]
    fn into_name(self) -> String {
        self.name
    }
}

#[traced]
fn bump(v: &mut u8) -> &mut u8 {
    *v += 1;
    v
}

// An `impl Trait` return written by a `macro_rules!` type (a group).
macro_rules! returning {
    ($t:ty) => {
        #[traced]
        fn from_macro(n: u32) -> $t {
            n
        }
    };
}
returning!(impl std::fmt::Display);

// A `Result` written by a `macro_rules!` type: its errors are recorded.
macro_rules! fallible {
    ($t:ty) => {
        #[traced]
        fn parse_from_macro(text: &str) -> $t {
            text.parse::<u32>().map_err(|e| e.to_string())
        }
    };
}
fallible!(Result<u32, String>);

// `track_caller` through `cfg_attr`.
#[traced]
#[cfg_attr(all(), track_caller)]
fn caller_line_cfg() -> u32 {
    std::panic::Location::caller().line()
}

// A reference out of an argument.
#[traced]
fn first(v: &[u8]) -> &u8 {
    &v[0]
}

// Inner attributes on the body's first line.
#[traced]
fn inner_attributes(x: u32) -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    x
}

#[traced(tracer = None::<&fcc::FccTracer>)]
fn inner_attributes_with_tracer(x: u32) -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    x
}

// A `mut` argument, an early `return`.
#[traced]
fn count_down(mut n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    while n > 1 {
        n -= 1;
    }
    n
}

// `?` with a `From` conversion.
#[traced]
fn parse(text: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let n: u32 = text.parse()?;
    Ok(n)
}

// A `static` in the body stays one static.
#[traced]
fn calls() -> usize {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

// Recursion, and an `impl Trait` argument.
#[traced(skip(f))]
fn depth(n: u32, f: impl Fn(u32) -> u32 + Copy) -> u32 {
    if n == 0 { f(0) } else { depth(n - 1, f) }
}

// The never type, a `where` clause, `Self` in the return type.
#[traced]
#[allow(dead_code)]
fn never(reason: &str) -> ! {
    panic!("{reason}")
}

#[traced(skip(t))]
fn where_clause<T>(t: T) -> usize
where
    T: IntoIterator,
{
    t.into_iter().count()
}

impl Default for Named {
    #[traced]
    fn default() -> Self {
        Named { name: String::new(), count: 0 }
    }
}

// Kept as they were (a closure would change them).
#[traced]
unsafe fn raw_read(p: *const u8) -> u8 {
    unsafe { *p }
}

#[traced]
#[track_caller]
fn caller_line() -> u32 {
    std::panic::Location::caller().line()
}

#[traced]
fn returns_impl(n: u32) -> impl std::fmt::Display {
    n
}

fn check(round: usize) {
    let mut s = Named { name: "n".into(), count: 0 };
    assert_eq!(s.name(), "n");
    assert_eq!(s.bump(), 1);
    *s.count_mut() += 1;
    assert_eq!(s.name_of_mut(), "n");
    assert_eq!(s.with_count(7).count, 7);
    let mut b = 1;
    assert_eq!(*bump(&mut b), 2);
    assert_eq!(from_macro(4).to_string(), "4");
    assert!(parse_from_macro("x").is_err());
    // The caller's line, not the macro's.
    assert_eq!(caller_line_cfg(), line!());
    assert_eq!(s.into_name(), "n");
    assert_eq!(*first(&[7, 8]), 7);
    assert_eq!(count_down(5), 1);
    assert_eq!(inner_attributes(3), 3);
    assert_eq!(inner_attributes_with_tracer(3), 3);
    assert_eq!(parse("12").unwrap(), 12);
    assert!(parse("x").is_err());
    assert_eq!(calls(), 2 * round - 1);
    assert_eq!(calls(), 2 * round);
    assert_eq!(depth(3, |x| x + 1), 1);
    assert_eq!(unsafe { raw_read(&5) }, 5);
    let _ = caller_line();
    assert_eq!(returns_impl(3).to_string(), "3");
    assert_eq!(where_clause(vec![1, 2]), 2);
    assert_eq!(Named::default().count, 0);
    assert!(std::panic::catch_unwind(|| never("stop")).is_err());
}

fn main() {
    // No tracer installed, then one.
    check(1);
    let tracer = fcc::FccTracer::new("ui");
    fcc::trace::set_global(Some(tracer.clone()));
    check(2);
    let names: Vec<String> = tracer
        .completed_spans()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert!(names.contains(&"name".to_string()), "{names:?}");
    assert!(names.contains(&"parse".to_string()), "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "depth").count(), 4);
    let failed = |name: &str| {
        tracer
            .completed_spans()
            .into_iter()
            .filter(|s| s.name == name)
            .filter(|s| matches!(s.status, fcc::trace::SpanStatus::Error { .. }))
            .count()
    };
    assert_eq!(failed("parse"), 1);
    assert_eq!(failed("parse_from_macro"), 1);
}
