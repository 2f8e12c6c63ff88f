#[fcc::traced(tracer = 42)]
fn f() {}

fn main() {}
