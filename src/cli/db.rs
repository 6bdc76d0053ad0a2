//! What `stox migrate`, `stox calls` and `stox cdr` share: the configuration's
//! database, opened on a small runtime, and the exit statuses.
//!
//! Contract: results on stdout, exit 0; `error: …` on stderr with exit 2 for
//! a bad configuration (or `[database] url = "none"` where there is nothing to
//! read), exit 1 when the database cannot be used.

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use stox::config::Config;
use stox::store::{Store, StoreError};

/// Loads `config`, opens its database and runs `f` on it.
pub fn with_store<F, Fut>(config: &Path, need_store: bool, f: F) -> ExitCode
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = Result<ExitCode, StoreError>>,
{
    let config = match Config::load_file(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if need_store && !config.database.enabled() {
        eprintln!("error: database.url is \"none\": no calls or CDRs are stored");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let store = match Store::connect(&config.database).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let result = f(store.clone()).await;
        store.close().await;
        result.unwrap_or_else(|e| {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        })
    })
}

/// Prints `rows` as columns under `header`, two spaces apart.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
