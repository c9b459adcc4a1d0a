//! The `bucket` namespace: S3, GCS and Azure Blob buckets as facts —
//! encryption, public access, policies, versioning and logging.

use crate::collect::{Collector, FactFuture, Settings};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::Schema;

pub fn schema(_s: &mut Schema) {}

pub struct BucketCollector {}

impl BucketCollector {
    pub fn new(_settings: &Settings) -> BucketCollector {
        BucketCollector {}
    }
}

impl Collector for BucketCollector {
    fn namespaces(&self) -> &[&str] {
        &["bucket"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        Box::pin(async move { Err(FactError::new(format!("`{}` is not collected yet", call.key()))) })
    }
}
