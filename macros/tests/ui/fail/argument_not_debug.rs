struct Secret;

#[fcc::traced]
fn f(secret: Secret) {
    let _ = secret;
}

fn main() {}
