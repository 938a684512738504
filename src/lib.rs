//! tighten: least-privilege AWS security groups from flow-log evidence, through Terraform.
//!
//! Stages (each a module): `ingest` parses the outside world, `store` keeps the evidence in SQLite,
//! `cli` parses arguments and is (with `report`) the only place that prints.

pub mod analysis;
pub mod athena;
pub mod aws;
pub mod cli;
pub mod fix;
pub mod ingest;
pub mod model;
pub mod report;
pub mod sources;
pub mod store;
pub mod terraform;
