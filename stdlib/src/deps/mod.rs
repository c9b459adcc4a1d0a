//! The `deps` namespace: Python dependencies — declared and pinned
//! versions, licences of the installed distributions, and known
//! vulnerabilities from OSV (online, or an offline advisory database).

use crate::collect::{Collector, FactFuture, Settings};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::Schema;

pub fn schema(_s: &mut Schema) {}

pub struct DepsCollector {}

impl DepsCollector {
    pub fn new(_repo: std::sync::Arc<crate::files::Repo>, _settings: &Settings) -> DepsCollector {
        DepsCollector {}
    }
}

impl Collector for DepsCollector {
    fn namespaces(&self) -> &[&str] {
        &["deps"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        Box::pin(async move { Err(FactError::new(format!("`{}` is not collected yet", call.key()))) })
    }
}
