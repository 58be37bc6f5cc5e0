#![deny(warnings)]

// No import of the trait or the derive: the expansion names everything by full path.
#[derive(coherent::Entity, Clone, Debug)]
struct Country {
    #[primary_key]
    code: String,
    r#type: String,
    #[column(unique)]
    name: String,
}

fn main() {
    // A struct declared inside a function, a raw field name and a key of i16.
    #[derive(coherent::Entity, Clone, Debug)]
    #[entity(table = "tags", crate = "::coherent")]
    struct Tag {
        #[primary_key]
        id: i16,
        r#type: Option<String>,
    }

    let _ = (
        Country::CODE,
        Country::TYPE,
        Country::NAME,
        Tag::ID,
        Tag::TYPE,
    );
    let _ = <Country as coherent::Entity>::META;
    let _ = <Tag as coherent::Entity>::META;
    let _ = Country {
        code: "FR".into(),
        r#type: "x".into(),
        name: "France".into(),
    };
    let _ = Tag {
        id: 1,
        r#type: None,
    };
}
