//! Tables and rows, CSV import, on both backends.

use super::*;
use crate::store::RowQuery;
use crate::tables::{Column, ColumnType, Row, Schema};
use serde_json::json;

fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

fn departments() -> Schema {
    Schema {
        name: "Departments".into(),
        columns: vec![
            Column {
                name: "department".into(),
                ty: ColumnType::Text,
            },
            Column {
                name: "headcount".into(),
                ty: ColumnType::Number,
            },
            Column {
                name: "remote".into(),
                ty: ColumnType::Boolean,
            },
            Column {
                name: "groups".into(),
                ty: ColumnType::Json,
            },
        ],
        key: Some("department".into()),
    }
}

fn row(value: serde_json::Value) -> Row {
    departments().check_row(value.as_object().unwrap()).unwrap()
}

crate::backend_tests! {
    async fn rows_keep_unique_keys_and_are_found_sorted_and_paged(store) {
        let table = store.create_table(&departments(), None, &entry(Action::TableCreate)).await.unwrap();
        let again = store.create_table(&Schema { name: "departments".into(), ..departments() }, None, &entry(Action::TableCreate)).await.unwrap_err();
        assert!(matches!(again, StoreError::Conflict { .. }), "{again:?}");
        let broken = store.create_table(&Schema { columns: vec![], ..departments() }, None, &entry(Action::TableCreate)).await.unwrap_err();
        assert!(matches!(broken, StoreError::Invalid(_)), "{broken:?}");

        for (name, count, remote) in [("Engineering", 40, true), ("Sales", 12, false), ("Support", 25, true), ("IT_Ops", 5, false)] {
            store.insert_row(&table, &row(json!({"department": name, "headcount": count, "remote": remote, "groups": ["all", name]})), None).await.unwrap();
        }
        let duplicate = store.insert_row(&table, &row(json!({"department": "Sales"})), None).await.unwrap_err();
        assert!(matches!(duplicate, StoreError::Conflict { .. }), "{duplicate:?}");

        let names = |rows: &[crate::store::RowRecord]| rows.iter().map(|r| r.data["department"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        let page = |q: RowQuery| { let store = store.clone(); let table = table.clone(); async move { store.rows(&table, &q).await.unwrap() } };

        let (rows, total) = page(RowQuery { sort: Some(("headcount".into(), true)), limit: 2, ..RowQuery::default() }).await;
        assert_eq!((names(&rows), total), (vec!["Engineering".to_string(), "Support".to_string()], 4));
        let (rows, _) = page(RowQuery { sort: Some(("headcount".into(), true)), limit: 2, offset: 2, ..RowQuery::default() }).await;
        assert_eq!(names(&rows), ["Sales", "IT_Ops"]);
        let (rows, total) = page(RowQuery { equals: Some(("remote".into(), json!(true))), sort: Some(("department".into(), false)), limit: 10, ..RowQuery::default() }).await;
        assert_eq!((names(&rows), total), (vec!["Engineering".to_string(), "Support".to_string()], 2));
        let (rows, _) = page(RowQuery { equals: Some(("headcount".into(), json!("12"))), limit: 10, ..RowQuery::default() }).await;
        assert_eq!(names(&rows), ["Sales"]);
        // Search ignores case, and % or _ are plain characters in it.
        let (rows, _) = page(RowQuery { search: Some("SUPP".into()), limit: 10, ..RowQuery::default() }).await;
        assert_eq!(names(&rows), ["Support"]);
        let (rows, _) = page(RowQuery { search: Some("t_o".into()), limit: 10, ..RowQuery::default() }).await;
        assert_eq!(names(&rows), ["IT_Ops"]);
        assert!(store.rows(&table, &RowQuery { sort: Some(("colour".into(), false)), limit: 1, ..RowQuery::default() }).await.is_err());
        assert!(store.rows(&table, &RowQuery { equals: Some(("headcount".into(), json!("many"))), limit: 1, ..RowQuery::default() }).await.is_err());

        // By key, update (the key may change, not to another row's), delete.
        let sales = store.row_by_key(table.id, "Sales").await.unwrap().unwrap();
        let moved = store.update_row(&table, sales.id, &row(json!({"department": "Field Sales", "headcount": 14})), None).await.unwrap().unwrap();
        assert_eq!(moved.data["headcount"], 14);
        assert!(store.row_by_key(table.id, "Sales").await.unwrap().is_none());
        let clash = store.update_row(&table, sales.id, &row(json!({"department": "Support"})), None).await.unwrap_err();
        assert!(matches!(clash, StoreError::Conflict { .. }), "{clash:?}");
        assert!(store.delete_row(table.id, sales.id, None).await.unwrap());
        assert!(!store.delete_row(table.id, sales.id, None).await.unwrap());
        assert_eq!(store.table(table.id).await.unwrap().unwrap().rows, Some(3));
    }

    async fn a_csv_import_adds_what_fits_and_reports_the_rest(store) {
        let table = store.create_table(&departments(), None, &entry(Action::TableCreate)).await.unwrap();
        store.insert_row(&table, &row(json!({"department": "Dept 5"})), None).await.unwrap();
        let mut csv = String::from("department,headcount,remote\n");
        for i in 0..100 {
            match i {
                20 => csv.push_str("Dept 20,twenty,yes\n"),
                40 => csv.push_str("Dept 40,40,perhaps\n"),
                _ => csv.push_str(&format!("Dept {i},{i},no\n")),
            }
        }
        let read = crate::tables::read_csv(&departments(), csv.as_bytes()).unwrap();
        assert_eq!(read.rows.len(), 98);
        let imported = store.import_rows(&table, "departments.csv", &read, &entry(Action::TableImport)).await.unwrap();
        // "Dept 5" was already in the table; lines 22 and 42 do not fit the columns.
        assert_eq!(imported.rows, 97);
        assert_eq!(imported.summary(), "97 rows imported, 3 rejected");
        let lines: Vec<u64> = imported.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![7, 22, 42]);
        assert!(imported.rejects[0].reasons[0].contains("\"Dept 5\" is already in the table"));
        assert!(imported.rejects[1].reasons[0].contains("headcount"), "{:?}", imported.rejects[1]);
        assert_eq!(store.tables().await.unwrap()[0].rows, Some(98));
        // The report is kept, and the System Log says what the import did.
        let kept = store.table_import(table.id, imported.id).await.unwrap().unwrap();
        assert_eq!(kept.rejects, imported.rejects);
        assert_eq!((kept.rows, kept.file_name.as_str()), (97, "departments.csv"));
        assert!(store.table_import(table.id, uuid::Uuid::now_v7()).await.unwrap().is_none());
        let logged = store.recent_audit(1).await.unwrap().remove(0);
        assert_eq!(logged.reason.as_deref(), Some("97 rows imported, 3 rejected from departments.csv"));

        // Export what is there: every row, the header first.
        let (rows, total) = store.rows(&table, &RowQuery { limit: 1000, ..RowQuery::default() }).await.unwrap();
        assert_eq!(total, 98);
        let data: Vec<Row> = rows.into_iter().map(|r| r.data).collect();
        let text = crate::tables::write_csv(&departments(), &data).unwrap();
        assert_eq!(text.lines().count(), 99);

        assert!(store.delete_table(table.id, &entry(Action::TableDelete)).await.unwrap());
        assert!(store.table_by_name("departments").await.unwrap().is_none());
    }
}
