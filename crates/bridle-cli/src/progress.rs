//! Progress bars on stderr, only when stderr is a terminal.

use bridle_engine::ModuleReport;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

/// A bar counting finished modules, naming the ones running.
pub struct Bar {
    bar: ProgressBar,
    running: Mutex<Vec<String>>,
}

impl Bar {
    /// A bar for `total` modules, or a hidden one when stderr is not a terminal or progress is
    /// off.
    pub fn new(total: usize, enabled: bool) -> Bar {
        let bar = if enabled && std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} modules  {wide_msg}",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar {
            bar,
            running: Mutex::new(Vec::new()),
        }
    }

    fn show(&self, running: &[String]) {
        self.bar.set_message(running.join(", "));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl bridle_engine::Progress for Bar {
    fn module_started(&self, slug: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.push(slug.to_owned());
            self.show(&r);
        }
    }

    fn module_finished(&self, report: &ModuleReport) {
        if let Ok(mut r) = self.running.lock() {
            r.retain(|s| s != &report.module);
            self.show(&r);
        }
        self.bar.inc(1);
    }
}
