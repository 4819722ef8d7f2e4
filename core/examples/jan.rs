//! A small command line over the core, until the web host exists: look into a Jan data folder, import or
//! download a model.
//!
//! ```text
//! cargo run --release -p jan-core --example jan -- [--data-folder DIR] [summary|models|catalog|threads|
//!     messages THREAD|assistants|system|import FILE.gguf|download CATALOG_ID]
//! ```
//! The data folder defaults to `$JAN_DATA_FOLDER`, else `~/jan` (the desktop app's).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use anyhow::{Context, bail};
use futures::StreamExt;
use jan_core::models::ImportRequest;
use jan_core::{Event, Jan, JanConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let folder = match args.iter().position(|a| a == "--data-folder") {
        Some(i) => {
            let value = args.get(i + 1).cloned().context("--data-folder needs a folder")?;
            args.drain(i..=i + 1);
            value.into()
        }
        None => std::env::var_os("JAN_DATA_FOLDER").map(Into::into).unwrap_or_else(JanConfig::default_data_folder),
    };
    let jan = Jan::open(JanConfig::new(folder)).await?;
    let command = args.first().map(String::as_str).unwrap_or("summary");
    let arg = args.get(1).map(String::as_str);
    match (command, arg) {
        ("summary", _) => summary(&jan).await?,
        ("models", _) => {
            for m in jan.models().list().await? {
                println!("{:<40} {:<8} {}", m.id, m.engine, m.name);
            }
        }
        ("catalog", _) => {
            for m in jan.models().catalog() {
                let size = m.metadata.size.map(|s| format!("{:.2} GB", s as f64 / 1e9)).unwrap_or_default();
                println!("{:<40} {:>9}  {}", m.id, size, m.name);
            }
        }
        ("threads", _) => {
            for t in jan.threads().list().await? {
                println!("{:<28} {}", t.id, t.title);
            }
        }
        ("messages", Some(thread)) => {
            for m in jan.threads().messages(thread).await? {
                println!("[{:?} {:?}] {}", m.role, m.status, m.text());
            }
        }
        ("assistants", _) => {
            for a in jan.assistants().list().await? {
                println!("{:<28} {}", a.id, a.name);
            }
        }
        ("system", _) => println!("{}", serde_json::to_string_pretty(&jan.system().info().await?)?),
        ("import", Some(path)) => {
            let model = jan.models().import(ImportRequest::copy(path)).await?;
            println!("imported {} ({})", model.id, model.name);
        }
        ("download", Some(id)) => download(&jan, id).await?,
        _ => bail!(
            "usage: jan [--data-folder DIR] [summary|models|catalog|threads|messages THREAD|assistants|system|import FILE|download ID]"
        ),
    }
    Ok(())
}

async fn summary(jan: &Jan) -> anyhow::Result<()> {
    let info = jan.system().info().await?;
    println!("data folder: {}", jan.data_folder().display());
    println!(
        "machine:     {} ({} cores), {:.1} GiB RAM, {} GPU(s), {} {}",
        info.cpu.model,
        info.cpu.cores,
        info.memory.total_bytes as f64 / (1u64 << 30) as f64,
        info.gpus.len(),
        info.os.name,
        info.os.version
    );
    let models = jan.models().list().await?;
    println!(
        "models:      {}",
        if models.is_empty() {
            "none yet (try `catalog` and `download ID`)".into()
        } else {
            models.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(", ")
        }
    );
    let threads = jan.threads().list().await?;
    println!("threads:     {}", threads.len());
    for t in threads.iter().take(10) {
        println!("  {:<28} {}", t.id, t.title);
    }
    println!(
        "assistants:  {}",
        jan.assistants().list().await?.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

async fn download(jan: &Jan, id: &str) -> anyhow::Result<()> {
    let mut events = jan.subscribe();
    let handle = jan.models().download(id).await?;
    let printer = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if let Event::DownloadProgress(p) = event {
                let total = p.total.map(|t| format!("{:.1} MB", t as f64 / 1e6)).unwrap_or_else(|| "?".into());
                eprint!(
                    "\r{}: {:.1} MB of {total} at {:.1} MB/s   ",
                    p.file_name,
                    p.transferred as f64 / 1e6,
                    p.bytes_per_second as f64 / 1e6
                );
            }
        }
    });
    let result = handle.wait().await;
    printer.abort();
    eprintln!();
    let model = result?;
    println!("downloaded {} into {}", model.id, jan.data_folder().join("models").join(&model.id).display());
    Ok(())
}
