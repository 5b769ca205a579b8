//! The REST API described as OpenAPI 3.1, generated from the handlers' annotations
//! (utoipa) and served at `/api/v1/openapi.json`. A test holds it to [`super::ROUTES`]:
//! every route described, nothing described that is not a route.

use super::{directory, executions, flows, tables};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "idflow REST API",
        version = "1",
        description = "Flows, executions, tables, the directory, connections and the System Log, for scripts and other systems. Authenticate with an API token (Settings → API tokens) as `Authorization: Bearer idf_api_…`; a token never does more than the person behind it, and its scopes narrow it further. Lists page by cursor (`next`, passed back as `after`). Errors are `application/problem+json`. Every POST takes an `Idempotency-Key`."
    ),
    paths(
        super::me,
        super::logs,
        flows::flows,
        flows::create,
        flows::flow,
        flows::delete,
        flows::versions,
        flows::save_version,
        flows::export,
        flows::enable,
        flows::disable,
        executions::executions,
        executions::execution,
        executions::cancel,
        executions::rerun,
        executions::resume_doc,
        tables::tables,
        tables::create,
        tables::table,
        tables::delete,
        tables::rows,
        tables::add_row,
        tables::replace_row,
        tables::delete_row,
        tables::csv_out,
        tables::csv_in,
        directory::users,
        directory::user,
        directory::groups,
        directory::group,
        directory::connections,
        directory::test_connection,
    ),
    modifiers(&Bearer),
    security(("bearer" = [])),
    tags(
        (name = "token", description = "The token itself"),
        (name = "flows", description = "Flows and their versions (scopes flows:read, flows:write)"),
        (name = "executions", description = "Execution history (executions:read, executions:write)"),
        (name = "tables", description = "Tables and their rows (tables:read, tables:write)"),
        (name = "directory", description = "Users and groups, read (directory:read)"),
        (name = "connections", description = "Connections, never their secrets (connections:read, connections:write)"),
        (name = "logs", description = "The System Log (logs:read)"),
    )
)]
pub struct ApiDoc;

/// The bearer API token every operation takes.
struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("idf_api_…")
                    .description(Some("An API token made in Settings → API tokens"))
                    .build(),
            ),
        );
    }
}

/// The document, as JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_string())
}

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route of the API is described, with its method, and nothing else is.
    #[test]
    fn the_document_describes_every_route_and_no_other() {
        let doc = ApiDoc::openapi();
        let mut described: Vec<(String, String)> = Vec::new();
        for (path, item) in &doc.paths.paths {
            let methods = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("DELETE", item.delete.is_some()),
                ("PATCH", item.patch.is_some()),
            ];
            for (method, there) in methods {
                if there {
                    described.push((method.to_string(), path.clone()));
                }
            }
        }
        described.sort();
        let mut routes: Vec<(String, String)> = super::super::ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        routes.sort();
        assert_eq!(described, routes);
        assert!(document().contains("\"openapi\": \"3.1"));
    }
}
