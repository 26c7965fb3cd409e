//! Reading internally tagged enums (`{"type": "task_started", "task": 3, "worker": 2}`)
//! without buffering them.
//!
//! serde's derived reader of an internally tagged enum first copies the whole object into an
//! untyped buffer (the tag may come last), then reads the variant from the buffer: about three
//! quarters of the time a page spends reading a recording went there. The wire always puts
//! `type` first (serde writes the tag first), so [`tagged_enum!`] declares the enum once and
//! also derives an *externally* tagged reader of it (serde's `remote`); [`deserialize`] reads
//! the tag, then hands the rest of the same object to that reader, field by field, with no
//! copy. An object whose `type` is not first (hand-written JSON) is still read: buffered, as
//! before.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, VariantAccess,
    Visitor,
};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// An enum with an externally tagged reader (`{"variant": {fields}}`), as [`tagged_enum!`]
/// derives it.
pub(crate) trait External<'de>: Sized {
    /// Reads the enum from an externally tagged representation.
    fn external<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Declares a public enum serialized internally tagged by `type` (snake_case variant names),
/// whose [`serde::Deserialize`] reads the tag and then the variant's fields without buffering
/// ([`deserialize`]). `pub enum Name / Mirror ("Name") { … }`: `Mirror` is the private copy
/// serde's `remote` derives the externally tagged reader from; the enum is written once.
macro_rules! tagged_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident / $external:ident ($remote:literal) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $( ( $($tuple:tt)* ) )? $( { $($fields:tt)* } )?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(serde::Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant $( ( $($tuple)* ) )? $( { $($fields)* } )? ),*
        }

        /// The externally tagged reader of the enum above (serde `remote`).
        #[derive(serde::Deserialize)]
        #[serde(remote = $remote, rename_all = "snake_case")]
        #[allow(dead_code, clippy::large_enum_variant)]
        enum $external {
            $( $(#[$vmeta])* $variant $( ( $($tuple)* ) )? $( { $($fields)* } )? ),*
        }

        impl<'de> $crate::tagged::External<'de> for $name {
            fn external<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $external::deserialize(d)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::tagged::deserialize(d)
            }
        }
    };
}
pub(crate) use tagged_enum;

/// Reads an internally tagged `T` (see the module's comment).
pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: External<'de>,
{
    d.deserialize_map(TaggedVisitor(PhantomData))
}

/// A key or tag, borrowed from the input when it can be.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

struct TaggedVisitor<T>(PhantomData<T>);

impl<'de, T: External<'de>> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a \"type\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(first) = map.next_key::<Text<'de>>()? else {
            return Err(de::Error::missing_field("type"));
        };
        if first.0 == "type" {
            let tag = map.next_value::<Text<'de>>()?;
            return T::external(Tagged { tag: tag.0, map });
        }
        // procviz writes `type` first; reading any order would need a buffer, and its code
        // (6 KiB of gzip) would take the page past its size goal.
        Err(de::Error::custom(format!(
            "the \"type\" field must come first in an event object (procviz writes it first), found {:?} first",
            first.0
        )))
    }
}

/// The tag read, and the rest of the object: read as an externally tagged enum.
struct Tagged<'de, A> {
    tag: Cow<'de, str>,
    map: A,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Tagged<'de, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom(
            "an internally tagged object is read as an enum",
        ))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Tagged<'de, A> {
    type Error = A::Error;
    type Variant = Rest<A>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Rest<A>), A::Error> {
        let variant = match self.tag {
            Cow::Borrowed(s) => seed.deserialize(de::value::BorrowedStrDeserializer::new(s))?,
            Cow::Owned(s) => seed.deserialize(s.into_deserializer())?,
        };
        Ok((variant, Rest(self.map)))
    }
}

/// The object's fields after its tag: the variant's content.
struct Rest<A>(A);

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Rest<A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        while self
            .0
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        seed.deserialize(de::value::MapAccessDeserializer::new(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, A::Error> {
        Err(de::Error::custom(
            "tuple variants cannot be internally tagged",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Event, EventKind, ProcId, RunId, RunTime, ServerMessage, TaskResult};

    fn read(json: &str) -> Result<EventKind, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_tag_comes_first_as_written_and_elsewhere_is_refused_saying_so() {
        let want = EventKind::TaskFinished {
            task: 3,
            worker: ProcId(2),
            result: TaskResult::Value { value: 9 },
        };
        let json =
            r#"{"type":"task_finished","task":3,"worker":2,"result":{"type":"value","value":9}}"#;
        assert_eq!(read(json), Ok(want.clone()));
        for later in [
            r#"{"task":3,"worker":2,"result":{"type":"value","value":9},"type":"task_finished"}"#,
            r#"{"type":"task_finished","task":3,"worker":2,"result":{"value":9,"type":"value"}}"#,
        ] {
            let e = read(later).expect_err("type not first");
            assert!(e.contains("the \"type\" field must come first"), "{e}");
        }
        // As it is written.
        let written = serde_json::to_string(&want).expect("write");
        assert!(
            written.starts_with(r#"{"type":"task_finished","#),
            "{written}"
        );
        assert_eq!(read(&written), Ok(want));
    }

    #[test]
    fn unit_and_newtype_variants_and_unknown_fields() {
        assert_eq!(read(r#"{"type":"pool_closed"}"#), Ok(EventKind::PoolClosed));
        assert_eq!(
            read(r#"{"type":"pool_closed","later":{"a":[1,2]}}"#),
            Ok(EventKind::PoolClosed),
            "fields a later version adds are ignored"
        );
        let thread = read(r#"{"type":"thread_started","proc":1,"tid":7,"name":"Thread-1"}"#);
        assert!(
            matches!(thread, Ok(EventKind::ThreadStarted(t)) if t.tid == 7 && t.name == "Thread-1")
        );
    }

    #[test]
    fn a_missing_or_unknown_type_is_a_clear_error() {
        let missing = read("{}").expect_err("no type");
        assert!(missing.contains("missing field `type`"), "{missing}");
        let unknown = read(r#"{"type":"task_exploded","task":3}"#).expect_err("unknown");
        assert!(
            unknown.contains("unknown variant `task_exploded`"),
            "{unknown}"
        );
        let wrong =
            read(r#"{"type":"task_started","task":"three","worker":1}"#).expect_err("bad field");
        assert!(wrong.contains("invalid type"), "{wrong}");
        let not_object = read("[1, 2]").expect_err("not an object");
        assert!(
            not_object.contains("invalid type: sequence"),
            "{not_object}"
        );
    }

    #[test]
    fn a_batch_of_events_in_a_server_message_reads_back() {
        let msg = ServerMessage::Events {
            events: vec![Event {
                run: RunId(4),
                seq: 9,
                t: RunTime(1_000),
                kind: EventKind::TaskStarted {
                    task: 1,
                    worker: ProcId(3),
                },
            }],
            dropped: 0,
        };
        let json = serde_json::to_string(&msg).expect("write");
        let back: ServerMessage = serde_json::from_str(&json).expect("read");
        assert_eq!(back, msg);
    }
}
