#[fcc::traced(name = my_span)]
fn f() {}

fn main() {}
