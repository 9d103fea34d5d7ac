//! PP-OCR (PaddleOCR's DBNet text detection and CTC text recognition) run by tract through the
//! `pure-onnx-ocr` crate: pure Rust, one inference thread per engine. The model files come from
//! the `rapidocr` wheel (`just models`); the recognition model carries its own dictionary.

use super::{BoundingBox, OcrEngine, OcrError, OcrPage, onnx_metadata, sort_reading_order, split_line};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// File names of the models `just models` fetches, with their sha256.
pub const DETECTION_MODEL: (&str, &str) = (
    "PP-OCRv6_det_small.onnx",
    "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
);
/// The recognition model (its dictionary is in its ONNX metadata).
pub const RECOGNITION_MODEL: (&str, &str) = (
    "PP-OCRv6_rec_small.onnx",
    "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
);

/// Recognition plans kept compiled (one per crop width).
const RECOGNITION_PLANS: usize = 64;

/// Where the two model files are.
#[derive(Debug, Clone)]
pub struct PaddleModelFiles {
    /// DBNet detection model.
    pub detection: PathBuf,
    /// CTC recognition model.
    pub recognition: PathBuf,
}

impl PaddleModelFiles {
    /// The files under their `just models` names in `dir`.
    pub fn in_dir(dir: &Path) -> PaddleModelFiles {
        PaddleModelFiles {
            detection: dir.join(DETECTION_MODEL.0),
            recognition: dir.join(RECOGNITION_MODEL.0),
        }
    }
}

/// The PP-OCR engine.
pub struct PaddleOcr {
    engine: pure_onnx_ocr::OcrEngine,
    name: String,
}

impl PaddleOcr {
    /// Loads both models; a missing file says how to fetch it.
    pub fn load(files: &PaddleModelFiles) -> Result<PaddleOcr, OcrError> {
        for path in [&files.detection, &files.recognition] {
            if !path.is_file() {
                return Err(OcrError::Models(format!(
                    "the PP-OCR model {} is missing: run `just models` (it fetches the models into {}), set INTERAREC_MODELS to the folder holding them, or choose `--ocr tesseract`",
                    path.display(),
                    path.parent().map(|p| p.display().to_string()).unwrap_or_default()
                )));
            }
        }
        let recognition = std::fs::read(&files.recognition)
            .map_err(|e| OcrError::Models(format!("cannot read {}: {e}", files.recognition.display())))?;
        let dictionary = onnx_metadata::metadata_value(&recognition, "character").ok_or_else(|| {
            OcrError::Models(format!(
                "{} has no `character` dictionary in its metadata; it is not a PaddleOCR recognition export (run `just models` again)",
                files.recognition.display()
            ))
        })?;
        let engine = pure_onnx_ocr::OcrEngineBuilder::new()
            .det_model_path(&files.detection)
            .rec_model_bytes(recognition)
            .dictionary_text(dictionary)
            // One compiled recognition plan per crop width; screens repeat a few dozen widths,
            // and recompiling one costs about as much as reading ten lines.
            .plan_cache_capacity(4, RECOGNITION_PLANS)
            .rec_use_space_char(true)
            .inference_threads(1)
            .build()
            .map_err(|e| OcrError::Models(format!("cannot load the PP-OCR models: {e}")))?;
        let name = files
            .detection
            .file_stem()
            .and_then(|s| s.to_str())
            .map(|stem| stem.replace("_det", "").to_lowercase())
            .unwrap_or_else(|| "pp-ocr".into());
        Ok(PaddleOcr { engine, name })
    }
}

impl OcrEngine for PaddleOcr {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&self, image: &image::DynamicImage) -> Result<OcrPage, OcrError> {
        let started = Instant::now();
        let results = self
            .engine
            .run_from_image(image)
            .map_err(|e| OcrError::Engine(format!("PP-OCR failed: {e}")))?;
        let mut lines = Vec::with_capacity(results.len());
        for result in results {
            let text = result.text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.is_empty() {
                continue;
            }
            let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for point in result.bounding_box.exterior().points() {
                x0 = x0.min(point.x());
                y0 = y0.min(point.y());
                x1 = x1.max(point.x());
                y1 = y1.max(point.y());
            }
            let bbox = BoundingBox {
                x: x0 as f32,
                y: y0 as f32,
                width: (x1 - x0).max(1.0) as f32,
                height: (y1 - y0).max(1.0) as f32,
            };
            lines.push(split_line(&text, result.confidence, bbox));
        }
        sort_reading_order(&mut lines);
        Ok(OcrPage {
            engine: self.name.clone(),
            width: image.width(),
            height: image.height(),
            lines,
            millis: started.elapsed().as_millis() as u64,
        })
    }
}
