//! The `steppe-atlas` binary: parse the command line, run, report a one-line error.

use clap::Parser;

/// mimalloc: loading a large dataset makes and frees millions of small blocks, which it
/// serves faster than the system allocator (built without transparent huge pages, whose
/// clearing cost more than they saved).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" {
    /// mimalloc's `mi_option_set` (include/mimalloc.h).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (the version Cargo.lock pins).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() {
    // Give freed memory back to the system within 10 ms (mimalloc 3 waits a second), so
    // the peak resident memory stays below the system allocator's; unless the environment
    // sets mimalloc's own option.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain option, before any thread is started.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 10) };
    }
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
