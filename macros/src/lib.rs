//! `#[traced]`: wraps a function in an fcc span. Use it as `fcc::traced`;
//! see there for the documentation.
//!
//! `attr.rs` parses the arguments; `expand.rs` writes the wrapped function.

mod attr;
mod expand;

use proc_macro::TokenStream;

/// Wraps the function in a span. See `fcc::traced` for the documentation.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match attr::parse(args.into()) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let function = match syn::parse::<syn::ItemFn>(item) {
        Ok(f) => f,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "#[traced] goes on a function or method (`fn` or `async fn`)",
            )
            .to_compile_error()
            .into()
        }
    };
    match expand::expand(args, function) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
