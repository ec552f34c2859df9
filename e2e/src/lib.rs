//! What the E2E tests (`tests/desktop.rs`) and the desktop benchmark (`tests/bench.rs`)
//! share: starting tauri-driver and stopping it cleanly. Run them with
//! `scripts/test-desktop.sh` and `scripts/bench-desktop.sh`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tauri-driver, stopped with SIGTERM so it takes WebKitWebDriver down with it
/// (SIGKILL would orphan it, holding its port and our stdout).
#[derive(Debug)]
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start tauri-driver (`TAURI_DRIVER`, else from PATH) on these ports and wait until it
/// listens.
pub fn start_driver(port: u16, native_port: u16) -> Result<Driver, String> {
    let bin = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into());
    let child = Command::new(&bin)
        .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("{bin}: {e} (cargo install tauri-driver --locked --version 2.1.0)"))?;
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("tauri-driver did not listen on {port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(driver)
}
