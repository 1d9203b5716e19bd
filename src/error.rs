//! Errors and data problems, each naming the file and feature they concern.

use std::fmt;
use std::path::PathBuf;

/// How serious a data problem is: errors stop `render`, warnings are only reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// For information: how a file was read, polities given automatic colours.
    Info,
    /// Questionable but drawable (overlapping areas, overlapping spans).
    Warning,
    /// Malformed: the dataset is refused.
    Error,
}

/// One problem found in a dataset or style, printed as `file:feature-id: what is wrong`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file name (e.g. `cities.geojson`).
    pub file: String,
    /// The feature id, or `#N` (feature index) when it has none; `None` for file-level problems.
    pub feature: Option<String>,
    /// What is wrong, in one line.
    pub message: String,
}

impl Problem {
    /// An error about one feature.
    pub fn error(file: &str, feature: Option<&str>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            file: file.to_string(),
            feature: feature.map(str::to_string),
            message: message.into(),
        }
    }

    /// A note for information about one feature or file (never fatal, even with `--strict`).
    pub fn info(file: &str, feature: Option<&str>, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Info, ..Problem::error(file, feature, message) }
    }

    /// A warning about one feature.
    pub fn warning(file: &str, feature: Option<&str>, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Warning, ..Problem::error(file, feature, message) }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
            Severity::Info => "info: ",
        };
        // Ids and messages come from the data: a newline or an escape code in them must not
        // break "one line per problem" nor drive the terminal.
        use crate::output::printable;
        match &self.feature {
            Some(id) => write!(f, "{}:{}: {}{}", printable(&self.file), printable(id), sev, printable(&self.message)),
            None => write!(f, "{}: {}{}", printable(&self.file), sev, printable(&self.message)),
        }
    }
}

/// Errors of the library's operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The dataset has errors; the first is shown, all are listed.
    #[error("{}", summarize(.0))]
    Data(Vec<Problem>),
    /// A style file could not be read or has unknown/missing keys.
    #[error("{file}: {message}")]
    Style {
        /// Style file or embedded name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A bad command-line value or request parameter.
    #[error("{0}")]
    Usage(String),
    /// Encoding an image failed.
    #[error("{0}")]
    Encode(String),
}

fn summarize(problems: &[Problem]) -> String {
    let errors: Vec<&Problem> = problems.iter().filter(|p| p.severity == Severity::Error).collect();
    match errors.as_slice() {
        [] => "no errors".to_string(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more errors; run `validate`)", rest.len()),
    }
}

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
