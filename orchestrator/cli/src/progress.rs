//! Progress of long commands (import, fit, capture, replay) on stderr: an indicatif bar on a
//! terminal, plain lines otherwise (a line per tenth of a known total, or per step), so logs
//! and pipes get a readable record and people a live bar.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One command's progress; clones share it.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Without a terminal: the tenths of the total already reported.
    tenths_shown: Arc<AtomicU64>,
    total: u64,
    unit: &'static str,
}

impl Progress {
    fn new(total: u64, unit: &'static str, template: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = if total > 0 {
                ProgressBar::new(total)
            } else {
                ProgressBar::new_spinner()
            };
            let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("#>-"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            tenths_shown: Arc::default(),
            total,
            unit,
        }
    }

    /// Bytes out of `total`.
    pub fn bytes(total: u64) -> Progress {
        Progress::new(
            total,
            "bytes",
            "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
    }

    /// `total` things (frames, segments) of one `unit`; a spinner when the total is unknown (0).
    pub fn count(total: u64, unit: &'static str) -> Progress {
        let template = if total > 0 {
            "{spinner} [{bar:30}] {pos}/{len} {msg}"
        } else {
            "{spinner} {pos} {msg}"
        };
        Progress::new(total, unit, template)
    }

    /// Sets how far it got; without a terminal, prints a line at each new tenth of the total.
    pub fn set_position(&self, position: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(position),
            None if self.total > 0 => {
                let tenths = (position * 10).checked_div(self.total).unwrap_or(10).min(10);
                if tenths > self.tenths_shown.fetch_max(tenths, Ordering::SeqCst) {
                    let (done, total) = (self.shown(position), self.shown(self.total));
                    match self.unit {
                        "bytes" => eprintln!("sent {done} of {total} ({}%)", tenths * 10),
                        unit => eprintln!("{done} of {total} {unit} ({}%)", tenths * 10),
                    }
                }
            }
            None => {}
        }
    }

    fn shown(&self, amount: u64) -> String {
        if self.unit == "bytes" {
            format!("{:.1} MiB", amount as f64 / (1 << 20) as f64)
        } else {
            amount.to_string()
        }
    }

    /// The text beside the bar (on a terminal only).
    pub fn set_message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }

    /// A line for the record: above the bar on a terminal, on its own otherwise.
    pub fn println(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(line.as_ref()),
            None => eprintln!("{}", line.as_ref()),
        }
    }

    /// A step for the record: the text beside the bar on a terminal, a line otherwise.
    pub fn log(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.set_message(line.as_ref().to_owned()),
            None => eprintln!("{}", line.as_ref()),
        }
    }

    /// Removes the bar (its last state stays on screen).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
