//! The world as facts: collectors that read the target repository (and, in
//! later layers, services, buckets and the host), and the bundled `.mlpol`
//! modules that encode the MLOps Security Validation Checklist.

pub mod collect;
pub mod config;
pub mod docs;
pub mod facts;
pub mod files;
pub mod git;
pub mod program;
pub mod redact;
pub mod run;
pub mod schema;
pub mod secrets;
pub mod session;
