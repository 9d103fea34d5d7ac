//! OCR engines behind one trait, and the page they produce: text lines with boxes and
//! confidences, each split into words. Two engines: PP-OCR (PaddleOCR's detection and
//! recognition networks run by tract, pure Rust, the default) and Tesseract (Debian's CLI, TSV
//! output), chosen by [`OcrChoice`].

mod incremental;
mod onnx_metadata;
mod paddle;
mod tesseract;

pub use incremental::{PreviousFrame, read_after};
pub use paddle::{PaddleModelFiles, PaddleOcr, PaddleSize};
pub use tesseract::Tesseract;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// An axis-aligned box in image pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl BoundingBox {
    /// Right edge.
    pub fn right(&self) -> f32 {
        self.x + self.width
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }

    /// Vertical centre.
    pub fn centre_y(&self) -> f32 {
        self.y + self.height / 2.0
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &BoundingBox) -> BoundingBox {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        BoundingBox {
            x,
            y,
            width: self.right().max(other.right()) - x,
            height: self.bottom().max(other.bottom()) - y,
        }
    }
}

/// One recognised word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrWord {
    /// The word.
    pub text: String,
    /// Recognition confidence in 0..=1.
    pub confidence: f32,
    /// Where it is. PP-OCR boxes whole lines; its words get the share of the line's width their
    /// characters take, which is close for proportional screen fonts.
    pub bbox: BoundingBox,
}

/// One recognised line of text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrLine {
    /// The line's text, words joined by single spaces.
    pub text: String,
    /// Mean confidence in 0..=1.
    pub confidence: f32,
    /// The line's box.
    pub bbox: BoundingBox,
    /// Its words, left to right.
    pub words: Vec<OcrWord>,
}

/// What an engine read on one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrPage {
    /// Engine and model that read it (`pp-ocrv6-small`, `tesseract-5.3`).
    pub engine: String,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Lines, top to bottom then left to right.
    pub lines: Vec<OcrLine>,
    /// Time the engine took, in milliseconds.
    pub millis: u64,
    /// Lines taken from the previous frame of the same stream rather than read again
    /// ([`read_after`]); 0 for a full read.
    #[serde(default)]
    pub reused_lines: u32,
}

impl OcrPage {
    /// A 1280x800 page of these lines, as the reader's tests build screens.
    #[cfg(test)]
    pub(crate) fn of_lines(lines: Vec<OcrLine>) -> OcrPage {
        OcrPage {
            engine: "test".into(),
            width: 1280,
            height: 800,
            lines,
            millis: 0,
            reused_lines: 0,
        }
    }

    /// Every word of the page, in reading order.
    pub fn words(&self) -> impl Iterator<Item = &OcrWord> {
        self.lines.iter().flat_map(|line| line.words.iter())
    }

    /// The page's text, one line per line.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Why an engine could not read an image.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// The engine's model files are missing or unreadable.
    #[error("{0}")]
    Models(String),
    /// The engine program is missing or failed.
    #[error("{0}")]
    Engine(String),
    /// The image could not be decoded.
    #[error("the image cannot be decoded: {0}")]
    Image(String),
}

/// An OCR engine. Implementations are blocking and CPU-bound: call them from a blocking thread.
pub trait OcrEngine: Send + Sync {
    /// Engine and model name, recorded with every page (and part of the OCR cache key).
    fn name(&self) -> &str;
    /// Reads an image.
    fn read(&self, image: &image::DynamicImage) -> Result<OcrPage, OcrError>;

    /// Decodes encoded bytes (PNG or JPEG) and reads them.
    fn read_bytes(&self, bytes: &[u8]) -> Result<OcrPage, OcrError> {
        let image = image::load_from_memory(bytes).map_err(|e| OcrError::Image(e.to_string()))?;
        self.read(&image)
    }
}

/// Which engine to use, as configuration names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OcrChoice {
    /// PP-OCR over tract, with the model files in the given folder.
    Paddle {
        /// Folder holding the files `just models` fetches.
        models_dir: PathBuf,
        /// Which models.
        #[serde(default)]
        size: PaddleSize,
    },
    /// The `tesseract` program (Debian package `tesseract-ocr`).
    Tesseract,
}

impl OcrChoice {
    /// Parses `paddle` or `tesseract` (configuration and command lines); `paddle` reads its
    /// models from [`default_models_dir`].
    pub fn parse(name: &str) -> Result<OcrChoice, String> {
        match name {
            "paddle" | "pp-ocr" | "ppocr" | "paddle-small" => Ok(OcrChoice::Paddle {
                models_dir: default_models_dir(),
                size: PaddleSize::Small,
            }),
            "paddle-tiny" => Ok(OcrChoice::Paddle {
                models_dir: default_models_dir(),
                size: PaddleSize::Tiny,
            }),
            "tesseract" => Ok(OcrChoice::Tesseract),
            other => Err(format!(
                "unknown OCR engine `{other}`: choose `paddle` (PP-OCRv6 small, the default), `paddle-tiny` (PP-OCRv6 tiny, faster, less accurate) or `tesseract`"
            )),
        }
    }

    /// Loads the engine.
    pub fn load(&self) -> Result<std::sync::Arc<dyn OcrEngine>, OcrError> {
        Ok(match self {
            OcrChoice::Paddle { models_dir, size } => {
                std::sync::Arc::new(PaddleOcr::load(&PaddleModelFiles::of_size(models_dir, *size))?)
            }
            OcrChoice::Tesseract => std::sync::Arc::new(Tesseract::detect()?),
        })
    }
}

/// Where `just models` caches the OCR models: `$INTERAREC_MODELS`, else
/// `$XDG_CACHE_HOME/interarec/models`, else `~/.cache/interarec/models`.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("INTERAREC_MODELS") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("interarec").join("models")
}

/// Splits a line into words with boxes proportional to their character counts.
pub(crate) fn split_line(text: &str, confidence: f32, bbox: BoundingBox) -> OcrLine {
    let total_chars = text.chars().count().max(1) as f32;
    let per_char = bbox.width / total_chars;
    let mut words = Vec::new();
    let mut offset = 0usize;
    for piece in text.split(' ') {
        let chars = piece.chars().count();
        if chars > 0 {
            words.push(OcrWord {
                text: piece.to_owned(),
                confidence,
                bbox: BoundingBox {
                    x: bbox.x + offset as f32 * per_char,
                    y: bbox.y,
                    width: chars as f32 * per_char,
                    height: bbox.height,
                },
            });
        }
        offset += chars + 1;
    }
    OcrLine {
        text: words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "),
        confidence,
        bbox,
        words,
    }
}

/// Sorts lines top to bottom, then left to right within a row (lines whose centres lie within
/// half a line height of the row's first line). Rows are formed first so the order is total.
pub(crate) fn sort_reading_order(lines: &mut Vec<OcrLine>) {
    lines.sort_by(|a, b| a.bbox.centre_y().total_cmp(&b.bbox.centre_y()));
    let mut ordered = Vec::with_capacity(lines.len());
    let mut row: Vec<OcrLine> = Vec::new();
    for line in lines.drain(..) {
        if let Some(first) = row.first()
            && (line.bbox.centre_y() - first.bbox.centre_y()).abs() >= first.bbox.height.min(line.bbox.height) / 2.0
        {
            row.sort_by(|a, b| a.bbox.x.total_cmp(&b.bbox.x));
            ordered.append(&mut row);
        }
        row.push(line);
    }
    row.sort_by(|a, b| a.bbox.x.total_cmp(&b.bbox.x));
    ordered.append(&mut row);
    *lines = ordered;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_share_the_line_box_by_characters() {
        let line = split_line(
            "$83.99 green",
            0.9,
            BoundingBox {
                x: 100.0,
                y: 10.0,
                width: 120.0,
                height: 20.0,
            },
        );
        assert_eq!(line.words.len(), 2);
        assert_eq!(line.words[0].text, "$83.99");
        assert_eq!(line.words[0].bbox.x, 100.0);
        assert_eq!(line.words[0].bbox.width, 60.0);
        assert_eq!(line.words[1].bbox.x, 170.0);
    }
}
