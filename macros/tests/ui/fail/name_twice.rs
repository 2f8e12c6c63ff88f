#[fcc::traced("a", name = "b")]
fn f() {}

fn main() {}
