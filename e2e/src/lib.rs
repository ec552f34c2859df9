//! Only tests live here (`tests/desktop.rs`); run them with `scripts/test-desktop.sh`.
