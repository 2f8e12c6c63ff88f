//! Parsing `#[traced(...)]` arguments.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Token};

/// What the attribute asked for.
#[derive(Default)]
pub(crate) struct Args {
    /// The span name (default: the function's name).
    pub name: Option<LitStr>,
    /// Parameters not recorded as attributes.
    pub skip: Vec<Ident>,
    /// Record no parameters.
    pub skip_all: bool,
    /// `tracer = expr`: use this tracer instead of the global one.
    pub tracer: Option<Expr>,
}

enum Arg {
    Name(LitStr),
    Skip(Vec<Ident>),
    SkipAll,
    Tracer(Ident, Expr),
}

const EXPECTED: &str =
    "expected a span name (\"name\" or `name = \"...\"`), `skip(arg, ...)`, `skip_all` or `tracer = <expr>`";

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(Arg::Name(input.parse()?));
        }
        let key: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), EXPECTED))?;
        match key.to_string().as_str() {
            "name" => {
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse().map_err(|e| {
                    syn::Error::new(e.span(), "the span name must be a string literal")
                })?;
                Ok(Arg::Name(lit))
            }
            "skip" => {
                let content;
                syn::parenthesized!(content in input);
                let idents = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                Ok(Arg::Skip(idents.into_iter().collect()))
            }
            "skip_all" => Ok(Arg::SkipAll),
            "tracer" => {
                input.parse::<Token![=]>()?;
                Ok(Arg::Tracer(key, input.parse()?))
            }
            other => Err(syn::Error::new(
                key.span(),
                format!("unknown #[traced] argument `{other}`: {EXPECTED}"),
            )),
        }
    }
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let list = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut args = Args::default();
    for arg in list {
        match arg {
            Arg::Name(lit) => {
                if args.name.is_some() {
                    return Err(syn::Error::new(lit.span(), "the span name is given twice"));
                }
                if lit.value().is_empty() {
                    return Err(syn::Error::new(
                        lit.span(),
                        "the span name must not be empty",
                    ));
                }
                args.name = Some(lit);
            }
            Arg::Skip(idents) => args.skip.extend(idents),
            Arg::SkipAll => args.skip_all = true,
            Arg::Tracer(key, expr) => {
                if args.tracer.is_some() {
                    return Err(syn::Error::new(key.span(), "`tracer` is given twice"));
                }
                args.tracer = Some(expr);
            }
        }
    }
    Ok(args)
}
