//! How an error becomes an exit status and a line on stderr.
//!
//! | error code | exit status |
//! |---|---|
//! | (ok) | 0 |
//! | 400 bad input (and bad command lines, as clap does) | 2 |
//! | 404 not found | 3 |
//! | 408 timeout | 4 |
//! | 413 limit hit | 5 |
//! | 403 forbidden | 6 |
//! | 500 and every other code | 1 |

use std::process::ExitCode;
use yaowasm::Error;

/// The exit status for a Yao error code.
pub fn status_for(code: i32) -> u8 {
    match code {
        400 => 2,
        404 => 3,
        408 => 4,
        413 => 5,
        403 => 6,
        _ => 1,
    }
}

/// A failed command: the error, and how to print it.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    /// `{"code":..,"message":..}` on stderr (for `run`, whose stdout is
    /// JSON too) instead of a plain `yaowasm: message (code)` line.
    pub json: bool,
}

impl Failure {
    pub fn plain(error: Error) -> Failure {
        Failure { error, json: false }
    }

    pub fn json(error: Error) -> Failure {
        Failure { error, json: true }
    }

    pub fn report(&self) -> ExitCode {
        if self.json {
            let line = serde_json::json!({"code": self.error.code(), "message": self.error.message()});
            eprintln!("{line}");
        } else {
            eprintln!("yaowasm: {} ({})", self.error.message(), self.error.code());
        }
        ExitCode::from(status_for(self.error.code()))
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::plain(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_documented_statuses() {
        let got: Vec<u8> = [400, 403, 404, 408, 413, 500, 418, 200].into_iter().map(status_for).collect();
        assert_eq!(got, [2, 6, 3, 4, 5, 1, 1, 1]);
    }
}
