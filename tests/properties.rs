//! Invariants of the evidence store, over random inputs.

mod common;

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;
use tighten::ingest::flowlog::{
    ReadOptions, Shape, read_bytes_with, read_lines, read_lines_in_parts,
};
use tighten::store::{Committed, FileFacts, LedgerEntry, Store};

use common::{Rec, V5_HEADER, v5_text};

fn rec_strategy() -> impl Strategy<Value = Rec> {
    (
        0..3usize,
        0..12u8,
        prop::sample::select(vec![22u16, 443, 53, 5432, 40000, 50001]),
        prop::sample::select(vec![
            None,
            Some(0u8),
            Some(2),
            Some(3),
            Some(18),
            Some(19),
            Some(1),
        ]),
        prop::sample::select(vec![6u8, 17, 1]),
        prop::sample::select(vec!["ingress", "egress", "-"]),
        (0..4i64, any::<bool>(), any::<bool>(), 1..100u64),
    )
        .prop_map(
            |(iface, remote, port, flags, protocol, direction, (day, forward, reject, packets))| {
                let local = format!("10.0.0.{}", iface + 1);
                let remote = format!("198.51.100.{remote}");
                let (src, dst, sport, dport) = if forward {
                    (remote, local, 40000 + u16::from(day as u8), port)
                } else {
                    (local, remote, port, 40000)
                };
                Rec {
                    interface: format!("eni-{iface}"),
                    src,
                    dst,
                    sport,
                    dport,
                    protocol,
                    packets,
                    bytes: packets * 50,
                    start: 1_700_000_000 + day * 50_000,
                    action: if reject { "REJECT" } else { "ACCEPT" },
                    flags: if protocol == 6 { flags } else { None },
                    direction,
                    gap: None,
                }
            },
        )
}

/// Connections to a few busy endpoints from many clients: groups that many files touch, so that
/// runs form, merge and fold.
fn busy_rec_strategy() -> impl Strategy<Value = Rec> {
    (
        0..2usize,
        0..60u8,
        prop::sample::select(vec![22u16, 443]),
        prop::sample::select(vec![None, Some(0u8), Some(2), Some(18)]),
        prop::sample::select(vec!["ingress", "-"]),
        (0..2i64, 1..100u64),
    )
        .prop_map(
            |(iface, remote, port, flags, direction, (day, packets))| Rec {
                interface: format!("eni-{iface}"),
                src: format!("198.51.100.{remote}"),
                dst: format!("10.0.0.{}", iface + 1),
                sport: 40000 + u16::from(remote),
                dport: port,
                protocol: 6,
                packets,
                bytes: packets * 50,
                start: 1_700_000_000 + day * 50_000,
                action: "ACCEPT",
                flags,
                direction,
                gap: None,
            },
        )
}

/// The records split into files by `assignment` (a file index per record), in the file order
/// `order`; files left empty are dropped.
fn split_into_files(
    recs: &[Rec],
    assignment: &[usize],
    order: &[usize],
) -> Vec<(Vec<Rec>, String)> {
    let mut parts: Vec<Vec<Rec>> = vec![Vec::new(); order.len()];
    for (r, &file) in recs.iter().zip(assignment) {
        parts[file].push(r.clone());
    }
    order
        .iter()
        .map(|&i| (parts[i].clone(), format!("part-{i}")))
        .filter(|(p, _)| !p.is_empty())
        .collect()
}

/// Ingests each file (records, name) through the library, in the given order; a file passing
/// `part_rows` rows is stored in parts inside its transaction (0: whole).
fn evidence_of(
    files: &[(Vec<Rec>, String)],
    cap: usize,
    part_rows: usize,
    (runs_from, pending_rows): (usize, usize),
) -> (
    Vec<tighten::store::evidence::EvidenceRow>,
    tighten::store::summary::Summary,
    Vec<(String, i32, tighten::ingest::flowlog::aggregate::Coverage)>,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("e.db"), cap).unwrap();
    store.set_runs_from(runs_from);
    store.set_pending_rows(pending_rows);
    for (recs, name) in files {
        let text = v5_text(recs);
        let options = ReadOptions {
            source_cap: cap,
            strict: true,
            part_rows,
        };
        let mut parts = Vec::new();
        let read = read_lines_in_parts(Path::new(name), Cursor::new(text), options, &mut |part| {
            parts.push(part);
            Ok(())
        })
        .unwrap();
        for part in parts {
            store.write_part(name, part).unwrap();
        }
        let entry = LedgerEntry {
            kind: "flow-log",
            source: name.clone(),
            size: 0,
            mtime: None,
            content_hash: name.clone(),
            fields: read.fields.clone(),
        };
        assert!(matches!(
            store.commit_file(&entry, read.evidence).unwrap(),
            Committed::Stored { .. }
        ));
    }
    let mut summary = store.summary().unwrap();
    summary.files = 0;
    (
        store.evidence().unwrap(),
        summary,
        store.coverage().unwrap(),
    )
}

/// The store after an interrupted download of a gzip file of `recs` (cut after `permille` ‰ of
/// its bytes, ingested as incomplete) and then the complete file at the same path; or after the complete file
/// alone (`cut` = `None`).
fn cut_then_complete(
    recs: &[Rec],
    permille: Option<usize>,
    cap: usize,
    part_rows: usize,
) -> (
    Vec<tighten::store::evidence::EvidenceRow>,
    tighten::store::summary::Summary,
    Vec<(String, i32, tighten::ingest::flowlog::aggregate::Coverage)>,
) {
    let text = v5_text(recs);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
    let whole = enc.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("e.db"), cap).unwrap();
    let options = ReadOptions {
        source_cap: cap,
        strict: false,
        part_rows,
    };
    let ingest = |bytes: &[u8], store: &mut Store| {
        let previous = store.previous_of("f.log.gz").unwrap();
        let shape = Shape {
            accept_incomplete: true,
            counted: previous.as_ref().and_then(|p| p.counted.as_ref()),
            ..Shape::default()
        };
        let hash = format!("{}", bytes.len());
        let mut parts = Vec::new();
        let read = read_bytes_with(Path::new("f.log.gz"), bytes, options, shape, &mut |part| {
            parts.push(part);
            Ok(())
        })
        .unwrap();
        for part in parts {
            store.write_part(&hash, part).unwrap();
        }
        let entry = LedgerEntry {
            kind: "flow-log",
            source: "f.log.gz".into(),
            size: bytes.len() as u64,
            mtime: None,
            content_hash: hash,
            fields: read.fields.clone(),
        };
        let facts = FileFacts {
            incomplete: read.incomplete,
            counted: Some(read.counted.clone()),
            continues: previous.map(|p| p.id),
        };
        store
            .commit_file_with(&entry, read.evidence, &facts, &|_| Ok(()))
            .unwrap();
    };
    if let Some(permille) = permille {
        let cut = whole.len() * permille / 1000;
        ingest(&whole[..cut.clamp(2, whole.len() - 1)], &mut store);
    }
    ingest(&whole, &mut store);
    let mut summary = store.summary().unwrap();
    summary.rows = 0;
    (
        store.evidence().unwrap(),
        summary,
        store.coverage().unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// An interrupted download ingested with --accept-incomplete, then the complete file at the
    /// same path, gives the store a clean ingest of the complete file gives.
    #[test]
    fn a_cut_gzip_then_its_completion_is_a_clean_ingest(
        recs in prop::collection::vec(rec_strategy(), 1..120),
        permille in 0..1000usize,
        cap in 1..6usize,
        part_rows in 0..6usize,
    ) {
        let clean = cut_then_complete(&recs, None, cap, 0);
        let resumed = cut_then_complete(&recs, Some(permille), cap, part_rows);
        prop_assert_eq!(&clean.0, &resumed.0);
        prop_assert_eq!(&clean.1, &resumed.1);
        prop_assert_eq!(&clean.2, &resumed.2);
    }

    /// Any split of a record set into files, ingested in any order, gives the same evidence —
    /// including continuity, learned own addresses, folding past the source cap, files stored
    /// in parts, and groups whose later rows are kept in runs beside their list (`runs_from`
    /// small: runs from the third row on; the default only from 256).
    #[test]
    fn any_split_in_any_order_gives_the_same_evidence(
        recs in prop::collection::vec(rec_strategy(), 1..160),
        assignment in prop::collection::vec(0..8usize, 160),
        order in Just(vec![0usize, 1, 2, 3, 4, 5, 6, 7]).prop_shuffle(),
        cap in prop_oneof![1..6usize, 6..40usize, Just(4096usize)],
        part_rows in 0..6usize,
        runs_from in prop_oneof![0..4usize, Just(256usize)],
        pending_rows in prop_oneof![Just(0usize), 1..60usize, Just(100_000usize)],
    ) {
        let whole = evidence_of(&[(recs.clone(), "whole".into())], cap, 0, (256, 0));
        let files = split_into_files(&recs, &assignment, &order);
        let split = evidence_of(&files, cap, part_rows, (runs_from, pending_rows));
        prop_assert_eq!(&whole.0, &split.0);
        prop_assert_eq!(&whole.1, &split.1);
        prop_assert_eq!(&whole.2, &split.2);
    }

    /// Busy groups split over many files, in any order, give the same evidence as one file:
    /// the rows kept in runs beside a group's list merge, fold past the cap and read back
    /// exactly; and files merged in memory before they are written (`pending_rows`) give the
    /// same as files written one by one.
    #[test]
    fn busy_groups_over_many_files_give_the_same_evidence(
        recs in prop::collection::vec(busy_rec_strategy(), 1..300),
        assignment in prop::collection::vec(0..12usize, 300),
        order in Just((0..12usize).collect::<Vec<_>>()).prop_shuffle(),
        cap in prop_oneof![4..40usize, Just(4096usize)],
        runs_from in 0..6usize,
        pending_rows in prop_oneof![Just(0usize), 1..60usize, Just(100_000usize)],
    ) {
        let whole = evidence_of(&[(recs.clone(), "whole".into())], cap, 0, (256, 0));
        let files = split_into_files(&recs, &assignment, &order);
        let split = evidence_of(&files, cap, 0, (runs_from, pending_rows));
        prop_assert_eq!(&whole.0, &split.0);
        prop_assert_eq!(&whole.1, &split.1);
        prop_assert_eq!(&whole.2, &split.2);
    }

    /// The line parser reads back exactly what was written.
    #[test]
    fn parser_round_trips_records(rec in rec_strategy()) {
        let text = format!("{V5_HEADER}\n{}\n", rec.v5_line());
        let read = read_lines(Path::new("x"), Cursor::new(text), ReadOptions { source_cap: 10, strict: true, part_rows: 0 }).unwrap();
        prop_assert_eq!(read.evidence.records, 1);
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("e.db"), 10).unwrap();
        let entry = LedgerEntry { kind: "flow-log", source: "x".into(), size: 0, mtime: None, content_hash: "x".into(), fields: read.fields.clone() };
        store.commit_file(&entry, read.evidence).unwrap();
        let rows = store.evidence().unwrap();
        prop_assert_eq!(rows.len(), 1);
        let row = &rows[0];
        prop_assert_eq!(row.src.unwrap().to_string(), rec.src);
        prop_assert_eq!(row.dst.unwrap().to_string(), rec.dst);
        prop_assert_eq!(row.protocol, rec.protocol);
        prop_assert!(row.port == rec.dport || row.port == rec.sport);
        prop_assert_eq!((row.stats.flows, row.stats.packets, row.stats.bytes), (1, rec.packets, rec.bytes));
        prop_assert_eq!((row.stats.first_seen, row.stats.last_seen), (rec.start, rec.start + 60));
        prop_assert_eq!(row.action.as_str(), rec.action);
    }
}
