#![deny(warnings)]

use coherent::Entity;

#[derive(Entity, Clone, Debug)]
pub struct AllTypes {
    #[primary_key]
    pub id: i32,
    pub b: bool,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub float: f32,
    pub double: f64,
    pub text: String,
    pub bytes: Vec<u8>,
    pub opt_b: Option<bool>,
    pub opt_small: Option<i16>,
    pub opt_int: Option<i32>,
    pub opt_big: Option<i64>,
    pub opt_float: Option<f32>,
    #[column(nullable)]
    pub opt_double: Option<f64>,
    pub opt_text: Option<String>,
    pub opt_bytes: std::option::Option<Vec<u8>>,
}

/// Items the expansion must not shadow or be shadowed by.
#[allow(dead_code, non_upper_case_globals)]
mod shadowing {
    pub struct Result;
    pub struct Option;
    pub struct Vec;
    pub struct String;
    pub const row: () = ();
}

#[allow(unused_imports, non_upper_case_globals)]
mod inner {
    use super::shadowing::*;

    #[derive(coherent::Entity, Clone, Debug)]
    pub struct Shadowed {
        #[primary_key]
        pub id: i64,
        pub name: std::string::String,
    }
}

fn main() {
    assert_eq!(AllTypes::META.columns.len(), 17);
    assert_eq!(inner::Shadowed::NAME.index, 1);
}
