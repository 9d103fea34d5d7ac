//! The gRPC surface (the only code that knows tonic besides the client): services, the admin
//! token check, and the single mapping of errors to status codes.

pub mod auth;
pub mod catalogs;
pub mod connections;
pub mod models;
pub mod observe;
pub mod paging;
pub mod sessions;
pub mod status;
pub mod tools;
