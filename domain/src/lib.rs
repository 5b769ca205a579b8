//! Everything idflow knows and does without HTTP or HTML.
//!
//! The pure parts (roles and permissions, the shapes of users and log entries) compile to
//! WASM for the console. Everything that touches the database or hashes passwords sits
//! behind the `server` feature. This crate never knows about axum or Leptos.
#![forbid(unsafe_code)]

pub mod access;
pub mod api_tokens;
pub mod assignments;
pub mod audit;
pub mod connections;
pub mod directory;
pub mod engine;
pub mod flows;
pub mod okta;
pub mod scim;
pub mod spreadsheet;
pub mod tables;

#[cfg(feature = "server")]
pub mod actions;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod connectors;
#[cfg(feature = "server")]
pub mod outbound;
#[cfg(feature = "server")]
pub mod secrets;
#[cfg(feature = "server")]
pub mod sso;
#[cfg(feature = "server")]
pub mod store;
