//! Decoding a script function's arguments: the args array (SPEC §2) into the
//! tuple of its parameters, with JavaScript's leniency, as Yao's TypeScript
//! scripts see them: a missing trailing argument is nil (so `Option<T>` and
//! `Value` parameters accept it), extra arguments are ignored.

use crate::Error;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};

/// Decodes the args array into `T`, a tuple of the function's parameters.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut rest = bytes;
    let count = if bytes.is_empty() {
        0
    } else {
        rmp::decode::read_array_len(&mut rest)
            .map_err(|_| Error::bad_request("arguments are not a MessagePack array"))?
    };
    T::deserialize(ArgsDeserializer { rest, count }).map_err(|e| Error::bad_request(format!("bad arguments: {e}")))
}

/// Decodes the whole args array into `T` (for variadic functions).
pub fn decode_all<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let bytes: &[u8] = if bytes.is_empty() { &[0x90] } else { bytes };
    rmp_serde::from_slice(bytes).map_err(|e| Error::bad_request(format!("bad arguments: {e}")))
}

struct ArgsDeserializer<'de> {
    rest: &'de [u8],
    count: u32,
}

impl<'de> Deserializer<'de> for ArgsDeserializer<'de> {
    type Error = rmp_serde::decode::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let count = self.count as usize;
        self.deserialize_tuple(count, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, wanted: usize, visitor: V) -> Result<V::Value, Self::Error> {
        let mut de = rmp_serde::Deserializer::from_read_ref(self.rest);
        visitor.visit_seq(Args { de: &mut de, left: self.count, wanted })
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit_struct newtype_struct seq
        tuple_struct map struct enum identifier ignored_any
    }
}

struct Args<'b, 'de> {
    de: &'b mut rmp_serde::Deserializer<rmp_serde::decode::ReadRefReader<'de, [u8]>>,
    left: u32,
    wanted: usize,
}

impl<'de, 'b> SeqAccess<'de> for Args<'b, 'de> {
    type Error = rmp_serde::decode::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Self::Error> {
        if self.wanted == 0 {
            return Ok(None);
        }
        self.wanted -= 1;
        if self.left > 0 {
            self.left -= 1;
            // Values are decoded owned (DeserializeOwned), so the borrow of the
            // args bytes does not escape.
            seed.deserialize(&mut *self.de).map(Some)
        } else {
            seed.deserialize(de::value::UnitDeserializer::new()).map(Some)
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.wanted)
    }
}
