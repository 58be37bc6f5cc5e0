//! [`FieldType`]: how a Rust field type maps to a column and to a [`Value`].
//!
//! Policy: decoding is strict. An integer that does not fit the field, a NULL read into a
//! non-`Option` field, or text that does not parse as the field's type is a typed
//! [`crate::Error::Decode`], never a silent truncation or default. Floats compare by value with
//! NaN equal to NaN, so a NaN field is not reported dirty on every flush.

use crate::value::{ColumnType, Value};

/// Why a [`Value`] could not become a field's type.
pub type DecodeResult<T> = std::result::Result<T, String>;

/// A Rust type that can be an entity field.
///
/// Implemented for `bool`, `i16`, `i32`, `i64`, `f32`, `f64`, `String`, `Vec<u8>`, and
/// `Option<T>` of each; behind features for `chrono` date-times, `uuid::Uuid`,
/// `rust_decimal::Decimal` and `serde_json::Value`.
///
/// ```
/// use coherent_core::{FieldType, Value};
/// assert_eq!(42i32.to_value(), Value::I32(42));
/// assert_eq!(i32::from_value(Value::I64(42)).unwrap(), 42);
/// assert!(i16::from_value(Value::I64(1 << 20)).is_err());
/// assert_eq!(Option::<String>::from_value(Value::Null).unwrap(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported column type",
    label = "unsupported field type",
    note = "supported: bool, i16, i32, i64, f32, f64, String, Vec<u8> and Option<T> of these; chrono date-times, uuid::Uuid, rust_decimal::Decimal and serde_json::Value behind the features of the same name"
)]
pub trait FieldType: Sized + Clone + Send + Sync + 'static {
    /// The column's storage type.
    const COLUMN_TYPE: ColumnType;
    /// Whether the column accepts NULL (true for `Option<T>`).
    const NULLABLE: bool = false;
    /// The entity the column references, for a many-to-one reference type.
    const REFERENCES: Option<crate::meta::Reference> = None;
    /// The value to bind.
    fn to_value(&self) -> Value;
    /// The value to bind, consuming `self`.
    fn into_value(self) -> Value {
        self.to_value()
    }
    /// Decodes a result cell.
    fn from_value(value: Value) -> DecodeResult<Self>;
    /// Whether two field values are the same for change detection.
    fn same(&self, other: &Self) -> bool;
    /// The field as a relation (a reference holding an instance), for the identity map's
    /// cycle collector; None for a plain value.
    fn relation_slot(&mut self) -> Option<&mut dyn crate::relation::RelationSlot> {
        None
    }
    /// The value a field of this type holds when a partial load (`FindOptions::fields`)
    /// did not read its column: a fixed, harmless value (`0`, `""`, `false`, `None`, the
    /// epoch...) that is never written to the database (the Unit of Work knows the column is
    /// not loaded). `None` (the default, for a custom type) means the type has none: such a
    /// field cannot be left out of a partial load.
    ///
    /// ```
    /// use coherent_core::FieldType;
    /// assert_eq!(<i64 as FieldType>::placeholder(), Some(0));
    /// assert_eq!(<Option<String> as FieldType>::placeholder(), Some(None));
    /// ```
    fn placeholder() -> Option<Self> {
        None
    }
}

/// Marker for the non-`Option` field types, so `Option<Option<T>>` is not a column type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported column type inside `Option`",
    label = "unsupported field type",
    note = "Option<T> takes the non-optional column types: bool, i16, i32, i64, f32, f64, String, Vec<u8>; chrono date-times, uuid::Uuid, rust_decimal::Decimal and serde_json::Value behind their features"
)]
pub trait NotNull: FieldType {}

/// A field type as SQL sees its values: a non-NULL base type (`Base`) that may or may not be
/// NULL. Implemented for every [`NotNull`] type `T` (`Output = T`), for `Option<T>` and for
/// `Option<Option<T>>` (`Output = Option<T>`): the last is what a column reached through a
/// nullable reference is typed as when the column is nullable itself (both mean NULL in SQL).
///
/// Aggregates and projections use it: `MAX` of an `Option<i32>` column is an `Option<i32>`,
/// a comparison in a `having` takes an `i32`.
///
/// ```
/// use coherent_core::field_type::Nullable;
/// fn base<V: Nullable>() -> &'static str { std::any::type_name::<V::Base>() }
/// assert_eq!(base::<Option<i32>>(), "i32");
/// assert_eq!(base::<Option<Option<String>>>(), std::any::type_name::<String>());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a column type with a non-NULL base type",
    label = "not `T`, `Option<T>` or `Option<Option<T>>` of a column type `T`",
    note = "a custom field type takes part in aggregates and relation-path projections once it implements `NotNull` too"
)]
pub trait Nullable {
    /// The type without NULL.
    type Base: NotNull;
    /// The type a cell of it decodes to: `Base`, or `Option<Base>` when NULL is possible.
    type Output: FieldType;
}

impl<T: NotNull> Nullable for T {
    type Base = T;
    type Output = T;
}

impl<T: NotNull> Nullable for Option<T> {
    type Base = T;
    type Output = Option<T>;
}

impl<T: NotNull> Nullable for Option<Option<T>> {
    type Base = T;
    type Output = Option<T>;
}

fn mismatch<T>(expected: &str, got: &Value) -> DecodeResult<T> {
    Err(format!("expected {expected}, got {}", got.kind()))
}

macro_rules! int_field {
    ($($t:ty => $var:ident, $ct:ident);* $(;)?) => {$(
        impl FieldType for $t {
            const COLUMN_TYPE: ColumnType = ColumnType::$ct;
            fn to_value(&self) -> Value { Value::$var(*self) }
            fn from_value(value: Value) -> DecodeResult<Self> {
                let wide: i64 = match value {
                    Value::I16(v) => v.into(),
                    Value::I32(v) => v.into(),
                    Value::I64(v) => v,
                    other => return mismatch(stringify!($t), &other),
                };
                <$t>::try_from(wide).map_err(|_| format!("{wide} out of range for {}", stringify!($t)))
            }
            fn same(&self, other: &Self) -> bool { self == other }
            fn placeholder() -> Option<Self> { Some(0) }
        }
        impl NotNull for $t {}
    )*};
}
int_field!(i16 => I16, SmallInt; i32 => I32, Int; i64 => I64, BigInt);

macro_rules! float_field {
    ($($t:ty => $var:ident, $ct:ident);* $(;)?) => {$(
        impl FieldType for $t {
            const COLUMN_TYPE: ColumnType = ColumnType::$ct;
            fn to_value(&self) -> Value { Value::$var(*self) }
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            fn from_value(value: Value) -> DecodeResult<Self> {
                let narrowed = match value {
                    Value::F32(v) => v as $t,
                    Value::F64(v) => {
                        let n = v as $t;
                        if v.is_finite() && n.is_infinite() {
                            return Err(format!("{v} is out of range for {}", stringify!($t)));
                        }
                        n
                    }
                    Value::I64(v) => {
                        let n = v as $t;
                        // Exact only if it converts back (integers beyond 2^24 / 2^53 round).
                        if n as i64 != v || (v == i64::MAX) {
                            return Err(format!("{v} cannot be represented exactly as {}", stringify!($t)));
                        }
                        n
                    }
                    Value::I32(v) => {
                        let n = v as $t;
                        if n as i32 != v {
                            return Err(format!("{v} cannot be represented exactly as {}", stringify!($t)));
                        }
                        n
                    }
                    other => return mismatch(stringify!($t), &other),
                };
                Ok(narrowed)
            }
            fn same(&self, other: &Self) -> bool {
                self == other || (self.is_nan() && other.is_nan())
            }
            fn placeholder() -> Option<Self> { Some(0.0) }
        }
        impl NotNull for $t {}
    )*};
}
float_field!(f32 => F32, Float; f64 => F64, Double);

impl FieldType for bool {
    const COLUMN_TYPE: ColumnType = ColumnType::Bool;
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(value: Value) -> DecodeResult<Self> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::I64(0) | Value::I32(0) | Value::I16(0) => Ok(false),
            Value::I64(1) | Value::I32(1) | Value::I16(1) => Ok(true),
            other => mismatch("bool", &other),
        }
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn placeholder() -> Option<Self> {
        Some(false)
    }
}
impl NotNull for bool {}

impl FieldType for String {
    const COLUMN_TYPE: ColumnType = ColumnType::Text;
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn into_value(self) -> Value {
        Value::Text(self)
    }
    fn from_value(value: Value) -> DecodeResult<Self> {
        match value {
            Value::Text(s) => Ok(s),
            other => mismatch("text", &other),
        }
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn placeholder() -> Option<Self> {
        Some(String::new())
    }
}
impl NotNull for String {}

impl FieldType for Vec<u8> {
    const COLUMN_TYPE: ColumnType = ColumnType::Blob;
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
    fn into_value(self) -> Value {
        Value::Bytes(self)
    }
    fn from_value(value: Value) -> DecodeResult<Self> {
        match value {
            Value::Bytes(b) => Ok(b),
            other => mismatch("bytes", &other),
        }
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn placeholder() -> Option<Self> {
        Some(Vec::new())
    }
}
impl NotNull for Vec<u8> {}

impl<T: NotNull> FieldType for Option<T> {
    const COLUMN_TYPE: ColumnType = T::COLUMN_TYPE;
    const NULLABLE: bool = true;
    const REFERENCES: Option<crate::meta::Reference> = T::REFERENCES;
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn into_value(self) -> Value {
        self.map_or(Value::Null, T::into_value)
    }
    fn from_value(value: Value) -> DecodeResult<Self> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        }
    }
    fn relation_slot(&mut self) -> Option<&mut dyn crate::relation::RelationSlot> {
        self.as_mut().and_then(T::relation_slot)
    }
    fn placeholder() -> Option<Self> {
        Some(None)
    }
}

#[cfg(feature = "uuid")]
mod uuid_field {
    use super::*;
    impl FieldType for uuid::Uuid {
        const COLUMN_TYPE: ColumnType = ColumnType::Uuid;
        fn to_value(&self) -> Value {
            Value::Uuid(*self)
        }
        fn from_value(value: Value) -> DecodeResult<Self> {
            match value {
                Value::Uuid(u) => Ok(u),
                Value::Bytes(b) => uuid::Uuid::from_slice(&b).map_err(|e| e.to_string()),
                Value::Text(s) => uuid::Uuid::parse_str(&s).map_err(|e| e.to_string()),
                other => mismatch("uuid", &other),
            }
        }
        fn same(&self, other: &Self) -> bool {
            self == other
        }
        fn placeholder() -> Option<Self> {
            Some(uuid::Uuid::nil())
        }
    }
    impl NotNull for uuid::Uuid {}
}

#[cfg(feature = "chrono")]
mod chrono_fields {
    use super::*;
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

    /// Text form of date-times: fixed width, so text order is time order.
    pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

    impl FieldType for DateTime<Utc> {
        const COLUMN_TYPE: ColumnType = ColumnType::DateTimeUtc;
        fn to_value(&self) -> Value {
            Value::DateTimeUtc(*self)
        }
        fn from_value(value: Value) -> DecodeResult<Self> {
            match value {
                Value::DateTimeUtc(d) => Ok(d),
                Value::DateTime(d) => Ok(d.and_utc()),
                Value::Text(s) => NaiveDateTime::parse_from_str(&s, DATETIME_FORMAT)
                    .map(|d| d.and_utc())
                    .or_else(|_| DateTime::parse_from_rfc3339(&s).map(|d| d.to_utc()))
                    .map_err(|e| format!("bad date-time {s:?}: {e}")),
                other => mismatch("date-time", &other),
            }
        }
        fn same(&self, other: &Self) -> bool {
            self == other
        }
        fn placeholder() -> Option<Self> {
            Some(DateTime::UNIX_EPOCH)
        }
    }
    impl NotNull for DateTime<Utc> {}

    impl FieldType for NaiveDateTime {
        const COLUMN_TYPE: ColumnType = ColumnType::DateTime;
        fn to_value(&self) -> Value {
            Value::DateTime(*self)
        }
        fn from_value(value: Value) -> DecodeResult<Self> {
            match value {
                Value::DateTime(d) => Ok(d),
                Value::DateTimeUtc(d) => Ok(d.naive_utc()),
                Value::Text(s) => NaiveDateTime::parse_from_str(&s, DATETIME_FORMAT)
                    .map_err(|e| format!("bad date-time {s:?}: {e}")),
                other => mismatch("date-time", &other),
            }
        }
        fn same(&self, other: &Self) -> bool {
            self == other
        }
        fn placeholder() -> Option<Self> {
            Some(DateTime::UNIX_EPOCH.naive_utc())
        }
    }
    impl NotNull for NaiveDateTime {}

    impl FieldType for NaiveDate {
        const COLUMN_TYPE: ColumnType = ColumnType::Date;
        fn to_value(&self) -> Value {
            Value::Date(*self)
        }
        fn from_value(value: Value) -> DecodeResult<Self> {
            match value {
                Value::Date(d) => Ok(d),
                Value::Text(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map_err(|e| format!("bad date {s:?}: {e}")),
                other => mismatch("date", &other),
            }
        }
        fn same(&self, other: &Self) -> bool {
            self == other
        }
        fn placeholder() -> Option<Self> {
            Some(DateTime::UNIX_EPOCH.date_naive())
        }
    }
    impl NotNull for NaiveDate {}
}
#[cfg(feature = "chrono")]
pub use chrono_fields::DATETIME_FORMAT;

#[cfg(feature = "rust_decimal")]
mod decimal_field {
    use super::*;
    use rust_decimal::Decimal;
    impl FieldType for Decimal {
        const COLUMN_TYPE: ColumnType = ColumnType::Decimal;
        fn to_value(&self) -> Value {
            Value::Decimal(*self)
        }
        fn from_value(value: Value) -> DecodeResult<Self> {
            match value {
                Value::Decimal(d) => Ok(d),
                // SQLite prints a large or small REAL in scientific notation (`1.0e+20`):
                // an aggregate of decimals read there back as text.
                Value::Text(s) => s
                    .parse()
                    .or_else(|e| Decimal::from_scientific(&s).map_err(|_| e))
                    .map_err(|e| format!("bad decimal {s:?}: {e}")),
                Value::I64(i) => Ok(Decimal::from(i)),
                other => mismatch("decimal", &other),
            }
        }
        fn same(&self, other: &Self) -> bool {
            // Compare by value and scale: 1.0 and 1.00 are different texts in the database.
            self == other && self.scale() == other.scale()
        }
        fn placeholder() -> Option<Self> {
            Some(Decimal::ZERO)
        }
    }
    impl NotNull for Decimal {}
}

#[cfg(feature = "json")]
mod json_field {
    use super::*;
    impl FieldType for serde_json::Value {
        const COLUMN_TYPE: ColumnType = ColumnType::Json;
        fn to_value(&self) -> Value {
            Value::Json(self.clone())
        }
        fn into_value(self) -> Value {
            Value::Json(self)
        }
        fn from_value(value: Value) -> DecodeResult<Self> {
            match value {
                Value::Json(j) => Ok(j),
                Value::Text(s) => serde_json::from_str(&s).map_err(|e| format!("bad json: {e}")),
                other => mismatch("json", &other),
            }
        }
        fn same(&self, other: &Self) -> bool {
            self == other
        }
        fn placeholder() -> Option<Self> {
            Some(serde_json::Value::Null)
        }
    }
    impl NotNull for serde_json::Value {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_is_not_dirty() {
        assert!(f64::NAN.same(&f64::NAN));
        assert!(!1.0f64.same(&2.0));
    }

    #[test]
    fn floats_refuse_overflow_and_inexact_integers() {
        assert!(f32::from_value(Value::F64(1e300)).is_err());
        assert!(
            f32::from_value(Value::F64(f64::INFINITY))
                .unwrap()
                .is_infinite()
        );
        assert_eq!(f32::from_value(Value::F64(0.5)).unwrap(), 0.5);
        assert!(f64::from_value(Value::I64(i64::MAX)).is_err());
        assert!(f32::from_value(Value::I64((1 << 24) + 1)).is_err());
        assert_eq!(
            f64::from_value(Value::I64(1 << 40)).unwrap(),
            (1u64 << 40) as f64
        );
    }

    #[cfg(feature = "rust_decimal")]
    #[test]
    fn decimals_read_scientific_text() {
        use rust_decimal::Decimal;
        let d = Decimal::from_value(Value::Text("1.5e+20".into())).unwrap();
        assert_eq!(d, Decimal::from(150_000_000_000_000_000_000i128));
        assert!(Decimal::from_value(Value::Text("x".into())).is_err());
    }

    #[test]
    fn strict_decoding() {
        assert!(i32::from_value(Value::I64(i64::from(i32::MAX) + 1)).is_err());
        assert!(String::from_value(Value::Null).is_err());
        assert!(bool::from_value(Value::I64(2)).is_err());
        assert_eq!(Option::<i64>::from_value(Value::I64(7)).unwrap(), Some(7));
    }
}
