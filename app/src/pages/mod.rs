//! The console's pages, one module per area.

pub mod api_reference;
pub mod assignments;
pub mod builder;
pub mod connections;
pub mod directory;
pub mod executions;
pub mod flows;
pub mod home;
pub mod not_found;
pub mod settings;
pub mod sign_in;
pub mod system_log;
pub mod tables;
