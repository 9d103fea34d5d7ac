//! `capture`: the first pipeline tool. Given the frames of a closing batch (ids within the
//! calling session), it reads each through the `frames` capability, decodes it, downscales it to
//! the longest side asked for, and computes a 64-bit difference hash (dHash: a 9×8 greyscale
//! thumbnail, one bit per horizontal neighbour comparison). A frame whose bytes equal a recently
//! kept frame's is dropped as an exact duplicate; one whose hash differs from the last kept
//! frame's in at most `static_threshold_bits` bits is dropped as static (the shopper did not
//! move). A frame is never static when its page URL differs from the last kept frame's, or when
//! any small region of it differs in brightness (a different title, price or picture in the same
//! layout: 4 bits apart at 256 px is easily two product pages): the comparison runs over a grid
//! of cells 1/80 of the frame wide, about one line of text, so a frame whose readable text
//! differs is kept. What was kept last is remembered in the session's kv state, so a static
//! screen is recognised across batches too.
//!
//! Idempotent per window: the state remembers what it was before the latest window, so the same
//! window asked again (the server resuming a batch after a crash) is judged against the same
//! state and gets the same answer, instead of finding its own frames already kept.

use image::imageops::FilterType;
use interarec_plugin::{Capability, Description, JsonSchema, Tool, ToolError, Value, export_tool, frames, json, kv};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Kept frames remembered for exact-duplicate detection.
const RECENT: usize = 32;
/// kv key of the remembered frames and the window they were last advanced by.
const STATE_KEY: &str = "window-state";
/// kv key of the remembered frames as versions before 0.2.0 kept them (a bare list).
const LEGACY_STATE_KEY: &str = "recent-kept";
/// Cells across the frame in the content grid (16 px on a 1280 px frame: a line of text).
const GRID_COLUMNS: u32 = 80;
/// Mean brightness difference (of 255) of one cell that makes two frames differ in content:
/// re-encoding moves a cell's mean by one or two levels, one changed glyph by ten or more.
const CELL_DIFFERENCE: u8 = 8;

/// A kept frame as remembered between calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Remembered {
    frame: String,
    sha256: String,
    hash: u64,
    /// Page URL (empty when the client sent none).
    #[serde(default)]
    url: String,
    /// The content grid, hex (absent in state written by earlier versions: then only the hash
    /// decides).
    #[serde(default)]
    cells: String,
}

/// What the tool remembers between calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    /// Kept frames, oldest first, after the latest window.
    recent: Vec<Remembered>,
    /// The first frame id of the latest window, and `recent` as it was before that window.
    #[serde(default)]
    latest_window: Option<(String, Vec<Remembered>)>,
}

impl State {
    fn load() -> Result<State, ToolError> {
        if let Some(state) = kv::get_json(STATE_KEY)? {
            return Ok(state);
        }
        Ok(State {
            recent: kv::get_json(LEGACY_STATE_KEY)?.unwrap_or_default(),
            latest_window: None,
        })
    }

    /// The remembered frames a window starting at `first` is judged against: the state before
    /// it when it is the latest window asked again, else the state after the latest window.
    fn before_window(&self, first: &str) -> Vec<Remembered> {
        match &self.latest_window {
            Some((start, before)) if start == first => before.clone(),
            _ => self.recent.clone(),
        }
    }
}

/// The tool.
pub struct Capture;

/// A batch of frames to prepare.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Arguments {
    /// Frame ids (sequence numbers) of the session, in order.
    #[schemars(length(min = 1, max = 100))]
    pub frames: Vec<String>,
    /// Longest side after downscaling (default 512).
    #[serde(default)]
    #[schemars(range(min = 16, max = 4096))]
    pub max_side: Option<u32>,
    /// Hamming distance (of 64 bits) up to which a frame is static (default 4).
    #[serde(default)]
    #[schemars(range(max = 32))]
    pub static_threshold_bits: Option<u32>,
}

impl Tool for Capture {
    type Arguments = Arguments;
    type Output = Value;

    fn describe() -> Description {
        Description::new(
            "capture",
            "0.2.1",
            "Prepares a batch of screenshots of the current session: decodes and downscales each frame, computes its perceptual hash, and drops exact duplicates and static frames (nearly identical to the last kept one, same URL, no region whose content changed). Returns the kept frames with their hashes and the dropped ones with the reason.",
        )
        .capability(Capability::Frames)
        .capability(Capability::Kv)
    }

    fn invoke(arguments: Arguments) -> Result<Value, ToolError> {
        let ids = arguments.frames;
        let max_side = arguments.max_side.unwrap_or(512);
        let threshold = arguments.static_threshold_bits.unwrap_or(4);
        let state = State::load()?;
        let first = ids.first().cloned().unwrap_or_default();
        let before = state.before_window(&first);
        let mut recent = before.clone();
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for id in ids {
            let bytes = frames::read(&id)?;
            let url = frames::info(&id).map(|info| info.url).unwrap_or_default();
            let mut prepared = prepare(&bytes, max_side)
                .map_err(|e| ToolError::Failed(format!("frame {id} cannot be decoded: {e}")))?;
            prepared.url = url;
            match judge(&prepared, &recent, threshold) {
                Verdict::ExactDuplicate { of } => dropped.push(json!({
                    "frame": id, "reason": "exact-duplicate", "duplicate_of": of
                })),
                Verdict::Static { of, distance } => dropped.push(json!({
                    "frame": id, "reason": "static", "duplicate_of": of, "distance_bits": distance
                })),
                Verdict::Keep => {
                    kept.push(json!({
                        "frame": id,
                        "hash": format!("{:016x}", prepared.hash),
                        "width": prepared.width,
                        "height": prepared.height,
                        "scaled_width": prepared.scaled_width,
                        "scaled_height": prepared.scaled_height,
                    }));
                    recent.push(Remembered {
                        frame: id,
                        sha256: prepared.sha256,
                        hash: prepared.hash,
                        url: prepared.url,
                        cells: hex::encode(&prepared.cells),
                    });
                    if recent.len() > RECENT {
                        recent.remove(0);
                    }
                }
            }
        }
        kv::set_json(
            STATE_KEY,
            &State {
                recent,
                latest_window: Some((first, before)),
            },
        )?;
        Ok(json!({ "kept": kept, "dropped": dropped }))
    }
}

/// A decoded, downscaled frame.
#[derive(Debug, Clone, PartialEq)]
struct Prepared {
    sha256: String,
    hash: u64,
    url: String,
    /// Mean brightness per grid cell, row by row.
    cells: Vec<u8>,
    width: u32,
    height: u32,
    scaled_width: u32,
    scaled_height: u32,
}

fn prepare(bytes: &[u8], max_side: u32) -> Result<Prepared, image::ImageError> {
    // Everything below looks at brightness only, so a JPEG is decoded to its brightness channel
    // (the colour channels' transforms and conversion, over half a full decode, are skipped).
    let decoded = decode_brightness(bytes)?;
    let (width, height) = decoded.dimensions();
    let scaled = if width.max(height) > max_side {
        let (scaled_width, scaled_height) = fit_within(width, height, max_side);
        image::imageops::resize(&decoded, scaled_width, scaled_height, FilterType::Triangle)
    } else {
        decoded.clone()
    };
    // The grid keeps about a line of text per cell: on the scaled image when it is wide
    // enough, else on the original.
    let for_grid = if scaled.width() >= GRID_COLUMNS * 4 {
        &scaled
    } else {
        &decoded
    };
    Ok(Prepared {
        sha256: hex::encode(Sha256::digest(bytes)),
        hash: difference_hash(&scaled),
        url: String::new(),
        cells: content_grid(for_grid),
        width,
        height,
        scaled_width: scaled.width(),
        scaled_height: scaled.height(),
    })
}

/// The image's brightness: a JPEG's own luma channel, anything else (or a JPEG the fast path
/// cannot take, such as CMYK) decoded whole and converted.
fn decode_brightness(bytes: &[u8]) -> Result<image::GrayImage, image::ImageError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        && let Some(brightness) = jpeg_luma(bytes)
    {
        return Ok(brightness);
    }
    Ok(brightness_of(&image::load_from_memory(bytes)?.to_rgb8()))
}

/// Brightness with the weights JPEG (JFIF) uses for its luma channel (ITU-R BT.601), so a PNG
/// and the same picture as JPEG compare equal (`to_luma8` weighs green 0.72, not 0.59: a
/// saturated green card would differ by 8 levels between the two encodings).
fn brightness_of(image: &image::RgbImage) -> image::GrayImage {
    image::GrayImage::from_fn(image.width(), image.height(), |x, y| {
        let [r, g, b] = image.get_pixel(x, y).0;
        let luma = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000;
        image::Luma([luma as u8])
    })
}

fn jpeg_luma(bytes: &[u8]) -> Option<image::GrayImage> {
    use zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder.decode().ok()?;
    let (width, height) = decoder.dimensions()?;
    // One byte per pixel, or the decoder did not give brightness alone.
    (pixels.len() == width * height).then_some(())?;
    image::GrayImage::from_raw(width as u32, height as u32, pixels)
}

/// The largest size with the same aspect ratio whose longer side is at most `max_side`.
fn fit_within(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let ratio = f64::min(
        f64::from(max_side) / f64::from(width),
        f64::from(max_side) / f64::from(height),
    );
    let side = |length: u32| ((f64::from(length) * ratio).round() as u32).max(1);
    (side(width), side(height))
}

/// Mean brightness of square cells, `GRID_COLUMNS` across.
fn content_grid(image: &image::GrayImage) -> Vec<u8> {
    let cell = (image.width() / GRID_COLUMNS).max(1);
    let (columns, rows) = (image.width().div_ceil(cell), image.height().div_ceil(cell));
    let mut cells = Vec::with_capacity((columns * rows) as usize);
    for row in 0..rows {
        for column in 0..columns {
            let (x0, y0) = (column * cell, row * cell);
            let (x1, y1) = ((x0 + cell).min(image.width()), (y0 + cell).min(image.height()));
            let mut sum = 0u64;
            for y in y0..y1 {
                for x in x0..x1 {
                    sum += u64::from(image.get_pixel(x, y).0[0]);
                }
            }
            cells.push((sum / u64::from((x1 - x0) * (y1 - y0))) as u8);
        }
    }
    cells
}

/// Whether two content grids show the same content: same shape, no cell brighter or darker by
/// `CELL_DIFFERENCE` or more.
fn same_content(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) < CELL_DIFFERENCE)
}

/// dHash: greyscale 9×8, bit set where a pixel is brighter than its right neighbour.
fn difference_hash(image: &image::GrayImage) -> u64 {
    let small = image::imageops::resize(image, 9, 8, FilterType::Triangle);
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let bit = small.get_pixel(x, y)[0] > small.get_pixel(x + 1, y)[0];
            hash = (hash << 1) | u64::from(bit);
        }
    }
    hash
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Keep,
    ExactDuplicate { of: String },
    Static { of: String, distance: u32 },
}

fn judge(frame: &Prepared, recent: &[Remembered], threshold: u32) -> Verdict {
    if let Some(same) = recent.iter().rev().find(|r| r.sha256 == frame.sha256) {
        return Verdict::ExactDuplicate { of: same.frame.clone() };
    }
    let same_page = |last: &Remembered| {
        (last.url.is_empty() || frame.url.is_empty() || last.url == frame.url)
            && hex::decode(&last.cells).map_or(true, |cells| cells.is_empty() || same_content(&cells, &frame.cells))
    };
    match recent.last() {
        Some(last) if (last.hash ^ frame.hash).count_ones() <= threshold && same_page(last) => Verdict::Static {
            of: last.frame.clone(),
            distance: (last.hash ^ frame.hash).count_ones(),
        },
        _ => Verdict::Keep,
    }
}

export_tool!(Capture);

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgb, RgbImage};

    /// A 320×200 "page": white, with a dark block at `x` (a product card) and a stripe of shade `tone`.
    fn page(x: u32, tone: u8, format: ImageFormat) -> Vec<u8> {
        page_with_text(x, tone, &[], format)
    }

    /// The same page with a line of "text": glyph-sized dark bars at `glyphs` (x positions).
    fn page_with_text(x: u32, tone: u8, glyphs: &[u32], format: ImageFormat) -> Vec<u8> {
        let mut img = RgbImage::from_pixel(320, 200, Rgb([255, 255, 255]));
        for &gx in glyphs {
            for yy in 130..138 {
                for xx in gx..(gx + 3).min(320) {
                    img.put_pixel(xx, yy, Rgb([30, 30, 30]));
                }
            }
        }
        for yy in 40..120 {
            for xx in x..(x + 60).min(320) {
                img.put_pixel(xx, yy, Rgb([20, 30, 40]));
            }
        }
        for yy in 150..170 {
            for xx in 0..320 {
                img.put_pixel(xx, yy, Rgb([tone, tone, tone]));
            }
        }
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img).write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_page_re_encoded_as_jpeg_is_the_same_content() {
        for (width, max_side) in [(320u32, 128u32), (640, 256), (1280, 512)] {
            let mut img = RgbImage::from_pixel(width, width * 5 / 8, Rgb([255, 255, 255]));
            for yy in 40..120 {
                for xx in 20..80 {
                    img.put_pixel(xx, yy, Rgb([20, 90, 40]));
                }
            }
            let encode = |format| {
                let mut out = std::io::Cursor::new(Vec::new());
                image::DynamicImage::ImageRgb8(img.clone())
                    .write_to(&mut out, format)
                    .unwrap();
                out.into_inner()
            };
            let png = prepare(&encode(ImageFormat::Png), max_side).unwrap();
            let jpeg = prepare(&encode(ImageFormat::Jpeg), max_side).unwrap();
            let worst = png.cells.iter().zip(&jpeg.cells).map(|(a, b)| a.abs_diff(*b)).max();
            assert!(
                same_content(&png.cells, &jpeg.cells),
                "{width} px: worst cell {worst:?}"
            );
            assert!((png.hash ^ jpeg.hash).count_ones() <= 4, "{width} px");
        }
    }

    #[test]
    fn exact_static_and_new_frames_are_told_apart() {
        let base = prepare(&page(20, 200, ImageFormat::Png), 128).unwrap();
        assert_eq!(
            (base.width, base.height, base.scaled_width, base.scaled_height),
            (320, 200, 128, 80)
        );
        let remembered = vec![Remembered {
            frame: "1".into(),
            sha256: base.sha256.clone(),
            hash: base.hash,
            url: "https://shop.example/item/1".into(),
            cells: hex::encode(&base.cells),
        }];
        let elsewhere = |mut prepared: Prepared| {
            prepared.url = "https://shop.example/item/2".into();
            prepared
        };
        let cases: Vec<(&str, Vec<u8>, Verdict)> = vec![
            // Another product page in the same layout: its title line differs, nothing else.
            (
                "a different title in the same layout",
                page_with_text(20, 200, &[200, 208, 216, 230, 238], ImageFormat::Png),
                Verdict::Keep,
            ),
            (
                "same bytes",
                page(20, 200, ImageFormat::Png),
                Verdict::ExactDuplicate { of: "1".into() },
            ),
            // The same picture re-encoded: other bytes, same look.
            (
                "re-encoded as JPEG",
                page(20, 200, ImageFormat::Jpeg),
                Verdict::Static {
                    of: "1".into(),
                    distance: 0,
                },
            ),
            (
                "scrolled to another card",
                page(220, 200, ImageFormat::Png),
                Verdict::Keep,
            ),
        ];
        for (name, bytes, expected) in cases {
            let mut prepared = prepare(&bytes, 128).unwrap();
            prepared.url = remembered[0].url.clone();
            let verdict = judge(&prepared, &remembered, 4);
            match (&verdict, &expected) {
                (Verdict::Static { of, distance }, Verdict::Static { of: want, .. }) => {
                    assert_eq!(of, want, "{name}");
                    assert!(*distance <= 4, "{name}: {distance} bits");
                }
                _ => assert_eq!(verdict, expected, "{name}"),
            }
        }
        assert_eq!(judge(&base, &[], 4), Verdict::Keep, "nothing kept yet");
        // The same look at another URL is another page.
        let moved = elsewhere(prepare(&page(20, 200, ImageFormat::Jpeg), 128).unwrap());
        assert_eq!(judge(&moved, &remembered, 4), Verdict::Keep, "another URL");
        // State written before the content grid existed: the hash alone decides, as it did.
        let old_state = vec![Remembered {
            cells: String::new(),
            url: String::new(),
            ..remembered[0].clone()
        }];
        let jpeg = prepare(&page(20, 200, ImageFormat::Jpeg), 128).unwrap();
        assert!(matches!(judge(&jpeg, &old_state, 4), Verdict::Static { .. }));
        let other_title = prepare(&page_with_text(20, 200, &[200, 208], ImageFormat::Png), 128).unwrap();
        assert!(
            (other_title.hash ^ base.hash).count_ones() <= 4,
            "the title change is below the perceptual hash's notice, so the grid is what keeps it"
        );
    }

    #[test]
    fn a_call_reads_the_sessions_frames_and_drops_the_duplicate() {
        use interarec_plugin::frames::{FrameInfo, testing};
        let frame = |id: &str, bytes: Vec<u8>| {
            let info = FrameInfo {
                id: id.into(),
                mime: "image/png".into(),
                width: 320,
                height: 200,
                captured_at_ms: 0,
                url: "https://shop.example/item/1".into(),
            };
            testing::serve_frame(info, bytes);
        };
        frame("1", page(20, 200, ImageFormat::Png));
        frame("2", page(20, 200, ImageFormat::Png));
        frame("3", page(220, 200, ImageFormat::Png));
        let answer =
            interarec_plugin::testing::invoke::<Capture>(json!({"frames": ["1", "2", "3"], "max_side": 128})).unwrap();
        let kept: Vec<&str> = answer["kept"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["frame"].as_str().unwrap())
            .collect();
        assert_eq!(kept, ["1", "3"], "{answer:#}");
        assert_eq!(answer["dropped"][0]["reason"], "exact-duplicate", "{answer:#}");
        assert_eq!(answer["kept"][0]["scaled_width"], 128);
        let missing = interarec_plugin::testing::invoke::<Capture>(json!({"frames": ["9"]})).unwrap_err();
        assert!(missing.to_string().contains("no frame `9`"), "{missing}");
    }

    #[test]
    fn hashes_ignore_scale_but_not_layout() {
        let big = prepare(&page(20, 200, ImageFormat::Png), 4096).unwrap();
        let small = prepare(&page(20, 200, ImageFormat::Png), 64).unwrap();
        assert!((big.hash ^ small.hash).count_ones() <= 4);
        let moved = prepare(&page(200, 200, ImageFormat::Png), 4096).unwrap();
        assert!((big.hash ^ moved.hash).count_ones() > 8);
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(prepare(b"not an image", 512).is_err());
    }

    #[test]
    fn the_latest_window_asked_again_is_judged_against_the_state_before_it() {
        let remembered = |frame: &str| Remembered {
            frame: frame.into(),
            sha256: String::new(),
            hash: 0,
            url: String::new(),
            cells: String::new(),
        };
        let state = State {
            recent: vec![remembered("1"), remembered("5")],
            latest_window: Some(("4".into(), vec![remembered("1")])),
        };
        let cases = [
            ("4", vec!["1"]),      // the latest window again: as before it
            ("7", vec!["1", "5"]), // the next window: after the latest
            ("1", vec!["1", "5"]), // an older window: nothing to undo
        ];
        for (first, expected) in cases {
            let frames: Vec<String> = state.before_window(first).into_iter().map(|r| r.frame).collect();
            assert_eq!(frames, expected, "window starting at {first}");
        }
        // State from before windows were remembered reads as the list it was.
        assert_eq!(State::default().before_window("1"), Vec::new());
    }
}
