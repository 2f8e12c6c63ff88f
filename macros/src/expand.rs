//! Writing the wrapped function.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, ReturnType, Type};

use crate::attr::Args;

pub(crate) fn expand(args: Args, function: ItemFn) -> syn::Result<TokenStream> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span(),
            "#[traced] cannot wrap a `const fn`",
        ));
    }
    let params: Vec<&syn::Ident> = sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) => Some(&p.ident),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect();
    for s in &args.skip {
        if !params.contains(&s) {
            return Err(syn::Error::new(
                s.span(),
                format!("`skip({s})`: the function has no parameter `{s}`"),
            ));
        }
    }
    // The seed's form: a parameter named `tracer` of an `FccTracer` type (a
    // reference, an `Option` or an `Arc` of one) is the span's tracer when
    // `tracer = ...` is not given, and is not recorded as an attribute.
    let implicit_tracer: Option<&syn::Ident> = if args.tracer.is_none() {
        sig.inputs.iter().find_map(|a| match a {
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) if p.ident == "tracer" && is_tracer_type(&t.ty) => Some(&p.ident),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
    } else {
        None
    };
    let params: Vec<&syn::Ident> = params
        .into_iter()
        .filter(|p| Some(*p) != implicit_tracer)
        .collect();
    let recorded: Vec<&syn::Ident> = if args.skip_all {
        Vec::new()
    } else {
        params
            .into_iter()
            .filter(|p| !args.skip.iter().any(|s| s == *p))
            .collect()
    };
    let fn_name = &sig.ident;
    let span_name = match &args.name {
        Some(lit) => quote!(#lit),
        None => {
            let s = fn_name.to_string();
            quote!(#s)
        }
    };
    let pushes: Vec<TokenStream> = recorded
        .iter()
        .map(|p| {
            let key = p.to_string();
            quote_spanned! {p.span()=>
                __fcc_attrs.push(::fcc::trace::KeyValue::new(#key, (&::fcc::trace::__private::Arg(&#p)).attribute_value()));
            }
        })
        .collect();
    let function_path = quote!(::core::concat!(
        ::core::module_path!(),
        "::",
        ::core::stringify!(#fn_name)
    ));
    let code_location = quote! {
        {
            static __FCC_CODE: ::fcc::trace::__private::CodeLocation =
                ::fcc::trace::__private::CodeLocation {
                    function: #function_path,
                    file: ::core::file!(),
                };
            &__FCC_CODE
        }
    };
    let attributes = quote! {
        #code_location,
        |__fcc_attrs: &mut ::std::vec::Vec<::fcc::trace::KeyValue>| {
            #[allow(unused_imports)]
            use ::fcc::trace::__private::{DebugArg as _, TypedArg as _};
            #(#pushes)*
        }
    };
    let start = start_call(
        &args.tracer,
        implicit_tracer,
        &span_name,
        &attributes,
        false,
    );
    // Synchronous bodies start their span entered, in one call.
    // With a tracer, synchronous bodies start their span entered, in one
    // call; with the global one they keep two steps, which the compiler
    // folds to one load and a branch when no tracer is installed.
    let fused = args.tracer.is_some() || implicit_tracer.is_some();
    let start_entered = start_call(&args.tracer, implicit_tracer, &span_name, &attributes, true);
    let returns_result = returns_result(&sig.output);
    let ret_type = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, t) => quote!(#t),
    };
    let has_impl_trait =
        matches!(&sig.output, ReturnType::Type(_, t) if names_ident(t.to_token_stream(), "impl"));
    // In a closure, `Location::caller()` would name the closure's call
    // (also when `track_caller` comes through a `cfg_attr`).
    let track_caller = attrs
        .iter()
        .any(|a| names_ident(a.meta.to_token_stream(), "track_caller"));
    let record = if returns_result {
        quote! {
            if let ::core::result::Result::Err(__fcc_err) = &__fcc_out {
                ::fcc::trace::__private::record_err(&mut __fcc_span, __fcc_err);
            }
        }
    } else {
        quote!()
    };
    let body = if sig.asyncness.is_some() {
        let inner = if has_impl_trait {
            quote!(async move #block)
        } else {
            quote!(async move { let __fcc_ret: #ret_type = #block; __fcc_ret })
        };
        quote! {
            let __fcc_span = #start;
            #[allow(unused_mut)]
            let (__fcc_out, mut __fcc_span) = ::fcc::trace::__private::Traced::new(__fcc_span, #inner).await;
            #record
            __fcc_out
        }
    } else if !fused && !has_impl_trait && sig.unsafety.is_none() && !track_caller {
        // The global tracer: the body is a closure that also records the
        // arguments when asked. With no tracer installed the function is
        // the body and one load and branch before it (no argument's address
        // taken, no span variable); with one, `run_traced` (out of line)
        // starts the span and calls the closure in it.
        let set = quote!(::fcc::trace::__private);
        let run = if returns_result {
            quote!(run_traced_result)
        } else {
            quote!(run_traced)
        };
        quote! {
            // Moved in and spent, so the closure is `FnOnce`: a borrow
            // through a `&mut` argument may then leave it, as from a fn.
            let __fcc_once = #set::Once;
            let __fcc_body = move |__fcc_record: ::core::option::Option<&mut ::std::vec::Vec<::fcc::trace::KeyValue>>| -> #ret_type {
                __fcc_once.spend();
                if let ::core::option::Option::Some(__fcc_attrs) = __fcc_record {
                    #[allow(unused_imports)]
                    use #set::{DebugArg as _, TypedArg as _};
                    let _ = &__fcc_attrs;
                    #(#pushes)*
                }
                #block
            };
            if #set::global_is_set() {
                #set::#run(#span_name, #code_location, __fcc_body)
            } else {
                __fcc_body(::core::option::Option::None)
            }
        }
    } else if returns_result && !has_impl_trait && !fused {
        quote! {
            let mut __fcc_span = #start;
            let __fcc_entered = __fcc_span.enter();
            #[allow(clippy::redundant_closure_call)]
            let __fcc_out = (move || -> #ret_type #block)();
            ::core::mem::drop(__fcc_entered);
            #record
            __fcc_out
        }
    } else if returns_result && !has_impl_trait {
        // The error is recorded while the span is still current.
        quote! {
            #[allow(unused_mut)]
            let mut __fcc_span = #start_entered;
            #[allow(clippy::redundant_closure_call)]
            let __fcc_out = (move || -> #ret_type #block)();
            #record
            ::core::mem::drop(__fcc_span);
            __fcc_out
        }
    } else if !fused {
        quote! {
            let __fcc_span = #start;
            let __fcc_entered = __fcc_span.enter();
            #block
        }
    } else {
        quote! {
            // A `SpanGuard`: the span is left before it ends.
            let __fcc_span = #start_entered;
            #block
        }
    };
    // syn gives the body's inner attributes (`#![allow(..)]` on its first
    // line) with the function's own: they go back inside, where they
    // apply to the whole function, the span code included.
    let (inner, outer): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    Ok(quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #body
        }
    })
}

/// The call that starts the span: with the function's tracer, the
/// implicit one (a `tracer` argument) or the global one; `entered`: the
/// variant that also makes it current (with a tracer only).
fn start_call(
    tracer: &Option<syn::Expr>,
    implicit_tracer: Option<&syn::Ident>,
    span_name: &TokenStream,
    attributes: &TokenStream,
    entered: bool,
) -> TokenStream {
    let with_tracer = if entered {
        quote!(start_entered_with_tracer)
    } else {
        quote!(start_with_tracer)
    };
    match (tracer, implicit_tracer) {
        (None, Some(tracer)) => quote_spanned! {tracer.span()=>
            ::fcc::trace::__private::#with_tracer(&(#tracer), #span_name, #attributes)
        },
        (None, None) => quote! {
            ::fcc::trace::__private::start_global(#span_name, #attributes)
        },
        (Some(expr), _) => quote_spanned! {expr.span()=>
            ::fcc::trace::__private::#with_tracer(&(#expr), #span_name, #attributes)
        },
    }
}

/// `Result<..>` or `...::Result<..>` (io::Result, anyhow::Result, ...).
fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, t) => is_result(t),
        ReturnType::Default => false,
    }
}

/// Whether `t` names a `Result`, also when a `macro_rules!` type gave it
/// as a group.
fn is_result(t: &Type) -> bool {
    match t {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        Type::Group(g) => is_result(&g.elem),
        Type::Paren(p) => is_result(&p.elem),
        _ => false,
    }
}

/// Whether `tokens` name `ident` anywhere, groups included: an `impl
/// Trait` in a type however it is nested (a `macro_rules!` type arrives as
/// one group), an attribute however it is wrapped (`cfg_attr`).
fn names_ident(tokens: TokenStream, ident: &str) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == ident,
        proc_macro2::TokenTree::Group(g) => names_ident(g.stream(), ident),
        _ => false,
    })
}

/// Whether `ty` is an `FccTracer`, a reference to one, or an `Option` or
/// `Arc` of one of those (by the type's last path segment: the macro sees
/// tokens, not resolved types).
fn is_tracer_type(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => is_tracer_type(&r.elem),
        Type::Paren(p) => is_tracer_type(&p.elem),
        Type::Group(g) => is_tracer_type(&g.elem),
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            if last.ident == "FccTracer" {
                return true;
            }
            if last.ident == "Option" || last.ident == "Arc" {
                if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
                    return a
                        .args
                        .iter()
                        .any(|g| matches!(g, syn::GenericArgument::Type(t) if is_tracer_type(t)));
                }
            }
            false
        }
        _ => false,
    }
}
