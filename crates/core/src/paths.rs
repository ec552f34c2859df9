//! Where Portcullis keeps its data: one directory, `PORTCULLIS_HOME` if set, otherwise
//! the platform's data directory (`~/.local/share/portcullis` on Linux).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("no home directory: set PORTCULLIS_HOME")]
    NoHome,
}

/// The data directory, from an explicit override or the platform default.
pub fn data_home(override_dir: Option<std::ffi::OsString>) -> Result<PathBuf, HomeError> {
    if let Some(dir) = override_dir.filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "portcullis").map(|d| d.data_dir().to_path_buf()).ok_or(HomeError::NoHome)
}

/// The data directory for this process (`PORTCULLIS_HOME` wins).
pub fn home() -> Result<PathBuf, HomeError> {
    data_home(std::env::var_os("PORTCULLIS_HOME"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_wins_and_empty_override_is_ignored() {
        assert_eq!(data_home(Some("/tmp/pc-home".into())).ok(), Some(PathBuf::from("/tmp/pc-home")));
        let default = data_home(Some("".into()));
        assert!(default.map(|p| p.ends_with("portcullis")).unwrap_or(true));
    }
}
