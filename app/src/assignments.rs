//! The Assignments view's data as a server function: who holds which role, directly or
//! through a group, and what the caller may change there.

use crate::error::AppError;
use domain::assignments::Assignments;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const ASSIGNMENTS_PATH: &str = "/api/assignments/list";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentsView {
    pub assignments: Assignments,
    /// Groups not mapped to a role yet, as (id, name), for the "map a group" form.
    pub unmapped_groups: Vec<(String, String)>,
    pub can_manage: bool,
    pub can_manage_super_admins: bool,
}

#[server(endpoint = "assignments/list")]
pub async fn load_assignments() -> Result<AssignmentsView, AppError> {
    use domain::access::Permission;
    let store = crate::session::store()?;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let assignments = store.assignments().await.map_err(AppError::from_store)?;
    let unmapped_groups = store
        .all_groups()
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .filter(|g| !assignments.groups.iter().any(|m| m.id == g.id))
        .map(|g| (g.id.to_string(), g.display_name))
        .collect();
    Ok(AssignmentsView {
        assignments,
        unmapped_groups,
        can_manage: caller.rights.allows(Permission::ManageAssignments),
        can_manage_super_admins: caller.rights.allows(Permission::ManageSuperAdmins),
    })
}
