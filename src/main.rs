//! The `steppe-atlas` binary: parse the command line, run, report a one-line error.

use clap::Parser;

fn main() {
    steppe_atlas::cli::one_heap_if_one_worker();
    let cli = match steppe_atlas::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print in full; a bad flag is one line, as a bad file is.
        Err(e) if !e.use_stderr() || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            e.exit()
        }
        Err(e) => {
            let text = e.to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("bad arguments");
            let mut line = first.strip_prefix("error: ").unwrap_or(first).to_string();
            // A message that ends in a colon lists what it means on the lines below it
            // (the arguments missing): they join it, up to the usage line.
            if line.ends_with(':') {
                let listed: Vec<&str> =
                    lines.take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more")).collect();
                line = format!("{line} {}", listed.join(", "));
            }
            steppe_atlas::note!("steppe-atlas: {} (see --help)", steppe_atlas::output::printable(line.trim_end()));
            std::process::exit(2);
        }
    };
    steppe_atlas::cli::exit_after_command();
    match steppe_atlas::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // One line, whatever the data or the flags held.
            steppe_atlas::note!("steppe-atlas: {}", steppe_atlas::output::printable(&e.to_string()));
            std::process::exit(1);
        }
    }
}
