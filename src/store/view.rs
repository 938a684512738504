//! Store stage: everything the evidence checks read, loaded at once — evidence rows with their
//! roles, the interfaces' intervals, flow-log coverage, and the deployed groups and prefix lists.
//! The analysis stage works on this value and never sees SQL.

use super::evidence::EvidenceRow;
use super::inventory::{GroupHistory, Inventory, PrefixListHistory};
use super::{Store, StoreError};

/// Flow-log coverage of one interface on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageDay {
    pub interface: String,
    /// Days since 1970-01-01 (UTC).
    pub day: i32,
    pub records: u64,
    pub nodata: u64,
    /// SKIPDATA rows: records were lost that day, so "no traffic" cannot be claimed for it.
    pub skipdata: u64,
}

/// The whole store, as the evidence checks see it.
#[derive(Debug, Default)]
pub struct EvidenceView {
    /// Every evidence row, in key order (interface, day, role, …).
    pub rows: Vec<EvidenceRow>,
    pub inventory: Inventory,
    /// Sorted by interface, then day.
    pub coverage: Vec<CoverageDay>,
    pub groups: GroupHistory,
    pub prefix_lists: PrefixListHistory,
}

impl EvidenceView {
    /// First and last day with flow-log coverage, if any.
    pub fn days(&self) -> Option<(i32, i32)> {
        let first = self.coverage.iter().map(|c| c.day).min()?;
        let last = self.coverage.iter().map(|c| c.day).max()?;
        Some((first, last))
    }
}

impl Store {
    /// Loads everything the evidence checks need.
    pub fn view(&self) -> Result<EvidenceView, StoreError> {
        let inventory = self.inventory()?;
        let rows = self.evidence_with(&inventory)?;
        let coverage = self
            .coverage()?
            .into_iter()
            .map(|(interface, day, c)| CoverageDay {
                interface,
                day,
                records: c.records,
                nodata: c.nodata,
                skipdata: c.skipdata,
            })
            .collect();
        Ok(EvidenceView {
            rows,
            inventory,
            coverage,
            groups: self.group_states()?,
            prefix_lists: self.prefix_list_states()?,
        })
    }
}
