//! Planning a type's inserts: multi-row, chunked, keys read back.
//!
//! Policy: inserts run in persist order, those whose key the database generates with
//! `RETURNING` (or the driver's generated keys on MySQL), client-assigned ones without; a
//! row referencing a new instance whose key is not assigned yet through a nullable reference
//! is inserted with NULL there, and a later UPDATE of the same flush writes the key (a
//! dependency cycle is broken there).

use crate::identity::type_store::TypeStore;
use crate::unit_of_work::change_set::{COLUMNAR_ROWS, Planned, TypeChangeSet};
use crate::unit_of_work::plan::{Emitter, PlanContext};
use crate::unit_of_work::statement_cache::Shape;
use coherent_core::{ColumnSet, Entity, Error, PrimaryKey, Result, Statement, Value};

/// How the keys of inserted rows come back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyReadBack {
    /// Client-assigned keys: nothing to read.
    None,
    /// `RETURNING <key>`.
    Returning,
    /// The driver reports the generated keys (MySQL's `LAST_INSERT_ID()`).
    Generated,
}

pub(super) fn chunk_statements<T: Entity>(
    ctx: &mut PlanContext<'_>,
    rows: &[Planned<T>],
    columns: ColumnSet,
    keys: KeyReadBack,
    chunks: &mut Vec<usize>,
    emit: &mut Emitter<'_>,
) {
    let returning = keys == KeyReadBack::Returning;
    // Arrays need a column: a key-only entity takes the multi-row form.
    let columnar = ctx.capabilities.columnar && rows.len() > 1 && !columns.is_empty();
    let per = if columnar {
        COLUMNAR_ROWS
    } else {
        coherent_sql::insert::rows_per_statement(
            ctx.batch_size,
            ctx.capabilities.max_params,
            columns.len(),
        )
    };
    for chunk in rows.chunks(per) {
        let sql = if columnar {
            ctx.cache
                .get::<T>(Shape::InsertColumnar { columns, returning })
        } else {
            ctx.cache.get::<T>(Shape::Insert {
                columns,
                rows: chunk.len(),
                returning,
            })
        };
        let mut params = Vec::with_capacity(chunk.len() * columns.len());
        // The version's place in each row, if the entity is versioned.
        let version_at = T::META
            .version_column()
            .and_then(|v| columns.iter().position(|c| c == v));
        for p in chunk {
            let start = params.len();
            p.entity.tracked().current.push_values(columns, &mut params);
            if let (Some(at), Some(v)) = (version_at, &p.version) {
                params[start + at] = v.clone();
            }
            for c in p.deferred.iter() {
                if let Some(at) = columns.iter().position(|x| x == c) {
                    params[start + at] = Value::Null;
                }
            }
        }
        let st = match keys {
            KeyReadBack::Returning => Statement::query(sql, params),
            KeyReadBack::Generated => Statement::execute(sql, params)
                .expecting(chunk.len() as u64)
                .reading_generated_keys(),
            KeyReadBack::None => Statement::execute(sql, params).expecting(chunk.len() as u64),
        };
        let st = if columnar {
            st.columnar(columns.len())
        } else {
            st
        };
        emit.push(st.about(T::META.name));
        chunks.push(chunk.len());
    }
}

impl<T: Entity> TypeChangeSet<T> {
    /// Inserts, in persist order: generated keys with RETURNING, client keys without.
    pub(super) fn plan_inserts(
        &mut self,
        store: &TypeStore<T>,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
    ) -> Result<()> {
        let meta = T::META;
        // Found once per type, not per row: most types have no nullable reference.
        let nullable_refs = nullable_reference_columns(meta);
        for m in store.pending.iter() {
            let t = m.tracked();
            if t.in_doubt {
                let key = t.current.key();
                return Err(Error::InDoubt {
                    entity: meta.name,
                    key: if key.is_unassigned() {
                        String::new()
                    } else {
                        format!("{key:?}")
                    },
                });
            }
            let planned = Planned {
                entity: m.clone(),
                generation: t.generation,
                version: match self.version_column {
                    Some(v) => Some(coherent_core::version::initial(
                        meta.columns[v].column_type,
                    )?),
                    None => None,
                },
                deferred: if nullable_refs.is_empty() {
                    ColumnSet::EMPTY
                } else {
                    crate::entity::unassigned_keys::unassigned_references(&t.current, nullable_refs)
                },
            };
            if t.current.key().is_unassigned() {
                self.generated.push(planned);
            } else {
                self.assigned.push(planned);
            }
        }
        let keys = if ctx.capabilities.returning {
            KeyReadBack::Returning
        } else {
            KeyReadBack::Generated
        };
        chunk_statements(
            ctx,
            &self.generated,
            meta.insert_columns(false),
            keys,
            &mut self.generated_chunks,
            emit,
        );
        chunk_statements(
            ctx,
            &self.assigned,
            meta.insert_columns(true),
            KeyReadBack::None,
            &mut self.assigned_chunks,
            emit,
        );
        Ok(())
    }
}

/// The nullable reference columns: where a row pointing at an instance whose generated key
/// is not assigned yet is inserted with NULL (a dependency cycle is broken there).
fn nullable_reference_columns(meta: &coherent_core::EntityMeta) -> ColumnSet {
    let mut nullable = meta.reference_columns();
    for (i, c) in meta.columns.iter().enumerate() {
        if !c.nullable {
            nullable.remove(i);
        }
    }
    nullable
}
