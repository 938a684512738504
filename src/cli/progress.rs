//! Progress on stderr (indicatif): shown only when stderr is a terminal and `--quiet` is off.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over bytes, hidden when not wanted.
pub(crate) struct Progress {
    bar: ProgressBar,
    records: std::sync::atomic::AtomicU64,
    started: std::time::Instant,
}

impl Progress {
    pub(crate) fn bytes(total: u64, quiet: bool) -> Progress {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        };
        Progress {
            bar,
            records: std::sync::atomic::AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }

    /// More bytes to read (a source listed).
    pub(crate) fn add_length(&self, bytes: u64) {
        self.bar.inc_length(bytes);
    }

    /// Raw bytes read (called from the reading threads).
    pub(crate) fn bytes_read(&self, n: u64) {
        self.bar.inc(n);
    }

    /// One file done: the raw bytes not reported while reading it, and the records it held.
    pub(crate) fn file_done(&self, unreported: u64, records: u64) {
        let records = self
            .records
            .fetch_add(records, std::sync::atomic::Ordering::Relaxed)
            + records;
        self.bar.inc(unreported);
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar
            .set_message(format!("{:.0} records/s", records as f64 / secs));
    }

    /// Prints a line above the bar (or plainly when there is none).
    pub(crate) fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
