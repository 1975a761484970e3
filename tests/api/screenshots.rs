//! Where the real-browser tests leave their screenshots and axe results:
//! `target/screenshots/`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::chrome::Viewport;

pub fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// One line per checked page in `target/screenshots/axe.txt`.
pub fn record_axe(name: &str, viewport: Viewport, violations: &[(String, String, usize)]) {
    let summary = if violations.is_empty() {
        "no violations".to_owned()
    } else {
        violations
            .iter()
            .map(|(id, impact, n)| format!("{id} ({impact}, {n} nodes)"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let line = format!("{name}\t{}\t{summary}\n", viewport.name());
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(screenshots_dir().join("axe.txt"))
        .expect("open axe.txt");
    let _ = file.write_all(line.as_bytes());
}
