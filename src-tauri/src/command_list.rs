//! The one list of IPC commands (`commands.txt`). `build.rs` declares it to Tauri's
//! ACL; the bindings export below writes the capability file and the UI's command
//! names from it (CI's drift check regenerates both); `tests/tidy.rs` checks the
//! handler in `lib.rs` against it.

/// `commands.txt`, as built into the app.
const LIST: &str = include_str!("../commands.txt");

/// Every command's name, in the list's order.
pub fn names() -> Vec<&'static str> {
    LIST.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// The capability file: the app's own commands and event listening, nothing else.
pub fn capability() -> String {
    let mut permissions = vec!["core:event:allow-listen".to_string(), "core:event:allow-unlisten".to_string()];
    permissions.extend(names().iter().map(|n| format!("allow-{}", n.replace('_', "-"))));
    let doc = serde_json::json!({
        "$schema": "../gen/schemas/desktop-schema.json",
        "identifier": "default",
        "description": "The main window: the app's own commands and event listening. No file system, shell, HTTP or other plugin access (the dialog plugin opens the shell's own native dialogs; the window cannot call it); no remote origins.",
        "windows": ["main"],
        "permissions": permissions,
    });
    format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
}

/// The UI's `Command` type: `call` accepts only these names.
pub fn typescript() -> String {
    let union: Vec<String> = names().iter().map(|n| format!("  | '{n}'")).collect();
    format!(
        "// Generated from src-tauri/commands.txt by `cargo test -p portcullis-desktop --lib export_bindings`.\n// Do not edit: CI regenerates it and fails on any difference.\nexport type Command =\n{}\n",
        union.join("\n")
    )
}

#[cfg(test)]
mod tests {
    /// Named `export_bindings_*` so that the bindings export (and CI's drift check) runs it.
    #[test]
    fn export_bindings_commands() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::write(root.join("capabilities/default.json"), super::capability()).unwrap();
        std::fs::write(root.join("../ui/src/lib/ipc/commands.ts"), super::typescript()).unwrap();
    }

    /// Issue #14: no plugin permission (the dialog plugin's above all) reaches the
    /// webview; only our own commands, which open dialogs themselves, and events.
    #[test]
    fn the_capability_grants_the_webview_no_plugin() {
        let doc: serde_json::Value = serde_json::from_str(&super::capability()).unwrap();
        let permissions: Vec<&str> = doc["permissions"].as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
        assert!(permissions.iter().all(|p| p.starts_with("allow-") || p.starts_with("core:event:")), "{permissions:?}");
    }

    #[test]
    fn every_name_is_a_plain_identifier_once() {
        let names = super::names();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "a command listed twice");
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')), "{names:?}");
    }
}
