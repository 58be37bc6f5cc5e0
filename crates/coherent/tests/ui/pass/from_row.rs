use coherent::{FieldType, FromRow};

// A plain struct, a generic one (its field types bounded on the impl), and one naming the
// `coherent` crate by another path.
#[derive(FromRow)]
pub struct Stats {
    pub name: String,
    pub r#type: Option<i64>,
}

#[derive(FromRow)]
pub struct Pair<K, V: Clone>
where
    K: Copy,
{
    pub key: K,
    pub value: V,
}

mod renamed {
    pub use coherent as orm;
}

#[derive(FromRow)]
#[from_row(crate = "renamed::orm")]
pub struct Counted {
    pub n: i64,
}

fn width<R: FromRow>() -> usize {
    R::WIDTH
}

fn main() {
    assert_eq!(width::<Stats>(), 2);
    assert_eq!(width::<Pair<i64, String>>(), 2);
    assert_eq!(width::<Counted>(), 1);
    let _ = <String as FieldType>::NULLABLE;
}
