//! Seeing screenshots: OCR engines, the offline vision engine that turns what they read into
//! the eight-category preference summary (the OpenAI-compatible provider lives in
//! `interarec-llm`).

pub mod colour;
pub mod ocr;
pub mod offline;
pub mod reading;
pub mod recognise;
pub mod structure;
pub mod text;
pub mod vocabulary;

pub use ocr::{OcrChoice, OcrEngine, OcrError, OcrPage};
pub use offline::{OfflineSummary, SeenFrame, summarize};
pub use recognise::{ItemIndex, ItemIndexBuilder};
pub use vocabulary::Vocabulary;

#[cfg(test)]
mod properties;
