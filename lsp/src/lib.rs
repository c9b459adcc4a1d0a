//! The mlpol language server: `mlpol lsp` speaks LSP over stdio.
//!
//! Built on tower-lsp-server 0.23 (see ARCHITECTURE.md for why that line is
//! pinned). One salsa database holds the bundled stdlib modules and every
//! `.mlpol` file under the workspace folders; open documents replace their
//! disk text, edits go through `SourceFile::set_text`, so only the edited
//! item is parsed and checked again. See `server.rs` for the concurrency
//! design and `world.rs` for the state.
//!
//! The bundled modules (`std/*.mlpol`) are written, read-only, to a cache
//! folder (`$XDG_CACHE_HOME/mlpol/std-<version>-<hash>/`, else
//! `~/.cache/...`) so that go-to-definition into them yields ordinary
//! `file:` URIs every editor can open; edits to them are ignored.

mod analysis;
mod complete;
pub mod convert;
mod evaluate;
mod features;
pub mod line_index;
mod server;
mod tokens;
pub mod world;

pub use evaluate::{evaluate, Evaluation};
pub use server::{capabilities, lock, Backend};
pub use world::World;

use std::path::PathBuf;
use tower_lsp_server::{ClientSocket, LspService, Server};

/// A service for in-process use (tests, benchmarks): JSON-RPC requests in,
/// responses out, with the client's side on the socket. `std_dir` is where
/// the bundled modules are written.
pub fn service(std_dir: PathBuf) -> (LspService<Backend>, ClientSocket) {
    LspService::new(move |client| Backend::new(client, std_dir))
}

/// `mlpol lsp`: serves stdin/stdout until the client says `exit`. Returns
/// the process exit code.
pub fn run_stdio() -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mlpol lsp: cannot start the runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async {
        let (service, socket) = service(world::default_std_dir());
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket).serve(service).await;
    });
    0
}
