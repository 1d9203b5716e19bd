//! The `steppe-atlas` binary: parse the command line, run, report a one-line error.

use clap::Parser;

fn main() {
    let cli = match steppe_atlas::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print in full; a bad flag is one line, as a bad file is.
        Err(e) if !e.use_stderr() || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            e.exit()
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("bad arguments");
            let first = first.trim().strip_prefix("error: ").unwrap_or(first.trim());
            steppe_atlas::note!("steppe-atlas: {} (see --help)", steppe_atlas::output::printable(first));
            std::process::exit(2);
        }
    };
    match steppe_atlas::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // One line, whatever the data or the flags held.
            steppe_atlas::note!("steppe-atlas: {}", steppe_atlas::output::printable(&e.to_string()));
            std::process::exit(1);
        }
    }
}
