//! The core's request table (`core/tests/requests/table.json`) over HTTP with the official `openai` Python client
//! against a real server; bindings-node runs the same table over napi (`bindings-node/test/request-table.test.js`).
//! The same request gets the same outcome from both hosts, and a streamed request that fails gets its status
//! before the stream starts.

use crate::common;

use std::process::Command;

use crate::common::{MODEL, Server};
use crate::openai_python::python;

#[tokio::test]
async fn both_hosts_answer_the_request_table_alike_http() {
    let python = python();
    let table_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/requests/table.json");
    let table: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(table_path).unwrap()).unwrap();
    let dir = common::data_folder_with_model().await;
    {
        let jan = jan_core::Jan::open(jan_core::JanConfig::new(dir.path())).await.unwrap();
        let update = serde_json::from_value(table["model_update"].clone()).unwrap();
        jan.models().update(MODEL, update).await.unwrap();
    }
    let key = "sk-request-table-0123456789";
    let server = Server::start(dir.path(), &[], &[("JAN_API_KEY", key)]).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/request_table.py");
    let base = server.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python).args([script, table_path, &base, key, MODEL]).output()
    })
    .await
    .unwrap()
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    assert!(text.contains("cases passed"), "{text}");
    server.stop();
}
