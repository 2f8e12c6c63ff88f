#[fcc::traced]
const fn f() -> u8 {
    1
}

fn main() {}
