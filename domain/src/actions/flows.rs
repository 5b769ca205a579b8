//! Changes to flows that decide what a flow may do: creating one, saving a version, turning
//! it on or off. Whoever saves a flow or turns it on becomes the person it acts for, so
//! each is refused when its cards need a right that person does not hold
//! (`flows::needs`); editing needs the Editor grant on the flow's folder (or a role that
//! edits every flow).

use super::{Acting, ActionError};
use crate::access::Permission;
use crate::audit::{Action, Target};
use crate::flows::Flow;
use crate::flows::FlowId;
use crate::flows::needs::beyond_rights;
use crate::store::{Author, FlowSummary, Store};
use uuid::Uuid;

pub fn flow_target(id: impl ToString, name: &str) -> Target {
    Target {
        kind: "flow".into(),
        id: id.to_string(),
        display: name.trim().to_string(),
    }
}

impl Acting {
    /// Who a version they save names, and who the flow then acts for.
    pub fn author(&self) -> Author {
        Author {
            id: self.person,
            name: self.actor.id_and_display().1,
        }
    }
}

fn may_edit(acting: &Acting, folder: Option<Uuid>) -> Result<(), ActionError> {
    if acting.rights.on_flow(Permission::EditFlows, folder) {
        Ok(())
    } else {
        Err(ActionError::refused(
            "not-allowed",
            "building and changing flows here needs the Editor grant on this folder",
        ))
    }
}

/// Refused when `definition`'s cards need a right the one acting does not hold.
fn within_rights(acting: &Acting, definition: &Flow) -> Result<(), ActionError> {
    let reasons = beyond_rights(definition, &acting.rights);
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(ActionError::refused(
            "beyond-rights",
            format!("the flow would act for you, and {}", reasons.join("; ")),
        ))
    }
}

/// Refused when `definition` has no name or its name belongs to another flow than `own`.
async fn name_is_free(
    store: &Store,
    definition: &Flow,
    own: Option<&FlowSummary>,
) -> Result<(), ActionError> {
    let name = definition.name.trim();
    if name.is_empty() {
        return Err(ActionError::refused(
            "import-no-name",
            "name the flow before saving it",
        ));
    }
    if own.is_some_and(|f| f.name.trim().eq_ignore_ascii_case(name)) {
        return Ok(());
    }
    match store.flow_by_name(name).await? {
        Some(other) if own.is_none_or(|f| f.id != other.id) => Err(ActionError::refused(
            "taken",
            format!("a flow named \"{name}\" already exists; choose another name"),
        )),
        _ => Ok(()),
    }
}

/// The checks of [`create_flow`] that need no database, to check every flow of an import
/// before any is made.
pub fn check_create(
    acting: &Acting,
    definition: &Flow,
    folder: Option<Uuid>,
) -> Result<(), ActionError> {
    may_edit(acting, folder)?;
    within_rights(acting, definition)
}

/// Creates `definition` as a new flow (off) in `folder`, acting for the one creating it;
/// `reason` goes into its System Log entry.
pub async fn create_flow(
    store: &Store,
    acting: &Acting,
    definition: &Flow,
    folder: Option<Uuid>,
    reason: Option<String>,
) -> Result<FlowSummary, ActionError> {
    check_create(acting, definition, folder)?;
    name_is_free(store, definition, None).await?;
    super::connections::check_usable(store, definition, folder).await?;
    let mut entry = acting.entry(Action::FlowCreate, flow_target("", &definition.name));
    if let Some(reason) = reason {
        entry = entry.reason(reason);
    }
    Ok(store
        .create_flow(definition, folder, &acting.author(), &entry)
        .await?)
}

/// How `definition` (flow `this`, once saved) can start itself again: through its own
/// cards, or through the other flows that are on. A flow `acting` may not see is not named.
pub async fn loop_warnings(
    store: &Store,
    acting: &Acting,
    this: Option<FlowId>,
    definition: &Flow,
) -> Result<Vec<crate::flows::validate::Problem>, ActionError> {
    use crate::flows::validate::{Neighbour, fed_triggers, loops};
    let mut others = Vec::new();
    for summary in store.flows().await? {
        if !summary.enabled
            || Some(summary.id) == this
            || !fed_triggers().any(|t| t == summary.trigger_kind)
        {
            continue;
        }
        if let Some(flow) = store.flow_definition(summary.id, summary.version).await? {
            let name = if acting.rights.on_flow(Permission::ViewFlows, summary.folder) {
                format!("\"{}\"", summary.name)
            } else {
                "a flow in a folder you cannot open".to_string()
            };
            others.push((name, flow));
        }
    }
    let neighbours: Vec<Neighbour<'_>> = others
        .iter()
        .map(|(name, flow)| Neighbour {
            name: name.clone(),
            flow,
        })
        .collect();
    Ok(loops(definition, &neighbours))
}

/// What saving a version did.
#[derive(Debug, Clone)]
pub struct Saved {
    pub flow: FlowSummary,
    /// The flow was on and the new version has problems: it is off now.
    pub turned_off: bool,
}

/// Saves `definition` as the next version of `flow`, edited from version `based_on`
/// (refused as `PreconditionFailed` when someone saved a newer one meanwhile). `why`
/// goes into its System Log entry.
pub async fn save_version(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
    definition: &Flow,
    based_on: i64,
    why: String,
) -> Result<Saved, ActionError> {
    may_edit(acting, flow.folder)?;
    name_is_free(store, definition, Some(flow)).await?;
    within_rights(acting, definition)?;
    super::connections::check_usable(store, definition, flow.folder).await?;
    let entry = acting
        .entry(Action::FlowSave, flow_target(flow.id, &flow.name))
        .reason(why);
    let saved = store
        .save_flow(flow.id, definition, based_on, &acting.author(), &entry)
        .await?
        .ok_or_else(|| ActionError::gone("flow", format!("the flow {} is gone", flow.name)))?;
    Ok(Saved {
        turned_off: flow.enabled && !saved.enabled,
        flow: saved,
    })
}

/// Turns `flow` on or off; whoever turns it on is who it acts for from then on. Whether
/// anything changed.
pub async fn set_enabled(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
    enabled: bool,
) -> Result<bool, ActionError> {
    may_edit(acting, flow.folder)?;
    if enabled == flow.enabled {
        return Ok(false);
    }
    if enabled && let Some(definition) = store.flow_definition(flow.id, flow.version).await? {
        within_rights(acting, &definition)?;
        super::connections::check_usable(store, &definition, flow.folder).await?;
    }
    let action = if enabled {
        Action::FlowEnable
    } else {
        Action::FlowDisable
    };
    let entry = acting.entry(action, flow_target(flow.id, &flow.name));
    if store
        .set_flow_enabled(flow.id, enabled, &acting.author(), &entry)
        .await?
    {
        Ok(true)
    } else {
        Err(ActionError::gone(
            "flow",
            format!("the flow {} is gone", flow.name),
        ))
    }
}

/// Installs `bundle` (an export, or a use case's template) in `folder`: the tables it
/// names that `folder` does not hold yet, then its flows (off), each error flow pointed
/// at the new copy of its helper, and its helper flows turned on. Refused, with nothing
/// made, when one of the flows' names is taken or the one installing could not build or
/// run them there. The flows made, in the bundle's order.
pub async fn install(
    store: &Store,
    acting: &Acting,
    bundle: &crate::flows::bundle::Bundle,
    folder: Option<Uuid>,
) -> Result<Vec<FlowSummary>, ActionError> {
    for entry in &bundle.flows {
        check_create(acting, &entry.flow, folder)?;
        if entry.flow.name.trim().is_empty() {
            return Err(ActionError::refused(
                "import-no-name",
                "every flow needs a name",
            ));
        }
    }
    let existing = store.flows().await?;
    let taken: Vec<&str> = bundle
        .flows
        .iter()
        .map(|f| f.flow.name.trim())
        .filter(|name| {
            existing
                .iter()
                .any(|e| e.name.trim().eq_ignore_ascii_case(name))
        })
        .collect();
    if !taken.is_empty() {
        return Err(ActionError::refused("import-taken", taken.join(", ")));
    }
    for schema in &bundle.tables {
        // A table is found by its name (unique across idflow); one the flows' folder does
        // not hold is made there, unless another folder has it already.
        if store.table_by_name(&schema.name).await?.is_none() {
            super::tables::create_table(store, acting, schema, folder).await?;
        }
    }
    let mut made: Vec<(FlowId, FlowSummary)> = Vec::new();
    for (n, error_flow) in bundle.creation_order() {
        let mut flow = bundle.flows[n].flow.clone();
        flow.settings.error_flow = error_flow.and_then(|old| {
            made.iter()
                .find(|(was, _)| *was == old)
                .map(|(_, now)| now.id)
        });
        let created = create_flow(store, acting, &flow, folder, None).await?;
        // Helper flows run only when called, and only when on.
        if flow.trigger.kind == "trigger.helper"
            && let Err(err) = set_enabled(store, acting, &created, true).await
        {
            tracing::info!(flow = %created.id, error = %err, "an installed helper flow stays off");
        }
        made.push((bundle.flows[n].id, created));
    }
    let mut in_order = Vec::with_capacity(made.len());
    for entry in &bundle.flows {
        if let Some((_, summary)) = made.iter().find(|(was, _)| *was == entry.id) {
            in_order.push(summary.clone());
        }
    }
    Ok(in_order)
}

/// Deletes `flow`, its versions and its history.
pub async fn delete_flow(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
) -> Result<(), ActionError> {
    may_edit(acting, flow.folder)?;
    let entry = acting.entry(Action::FlowDelete, flow_target(flow.id, &flow.name));
    if store.delete_flow(flow.id, &entry).await? {
        Ok(())
    } else {
        Err(ActionError::gone(
            "flow",
            format!("the flow {} is gone", flow.name),
        ))
    }
}

/// The longest grace period a rotated-out secret may keep working.
pub const LONGEST_SECRET_GRACE: chrono::Duration = chrono::Duration::days(30);

/// Makes a new API secret for `flow` and returns it (shown once; only its hash is kept).
/// Its other secrets stop working at once, or after `grace` (at most 30 days), so callers
/// can move to the new one.
pub async fn make_secret(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
    grace: Option<chrono::Duration>,
) -> Result<String, ActionError> {
    may_edit(acting, flow.folder)?;
    let grace = grace.filter(|g| *g > chrono::Duration::zero());
    if grace.is_some_and(|g| g > LONGEST_SECRET_GRACE) {
        return Err(ActionError::refused(
            "secret-grace",
            "the old secret can keep working for at most 30 days",
        ));
    }
    let mut entry = acting.entry(Action::FlowTokenCreate, flow_target(flow.id, &flow.name));
    if let Some(grace) = grace {
        let hours = grace.num_minutes() as f64 / 60.0;
        entry = entry.reason(format!(
            "the previous secret keeps working for {hours} hours"
        ));
    }
    store
        .new_flow_secret(flow.id, &acting.actor.id_and_display().1, grace, &entry)
        .await?
        .ok_or_else(|| ActionError::gone("flow", format!("the flow {} is gone", flow.name)))
}

/// Revokes every API secret of `flow`: no call reaches it, and no paused execution of it
/// is resumed, until a new one is made.
pub async fn revoke_secrets(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
) -> Result<(), ActionError> {
    may_edit(acting, flow.folder)?;
    let entry = acting.entry(Action::FlowTokenRevoke, flow_target(flow.id, &flow.name));
    if store.revoke_flow_secrets(flow.id, &entry).await? {
        Ok(())
    } else {
        Err(ActionError::refused(
            "secret-none",
            "the flow has no secret to revoke",
        ))
    }
}

/// The first of "NAME (copy)", "NAME (copy 2)", … that `taken` says is free.
pub fn copy_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut copy = format!("{name} (copy)");
    let mut n = 2;
    while taken(&copy) {
        copy = format!("{name} (copy {n})");
        n += 1;
    }
    copy
}

/// A copy of `flow`'s current version, off, named "… (copy)" (or "… (copy 2)", … when
/// that is taken), in the same folder, acting for the one copying it.
pub async fn clone_flow(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
) -> Result<FlowSummary, ActionError> {
    let gone = || ActionError::gone("flow", format!("the flow {} is gone", flow.name));
    let mut definition = (*store
        .flow_definition(flow.id, flow.version)
        .await?
        .ok_or_else(gone)?)
    .clone();
    let existing = store.flows().await?;
    definition.name = copy_name(&flow.name, |name| {
        existing.iter().any(|f| f.name.eq_ignore_ascii_case(name))
    });
    let reason = format!("copied from {}", flow.name);
    create_flow(store, acting, &definition, flow.folder, Some(reason)).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_copy_takes_the_first_free_name() {
        let taken = ["Onboard (copy)", "onboard (copy 2)"];
        let name = super::copy_name("Onboard", |n| {
            taken.iter().any(|t| t.eq_ignore_ascii_case(n))
        });
        assert_eq!(name, "Onboard (copy 3)");
        assert_eq!(super::copy_name("Other", |_| false), "Other (copy)");
    }
}
