//! Document parsers with provenance (being written).
