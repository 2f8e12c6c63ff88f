//! The two API calls the sink makes, on kube-rs, with bounded retries.
//!
//! The sink's worker thread owns a one-thread tokio runtime and blocks on
//! each call: the application's runtime (if any) is never touched, and a slow
//! API server only fills the sink's own bounded queue.
//!
//! Retried: transport errors, timeouts, 429 and 5xx, with doubling backoff
//! and jitter (`fcc::export::Backoff`), up to `attempts` in all. Not retried: every other status (403 missing
//! RBAC, 404, 409, 422 invalid), which the sink counts and logs once.

use std::time::Duration;

use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, Config};

use crate::K8sError;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// The server answered with this status.
    Status { code: u16, message: String },
    /// No answer: connection refused or reset, TLS, or the request timed out.
    Transport(String),
}

impl CallError {
    fn retryable(&self) -> bool {
        match self {
            CallError::Status { code, .. } => *code == 429 || *code >= 500,
            CallError::Transport(_) => true,
        }
    }
}

/// How many tries and how long between them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
}

pub(crate) struct ApiClient {
    rt: tokio::runtime::Runtime,
    api: Api<K8sEvent>,
    policy: RetryPolicy,
}

impl ApiClient {
    /// A client for `namespace`'s Events. Does not contact the server.
    pub fn new(config: Config, namespace: &str, policy: RetryPolicy) -> Result<Self, K8sError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .on_thread_start(fcc::sinks::runtime::mark_internal_thread)
            .enable_all()
            .build()
            .map_err(K8sError::Runtime)?;
        let mut config = config;
        config.read_timeout = Some(policy.timeout);
        config.write_timeout = Some(policy.timeout);
        config.connect_timeout = Some(policy.timeout);
        // kube's own retry layer would retry 429/503/504 up to 15 times on
        // top of ours: one bounded, counted policy instead.
        config.default_retry = false;
        let client = {
            let _entered = rt.enter();
            Client::try_from(config).map_err(K8sError::Client)?
        };
        Ok(Self {
            rt,
            api: Api::namespaced(client, namespace),
            policy,
        })
    }

    /// POSTs `event`. `retried` counts the extra attempts.
    pub fn create(&self, event: &K8sEvent, retried: &mut u64) -> Result<(), CallError> {
        self.call(retried, || async {
            self.api
                .create(&PostParams::default(), event)
                .await
                .map(drop)
        })
    }

    /// PATCHes (JSON merge patch) the Event `name`.
    pub fn patch(
        &self,
        name: &str,
        patch: &serde_json::Value,
        retried: &mut u64,
    ) -> Result<(), CallError> {
        self.call(retried, || async {
            self.api
                .patch(name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map(drop)
        })
    }

    fn call<F, Fut>(&self, retried: &mut u64, request: F) -> Result<(), CallError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), kube::Error>>,
    {
        let mut backoff =
            fcc::export::Backoff::new(self.policy.first_backoff, self.policy.max_backoff)
                .tries(self.policy.attempts);
        loop {
            let result = self
                .rt
                .block_on(async { tokio::time::timeout(self.policy.timeout, request()).await });
            let err = match result {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => classify(e),
                Err(_) => {
                    CallError::Transport(format!("no answer within {:?}", self.policy.timeout))
                }
            };
            if !err.retryable() || !backoff.wait() {
                return Err(err);
            }
            *retried += 1;
        }
    }
}

fn classify(e: kube::Error) -> CallError {
    match e {
        kube::Error::Api(status) => CallError::Status {
            code: status.code,
            message: status.message.clone(),
        },
        other => CallError::Transport(other.to_string()),
    }
}
