//! The app's commands are declared to Tauri's ACL here, from the one list
//! (`commands.txt`), so the capability file must allow each one by name
//! (`allow-<command>`): nothing is reachable by default.
fn main() {
    let commands: Vec<&'static str> =
        include_str!("commands.txt").lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    // Tauri keeps the names for the whole build: a build script may leak them.
    let commands: &'static [&'static str] = Box::leak(commands.into_boxed_slice());
    let attrs = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(e) = tauri_build::try_build(attrs) {
        // Build scripts report by failing; there is no other channel.
        #[allow(clippy::panic)]
        {
            panic!("tauri-build: {e:#}");
        }
    }
}
