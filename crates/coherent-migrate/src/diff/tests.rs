use super::*;
use crate::model::{Column, ForeignKey, Index, Table};
use coherent_core::OnDelete;

fn col(name: &str, ty: &str) -> Column {
    Column {
        name: name.into(),
        sql_type: ty.into(),
        ..Column::default()
    }
}

fn key() -> Column {
    Column {
        auto_increment: true,
        ..col("id", "bigint")
    }
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table {
        columns,
        primary_key: vec!["id".into()],
        ..Table::new(name)
    }
}

fn schema(tables: Vec<Table>) -> Schema {
    let mut s = Schema::default();
    for t in tables {
        s.insert(t);
    }
    s.normalize();
    s
}

fn fk(table: &str, column: &str, target: &str) -> ForeignKey {
    ForeignKey {
        name: format!("fk_{table}_{column}"),
        columns: vec![column.into()],
        referenced_table: target.into(),
        referenced_columns: vec!["id".into()],
        on_delete: OnDelete::Cascade,
    }
}

#[test]
fn renames_come_from_hints_only_and_reverse_in_down() {
    let from = schema(vec![table("people", vec![key(), col("fullname", "text")])]);
    let mut users = table(
        "users",
        vec![
            key(),
            Column {
                renamed_from: Some("fullname".into()),
                ..col("name", "text")
            },
        ],
    );
    users.renamed_from = Some("people".into());
    let to = schema(vec![users]);
    let plan = plan(&from, &to, Dialect::Postgres, PlanOptions::default());
    assert_eq!(
        plan.changes,
        vec![
            Change::RenameTable {
                from: "people".into(),
                to: "users".into()
            },
            Change::RenameColumn {
                table: "users".into(),
                from: "fullname".into(),
                to: "name".into()
            },
        ]
    );
    assert!(
        plan.up
            .contains(r#"ALTER TABLE "people" RENAME TO "users""#),
        "{}",
        plan.up
    );
    assert!(
        plan.up
            .contains(r#"ALTER TABLE "users" RENAME COLUMN "fullname" TO "name""#)
    );
    assert!(
        plan.down
            .contains(r#"ALTER TABLE "users" RENAME TO "people""#),
        "{}",
        plan.down
    );
    assert!(
        plan.down
            .contains(r#"ALTER TABLE "people" RENAME COLUMN "name" TO "fullname""#),
        "{}",
        plan.down
    );
    assert!(!plan.down.contains("DROP"), "{}", plan.down);
    // Applied: the hint names a table that is gone, so nothing happens.
    assert!(diff(&plan.after, &to).is_empty());
    // Without the hint, it is a new table and a dropped one (the drop left out).
    let unhinted = schema(vec![table("users", vec![key(), col("name", "text")])]);
    let guess = plan_of(&from, &unhinted, false);
    assert!(matches!(guess.changes[..], [Change::CreateTable(_)]));
    assert!(matches!(guess.skipped[..], [(Change::DropTable(_), _)]));
}

fn plan_of(from: &Schema, to: &Schema, destructive: bool) -> MigrationPlan {
    plan(
        from,
        to,
        Dialect::Postgres,
        PlanOptions::default().allow_destructive(destructive),
    )
}

#[test]
fn destructive_changes_are_comments_unless_allowed() {
    let from = schema(vec![table(
        "t",
        vec![key(), col("a", "bigint"), col("b", "text")],
    )]);
    let to = schema(vec![table("t", vec![key(), col("a", "integer")])]);
    let kept = plan_of(&from, &to, false);
    assert!(kept.changes.is_empty(), "{:?}", kept.changes);
    assert_eq!(kept.skipped.len(), 2);
    assert!(!kept.up.contains("DROP COLUMN") && !kept.up.contains("TYPE integer"));
    assert!(
        kept.up.contains("-- Left out: drop column t.b"),
        "{}",
        kept.up
    );
    assert_eq!(kept.down, "");
    assert_eq!(kept.after, from);

    let allowed = plan_of(&from, &to, true);
    assert!(
        allowed.up.contains(r#"ALTER TABLE "t" DROP COLUMN "b""#),
        "{}",
        allowed.up
    );
    assert!(
        allowed
            .up
            .contains(r#"ALTER COLUMN "a" TYPE integer USING "a"::integer"#)
    );
    assert!(
        allowed.down.contains(r#"ADD COLUMN "b" text NOT NULL"#),
        "{}",
        allowed.down
    );
    assert!(allowed.down.contains("TYPE bigint"), "{}", allowed.down);
    // Widening is not destructive.
    let wider = schema(vec![table(
        "t",
        vec![key(), col("a", "numeric"), col("b", "text")],
    )]);
    assert!(plan_of(&from, &wider, false).skipped.is_empty());
}

#[test]
fn new_tables_reference_each_other_through_foreign_keys_added_last() {
    let mut a = table("a", vec![key(), col("b_id", "bigint")]);
    a.foreign_keys.push(fk("a", "b_id", "b"));
    let mut b = table("b", vec![key(), col("a_id", "bigint")]);
    b.foreign_keys.push(fk("b", "a_id", "a"));
    let to = schema(vec![a, b]);
    let pg = plan_of(&Schema::default(), &to, false);
    let create_b = pg.up.find(r#"CREATE TABLE "b""#).unwrap();
    let add_fk = pg.up.find(r#"ADD CONSTRAINT "fk_a_b_id""#).unwrap();
    assert!(create_b < add_fk, "{}", pg.up);
    assert!(pg.up.contains("ON DELETE CASCADE"));
    let sqlite = plan(
        &Schema::default(),
        &to,
        Dialect::Sqlite,
        PlanOptions::default(),
    );
    assert!(!sqlite.up.contains("ALTER TABLE"), "{}", sqlite.up);
    assert!(
        sqlite.up.contains(
            r#"CONSTRAINT "fk_a_b_id" FOREIGN KEY ("b_id") REFERENCES "b" ("id") ON DELETE CASCADE"#
        ),
        "{}",
        sqlite.up
    );
    assert!(
        sqlite
            .up
            .contains(r#""id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"#)
    );
    // Dropping them: the foreign key into the first goes first, then both tables.
    let down = plan_of(&to, &Schema::default(), true);
    assert_eq!(down.changes.len(), 3, "{:?}", down.changes);
}

#[test]
fn dropped_tables_go_referencing_first() {
    let mut child = table("child", vec![key(), col("parent_id", "bigint")]);
    child.foreign_keys.push(fk("child", "parent_id", "parent"));
    let from = schema(vec![child, table("parent", vec![key()])]);
    let plan = plan_of(&from, &Schema::default(), true);
    let names: Vec<&str> = plan.changes.iter().map(Change::table).collect();
    assert_eq!(names, ["child", "parent"]);
}

#[test]
fn a_changed_index_is_dropped_and_added_again() {
    let mut from_t = table("t", vec![key(), col("a", "text"), col("b", "text")]);
    from_t.indexes.push(Index {
        name: "idx_t_a_b".into(),
        columns: vec!["a".into(), "b".into()],
        unique: false,
    });
    let mut to_t = from_t.clone();
    to_t.indexes[0].unique = true;
    let plan = plan_of(&schema(vec![from_t]), &schema(vec![to_t]), false);
    assert!(matches!(
        plan.changes[..],
        [Change::DropIndex { .. }, Change::AddIndex { .. }]
    ));
    assert!(
        plan.up
            .contains(r#"CREATE UNIQUE INDEX "idx_t_a_b" ON "t" ("a", "b")"#),
        "{}",
        plan.up
    );
    assert!(
        plan.down
            .contains(r#"CREATE INDEX "idx_t_a_b" ON "t" ("a", "b")"#),
        "{}",
        plan.down
    );
}

#[test]
fn sqlite_rebuilds_a_table_it_cannot_alter() {
    let mut from_t = table("t", vec![key(), col("a", "integer"), col("b", "text")]);
    from_t.indexes.push(Index {
        name: "idx_t_b".into(),
        columns: vec!["b".into()],
        unique: false,
    });
    let mut to_t = from_t.clone();
    to_t.columns[1].nullable = true;
    to_t.columns.push(Column {
        nullable: true,
        ..col("c", "text")
    });
    to_t.foreign_keys.push(fk("t", "a", "t"));
    let from = schema(vec![from_t]);
    let to = schema(vec![to_t]);
    let plan = plan(&from, &to, Dialect::Sqlite, PlanOptions::default());
    let up = &plan.up;
    let steps = [
        r#"CREATE TABLE "_coherent_new_t""#,
        r#"INSERT INTO "_coherent_new_t" ("id", "a", "b") SELECT "id", "a", "b" FROM "t""#,
        // The AUTOINCREMENT counter goes with the rows.
        "DELETE FROM sqlite_sequence WHERE name = '_coherent_new_t'",
        "INSERT INTO sqlite_sequence (name, seq) SELECT '_coherent_new_t', seq FROM sqlite_sequence WHERE name = 't'",
        r#"DROP TABLE "t""#,
        r#"ALTER TABLE "_coherent_new_t" RENAME TO "t""#,
        r#"CREATE INDEX "idx_t_b" ON "t" ("b")"#,
    ];
    let at: Vec<usize> = steps
        .iter()
        .map(|s| up.find(s).unwrap_or_else(|| panic!("{s} in {up}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{up}");
    assert_eq!(up.matches("CREATE TABLE").count(), 1, "one rebuild: {up}");
    assert!(up.contains(r#""a" integer NULL"#), "{up}");
    // Down rebuilds back, without the new column.
    assert!(
        plan.down
            .contains(r#"INSERT INTO "_coherent_new_t" ("id", "a", "b")"#),
        "{}",
        plan.down
    );
    // A nullable column is added in place.
    let mut add = from.clone();
    add.tables[0].columns.push(Column {
        nullable: true,
        ..col("d", "text")
    });
    let in_place = super::plan(&from, &add, Dialect::Sqlite, PlanOptions::default());
    assert!(
        in_place
            .up
            .contains(r#"ALTER TABLE "t" ADD COLUMN "d" text NULL"#),
        "{}",
        in_place.up
    );
}

#[test]
fn mysql_restates_a_changed_column_with_its_collation() {
    let from = schema(vec![table("t", vec![key(), col("a", "varchar(255)")])]);
    let mut to = from.clone();
    to.tables[0].columns[1].nullable = true;
    let plan = plan(&from, &to, Dialect::MySql, PlanOptions::default());
    assert!(
        plan.up.contains("ALTER TABLE `t` MODIFY COLUMN `a` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NULL"),
        "{}",
        plan.up
    );
}

#[test]
fn nothing_to_do_is_empty() {
    let s = schema(vec![table("t", vec![key()])]);
    let plan = plan_of(&s, &s, true);
    assert!(plan.is_empty() && plan.up.is_empty() && plan.down.is_empty());
}

#[test]
fn tables_referencing_each_other_drop_after_the_foreign_keys_between_them() {
    let mut teams = table("teams", vec![key(), col("captain_id", "bigint")]);
    teams
        .foreign_keys
        .push(fk("teams", "captain_id", "players"));
    let mut players = table("players", vec![key(), col("team_id", "bigint")]);
    players.foreign_keys.push(fk("players", "team_id", "teams"));
    let from = schema(vec![teams, players]);
    let pg = plan_of(&from, &Schema::default(), true);
    let drop_fk = pg
        .up
        .find(r#"ALTER TABLE "teams" DROP CONSTRAINT "fk_teams_captain_id""#);
    let drop_players = pg.up.find(r#"DROP TABLE "players""#);
    assert!(drop_fk.is_some() && drop_fk < drop_players, "{}", pg.up);
    assert!(
        pg.up.find(r#"DROP TABLE "teams""#) > drop_players,
        "{}",
        pg.up
    );
    // SQLite drops them as they are: no rebuild of a table about to go.
    let sqlite = plan(
        &from,
        &Schema::default(),
        Dialect::Sqlite,
        PlanOptions::default().allow_destructive(true),
    );
    assert!(
        !sqlite.up.contains("_coherent_new_") && !sqlite.up.contains("CONSTRAINT"),
        "{}",
        sqlite.up
    );
    assert_eq!(sqlite.up.matches("DROP TABLE").count(), 2, "{}", sqlite.up);
}

#[test]
fn sqlite_adds_a_column_whose_default_is_not_a_literal_by_rebuilding() {
    let from = schema(vec![table("t", vec![key(), col("a", "integer")])]);
    for (default, in_place) in [
        ("0", true),
        ("-1.5", true),
        ("'it''s'", true),
        ("x'00'", true),
        ("current_timestamp", false),
        ("abs(-1)", false),
        ("'a' || 'b'", false),
    ] {
        let mut to = from.clone();
        to.tables[0].columns.push(Column {
            default: Some(default.into()),
            ..col("b", "text")
        });
        let plan = plan(&from, &to, Dialect::Sqlite, PlanOptions::default());
        assert_eq!(
            !plan.up.contains("_coherent_new_t"),
            in_place,
            "{default}: {}",
            plan.up
        );
    }
    // An expression default is written in parentheses (the canonical spelling has none);
    // a literal or a CURRENT_* keyword as it is.
    let mut to = from.clone();
    to.tables[0].columns.extend([
        Column {
            default: Some("abs(-1)".into()),
            ..col("b", "integer")
        },
        Column {
            default: Some("current_timestamp".into()),
            ..col("c", "text")
        },
    ]);
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        let up = plan(&from, &to, dialect, PlanOptions::default()).up;
        assert!(
            up.contains("NOT NULL DEFAULT (abs(-1))"),
            "{dialect:?}: {up}"
        );
        assert!(
            up.contains("NOT NULL DEFAULT current_timestamp"),
            "{dialect:?}: {up}"
        );
    }
}

#[test]
fn an_index_over_a_column_whose_change_is_left_out_is_left_out_too() {
    // MySQL: indexing a text column makes it VARCHAR(255), a narrowing left out by default;
    // the index cannot be made on the LONGTEXT it stays.
    let from = schema(vec![table("t", vec![key(), col("a", "longtext")])]);
    let mut to = schema(vec![table("t", vec![key(), col("a", "varchar(255)")])]);
    to.tables[0].indexes.push(Index {
        name: "idx_t_a".into(),
        columns: vec!["a".into()],
        unique: false,
    });
    let held = plan(&from, &to, Dialect::MySql, PlanOptions::default());
    assert!(held.changes.is_empty(), "{:?}", held.changes);
    assert_eq!(held.skipped.len(), 2, "{:?}", held.skipped);
    assert!(
        held.up
            .contains("-- Left out: add index idx_t_a on t (it needs the change to t.a left out)"),
        "{}",
        held.up
    );
    assert!(!held.up.contains("CREATE INDEX"), "{}", held.up);
    assert_eq!(held.after, from);
    let allowed = plan(
        &from,
        &to,
        Dialect::MySql,
        PlanOptions::default().allow_destructive(true),
    );
    assert!(
        matches!(
            allowed.changes[..],
            [Change::AlterColumn { .. }, Change::AddIndex { .. }]
        ),
        "{:?}",
        allowed.changes
    );
    // A changed index over it is not dropped either.
    let mut from_indexed = from.clone();
    from_indexed.tables[0].indexes.push(Index {
        name: "idx_t_a".into(),
        columns: vec!["a".into(), "id".into()],
        unique: false,
    });
    let held = plan(&from_indexed, &to, Dialect::MySql, PlanOptions::default());
    assert!(held.changes.is_empty(), "{:?}", held.changes);
    assert_eq!(held.after, from_indexed);
}

#[test]
fn a_foreign_key_over_a_retyped_column_is_dropped_and_added_again() {
    let int_key = Column {
        auto_increment: true,
        ..col("id", "int")
    };
    let mut child = table("child", vec![key(), col("parent_id", "int")]);
    child.foreign_keys.push(fk("child", "parent_id", "parent"));
    let from = schema(vec![child, table("parent", vec![int_key])]);
    let mut to = from.clone();
    for t in &mut to.tables {
        for c in &mut t.columns {
            c.sql_type = "bigint".into();
        }
    }
    let plan = plan(&from, &to, Dialect::MySql, PlanOptions::default());
    let up = &plan.up;
    let steps = [
        "ALTER TABLE `child` DROP FOREIGN KEY `fk_child_parent_id`",
        "ALTER TABLE `child` MODIFY COLUMN `parent_id` bigint NOT NULL",
        "ALTER TABLE `parent` MODIFY COLUMN `id` bigint NOT NULL AUTO_INCREMENT",
        "ALTER TABLE `child` ADD CONSTRAINT `fk_child_parent_id`",
    ];
    let at: Vec<usize> = steps
        .iter()
        .map(|s| up.find(s).unwrap_or_else(|| panic!("{s} in {up}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{up}");
    assert!(diff(&plan.after, &to).is_empty());
    // The key's own type kept (only nullability changes): the foreign key stays.
    let mut nullable = from.clone();
    nullable.tables[0].columns[1].nullable = true;
    let changes = diff(&from, &nullable);
    assert!(
        matches!(changes[..], [Change::AlterColumn { .. }]),
        "{changes:?}"
    );
}

#[test]
fn a_renamed_table_keeps_the_foreign_keys_that_reference_it() {
    let mut child = table("child", vec![key(), col("parent_id", "bigint")]);
    child.foreign_keys.push(fk("child", "parent_id", "people"));
    let from = schema(vec![child.clone(), table("people", vec![key()])]);
    let mut parent = table("persons", vec![key()]);
    parent.renamed_from = Some("people".into());
    child.foreign_keys[0].referenced_table = "persons".into();
    let to = schema(vec![child, parent]);
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        let plan = plan(&from, &to, dialect, PlanOptions::default());
        // The database follows the rename: no foreign key dropped and added again (on
        // SQLite, no rebuild of the referencing table).
        assert!(
            matches!(plan.changes[..], [Change::RenameTable { .. }]),
            "{dialect:?}: {:?}",
            plan.changes
        );
        assert!(!plan.up.contains("_coherent_new_"), "{}", plan.up);
        assert!(diff(&plan.after, &to).is_empty());
        assert!(
            plan.down.contains("RENAME") && !plan.down.contains("FOREIGN"),
            "{}",
            plan.down
        );
    }
}
