//! A flow's export: the flow with the helper flows it calls (Call Flow, For Each, its
//! error flow, and theirs) and the schemas of the tables their cards name, as stable,
//! diff-friendly JSON that imports into another idflow and runs the same. Never a secret
//! (a flow holds none; its API token is not part of its definition).

use super::{Binding, Flow, FlowId};
use crate::tables::Schema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What the `format` field of an export says.
pub const FORMAT: &str = "idflow.flow-export/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    /// The exported flow first, then its helpers.
    pub flows: Vec<BundledFlow>,
    pub tables: Vec<Schema>,
}

/// A flow with the id it had where it was exported (an error flow names its helper by
/// id; the import gives each flow a new one and points the reference at it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundledFlow {
    pub id: FlowId,
    pub flow: Flow,
}

impl Bundle {
    /// The bundle of `main` and its helpers, found through `lookup` (a helper's id or
    /// lowercased name to the flow). Call Flow and For Each cards that name a bundled
    /// helper by id name it by name instead, so they still find it after an import.
    pub fn gather(
        main: (FlowId, Flow),
        lookup: impl Fn(&str) -> Option<(FlowId, Flow)>,
        tables: impl Fn(&str) -> Option<Schema>,
    ) -> Bundle {
        Bundle::gather_all(vec![main], lookup, tables)
    }

    /// The bundle of several flows (a folder's) and the helpers of each, each flow once:
    /// `mains` first, in their order, then the helpers.
    pub fn gather_all(
        mains: Vec<(FlowId, Flow)>,
        lookup: impl Fn(&str) -> Option<(FlowId, Flow)>,
        tables: impl Fn(&str) -> Option<Schema>,
    ) -> Bundle {
        let mut flows: Vec<BundledFlow> = Vec::new();
        let mut queue: Vec<(FlowId, Flow)> = mains.into_iter().rev().collect();
        while let Some((id, flow)) = queue.pop() {
            if flows.iter().any(|f| f.id == id) {
                continue;
            }
            for reference in flow.helper_references() {
                if let Some(found) = lookup(&reference)
                    && !flows.iter().any(|f| f.id == found.0)
                {
                    queue.insert(0, found);
                }
            }
            flows.push(BundledFlow { id, flow });
        }
        let names: HashMap<String, String> = flows
            .iter()
            .map(|f| (f.id.to_string(), f.flow.name.clone()))
            .collect();
        for bundled in &mut flows {
            bundled.flow.for_each_card_mut(|card| {
                if !super::names_helper_flow(&card.kind) {
                    return;
                }
                if let Some(Binding::Literal { value }) = card.inputs.get_mut("flow")
                    && let Some(name) = value.as_str().and_then(|id| names.get(id.trim()))
                {
                    *value = serde_json::Value::String(name.clone());
                }
            });
        }
        let mut table_names: Vec<String> = flows
            .iter()
            .flat_map(|f| f.flow.table_references())
            .collect();
        table_names.sort();
        table_names.dedup();
        Bundle {
            format: FORMAT.to_string(),
            flows,
            tables: table_names.iter().filter_map(|n| tables(n)).collect(),
        }
    }

    /// The bundle as stable JSON: keys sorted, two-space indents, one trailing newline.
    pub fn to_stable_json(&self) -> String {
        let value = serde_json::to_value(self).expect("a bundle is plain data");
        let mut text = serde_json::to_string_pretty(&value).expect("a value serializes");
        text.push('\n');
        text
    }

    /// Reads an export: a bundle, or a single flow's JSON (as older exports and hand-made
    /// files are), which becomes a bundle of one.
    pub fn read(text: &str) -> Result<Bundle, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if value.get("format").is_some() {
            let bundle: Bundle = serde_json::from_value(value).map_err(|e| e.to_string())?;
            if bundle.format != FORMAT {
                return Err(format!(
                    "the export's format is {:?}; this idflow reads {FORMAT:?}",
                    bundle.format
                ));
            }
            if bundle.flows.is_empty() {
                return Err("the export holds no flow".into());
            }
            Ok(bundle)
        } else {
            let flow: Flow = serde_json::from_value(value).map_err(|e| e.to_string())?;
            Ok(Bundle {
                format: FORMAT.to_string(),
                flows: vec![BundledFlow {
                    id: FlowId::new(),
                    flow,
                }],
                tables: Vec::new(),
            })
        }
    }

    /// The order to create the flows in, so each error flow exists before the flows that
    /// name it; each with its error flow's old id (inside the bundle) to point at the new
    /// one. An error flow outside the bundle is dropped: it does not exist there.
    pub fn creation_order(&self) -> Vec<(usize, Option<FlowId>)> {
        let inside = |id: &FlowId| self.flows.iter().any(|f| f.id == *id);
        let mut done: Vec<FlowId> = Vec::new();
        let mut order = Vec::new();
        let mut left: Vec<usize> = (0..self.flows.len()).collect();
        while !left.is_empty() {
            let before = left.len();
            left.retain(|&n| {
                let flow = &self.flows[n];
                let error_flow = flow.flow.settings.error_flow.filter(inside);
                let ready = error_flow.is_none_or(|e| done.contains(&e) || e == flow.id);
                if ready {
                    done.push(flow.id);
                    order.push((n, error_flow));
                }
                !ready
            });
            if left.len() == before {
                // A loop of error flows: the rest are made without theirs.
                order.extend(left.drain(..).map(|n| (n, None)));
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::templates::template;

    #[test]
    fn a_folder_bundles_each_flow_once_with_the_helpers_they_share() {
        let helper = |name: &str| Flow::new(name, "trigger.helper");
        let caller = |name: &str, helper: &str| {
            let mut flow = Flow::new(name, "trigger.manual");
            flow.cards = vec![
                super::super::Card::new(1, "flow.call_flow")
                    .with_inputs(&[("flow", Binding::literal(helper))]),
            ];
            flow
        };
        let all = [
            (FlowId::new(), caller("A", "notify")),
            (FlowId::new(), caller("B", "notify")),
            (FlowId::new(), helper("notify")),
        ];
        let lookup = |key: &str| {
            all.iter()
                .find(|(id, f)| id.to_string() == key || f.name.to_lowercase() == key)
                .cloned()
        };
        let bundle = Bundle::gather_all(vec![all[0].clone(), all[1].clone()], lookup, |_| None);
        let names: Vec<&str> = bundle.flows.iter().map(|f| f.flow.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "notify"]);
        // And it reads back.
        assert_eq!(Bundle::read(&bundle.to_stable_json()).unwrap(), bundle);
    }

    fn lookup_in(flows: &[(FlowId, Flow)]) -> impl Fn(&str) -> Option<(FlowId, Flow)> + '_ {
        move |key: &str| {
            flows
                .iter()
                .find(|(id, f)| id.to_string() == key || f.name.to_lowercase() == key)
                .cloned()
        }
    }

    #[test]
    fn an_export_carries_its_helpers_and_tables_and_reads_back() {
        let mfa = template("mfa-reminder").unwrap();
        let flows: Vec<(FlowId, Flow)> = mfa
            .flows
            .iter()
            .map(|f| (FlowId::new(), f.clone()))
            .collect();
        let main = flows
            .iter()
            .find(|(_, f)| f.trigger.kind != "trigger.helper")
            .cloned()
            .unwrap();
        let bundle = Bundle::gather(main.clone(), lookup_in(&flows), |name| {
            mfa.tables
                .iter()
                .find(|t| t.name.to_lowercase() == name)
                .cloned()
        });
        assert_eq!(bundle.flows[0].flow.name, main.1.name);
        assert_eq!(bundle.flows.len(), flows.len(), "the helper comes along");
        assert!(!bundle.tables.is_empty());
        let text = bundle.to_stable_json();
        assert_eq!(Bundle::read(&text).unwrap(), bundle);
        // A single flow's JSON still imports.
        let single = Bundle::read(&main.1.to_stable_json()).unwrap();
        assert_eq!(single.flows.len(), 1);
        assert!(
            Bundle::read("{\"format\": \"other/9\", \"flows\": [], \"tables\": []}")
                .unwrap_err()
                .contains("other/9")
        );
    }

    #[test]
    fn helpers_named_by_id_are_named_by_name_and_error_flows_come_first() {
        let helper_id = FlowId::new();
        let helper = Flow::new("Notify", "trigger.helper");
        let mut main = Flow::new("Main", "trigger.manual");
        main.settings.error_flow = Some(helper_id);
        main.cards = vec![
            crate::flows::Card::new(1, "flow.call_flow")
                .with_inputs(&[("flow", Binding::literal(helper_id.to_string()))]),
        ];
        let main_id = FlowId::new();
        let all = vec![(main_id, main.clone()), (helper_id, helper)];
        let bundle = Bundle::gather((main_id, main), lookup_in(&all), |_| None);
        assert_eq!(
            bundle.flows[0].flow.cards[0].inputs["flow"],
            Binding::literal("Notify")
        );
        let order = bundle.creation_order();
        assert_eq!(order, vec![(1, None), (0, Some(helper_id))]);
    }
}
