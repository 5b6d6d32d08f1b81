//! Progress on stderr, one look for every command: a spinner for a step of unknown length and a
//! bar for counted work. Both draw to stderr, so stdout keeps only the result (text or `--json`).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// How often spinners and bars redraw on their own.
const TICK: Duration = Duration::from_millis(120);

/// A spinner with the elapsed time, for a long step: `⠋   3s {message}`.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").expect("static template"));
    bar.enable_steady_tick(TICK);
    bar.set_message(message.into());
    bar
}

/// A bar over `len` units of counted work: `  3s [=====>    ] 12/40 rounds {message}`.
pub fn bar(len: u64, unit: &str) -> ProgressBar {
    let template = format!("{{elapsed:>4}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}}");
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template(&template).expect("static template").progress_chars("=> "));
    bar.enable_steady_tick(TICK);
    bar
}
