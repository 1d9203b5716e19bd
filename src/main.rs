//! The `steppe-atlas` binary: parse the command line, run, report a one-line error.

use clap::Parser;

fn main() {
    let cli = steppe_atlas::cli::Cli::parse();
    match steppe_atlas::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // One line, whatever the data or the flags held.
            steppe_atlas::note!("steppe-atlas: {}", steppe_atlas::output::printable(&e.to_string()));
            std::process::exit(1);
        }
    }
}
