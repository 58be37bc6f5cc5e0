//! [`Value`]: the dialect-neutral form of every bound parameter and every result cell.
//!
//! Policy: values are always **bound**, never spliced into SQL text. A `Value` carries the
//! Rust-side type so a driver can bind it with the right wire type (PostgreSQL cares about
//! `int4` versus `int8`); drivers decode cells into the widest natural variant (SQLite
//! integers always come back as [`Value::I64`]) and [`crate::FieldType::from_value`] narrows
//! them with a range check.

/// One bound parameter or one result cell.
///
/// ```
/// use coherent_core::Value;
/// let v: Value = "Jon".into();
/// assert_eq!(v, Value::Text("Jon".to_string()));
/// assert!(Value::Null.is_null());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 16-bit integer.
    I16(i16),
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// Text.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// A UUID.
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
    /// A point in time in UTC.
    #[cfg(feature = "chrono")]
    DateTimeUtc(chrono::DateTime<chrono::Utc>),
    /// A date and time without a time zone.
    #[cfg(feature = "chrono")]
    DateTime(chrono::NaiveDateTime),
    /// A calendar date.
    #[cfg(feature = "chrono")]
    Date(chrono::NaiveDate),
    /// An exact decimal number.
    #[cfg(feature = "rust_decimal")]
    Decimal(rust_decimal::Decimal),
    /// A JSON document.
    #[cfg(feature = "json")]
    Json(serde_json::Value),
}

impl Value {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is an integer 0: a generated key not assigned yet (Coherent's rule for
    /// integer keys, see `PrimaryKey::is_unassigned`), here as a reference column's value.
    ///
    /// ```
    /// use coherent_core::Value;
    /// assert!(Value::I32(0).is_unassigned_key() && !Value::I64(7).is_unassigned_key());
    /// ```
    pub fn is_unassigned_key(&self) -> bool {
        matches!(self, Value::I16(0) | Value::I32(0) | Value::I64(0))
    }

    /// A short name of the variant, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "bool",
            Value::I16(_) => "i16",
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => "uuid",
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(_) => "timestamptz",
            #[cfg(feature = "chrono")]
            Value::DateTime(_) => "timestamp",
            #[cfg(feature = "chrono")]
            Value::Date(_) => "date",
            #[cfg(feature = "rust_decimal")]
            Value::Decimal(_) => "decimal",
            #[cfg(feature = "json")]
            Value::Json(_) => "json",
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value { Value::$v(v) }
        }
    )*};
}
value_from!(bool => Bool, i16 => I16, i32 => I32, i64 => I64, f32 => F32, f64 => F64,
    String => Text, Vec<u8> => Bytes);

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// The storage type of a column, from which each dialect derives its DDL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `bool`
    Bool,
    /// `i16`
    SmallInt,
    /// `i32`
    Int,
    /// `i64`
    BigInt,
    /// `f32`
    Float,
    /// `f64`
    Double,
    /// `String`
    Text,
    /// `Vec<u8>`
    Blob,
    /// `uuid::Uuid`
    Uuid,
    /// `chrono::DateTime<Utc>`
    DateTimeUtc,
    /// `chrono::NaiveDateTime`
    DateTime,
    /// `chrono::NaiveDate`
    Date,
    /// `rust_decimal::Decimal`
    Decimal,
    /// `serde_json::Value`
    Json,
}

impl ColumnType {
    /// Whether the type is an integer (and so can be an auto-increment key).
    pub const fn is_integer(self) -> bool {
        matches!(
            self,
            ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt
        )
    }
}
