//! Helpers shared by the integration tests.

pub mod mock_apiserver;
