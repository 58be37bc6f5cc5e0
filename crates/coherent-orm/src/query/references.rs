//! Loading references: `get_reference`, `load` and select-in `populate` of one reference
//! field.
//!
//! Policy: `get_reference` never queries (an unloaded reference when the instance is not in
//! the identity map); `load` answers from the reference or the identity map before it
//! queries; `populate` loads only the keys the identity map lacks, `batch_size` keys per
//! query.

use crate::entity::managed::Managed;
use crate::relations::reference::{Ref, Target};
use coherent_core::{Entity, FieldType, Result, Value};

impl crate::EntityManager {
    /// A reference to the `T` with `key`: loaded if the instance is in the identity map,
    /// unloaded otherwise. Never queries (MikroORM's `getReference`).
    pub fn get_reference<T: Entity>(&self, key: impl crate::IntoKey<T::Key>) -> Result<Ref<T>> {
        let key = key.into_key();
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        let uow = em.uow();
        let found = uow
            .map
            .store::<T>()
            .and_then(|s| s.by_key.get(&key).cloned());
        Ok(match found {
            Some(m) => Ref::to(&m),
            None => Ref::to_key(key),
        })
    }

    /// The instance a reference points at: from the reference or the identity map without a
    /// query, else loaded by key. A row that is gone is [`coherent_core::Error::NotFound`].
    pub async fn load<T: Entity>(&self, reference: &Ref<T>) -> Result<Managed<T>> {
        if let Target::Loaded(m) = &reference.target {
            return Ok(m.clone());
        }
        self.find_one_or_fail::<T>(crate::entity::lookup::Lookup::Key(reference.key()))
            .await
    }
}

impl crate::EntityManager {
    /// Loads the `T`s that `parents` reference through `reference`, in one query per
    /// `batch_size` keys for those not already in the identity map (select-in loading: no
    /// query per parent). Afterwards `em.load(&parent.reference)` answers from the identity
    /// map without a query. Returns the referenced instances, one per distinct key, in key
    /// order; keys whose row is gone are left out.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager, users: Vec<coherent_orm::Managed<User>>) -> coherent_core::Result<()> {
    /// use coherent_orm::Ref;
    /// // Any accessor from a parent to an optional reference:
    /// let referenced = em.populate(&users, |_u: &User| None::<&Ref<User>>).await?;
    /// assert!(referenced.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn populate<P: Entity, T: Entity>(
        &self,
        parents: &[Managed<P>],
        reference: impl Fn(&P) -> Option<&Ref<T>>,
    ) -> Result<Vec<Managed<T>>> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        let mut keys: Vec<T::Key> = parents
            .iter()
            .filter_map(|p| reference(&p.read()).map(Ref::key))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let missing: Vec<Value> = {
            let uow = em.uow();
            let store = uow.map.store::<T>();
            keys.iter()
                .filter(|k| !store.is_some_and(|s| s.by_key.contains_key(*k)))
                .map(FieldType::to_value)
                .collect()
        };
        if !missing.is_empty() {
            let shared = em.shared();
            let loads = shared.loads(std::any::TypeId::of::<T>(), T::META.name)?;
            loads
                .load_in(
                    &em,
                    T::META.primary_key,
                    missing,
                    coherent_core::LockMode::None,
                )
                .await?;
        }
        let uow = em.uow();
        let store = uow.map.store::<T>();
        Ok(keys
            .iter()
            .filter_map(|k| store.and_then(|s| s.by_key.get(k).cloned()))
            .collect())
    }
}
