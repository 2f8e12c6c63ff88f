#[fcc::traced]
struct NotAFunction;

fn main() {}
