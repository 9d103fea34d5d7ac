//! Every host-service backend the plugin host's capabilities call, over the server's store:
//! [`frames`] (a session's stored frames), [`kv`] (a tool's state), [`catalog`] (catalogs and
//! choice models) and [`models`] (the vision provider: offline OCR and page reading, or the
//! OpenAI-compatible endpoint).

pub mod catalog;
pub mod frames;
pub mod kv;
pub mod models;

pub use catalog::{Decoded, StoreCatalogs};
pub use frames::StoreFrames;
pub use kv::StoreKv;
pub use models::{OcrPages, Vision, VisionConfig};
