//! `portcullis firmware add FILE` and `portcullis firmware list`: the library of images
//! firmware steps upload. What an image is for is read from its header where the
//! format allows (the simulator's), else given here and checked against nothing but
//! the operator's word, which the library records.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use portcullis_core::firmware::{Given, Library};
use portcullis_core::workspace::Clock;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add an image to the library (its SHA-256 computed here).
    Add {
        file: PathBuf,
        /// The vendor (`hikvision`), when the image does not say.
        #[arg(long)]
        vendor: Option<String>,
        /// A model pattern the image is for (`DS-2CD2xx2F-I`; `x` is any one character);
        /// repeat for several. Needed when the image does not say.
        #[arg(long = "model")]
        models: Vec<String>,
        /// The version the device reports once upgraded (`V5.5.800 build 210628`).
        #[arg(long)]
        version: Option<String>,
        /// The SHA-256 the vendor publishes for the file: refused if it differs.
        #[arg(long)]
        sha256: Option<String>,
    },
    /// The images in the library.
    List,
}

pub fn run(command: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let home = portcullis_core::paths::home()?;
    portcullis_core::files::check_home(&home)?;
    let library = Library::at(&home);
    match command {
        Command::Add { file, vendor, models, version, sha256 } => {
            let given = Given { vendor, models, version, sha256 };
            let now = portcullis_core::workspace::SystemClock.stamp();
            let added = library.add(&file, &given, &now)?;
            let i = &added.image;
            if out.json {
                out.record("firmware_added", &added);
            } else if added.already {
                println!(
                    "Already in the library: {} {} for {} (SHA-256 {}).",
                    i.vendor,
                    i.version,
                    i.models.join(", "),
                    i.sha256
                );
            } else {
                let said = if i.from_header { "read from the image" } else { "as given" };
                println!(
                    "Added {} {} for {} ({said}), {} bytes, SHA-256 {}.",
                    i.vendor,
                    i.version,
                    i.models.join(", "),
                    i.size,
                    i.sha256
                );
            }
        }
        Command::List => {
            let images = library.list()?;
            if out.json {
                for i in &images {
                    out.record("firmware_image", i);
                }
            } else if images.is_empty() {
                println!("The firmware library is empty (portcullis firmware add FILE).");
            } else {
                for i in &images {
                    println!(
                        "{:<10} {:<26} {:<30} {:>11} B  {}",
                        i.vendor,
                        i.version,
                        i.models.join(", "),
                        i.size,
                        i.short()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
