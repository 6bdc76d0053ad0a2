//! What can be wrong with a configuration, worded for the person editing it.

use std::fmt;
use std::path::PathBuf;

/// A configuration that cannot be used, and where to look.
///
/// Every variant names the place to fix: a file, a line and column, a dotted
/// key (`trunk[1].uri`) or an environment variable, so that `stox check-config`
/// prints one line that leads straight to the mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The file could not be read.
    Io {
        /// The file we tried to read.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
    /// Not TOML, or TOML of the wrong shape (unknown key, wrong type), found
    /// while reading the file; line and column are 1-based.
    Syntax {
        /// 1-based line of the problem, when the parser knows it.
        line: Option<usize>,
        /// 1-based column (in characters) of the problem.
        column: Option<usize>,
        /// The parser's description.
        message: String,
    },
    /// A value that parsed but cannot be used.
    Invalid {
        /// Dotted key, e.g. `xmpp.secret` or `trunk[1].uri`.
        key: String,
        /// What is wrong with it (mentions the environment variable when the
        /// value came from one).
        problem: String,
    },
    /// A `STOX_*` environment variable that is unknown or holds a value of the
    /// wrong type.
    Env {
        /// The variable's name as set.
        var: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl ConfigError {
    /// An [`ConfigError::Invalid`] for `key`.
    pub(crate) fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// A [`ConfigError::Syntax`] from a TOML error, with the span turned into a
    /// line and column of `text`.
    pub(crate) fn from_toml(err: &toml::de::Error, text: &str) -> Self {
        let (line, column) = match err.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = before[line_start..].chars().count() + 1;
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError::Syntax {
            line,
            column,
            message: err.message().trim().replace('\n', " "),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, message } => {
                write!(f, "{}: cannot read: {message}", path.display())
            }
            ConfigError::Syntax {
                line: Some(line),
                column: Some(column),
                message,
            } => write!(f, "line {line}, column {column}: {message}"),
            ConfigError::Syntax { message, .. } => write!(f, "{message}"),
            ConfigError::Invalid { key, problem } => write!(f, "{key}: {problem}"),
            ConfigError::Env { var, problem } => write!(f, "{var}: {problem}"),
        }
    }
}

impl std::error::Error for ConfigError {}
