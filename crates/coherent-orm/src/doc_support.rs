//! A hand-written entity for this crate's documentation examples (the derive lives in
//! `coherent-macros` and expands to paths of the `coherent` facade). Not public API.

use coherent_core::{
    Column, ColumnMeta, ColumnSet, ColumnType, Entity, EntityMeta, Error, FieldType, Result,
    RowReader, Value,
};

/// A user.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    /// Generated key.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Unique e-mail.
    pub email: String,
}

impl User {
    /// A new, unsaved user.
    pub fn new(name: &str, email: &str) -> User {
        User {
            id: 0,
            name: name.into(),
            email: email.into(),
        }
    }
    /// The `name` column.
    pub const NAME: Column<User, String> = Column::new("name", 1);
    /// The `email` column.
    pub const EMAIL: Column<User, String> = Column::new("email", 2);
}

static COLUMNS: [ColumnMeta; 3] = [
    ColumnMeta {
        primary_key: true,
        generated: true,
        ..ColumnMeta::new("id", ColumnType::BigInt)
    },
    ColumnMeta::new("name", ColumnType::Text),
    ColumnMeta {
        unique: true,
        ..ColumnMeta::new("email", ColumnType::Text)
    },
];
static META: EntityMeta = EntityMeta {
    name: "User",
    table: "users",
    columns: &COLUMNS,
    primary_key: 0,
    relations: &[],
    indexes: &[],
    renamed_from: None,
};

impl Entity for User {
    type Key = i64;
    const META: &'static EntityMeta = &META;
    fn key(&self) -> i64 {
        self.id
    }
    fn set_key(&mut self, key: i64) {
        self.id = key;
    }
    fn push_values(&self, columns: ColumnSet, out: &mut Vec<Value>) {
        if columns.contains(0) {
            out.push(self.id.to_value());
        }
        if columns.contains(1) {
            out.push(self.name.to_value());
        }
        if columns.contains(2) {
            out.push(self.email.to_value());
        }
    }
    fn from_row(row: &mut RowReader<'_>) -> Result<Self> {
        Ok(User {
            id: row.read("id")?,
            name: row.read("name")?,
            email: row.read("email")?,
        })
    }
    fn changed(&self, s: &Self) -> ColumnSet {
        let mut set = ColumnSet::EMPTY;
        if !self.id.same(&s.id) {
            set.insert(0);
        }
        if !self.name.same(&s.name) {
            set.insert(1);
        }
        if !self.email.same(&s.email) {
            set.insert(2);
        }
        set
    }
    fn merge_unchanged(&mut self, s: &mut Self, fresh: Self) {
        if self.name.same(&s.name) {
            s.name.clone_from(&fresh.name);
            self.name = fresh.name;
        }
        if self.email.same(&s.email) {
            s.email.clone_from(&fresh.email);
            self.email = fresh.email;
        }
    }
    fn set_column(&mut self, index: usize, value: Value) -> Result<()> {
        let err = |message| Error::Decode {
            column: format!("User.{}", COLUMNS[index].name),
            message,
        };
        match index {
            0 => self.id = FieldType::from_value(value).map_err(err)?,
            1 => self.name = FieldType::from_value(value).map_err(err)?,
            2 => self.email = FieldType::from_value(value).map_err(err)?,
            _ => return Err(Error::InvalidArgument(format!("no column {index}"))),
        }
        Ok(())
    }
}
