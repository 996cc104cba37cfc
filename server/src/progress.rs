//! Progress of long work (`dump`, `load`, `copy`): an `indicatif` bar on a terminal (entries,
//! bytes, rate, and the ETA when the total is known), plain lines on standard error every few
//! seconds otherwise (CI logs, pipes, files), which a bar would fill with escape codes.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain progress line is written.
const EVERY: Duration = Duration::from_secs(5);

/// Counts entries and bytes of one piece of work and shows them.
#[derive(Debug)]
pub struct Meter {
    verb: &'static str,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    from: u64,
    entries: u64,
    bytes: u64,
    /// The entry count when the bar or the clock was last looked at.
    shown: u64,
}

impl Meter {
    /// Work that `verb`s (e.g. "dumped") `total` entries if known, starting at `from` (a
    /// resumed copy); a bar when standard error is a terminal.
    pub fn new(verb: &'static str, total: Option<u64>, from: u64) -> Self {
        Self::with_bar(verb, total, from, std::io::stderr().is_terminal())
    }

    /// As [`Meter::new`], with or without a bar.
    pub fn with_bar(verb: &'static str, total: Option<u64>, from: u64, bar: bool) -> Self {
        let bar = bar.then(|| {
            let template = match total {
                Some(_) => {
                    "{spinner} {prefix} {human_pos}/{human_len} entries, {msg} [{elapsed}] {wide_bar} eta {eta}"
                }
                None => "{spinner} {prefix} {human_pos} entries, {msg} [{elapsed}]",
            };
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr())
                .with_style(ProgressStyle::with_template(template).expect("the template is valid"))
                .with_prefix(verb)
                .with_position(from);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        Self {
            verb,
            bar,
            started: now,
            last_line: now,
            from,
            entries: from,
            bytes: 0,
            shown: from,
        }
    }

    /// Sets the counts so far (cheap enough to call per entry: the display is looked at every
    /// 256 entries).
    pub fn set(&mut self, entries: u64, bytes: u64) {
        self.entries = entries;
        self.bytes = bytes;
        if entries.saturating_sub(self.shown) < 256 && entries > self.from + 1 {
            return;
        }
        self.shown = entries;
        match &self.bar {
            Some(bar) => {
                bar.set_position(entries);
                bar.set_message(format!(
                    "{}, {:.0} entries/s",
                    HumanBytes(bytes),
                    self.rate()
                ));
            }
            None => {
                let now = Instant::now();
                if now.duration_since(self.last_line) >= EVERY {
                    self.last_line = now;
                    eprintln!("{}", self.line());
                }
            }
        }
    }

    /// Entries per second since the start (of this run, for a resumed copy).
    fn rate(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.entries.saturating_sub(self.from) as f64 / secs
    }

    /// `"<verb> N entries (B bytes), R entries/s"`.
    pub fn line(&self) -> String {
        format!(
            "{} {} entries ({} bytes), {:.0} entries/s",
            self.verb,
            self.entries,
            self.bytes,
            self.rate()
        )
    }

    /// Removes the bar (the caller prints the summary).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.set_position(self.entries);
            bar.finish_and_clear();
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_from_the_resumed_position() {
        let mut m = Meter::with_bar("copied", None, 100, false);
        m.set(150, 4096);
        let line = m.line();
        assert!(
            line.starts_with("copied 150 entries (4096 bytes), "),
            "{line}"
        );
        assert!(line.ends_with(" entries/s"), "{line}");
    }

    #[test]
    fn a_bar_takes_positions_without_printing_lines() {
        let mut m = Meter::with_bar("loaded", Some(10), 0, true);
        for i in 1..=10 {
            m.set(i, i * 10);
        }
        m.finish();
        assert_eq!(m.bar.as_ref().unwrap().position(), 10);
    }
}
