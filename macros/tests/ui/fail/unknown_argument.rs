#[fcc::traced(level = "info")]
fn f() {}

fn main() {}
