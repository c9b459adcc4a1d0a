//! The `host` namespace: the machine mlpol runs on — OS, architecture,
//! CPU, memory, GPUs, the current user, permission bits of paths, listening
//! sockets and the firewall. No usernames or environment values.

use crate::collect::{Collector, FactFuture, Settings};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::Schema;

pub fn schema(_s: &mut Schema) {}

pub struct HostCollector {}

impl HostCollector {
    pub fn new(_settings: &Settings) -> HostCollector {
        HostCollector {}
    }
}

impl Collector for HostCollector {
    fn namespaces(&self) -> &[&str] {
        &["host"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        Box::pin(async move { Err(FactError::new(format!("`{}` is not collected yet", call.key()))) })
    }
}
