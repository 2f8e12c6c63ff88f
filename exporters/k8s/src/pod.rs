//! [`PodRef`]: the Pod every Event regards, from the downward API.

use std::fmt;

/// The application's own Pod, which every Event regards.
///
/// Read from the downward-API variables `POD_NAME`, `POD_NAMESPACE` and
/// `POD_UID` (see the crate docs for the Deployment snippet). The uid is
/// optional for the API server, but without it `kubectl describe pod` does not
/// list the Events, so [`PodRef::from_env`] asks for all three.
///
/// ```
/// use fcc_k8s::PodRef;
/// let pod = PodRef::new("checkout-7d9f-x2x", "shop").uid("0b8e6a0a-5d61-4c4e-9a53-8a4f1c1e2b3d");
/// assert_eq!(pod.namespace(), "shop");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRef {
    name: String,
    namespace: String,
    uid: Option<String>,
}

impl PodRef {
    /// A Pod by name and namespace (no uid).
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            uid: None,
        }
    }

    /// With its uid.
    pub fn uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = Some(uid.into());
        self
    }

    /// From `POD_NAME`, `POD_NAMESPACE` and `POD_UID`; a missing or empty one
    /// is an error naming it.
    pub fn from_env() -> Result<Self, PodEnvError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// As [`PodRef::from_env`], reading variables through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, PodEnvError> {
        let read = |var: &'static str| {
            get(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(PodEnvError { variable: var })
        };
        Ok(PodRef::new(read("POD_NAME")?, read("POD_NAMESPACE")?).uid(read("POD_UID")?))
    }

    /// The Pod's name (also the Events' `reportingInstance`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Pod's namespace (also the Events' namespace).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The Pod's uid, if known.
    pub fn uid_str(&self) -> Option<&str> {
        self.uid.as_deref()
    }
}

/// A downward-API variable is missing or empty.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PodEnvError {
    /// `POD_NAME`, `POD_NAMESPACE` or `POD_UID`.
    pub variable: &'static str,
}

impl fmt::Display for PodEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = match self.variable {
            "POD_NAME" => "metadata.name",
            "POD_NAMESPACE" => "metadata.namespace",
            _ => "metadata.uid",
        };
        write!(
            f,
            "{} is not set: Kubernetes Events need the Pod they are about; add it to the \
             container's env from the downward API (valueFrom.fieldRef.fieldPath: {field})",
            self.variable
        )
    }
}

impl std::error::Error for PodEnvError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_the_three_variables() {
        let pod = PodRef::from_lookup(env(&[
            ("POD_NAME", "api-1"),
            ("POD_NAMESPACE", "prod"),
            ("POD_UID", "u-1"),
        ]))
        .unwrap();
        assert_eq!(pod, PodRef::new("api-1", "prod").uid("u-1"));
    }

    #[test]
    fn a_missing_or_blank_variable_is_named() {
        let e =
            PodRef::from_lookup(env(&[("POD_NAMESPACE", "prod"), ("POD_UID", "u")])).unwrap_err();
        assert_eq!(e.variable, "POD_NAME");
        assert!(e.to_string().contains("metadata.name"), "{e}");
        let e = PodRef::from_lookup(env(&[("POD_NAME", "a"), ("POD_NAMESPACE", " ")])).unwrap_err();
        assert_eq!(e.variable, "POD_NAMESPACE");
        let e = PodRef::from_lookup(env(&[("POD_NAME", "a"), ("POD_NAMESPACE", "p")])).unwrap_err();
        assert_eq!(e.variable, "POD_UID");
    }
}
