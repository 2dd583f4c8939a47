//! QueryDSL queries (docs/ABI.md §8): the host runs them (gou owns
//! QueryDSL) as the process `query.Run`.

use crate::host::{self, Import};
use crate::{to_value, Error};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Runs a QueryDSL query and decodes its rows into `R`.
pub fn run<Q: Serialize, R: DeserializeOwned>(dsl: Q) -> Result<R, Error> {
    host::call(Import::Query, vec![to_value(dsl)?])
}
