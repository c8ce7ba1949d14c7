//! Exit codes: one per kind of failure, so a script can tell "not there"
//! from "not allowed" from "try again later" without reading stderr. A leaf:
//! the API client marks its errors with a [`Kind`]; `main` turns the error
//! of a command into its code with [`super::exit_code`].

use std::fmt;

/// Success.
pub const OK: u8 = 0;
/// Any other error (a file that cannot be read, some changes of an apply failed, …).
pub const GENERIC: u8 = 1;
/// A usage error: unknown flag, missing argument, bad value (clap's code).
pub const USAGE: u8 = 2;
/// `plan --detailed-exitcode` when there are changes (as Terraform).
pub const CHANGES: u8 = 2;
/// The object does not exist (HTTP 404).
pub const NOT_FOUND: u8 = 3;
/// It conflicts with the current state: taken name, object in use, stale revision (409, 412).
pub const CONFLICT: u8 = 4;
/// The server refused the input (400, 413, 415, 422).
pub const INVALID: u8 = 5;
/// Not signed in, bad credentials, or not allowed (401, 403).
pub const AUTH: u8 = 6;
/// The server cannot be reached or is unavailable (connection, TLS, timeout, 429, 502-504).
pub const UNAVAILABLE: u8 = 7;

/// The exit codes as `latchkey --help` and the README list them.
pub const HELP: &str = "\
Exit codes:
  0  success
  1  error (anything not listed below)
  2  usage error (unknown command or flag, missing or invalid argument);
     with `plan --detailed-exitcode`: there are changes
  3  not found (404)
  4  conflict: name taken, object in use, changed by someone else (409, 412)
  5  invalid input refused by the server (400, 413, 415, 422)
  6  not signed in, bad credentials, or not allowed (401, 403)
  7  server unreachable or unavailable: connection, TLS, timeout (429, 502, 503, 504)";

/// What went wrong, as far as the exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Generic,
    NotFound,
    Conflict,
    Invalid,
    Auth,
    Unavailable,
}

impl Kind {
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Generic => GENERIC,
            Self::NotFound => NOT_FOUND,
            Self::Conflict => CONFLICT,
            Self::Invalid => INVALID,
            Self::Auth => AUTH,
            Self::Unavailable => UNAVAILABLE,
        }
    }

    /// The kind whose code is `code` (generic for any other).
    #[must_use]
    pub fn of_code(code: u8) -> Self {
        [Self::NotFound, Self::Conflict, Self::Invalid, Self::Auth, Self::Unavailable]
            .into_iter()
            .find(|k| k.code() == code)
            .unwrap_or(Self::Generic)
    }

    /// The kind of an HTTP error status.
    #[must_use]
    pub fn of_status(status: u16) -> Self {
        match status {
            404 => Self::NotFound,
            409 | 412 => Self::Conflict,
            400 | 413 | 415 | 422 => Self::Invalid,
            401 | 403 => Self::Auth,
            429 | 502..=504 => Self::Unavailable,
            _ => Self::Generic,
        }
    }
}

/// An error that knows its kind (the API client's other errors carry a status).
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_distinct_codes() {
        let codes: Vec<u8> = [404, 409, 412, 400, 422, 401, 403, 503, 429, 500, 418]
            .into_iter()
            .map(|s| Kind::of_status(s).code())
            .collect();
        assert_eq!(codes, [3, 4, 4, 5, 5, 6, 6, 7, 7, 1, 1]);
        for code in [OK, GENERIC, USAGE, NOT_FOUND, CONFLICT, INVALID, AUTH, UNAVAILABLE] {
            assert!(HELP.contains(&format!("  {code}  ")), "{code} is documented");
        }
    }
}
