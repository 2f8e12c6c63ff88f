#![deny(warnings)]

use fcc::{traced, FccTracer};

#[traced]
fn bare() {}

#[traced("named")]
fn positional_name(x: u8) -> u8 {
    x
}

#[traced(name = "named", skip(secret), tracer = tracer)]
fn everything(secret: &str, tracer: Option<&FccTracer>) -> Result<usize, std::io::Error> {
    Ok(secret.len())
}

// The seed's form: a parameter named `tracer` is the tracer.
#[traced("my_operation")]
fn seed_form(data: u32, tracer: Option<&FccTracer>) -> u32 {
    data
}

#[traced]
fn seed_form_owned(tracer: FccTracer) {}

#[traced(skip_all)]
fn skip_all(_a: NotDebug) {}

struct NotDebug;

struct S {
    tracer: FccTracer,
}

impl S {
    #[traced(tracer = self.tracer)]
    fn method(&self) -> impl std::fmt::Display {
        1
    }

    #[traced(tracer = &self.tracer)]
    async fn async_method(&mut self, n: u32) -> Result<u32, String> {
        Ok(n)
    }
}

#[traced]
fn one_expression(x: u8) -> u8 {
    x + 1
}

#[traced]
async fn async_one_expression(x: u8) -> u8 {
    x + 1
}

#[traced]
fn generic<T: std::fmt::Debug>(t: T) -> T {
    t
}

#[traced]
async fn async_free(x: &str) -> String {
    x.to_owned()
}

fn main() {
    bare();
    positional_name(1);
    let _ = everything("x", None);
    let _ = seed_form(1, None);
    seed_form_owned(FccTracer::new("ui"));
    skip_all(NotDebug);
    let s = S { tracer: FccTracer::new("ui") };
    let _ = s.method().to_string();
    let _ = generic(3);
    let _ = one_expression(1);
    let _ = async_one_expression(1);
    let _ = async_free("x");
}
