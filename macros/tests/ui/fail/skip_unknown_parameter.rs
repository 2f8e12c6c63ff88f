#[fcc::traced(skip(passwrd))]
fn login(password: &str) {
    let _ = password;
}

fn main() {}
