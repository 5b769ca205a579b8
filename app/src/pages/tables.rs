//! The Tables tab: the tables flows keep state in. The list shows each table's columns,
//! rows and the flows that use it, and creates tables; a table's page is a grid with
//! search, sorting by any column, paging, inline edit, add and delete rows, CSV import
//! (with a report of every rejected row and why) and CSV export. Plain forms and links,
//! so all of it works without JavaScript.

use crate::console::{
    Confirm, DataTable, DetailTop, EmptyState, Flash, Loaded, PageHeader, path_id, when,
};
use crate::tables::{
    GridPage, GridRow, ImportView, PAGE_SIZE, TableItem, TableList, list_tables, table_grid,
};
use domain::tables::{Column, ColumnType};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// Column rows the create form shows unless asked for more, and at most.
const FORM_COLUMNS: usize = 6;
const MAX_FORM_COLUMNS: usize = 20;

const COLUMN_TYPES: [ColumnType; 5] = [
    ColumnType::Text,
    ColumnType::Number,
    ColumnType::Boolean,
    ColumnType::DateTime,
    ColumnType::Json,
];

fn type_value(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "text",
        ColumnType::Number => "number",
        ColumnType::Boolean => "boolean",
        ColumnType::DateTime => "date_time",
        ColumnType::Json => "json",
    }
}

#[component]
pub fn TablesPage() -> impl IntoView {
    let query = use_query_map();
    let columns = move || {
        query
            .read()
            .get("columns")
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(FORM_COLUMNS)
            .clamp(1, MAX_FORM_COLUMNS)
    };
    let tables = Resource::new(|| (), |_| list_tables());
    view! {
        <PageHeader
            title="Tables"
            subtitle="Small typed tables that flows read and write: who was offboarded when, which department gets which groups."
        />
        <Flash />
        <Loaded
            data=tables
            loading="Loading tables…"
            show=move |list| view! { <TablesBody list columns=columns() /> }
        />
    }
}

#[component]
fn TablesBody(list: TableList, columns: usize) -> impl IntoView {
    let empty = list.tables.is_empty();
    let create = list
        .can_create
        .then(|| view! { <CreateTableForm open=empty columns /> });
    let body = if empty {
        view! {
            <EmptyState title="No tables yet">
                <p>
                    "A table keeps state between executions: Create Row, Read Row and the other Tables cards name it. Create one below, or install a template on the Flows tab (it makes the tables its flows need)."
                </p>
            </EmptyState>
        }
            .into_any()
    } else {
        let rows = list
            .tables
            .into_iter()
            .map(|table| view! { <TableListRow table /> })
            .collect_view();
        view! {
            <DataTable
                columns=vec!["Table", "Columns", "Rows", "Used by", "Changed", "Actions"]
                testid="tables"
            >
                {rows}
            </DataTable>
        }
        .into_any()
    };
    view! {
        {body}
        {create}
    }
}

fn columns_text(table: &TableItem) -> String {
    table
        .columns
        .iter()
        .map(|c| {
            let key = if table.key.as_deref() == Some(c.name.as_str()) {
                ", key"
            } else {
                ""
            };
            format!("{} ({}{key})", c.name, c.ty.label())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn used_by_text(table: &TableItem) -> String {
    if table.used_by.is_empty() {
        "No flow".to_string()
    } else {
        table.used_by.join(", ")
    }
}

/// What deleting a table does, naming the flows whose cards would then fail.
fn delete_consequence(table: &TableItem) -> String {
    let rows = if table.rows == 1 { "row" } else { "rows" };
    if table.used_by.is_empty() {
        format!(
            "\"{}\" and its {} {rows} will be deleted. No flow uses it.",
            table.name, table.rows
        )
    } else {
        format!(
            "\"{}\" and its {} {rows} will be deleted. These flows use it and their Tables cards will fail: {}.",
            table.name,
            table.rows,
            table.used_by.join(", ")
        )
    }
}

#[component]
fn TableListRow(table: TableItem) -> impl IntoView {
    let base = format!("/tables/{}", table.id);
    let delete = table.can_edit.then(|| {
        view! {
            <Confirm
                label="Delete"
                action=format!("{base}/delete")
                consequence=delete_consequence(&table)
                confirm="Yes, delete the table"
            />
        }
    });
    let name = table.name.clone();
    view! {
        <tr data-table=table.name.clone()>
            <td>
                <A href=base.clone()>{name}</A>
            </td>
            <td>{columns_text(&table)}</td>
            <td>{table.rows}</td>
            <td>{used_by_text(&table)}</td>
            <td class="nowrap">{when(Some(table.updated_at))}</td>
            <td class="actions">
                <a href=format!("{base}/export") download="">
                    "Export CSV"
                </a>
                " "
                {delete}
            </td>
        </tr>
    }
}

#[component]
fn CreateTableForm(open: bool, columns: usize) -> impl IntoView {
    let rows = (0..columns)
        .map(|n| {
            let options = COLUMN_TYPES
                .into_iter()
                .map(|ty| view! { <option value=type_value(ty)>{ty.label()}</option> })
                .collect_view();
            view! {
                <tr>
                    <td>
                        <input
                            name=format!("column_name_{n}")
                            aria-label=format!("Column {} name", n + 1)
                            maxlength="64"
                        />
                    </td>
                    <td>
                        <select
                            name=format!("column_type_{n}")
                            aria-label=format!("Column {} type", n + 1)
                        >
                            {options}
                        </select>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let more = (columns < MAX_FORM_COLUMNS).then(|| {
        let href = format!("/tables?columns={}", (columns + 4).min(MAX_FORM_COLUMNS));
        view! {
            <a href=href class="hint">
                "More columns"
            </a>
        }
    });
    view! {
        <details class="create-table" open=open>
            <summary>"Create a table"</summary>
            <form method="post" action="/tables">
                <label for="table-name">"Name"</label>
                <input id="table-name" name="name" required maxlength="100" />
                <table class="column-form">
                    <thead>
                        <tr>
                            <th scope="col">"Column"</th>
                            <th scope="col">"Type"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                {more}
                <label for="table-key">"Key column (optional)"</label>
                <input id="table-key" name="key" maxlength="64" />
                <p class="hint">
                    "The key column's values are unique and name a row (an email address, a department): Read Row, Update Row and Find or Create Row look rows up by it. Blank column rows are skipped."
                </p>
                <button type="submit" class="primary">
                    "Create table"
                </button>
            </form>
        </details>
    }
}

/// Where the grid is: its search, sort and page (and the row being edited).
#[derive(Clone, Debug, Default, PartialEq)]
struct GridPlace {
    id: String,
    q: String,
    sort: String,
    desc: bool,
    offset: i64,
    import: String,
    edit: String,
}

impl GridPlace {
    /// The grid's address at this place, without the row being edited or the report.
    fn href(&self) -> String {
        let mut params = Vec::new();
        if !self.q.is_empty() {
            params.push(format!("q={}", urlencoding::encode(&self.q)));
        }
        if !self.sort.is_empty() {
            params.push(format!("sort={}", urlencoding::encode(&self.sort)));
            if self.desc {
                params.push("desc=true".to_string());
            }
        }
        if self.offset > 0 {
            params.push(format!("offset={}", self.offset));
        }
        let base = format!("/tables/{}", self.id);
        if params.is_empty() {
            base
        } else {
            format!("{base}?{}", params.join("&"))
        }
    }

    fn with(&self, change: impl FnOnce(&mut GridPlace)) -> String {
        let mut place = self.clone();
        change(&mut place);
        place.href()
    }

    fn editing(&self, row: &str) -> String {
        let href = self.href();
        let separator = if href.contains('?') { '&' } else { '?' };
        format!("{href}{separator}edit={row}")
    }
}

#[component]
pub fn TablePage() -> impl IntoView {
    let id = path_id();
    let query = use_query_map();
    let place = move || {
        let query = query.read();
        let get = |k: &str| query.get(k).unwrap_or_default();
        GridPlace {
            id: id(),
            q: get("q"),
            sort: get("sort"),
            desc: get("desc") == "true",
            offset: get("offset").parse().unwrap_or_default(),
            import: get("import"),
            edit: get("edit"),
        }
    };
    let grid = Resource::new(place, |p| {
        table_grid(
            p.id,
            Some(p.q).filter(|q| !q.is_empty()),
            Some(p.sort).filter(|s| !s.is_empty()),
            Some(p.desc),
            Some(p.offset),
            Some(p.import).filter(|i| !i.is_empty()),
        )
    });
    view! {
        <DetailTop title="Tables" back=("/tables", "← All tables") />
        <Loaded
            data=grid
            loading="Loading the table…"
            show=move |grid| view! { <Grid grid place=place() /> }
        />
    }
}

#[component]
fn Grid(grid: GridPage, place: GridPlace) -> impl IntoView {
    let table = grid.table;
    let base = format!("/tables/{}", table.id);
    let can_edit = table.can_edit;
    let here = place.href();
    let rows_word = if table.rows == 1 { "row" } else { "rows" };
    let key = table
        .key
        .clone()
        .map(|k| format!(" · key column: {k}"))
        .unwrap_or_default();
    let report = grid.import.map(|report| view! { <ImportReport report /> });
    let headers = table
        .columns
        .iter()
        .map(|column| {
            let sorted_here = place.sort == column.name;
            let desc = sorted_here && !place.desc;
            let href = place.with(|p| {
                p.sort = column.name.clone();
                p.desc = desc;
                p.offset = 0;
            });
            let mark = match (sorted_here, place.desc) {
                (true, false) => " ▲",
                (true, true) => " ▼",
                _ => "",
            };
            let sort = match (sorted_here, place.desc) {
                (true, false) => "ascending",
                (true, true) => "descending",
                _ => "none",
            };
            view! {
                <th scope="col" aria-sort=sort>
                    <a href=href aria-label=format!("Sort by {}", column.name)>
                        {column.name.clone()}
                        {mark}
                    </a>
                    <span class="hint column-type">{column.ty.label()}</span>
                </th>
            }
        })
        .collect_view();
    let body = if grid.rows.is_empty() {
        let text = if place.q.is_empty() {
            "This table has no rows yet. Add one below, import a CSV file, or let a flow's Create Row card fill it."
        } else {
            "No rows contain that text. Try another word, or clear the search."
        };
        view! {
            <tr>
                <td colspan=table.columns.len() + 1 class="hint">
                    {text}
                </td>
            </tr>
        }
        .into_any()
    } else {
        grid.rows
            .into_iter()
            .map(|row| {
                let editing = can_edit && place.edit == row.id;
                view! {
                    <GridRowView
                        row
                        columns=table.columns.clone()
                        editing
                        can_edit
                        base=base.clone()
                        place=place.clone()
                    />
                }
            })
            .collect_view()
            .into_any()
    };
    let add_row = can_edit.then(|| {
        let cells = table
            .columns
            .iter()
            .enumerate()
            .map(|(n, column)| {
                view! {
                    <td>
                        <CellInput column=column.clone() n value=String::new() form="add-row" />
                    </td>
                }
            })
            .collect_view();
        view! {
            <tfoot>
                <tr class="add-row">
                    {cells} <td>
                        <button type="submit" form="add-row" class="primary">
                            "Add row"
                        </button>
                    </td>
                </tr>
            </tfoot>
        }
    });
    let first = if grid.matching == 0 {
        0
    } else {
        grid.offset + 1
    };
    let last = (grid.offset + PAGE_SIZE).min(grid.matching);
    let previous = (grid.offset > 0).then(|| {
        let href = place.with(|p| p.offset = (p.offset - PAGE_SIZE).max(0));
        view! { <a href=href>"← Previous"</a> }
    });
    let next = (last < grid.matching).then(|| {
        let href = place.with(|p| p.offset += PAGE_SIZE);
        view! { <a href=href>"Next →"</a> }
    });
    let manage = can_edit.then(|| {
        let table_for_delete = table.clone();
        view! {
            <details class="import">
                <summary>"Import CSV"</summary>
                <form
                    method="post"
                    action=format!("{base}/import")
                    enctype="multipart/form-data"
                    data-busy="Uploading the file…"
                    data-upload="progress"
                >
                    <label for="csv-file">"CSV file"</label>
                    <input id="csv-file" type="file" name="file" accept=".csv,text/csv" required />
                    <p class="hint">
                        "The first line names columns (any order; columns left out stay empty). Rows that fit are added; every row that does not is listed with the reason, and nothing else is lost. Files up to 10 MB."
                    </p>
                    <button type="submit" class="primary">
                        "Import"
                    </button>
                </form>
            </details>
            <Confirm
                label="Delete table"
                action=format!("{base}/delete")
                consequence=delete_consequence(&table_for_delete)
                confirm="Yes, delete the table"
            />
        }
    });
    view! {
        <section class="table-detail" data-table=table.name.clone()>
            <h2>{table.name.clone()}</h2>
            <p class="subtitle">
                {format!("{} {rows_word}{key}", table.rows)} " · Used by: "
                <span data-testid="used-by">{used_by_text(&table)}</span>
            </p>
            {report}
            <form method="get" action=base.clone() class="inline-form" role="search">
                <label for="row-search" class="visually-hidden">
                    "Search rows"
                </label>
                <input
                    id="row-search"
                    name="q"
                    type="search"
                    placeholder="Text in any column"
                    value=place.q.clone()
                />
                {(!place.sort.is_empty())
                    .then(|| {
                        view! {
                            <input type="hidden" name="sort" value=place.sort.clone() />
                            <input
                                type="hidden"
                                name="desc"
                                value=if place.desc { "true" } else { "false" }
                            />
                        }
                    })}
                <button type="submit" class="primary">
                    "Search"
                </button>
                " "
                <a href=format!("{base}/export") download="">
                    "Export CSV"
                </a>
            </form>
            <div class="table-scroll">
                <table class="data-table grid" data-testid="grid">
                    <thead>
                        <tr>{headers} <th scope="col">"Actions"</th></tr>
                    </thead>
                    <tbody>{body}</tbody>
                    {add_row}
                </table>
            </div>
            <p class="pager">
                {previous} " "
                <span data-testid="row-range">
                    {format!("Rows {first}–{last} of {}", grid.matching)}
                </span> " " {next}
            </p>
            // The forms the grid's inputs belong to (a form cannot wrap a table row).
            {can_edit
                .then(|| {
                    view! {
                        <form id="add-row" method="post" action=format!("{base}/rows")>
                            <input type="hidden" name="back" value=here.clone() />
                        </form>
                    }
                })}
            {manage}
        </section>
    }
}

#[component]
fn CellInput(column: Column, n: usize, value: String, form: &'static str) -> impl IntoView {
    let name = format!("c{n}");
    let label = column.name.clone();
    if column.ty == ColumnType::Boolean {
        let selected = |v: &str| value == v;
        view! {
            <select name=name form=form aria-label=label>
                <option value="" selected=selected("")>
                    "—"
                </option>
                <option value="true" selected=selected("true")>
                    "true"
                </option>
                <option value="false" selected=selected("false")>
                    "false"
                </option>
            </select>
        }
        .into_any()
    } else {
        let placeholder = match column.ty {
            ColumnType::Number => "0",
            ColumnType::DateTime => "2026-11-23T09:30:00Z",
            ColumnType::Json => "{\"a\": 1}",
            _ => "",
        };
        view! { <input name=name form=form aria-label=label value=value placeholder=placeholder /> }
            .into_any()
    }
}

#[component]
fn GridRowView(
    row: GridRow,
    columns: Vec<Column>,
    editing: bool,
    can_edit: bool,
    base: String,
    place: GridPlace,
) -> impl IntoView {
    let action = format!("{base}/rows/{}", row.id);
    if editing {
        let cells = columns
            .into_iter()
            .zip(row.cells)
            .enumerate()
            .map(|(n, (column, value))| {
                view! {
                    <td>
                        <CellInput column n value form="edit-row" />
                    </td>
                }
            })
            .collect_view();
        return view! {
            <tr class="editing" data-row=row.id.clone()>
                {cells}
                <td class="actions">
                    <form id="edit-row" method="post" action=action>
                        <input type="hidden" name="back" value=place.href() />
                        <button type="submit" class="primary">
                            "Save"
                        </button>
                        " "
                        <a href=place.href()>"Cancel"</a>
                    </form>
                </td>
            </tr>
        }
        .into_any();
    }
    let first = row.cells.first().cloned().unwrap_or_default();
    let cells = row
        .cells
        .into_iter()
        .map(|cell| view! { <td>{cell}</td> })
        .collect_view();
    let actions = can_edit.then(|| {
        view! {
            <a href=place.editing(&row.id) aria-label=format!("Edit row {first}")>
                "Edit"
            </a>
            " "
            <Confirm
                label="Delete"
                action=format!("{action}/delete")
                consequence=format!("The row \"{first}\" will be deleted.")
                confirm="Yes, delete the row"
                hidden=vec![("back", place.href())]
            />
        }
    });
    view! { <tr data-row=row.id.clone()>{cells} <td class="actions">{actions}</td></tr> }.into_any()
}

#[component]
fn ImportReport(report: ImportView) -> impl IntoView {
    let rejects = (!report.rejects.is_empty()).then(|| {
        let rows = report
            .rejects
            .iter()
            .map(|r| {
                view! {
                    <tr>
                        <td>{r.line}</td>
                        <td>{r.reasons.join("; ")}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <DataTable columns=vec!["Line", "Why it was not imported"] testid="rejects">
                {rows}
            </DataTable>
            <p class="hint">
                "Fix these lines and import just them again; the rows already imported stay."
            </p>
        }
    });
    let class = if report.rejects.is_empty() {
        "info import-report"
    } else {
        "alert import-report"
    };
    view! {
        <section class=class data-testid="import-report" role="status">
            <h3>{report.summary.clone()}</h3>
            <p class="hint">
                {format!(
                    "{} · imported by {} · {}",
                    report.file_name,
                    report.actor,
                    when(Some(report.at)),
                )}
            </p>
            {rejects}
        </section>
    }
}
