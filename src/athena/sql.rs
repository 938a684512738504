//! Renders the query that computes `ingest flow-logs`'s aggregate in the engine that holds the
//! flow logs: the same groups, clients, cap, coverage and own-address facts, one result set.
//!
//! Every derived fact comes from `rules` (initiator, port classes, codes) or from the Rust
//! constants (milliseconds threshold, seconds per day): nothing here restates a rule by hand.

use std::fmt::Write as _;

use super::rules::{self, Cond, End};
use super::{COLUMNS, Dialect, FieldSet, Layout, Meta, TEXT_COLUMNS, kind};
use crate::ingest::flowlog::aggregate::SECONDS_PER_DAY;
use crate::ingest::flowlog::record::MILLIS_THRESHOLD;
use crate::store::evidence::date_of_day;

/// What to render.
#[derive(Debug, Clone)]
pub struct Query {
    pub table: String,
    /// Athena database, or Trino `catalog.schema`; `None` uses the session's.
    pub database: Option<String>,
    /// Days since 1970-01-01, inclusive (the partitions' dates).
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub fields: FieldSet,
    pub layout: Layout,
    pub dialect: Dialect,
    /// Exact clients kept per group before it is folded (as `--source-cap`).
    pub cap: usize,
}

impl Query {
    pub fn meta(&self) -> Meta {
        let day = |d: Option<i64>| d.map_or_else(|| "-".to_owned(), day_text);
        Meta {
            fields: self.fields.name().to_owned(),
            layout: self.layout.name().to_owned(),
            since: day(self.since),
            until: day(self.until),
            cap: self.cap,
        }
    }
}

fn day_text(day: i64) -> String {
    date_of_day(i32::try_from(day).unwrap_or(i32::MAX))
}

/// A double-quoted identifier (quotes inside doubled).
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"db"."table"`, or `"catalog"."schema"."table"` for a dotted database.
pub(crate) fn table_ref(database: Option<&str>, table: &str) -> String {
    let mut parts: Vec<String> = database
        .map(|d| d.split('.').map(ident).collect())
        .unwrap_or_default();
    parts.push(ident(table));
    parts.join(".")
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Dialect {
    fn int_div(self, a: &str, b: i64) -> String {
        match self {
            Dialect::Athena | Dialect::Trino => format!("{a} / {b}"),
            Dialect::Duckdb => format!("{a} // {b}"),
        }
    }

    fn bit_and(self, a: &str, mask: u8) -> String {
        match self {
            Dialect::Athena | Dialect::Trino => format!("bitwise_and({a}, {mask})"),
            Dialect::Duckdb => format!("({a} & {mask})"),
        }
    }

    fn bit_or_agg(self, a: &str) -> String {
        match self {
            Dialect::Athena | Dialect::Trino => format!("bitwise_or_agg({a})"),
            Dialect::Duckdb => format!("bit_or({a})"),
        }
    }

    fn approx_distinct(self, a: &str) -> String {
        match self {
            Dialect::Athena | Dialect::Trino => format!("approx_distinct({a})"),
            Dialect::Duckdb => format!("approx_count_distinct({a})"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Athena => "athena",
            Dialect::Trino => "trino",
            Dialect::Duckdb => "duckdb",
        }
    }
}

fn cond_sql(c: Cond, d: Dialect) -> String {
    let class = |end| match end {
        End::Src => "sport_class",
        End::Dst => "dport_class",
    };
    match c {
        Cond::Tcp => "protocol = 6".to_owned(),
        Cond::HasFlags => "tcp_flags IS NOT NULL".to_owned(),
        Cond::FlagsAll(m) => format!("{} = {m}", d.bit_and("tcp_flags", m)),
        Cond::FlagsAny(m) => format!("{} <> 0", d.bit_and("tcp_flags", m)),
        Cond::ClassBelow(a, b) => format!("{} < {}", class(a), class(b)),
        Cond::SameClass => "sport_class = dport_class".to_owned(),
        Cond::NoClass(end) => format!("{} = {}", class(end), rules::NO_PORT_CLASS),
    }
}

/// `CASE … END` of the initiator code, from `rules::INITIATOR_RULES`.
fn initiator_sql(d: Dialect) -> String {
    let mut out = String::from("CASE");
    let mut otherwise = None;
    for rule in rules::INITIATOR_RULES {
        if rule.when.is_empty() {
            otherwise = Some(rule.then as u8);
            break;
        }
        let when: Vec<String> = rule.when.iter().map(|c| cond_sql(*c, d)).collect();
        let _ = write!(
            out,
            "\n            WHEN {} THEN {}",
            when.join(" AND "),
            rule.then as u8
        );
    }
    let _ = write!(
        out,
        "\n            ELSE {}\n        END",
        otherwise.unwrap_or(crate::ingest::flowlog::aggregate::Initiator::Unknown as u8)
    );
    out
}

fn port_class_sql(port: &str) -> String {
    let mut out = String::from("CASE");
    for (first, last, class) in rules::port_class_ranges() {
        if first == last {
            let _ = write!(out, " WHEN {port} = {first} THEN {class}");
        } else {
            let _ = write!(out, " WHEN {port} BETWEEN {first} AND {last} THEN {class}");
        }
    }
    out.push_str(" END");
    out
}

fn codes(list: &[u8]) -> String {
    list.iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn text_case(column: &str, pairs: &[(&str, u8)]) -> String {
    let mut out = format!("CASE {column}");
    for (text, code) in pairs {
        let _ = write!(out, " WHEN {} THEN {code}", literal(text));
    }
    out.push_str(" END");
    out
}

/// One `SELECT` of the output columns: the given expressions, typed NULL for the others.
fn output(values: &[(&str, String)], rest: &str) -> String {
    let cells: Vec<String> = COLUMNS
        .iter()
        .map(|column| {
            let value = values.iter().find(|(c, _)| c == column).map_or_else(
                || {
                    let ty = if TEXT_COLUMNS.contains(column) {
                        "VARCHAR"
                    } else {
                        "BIGINT"
                    };
                    format!("CAST(NULL AS {ty})")
                },
                |(_, v)| v.clone(),
            );
            format!("{value} AS {column}")
        })
        .collect();
    format!("SELECT\n    {}\n{rest}", cells.join(",\n    "))
}

/// The partition predicate of the window, or `None` when the window is open on both ends.
fn partition_predicate(layout: Layout, since: Option<i64>, until: Option<i64>) -> Option<String> {
    if since.is_none() && until.is_none() {
        return None;
    }
    let ymd = |day: i64| {
        let text = day_text(day);
        let mut parts = text.splitn(3, '-').map(str::to_owned);
        let y = parts.next().unwrap_or_default();
        let m = parts.next().unwrap_or_default();
        let d = parts.next().unwrap_or_default();
        (y, m, d)
    };
    match layout {
        Layout::Text => {
            let slash = |day| {
                let (y, m, d) = ymd(day);
                literal(&format!("{y}/{m}/{d}"))
            };
            Some(match (since, until) {
                (Some(s), Some(u)) => format!("\"day\" BETWEEN {} AND {}", slash(s), slash(u)),
                (Some(s), None) => format!("\"day\" >= {}", slash(s)),
                (None, Some(u)) => format!("\"day\" <= {}", slash(u)),
                (None, None) => return None,
            })
        }
        Layout::Hive | Layout::Parquet => {
            if let (Some(s), Some(u)) = (since, until)
                && u >= s
                && u - s <= 400
            {
                // Each partition value spelled out: pruned by every engine, projection or not.
                let mut months: Vec<((String, String), Vec<String>)> = Vec::new();
                for day in s..=u {
                    let (y, m, d) = ymd(day);
                    match months.last_mut() {
                        Some((key, days)) if *key == (y.clone(), m.clone()) => days.push(d),
                        _ => months.push(((y, m), vec![d])),
                    }
                }
                let terms: Vec<String> = months
                    .into_iter()
                    .map(|((y, m), days)| {
                        let days: Vec<String> = days.iter().map(|d| literal(d)).collect();
                        format!(
                            "(\"year\" = {} AND \"month\" = {} AND \"day\" IN ({}))",
                            literal(&y),
                            literal(&m),
                            days.join(", ")
                        )
                    })
                    .collect();
                return Some(terms.join("\n    OR "));
            }
            let compact = |day| {
                let (y, m, d) = ymd(day);
                literal(&format!("{y}{m}{d}"))
            };
            let key = "concat(\"year\", \"month\", \"day\")";
            let mut terms = Vec::new();
            if let Some(s) = since {
                terms.push(format!("{key} >= {}", compact(s)));
            }
            if let Some(u) = until {
                terms.push(format!("{key} <= {}", compact(u)));
            }
            Some(terms.join(" AND "))
        }
    }
}

/// The columns of a group (the unit of the cap), as in `aggregate::GroupKey`.
const GROUP: [&str; 8] = [
    "interface",
    "day",
    "protocol",
    "action",
    "initiator",
    "direction",
    "server",
    "server_port",
];

/// Renders the query.
pub fn render(q: &Query) -> String {
    let d = q.dialect;
    let meta = q.meta();
    let table = table_ref(q.database.as_deref(), &q.table);
    let ms = MILLIS_THRESHOLD;
    let to_seconds = |col: &str| {
        format!(
            "CASE WHEN {col} >= {ms} THEN {} ELSE {col} END",
            d.int_div(col, 1000)
        )
    };
    let (src, dst, flags, direction) = match q.fields {
        FieldSet::V2 => (
            "NULLIF(srcaddr, '-')".to_owned(),
            "NULLIF(dstaddr, '-')".to_owned(),
            "CAST(NULL AS BIGINT)".to_owned(),
            "CAST(NULL AS VARCHAR)".to_owned(),
        ),
        FieldSet::V5 => (
            "COALESCE(NULLIF(pkt_srcaddr, '-'), NULLIF(srcaddr, '-'))".to_owned(),
            "COALESCE(NULLIF(pkt_dstaddr, '-'), NULLIF(dstaddr, '-'))".to_owned(),
            "CAST(tcp_flags AS BIGINT)".to_owned(),
            "NULLIF(flow_direction, '-')".to_owned(),
        ),
    };
    let filter = partition_predicate(q.layout, q.since, q.until)
        .map(|p| format!("\n    WHERE {p}"))
        .unwrap_or_default();
    let server_is_src = codes(&rules::server_is_src_codes());
    let keeps_port = codes(&rules::keeps_client_port_codes());
    let group = GROUP.join(", ");
    let client_key = "client, client_port, if_src, if_dst";

    let mut sql = String::new();
    let _ = writeln!(
        sql,
        "-- tighten evidence aggregate ({}), {} dialect.",
        meta.render(),
        d.name()
    );
    let _ = writeln!(
        sql,
        "-- Save the result as CSV with a header row and import it: tighten ingest evidence RESULT.csv"
    );
    let _ = write!(
        sql,
        "WITH raw AS (
    SELECT
        NULLIF(interface_id, '-') AS interface,
        NULLIF(srcaddr, '-') AS if_src,
        NULLIF(dstaddr, '-') AS if_dst,
        {src} AS src,
        {dst} AS dst,
        CAST(COALESCE(srcport, 0) AS BIGINT) AS sport,
        CAST(COALESCE(dstport, 0) AS BIGINT) AS dport,
        CAST(COALESCE(protocol, 0) AS BIGINT) AS protocol,
        CAST(COALESCE(packets, 0) AS BIGINT) AS packets,
        CAST(COALESCE(bytes, 0) AS BIGINT) AS bytes,
        CAST({start} AS BIGINT) AS t_start,
        CAST({end} AS BIGINT) AS t_end,
        COALESCE(action, '-') AS action_text,
        COALESCE(NULLIF(log_status, '-'), 'OK') AS status,
        {flags} AS tcp_flags,
        {direction} AS direction_text
    FROM {table}{filter}
),
rec AS (
    SELECT
        *,
        {day} AS day
    FROM raw
    WHERE interface IS NOT NULL AND t_start IS NOT NULL
),
traffic AS (
    SELECT
        interface, day, if_src, if_dst, src, dst, sport, dport, protocol, packets, bytes, t_start,
        COALESCE(t_end, t_start) AS t_end,
        {action} AS action,
        COALESCE({direction_code}, 0) AS direction,
        tcp_flags,
        {sport_class} AS sport_class,
        {dport_class} AS dport_class
    FROM rec
    WHERE status = 'OK'
        AND if_src IS NOT NULL AND if_dst IS NOT NULL
        AND action_text IN ('ACCEPT', 'REJECT', '-')
        AND (direction_text IS NULL OR direction_text IN ('ingress', 'egress'))
        AND sport BETWEEN 0 AND 65535 AND dport BETWEEN 0 AND 65535
        AND protocol BETWEEN 0 AND 255
        AND (tcp_flags IS NULL OR tcp_flags BETWEEN 0 AND 255)
),
decided AS (
    SELECT
        *,
        {initiator} AS initiator
    FROM traffic
),
placed AS (
    SELECT
        interface, day, protocol, action, initiator, direction,
        CASE WHEN initiator IN ({server_is_src}) THEN src ELSE dst END AS server,
        CASE WHEN initiator IN ({server_is_src}) THEN sport ELSE dport END AS server_port,
        CASE WHEN initiator IN ({server_is_src}) THEN dst ELSE src END AS client,
        CASE WHEN initiator NOT IN ({keeps_port}) THEN 0
             WHEN initiator IN ({server_is_src}) THEN dport ELSE sport END AS client_port,
        CASE WHEN if_src <> src THEN if_src END AS if_src,
        CASE WHEN if_dst <> dst THEN if_dst END AS if_dst,
        packets, bytes, t_start, t_end, COALESCE(tcp_flags, 0) AS tcp_flags
    FROM decided
),
by_client AS (
    SELECT
        {group}, {client_key},
        count(*) AS flows, sum(packets) AS packets, sum(bytes) AS bytes,
        min(t_start) AS first_seen, max(t_end) AS last_seen, {flags_or} AS tcp_flags
    FROM placed
    GROUP BY {group}, {client_key}
),
counted AS (
    SELECT *, count(*) OVER (PARTITION BY {group}) AS clients
    FROM by_client
),
covered AS (
    SELECT interface, day, t_start, t_end, 1 AS ok, 0 AS nodata, 0 AS skipdata FROM traffic
    UNION ALL
    SELECT interface, day, t_start, COALESCE(t_end, t_start) AS t_end, 0 AS ok,
        CASE WHEN status = 'NODATA' THEN 1 ELSE 0 END AS nodata,
        CASE WHEN status = 'SKIPDATA' THEN 1 ELSE 0 END AS skipdata
    FROM rec
    WHERE status IN ('NODATA', 'SKIPDATA')
),
pairs AS (
    SELECT interface, if_src, if_dst, count(*) AS n FROM traffic GROUP BY interface, if_src, if_dst
),
seen AS (
    SELECT interface, if_src AS addr, n FROM pairs
    UNION ALL
    SELECT interface, if_dst AS addr, n FROM pairs WHERE if_dst <> if_src
),
totals AS (
    SELECT interface, sum(n) AS total FROM pairs GROUP BY interface
),
everywhere AS (
    SELECT s.interface, s.addr, t.total
    FROM (SELECT interface, addr, sum(n) AS n FROM seen GROUP BY interface, addr) s
    JOIN totals t ON t.interface = s.interface
    WHERE s.n = t.total
)
",
        start = to_seconds("start"),
        end = to_seconds("\"end\""),
        day = d.int_div("t_start", SECONDS_PER_DAY),
        action = text_case("action_text", &rules::action_codes()),
        direction_code = text_case("direction_text", &rules::direction_codes()),
        sport_class = port_class_sql("sport"),
        dport_class = port_class_sql("dport"),
        initiator = initiator_sql(d),
        flags_or = d.bit_or_agg("tcp_flags"),
    );
    let with = |more: &[(&'static str, String)]| {
        let mut cols: Vec<(&'static str, String)> =
            GROUP.iter().map(|c| (*c, (*c).to_owned())).collect();
        cols.extend_from_slice(more);
        cols
    };
    let clients = output(
        &with(&[
            ("kind", literal(kind::CLIENT)),
            ("client", "client".into()),
            ("client_port", "client_port".into()),
            ("if_src", "if_src".into()),
            ("if_dst", "if_dst".into()),
            ("flows", "flows".into()),
            ("packets", "packets".into()),
            ("bytes", "bytes".into()),
            ("first_seen", "first_seen".into()),
            ("last_seen", "last_seen".into()),
            ("tcp_flags", "tcp_flags".into()),
        ]),
        &format!("FROM counted\nWHERE clients <= {}", q.cap),
    );
    let many = output(
        &with(&[
            ("kind", literal(kind::MANY)),
            ("flows", "sum(flows)".into()),
            ("packets", "sum(packets)".into()),
            ("bytes", "sum(bytes)".into()),
            ("first_seen", "min(first_seen)".into()),
            ("last_seen", "max(last_seen)".into()),
            ("tcp_flags", d.bit_or_agg("tcp_flags")),
            (
                "sources",
                format!("CAST({} AS BIGINT)", d.approx_distinct("client")),
            ),
        ]),
        &format!("FROM counted\nWHERE clients > {}\nGROUP BY {group}", q.cap),
    );
    let coverage = output(
        &[
            ("kind", literal(kind::COVERAGE)),
            ("interface", "interface".into()),
            ("day", "day".into()),
            ("flows", "sum(ok)".into()),
            ("nodata", "sum(nodata)".into()),
            ("skipdata", "sum(skipdata)".into()),
            ("first_seen", "min(t_start)".into()),
            ("last_seen", "max(t_end)".into()),
        ],
        "FROM covered\nGROUP BY interface, day",
    );
    let address = output(
        &[
            ("kind", literal(kind::ADDRESS)),
            ("interface", "interface".into()),
            ("client", "addr".into()),
            ("flows", "total".into()),
        ],
        "FROM everywhere",
    );
    let meta_row = output(
        &[
            ("kind", literal(kind::META)),
            ("meta", literal(&meta.render())),
        ],
        "",
    );
    let parts = [clients, many, coverage, address, meta_row];
    sql.push_str(&parts.join("\nUNION ALL\n"));
    sql.truncate(sql.trim_end().len());
    sql.push('\n');
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_window_spells_out_each_partition() {
        // 2026-09-30 .. 2026-10-02.
        let p = partition_predicate(Layout::Hive, Some(20_726), Some(20_728)).unwrap();
        assert_eq!(
            p,
            "(\"year\" = '2026' AND \"month\" = '09' AND \"day\" IN ('30'))\n    OR (\"year\" = '2026' AND \"month\" = '10' AND \"day\" IN ('01', '02'))"
        );
        assert_eq!(
            partition_predicate(Layout::Parquet, Some(20_726), None).unwrap(),
            "concat(\"year\", \"month\", \"day\") >= '20260930'"
        );
        assert_eq!(
            partition_predicate(Layout::Text, Some(20_726), Some(20_728)).unwrap(),
            "\"day\" BETWEEN '2026/09/30' AND '2026/10/02'"
        );
        assert_eq!(partition_predicate(Layout::Text, None, None), None);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(
            table_ref(Some("hive.flow"), "logs"),
            "\"hive\".\"flow\".\"logs\""
        );
        assert_eq!(table_ref(None, "a\"b"), "\"a\"\"b\"");
    }
}
