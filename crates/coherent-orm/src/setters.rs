//! `setters!`: a chainable setter per field of an options struct, so that every options
//! struct has one builder style (`FindOptions::default().limit(10).offset(20)`) beside its
//! struct literal (`FindOptions { limit: Some(10), ..Default::default() }`). The macro is
//! coherent-core's, which gives `ConnectOptions` the same style.

pub(crate) use coherent_core::setters;
