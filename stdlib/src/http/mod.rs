//! The `http` namespace: probes of the services a policy names (MLflow,
//! BentoML, Evidently, Airflow) — responses with and without credentials,
//! TLS certificates, the http→https upgrade, a bounded rate-limit burst.

use crate::collect::{Collector, FactFuture, Settings};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::Schema;

pub fn schema(_s: &mut Schema) {}

pub struct HttpCollector {}

impl HttpCollector {
    pub fn new(_settings: &Settings) -> HttpCollector {
        HttpCollector {}
    }
}

impl Collector for HttpCollector {
    fn namespaces(&self) -> &[&str] {
        &["http"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        Box::pin(async move { Err(FactError::new(format!("`{}` is not collected yet", call.key()))) })
    }
}
