//! Runtime behaviour of `#[derive(Entity)]`: metadata, value pushing, row decoding, change
//! detection, merging and the typed column handles.
#![allow(missing_docs)]

use coherent::core::{CmpOp, Condition, RelationKind, RowReader};
use coherent::{Collection, ColumnSet, ColumnType, Entity, Error, Ref, Value};

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "users")]
pub struct User {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[column(unique)]
    pub email: String,
    pub age: Option<i32>,
    #[column(name = "nick_name", nullable, default = "'anon'", index)]
    pub nick: Option<String>,
}

/// A client-assigned String key, a default table name, a raw identifier and floats.
#[derive(Entity, Clone, Debug, PartialEq)]
struct BlogPost {
    #[primary_key]
    slug: String,
    r#type: String,
    score: f64,
    ratio: Option<f32>,
    body: Vec<u8>,
    published: bool,
}

/// The owner of a one-to-many collection (not a column) whose items reference it.
#[derive(Entity, Clone, Debug)]
#[entity(table = "authors")]
pub struct Author {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[one_to_many(mapped_by = "author", orphan_removal)]
    pub books: Collection<Book>,
}

/// The items: a non-nullable and a nullable many-to-one reference (columns `<field>_id`).
#[derive(Entity, Clone, Debug)]
#[entity(table = "books")]
pub struct Book {
    #[primary_key]
    pub id: i64,
    pub title: String,
    #[many_to_one]
    pub author: Ref<Author>,
    #[many_to_one]
    pub editor: Option<Ref<Author>>,
}

fn jon() -> User {
    User {
        id: 1,
        name: "Jon".into(),
        email: "jon@example.com".into(),
        age: Some(30),
        nick: None,
    }
}

fn set(indexes: &[usize]) -> ColumnSet {
    let mut s = ColumnSet::EMPTY;
    for &i in indexes {
        s.insert(i);
    }
    s
}

#[test]
fn meta_describes_the_table() {
    let meta = User::META;
    assert_eq!(meta.name, "User");
    assert_eq!(meta.table, "users");
    assert_eq!(meta.primary_key, 0);
    let names: Vec<_> = meta.columns.iter().map(|c| c.name).collect();
    assert_eq!(names, ["id", "name", "email", "age", "nick_name"]);
    let fields: Vec<_> = meta.columns.iter().map(|c| c.field).collect();
    assert_eq!(fields, ["id", "name", "email", "age", "nick"]);
    let types: Vec<_> = meta.columns.iter().map(|c| c.column_type).collect();
    assert_eq!(
        types,
        [
            ColumnType::BigInt,
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::Int,
            ColumnType::Text
        ]
    );
    let nullable: Vec<_> = meta.columns.iter().map(|c| c.nullable).collect();
    assert_eq!(nullable, [false, false, false, true, true]);

    let id = meta.pk();
    assert!(id.primary_key && id.generated && !id.nullable);
    assert!(meta.key_generated());
    assert!(
        meta.columns[1..]
            .iter()
            .all(|c| !c.primary_key && !c.generated)
    );

    let email = &meta.columns[2];
    assert!(email.unique && !email.index && email.default.is_none());
    let nick = &meta.columns[4];
    assert!(nick.index && !nick.unique);
    assert_eq!(nick.default, Some("'anon'"));
    assert_eq!(meta.column_index("nick_name"), Some(4));
}

#[test]
fn meta_defaults() {
    let meta = <BlogPost as Entity>::META;
    assert_eq!(meta.name, "BlogPost");
    assert_eq!(meta.table, "blog_post");
    assert!(!meta.key_generated());
    let pk = meta.pk();
    assert!(pk.primary_key && !pk.generated);
    assert_eq!(meta.columns[1].name, "type");
    assert_eq!(meta.columns[1].field, "type");
    let types: Vec<_> = meta.columns.iter().map(|c| c.column_type).collect();
    assert_eq!(
        types,
        [
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::Double,
            ColumnType::Float,
            ColumnType::Blob,
            ColumnType::Bool
        ]
    );
    assert!(meta.columns[3].nullable);
    assert_eq!(BlogPost::TYPE.name, "type");
    assert_eq!(BlogPost::TYPE.index, 1);
}

#[test]
fn key_and_set_key() {
    let mut u = jon();
    assert_eq!(u.key(), 1);
    u.set_key(42);
    assert_eq!(u.id, 42);
}

#[test]
fn push_values_of_some_columns() {
    let u = jon();
    let mut out = Vec::new();
    u.push_values(set(&[1, 3, 4]), &mut out);
    assert_eq!(
        out,
        [Value::Text("Jon".into()), Value::I32(30), Value::Null]
    );

    let mut all = Vec::new();
    u.push_values(User::META.all_columns(), &mut all);
    assert_eq!(all.len(), 5);
    assert_eq!(all[0], Value::I64(1));

    let mut none = Vec::new();
    u.push_values(ColumnSet::EMPTY, &mut none);
    assert!(none.is_empty());
}

#[test]
fn from_row_round_trip() {
    let u = User {
        nick: Some("jj".into()),
        ..jon()
    };
    let mut cells = Vec::new();
    u.push_values(User::META.all_columns(), &mut cells);
    let mut it = cells.into_iter();
    let back = User::from_row(&mut RowReader::new(&mut it, User::META.name)).unwrap();
    assert_eq!(back, u);
    assert!(it.next().is_none());

    // Two rows from one flat result: the reader leaves the iterator at the next row.
    let mut cells = Vec::new();
    u.push_values(User::META.all_columns(), &mut cells);
    jon().push_values(User::META.all_columns(), &mut cells);
    let mut it = cells.into_iter();
    let first = User::from_row(&mut RowReader::new(&mut it, "User")).unwrap();
    let second = User::from_row(&mut RowReader::new(&mut it, "User")).unwrap();
    assert_eq!((first, second), (u, jon()));
}

#[test]
fn from_row_decode_error_names_the_column() {
    let cells = vec![
        Value::I64(1),
        Value::Text("Jon".into()),
        Value::Text("jon@example.com".into()),
        Value::Text("thirty".into()),
        Value::Null,
    ];
    let mut it = cells.into_iter();
    let err = User::from_row(&mut RowReader::new(&mut it, "User")).unwrap_err();
    match err {
        Error::Decode { column, message } => {
            assert_eq!(column, "User.age");
            assert!(message.contains("expected i32"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }

    // A NULL into a non-Option field is an error too, and a short row.
    let mut it = vec![Value::I64(1), Value::Null].into_iter();
    let err = User::from_row(&mut RowReader::new(&mut it, "User")).unwrap_err();
    assert!(matches!(err, Error::Decode { ref column, .. } if column == "User.name"));
    let mut it = vec![Value::I64(1)].into_iter();
    let err = User::from_row(&mut RowReader::new(&mut it, "User")).unwrap_err();
    assert!(matches!(err, Error::Decode { ref column, .. } if column == "User.name"));
}

#[test]
fn changed_reports_exactly_the_changed_columns() {
    let snapshot = jon();
    let mut u = snapshot.clone();
    assert!(u.changed(&snapshot).is_empty());
    u.name = "Jonathan".into();
    u.nick = Some("j".into());
    assert_eq!(u.changed(&snapshot), set(&[1, 4]));
    u.age = None;
    assert_eq!(u.changed(&snapshot), set(&[1, 3, 4]));
}

#[test]
fn nan_is_not_changed() {
    let post = BlogPost {
        slug: "hello".into(),
        r#type: "note".into(),
        score: f64::NAN,
        ratio: Some(f32::NAN),
        body: vec![1, 2],
        published: false,
    };
    let copy = post.clone();
    assert!(post.changed(&copy).is_empty());
    let mut other = copy;
    other.score = 1.0;
    other.ratio = None;
    assert_eq!(other.changed(&post), set(&[2, 3]));
}

#[test]
fn merge_unchanged_keeps_user_changes() {
    let mut snapshot = jon();
    let mut mine = snapshot.clone();
    mine.name = "Mine".into();
    let fresh = User {
        id: 1,
        name: "Theirs".into(),
        email: "new@example.com".into(),
        age: Some(31),
        nick: Some("fresh".into()),
    };
    mine.merge_unchanged(&mut snapshot, fresh);
    assert_eq!(
        mine,
        User {
            id: 1,
            name: "Mine".into(),
            email: "new@example.com".into(),
            age: Some(31),
            nick: Some("fresh".into()),
        }
    );
    // The baseline of the fields taken is fresh too; the changed field's is as read.
    assert_eq!(
        snapshot,
        User {
            name: jon().name,
            ..mine.clone()
        }
    );
    assert_eq!(mine.changed(&snapshot), set(&[1]));
}

#[test]
fn set_column_decodes_the_value() {
    let mut u = jon();
    u.set_column(0, Value::I64(7)).unwrap();
    u.set_column(3, Value::Null).unwrap();
    u.set_column(4, Value::Text("n".into())).unwrap();
    assert_eq!((u.id, u.age, u.nick.as_deref()), (7, None, Some("n")));

    match u.set_column(3, Value::Text("x".into())).unwrap_err() {
        Error::Decode { column, .. } => assert_eq!(column, "User.age"),
        other => panic!("unexpected {other:?}"),
    }
    match u.set_column(4, Value::I64(1)).unwrap_err() {
        Error::Decode { column, .. } => assert_eq!(column, "User.nick_name"),
        other => panic!("unexpected {other:?}"),
    }
    match u.set_column(5, Value::Null).unwrap_err() {
        Error::InvalidArgument(message) => {
            assert_eq!(
                message,
                "entity User has no column 5 (it has 5 columns, 0 to 4)"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(u.age, None, "a failed set leaves the field alone");
}

#[test]
fn column_handles_build_filters() {
    assert_eq!(
        User::NAME.eq("Jon").into_condition(),
        Condition::Compare {
            column: "name",
            op: CmpOp::Eq,
            value: Value::Text("Jon".into()),
        }
    );
    assert_eq!(
        User::AGE.eq(None).into_condition(),
        Condition::IsNull {
            column: "age",
            negated: false,
        }
    );
    assert_eq!((User::ID.name, User::ID.index), ("id", 0));
    assert_eq!((User::NICK.name, User::NICK.index), ("nick_name", 4));
    assert_eq!(User::EMAIL.index, 2);
    let order = User::AGE.desc();
    assert!(order.is_descending() && order.column() == "age" && order.entity() == "User");
}

#[test]
fn entity_declared_in_a_function() {
    #[derive(Entity, Clone, Debug)]
    #[entity(crate = "coherent")]
    struct Local {
        #[primary_key]
        key: i32,
        value: Option<i16>,
    }
    let l = Local {
        key: 3,
        value: Some(2),
    };
    assert_eq!(l.key(), 3);
    assert_eq!(Local::META.table, "local");
    assert_eq!(Local::VALUE.index, 1);
    assert_eq!(Local::KEY.name, "key");
}

#[test]
fn one_to_many_is_a_relation_not_a_column() {
    let meta = Author::META;
    let names: Vec<_> = meta.columns.iter().map(|c| c.name).collect();
    assert_eq!(names, ["id", "name"], "`books` is not a column");
    assert_eq!(meta.column_index("books"), None);
    assert_eq!(meta.relations.len(), 1);
    let books = &meta.relations[0];
    assert_eq!(books.field, "books");
    assert_eq!(books.kind, RelationKind::OneToMany);
    assert_eq!(books.mapped_by, "author");
    assert!(books.orphan_removal);
    assert_eq!(books.target_meta().name, "Book");
    assert_eq!(books.target_meta().table, "books");
    assert_eq!(books.mapped_by_column(), Some(2), "Book.author is column 2");
    assert!(User::META.relations.is_empty());
}

#[test]
fn many_to_one_is_a_foreign_key_column() {
    let meta = Book::META;
    assert!(meta.relations.is_empty());
    let names: Vec<_> = meta.columns.iter().map(|c| c.name).collect();
    assert_eq!(names, ["id", "title", "author_id", "editor_id"]);

    let author = &meta.columns[2];
    assert_eq!(author.field, "author");
    let target = author.references.expect("author_id is a foreign key");
    assert_eq!((target.meta)().name, "Author");
    assert_eq!(author.column_type, ColumnType::BigInt, "the key's type");
    assert!(!author.nullable);

    let editor = &meta.columns[3];
    assert!(editor.references.is_some() && editor.nullable);
    assert!(meta.columns[..2].iter().all(|c| c.references.is_none()));
    assert_eq!(Book::AUTHOR.name, "author_id");
}

#[test]
fn a_decoded_collection_is_unloaded_and_references_hold_keys() {
    let mut it = vec![Value::I64(7), Value::Text("Ursula".into())].into_iter();
    let author = Author::from_row(&mut RowReader::new(&mut it, "Author")).unwrap();
    assert!(it.next().is_none(), "the collection reads no cell");
    assert_eq!((author.id, author.name.as_str()), (7, "Ursula"));
    assert!(!author.books.is_loaded());
    match author.books.items().unwrap_err() {
        Error::CollectionNotLoaded { entity, relation } => {
            assert_eq!((entity, relation), ("Book", "Author.books"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(author.books.len().is_err() && author.books.is_empty().is_err());
    // A new entity's collection is loaded and empty.
    assert_eq!(Collection::<Book>::new().len().unwrap(), 0);

    let mut it = vec![
        Value::I64(1),
        Value::Text("Earthsea".into()),
        Value::I64(7),
        Value::Null,
    ]
    .into_iter();
    let book = Book::from_row(&mut RowReader::new(&mut it, "Book")).unwrap();
    assert_eq!(book.author.key(), 7);
    assert!(!book.author.is_loaded());
    assert!(matches!(
        book.author.get().unwrap_err(),
        Error::ReferenceNotLoaded {
            entity: "Author",
            ..
        }
    ));
    assert!(book.editor.is_none());
}

/// The schema attributes: composite indexes and unique constraints, ON DELETE rules and
/// rename hints.
#[derive(Entity, Clone, Debug)]
#[entity(
    table = "loans",
    renamed_from = "borrowings",
    index(columns = ["book", "due"]),
    unique(columns = ["reader_code", "book"], name = "uq_one_loan_per_reader")
)]
pub struct Loan {
    #[primary_key]
    pub id: i64,
    #[many_to_one(on_delete = "cascade")]
    pub book: Ref<Book>,
    #[many_to_one(on_delete = "SET_NULL")]
    pub reader: Option<Ref<Author>>,
    #[column(renamed_from = "reader_id_text")]
    pub reader_code: String,
    #[column(default = "0")]
    pub due: i64,
}

#[test]
fn schema_attributes_reach_the_metadata() {
    use coherent::{IndexMeta, OnDelete};
    let meta = Loan::META;
    assert_eq!(meta.renamed_from, Some("borrowings"));
    assert_eq!(
        meta.indexes,
        [
            IndexMeta {
                name: "idx_loans_book_id_due",
                columns: &["book_id", "due"],
                unique: false
            },
            IndexMeta {
                name: "uq_one_loan_per_reader",
                columns: &["reader_code", "book_id"],
                unique: true
            },
        ]
    );
    let rules: Vec<_> = meta.columns.iter().map(|c| c.on_delete).collect();
    assert_eq!(
        rules,
        [
            OnDelete::NoAction,
            OnDelete::Cascade,
            OnDelete::SetNull,
            OnDelete::NoAction,
            OnDelete::NoAction
        ]
    );
    assert_eq!(meta.columns[3].renamed_from, Some("reader_id_text"));
    assert_eq!(meta.columns[4].default, Some("0"));
    assert!(User::META.indexes.is_empty() && User::META.renamed_from.is_none());
}
