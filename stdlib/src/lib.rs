//! The world as facts: collectors that read the target repository, probe
//! services, inspect buckets, the host and the Python dependencies, and the
//! bundled `.mlpol` modules that encode the MLOps Security Validation
//! Checklist.

pub mod buckets;
pub mod collect;
pub mod config;
pub mod deps;
pub mod docs;
pub mod facts;
pub mod files;
pub mod git;
pub mod host;
pub mod http;
pub mod net;
pub mod program;
pub mod redact;
pub mod run;
pub mod schema;
pub mod secrets;
pub mod session;
pub mod testing;
