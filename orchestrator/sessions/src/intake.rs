//! Frame intake: each frame is checked (format sniffed from the bytes, size and dimensions
//! bounded, the whole file present, fully decoded), stored content-addressed, and acknowledged only once durable.
//!
//! Flush policy (group commit): the frames of one `accept` call (a Browse stream hands over every
//! frame already received, up to [`MAX_GROUP`]) are written, then the store is flushed once, then
//! all of them are acknowledged. An acknowledged frame is on disk; a frame not yet acknowledged
//! when the server dies may be lost and must be sent again (its sequence makes that safe).

use crate::batching::Closing;
use crate::{SUMMARIZE_TOOL, SessionError, Sessions};
use interarec_core::event::FrameRejected;
use interarec_core::session::FrameMeta;
use interarec_core::telemetry;
use interarec_llm::Provider;
use sha2::{Digest, Sha256};

/// Largest frame accepted by default, in bytes (`serving.max_frame_bytes`).
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
/// Largest width or height accepted.
pub const MAX_FRAME_SIDE: u32 = 4096;
/// Smallest width or height accepted.
pub const MIN_FRAME_SIDE: u32 = 16;
/// Most frames stored under one flush.
pub const MAX_GROUP: usize = 32;
/// Longest page URL a frame may carry by default, in bytes (`serving.max_url_bytes`).
pub const MAX_URL_BYTES: usize = 8 * 1024;
/// Longest visible DOM text a frame may carry by default, in bytes (`serving.max_dom_text_bytes`).
pub const MAX_DOM_TEXT_BYTES: usize = 1024 * 1024;
/// Most memory one frame's decoder may allocate by default: a 4096 × 4096 RGBA image and
/// headroom (`serving.max_decode_mib`).
pub const MAX_DECODE_BYTES: u64 = 96 * 1024 * 1024;
/// Groups of frames decoded at once across all sessions by default
/// (`serving.max_concurrent_decodes`); more wait.
pub const MAX_CONCURRENT_DECODES: usize = 4;

/// What one frame may be. The server fills it from its `[serving]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest image, in bytes.
    pub max_frame_bytes: usize,
    /// Longest page URL, in bytes.
    pub max_url_bytes: usize,
    /// Longest visible DOM text, in bytes.
    pub max_dom_text_bytes: usize,
    /// Most memory one decode may allocate.
    pub max_decode_bytes: u64,
    /// Groups of frames decoded at once across all sessions.
    pub max_concurrent_decodes: usize,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_frame_bytes: MAX_FRAME_BYTES,
            max_url_bytes: MAX_URL_BYTES,
            max_dom_text_bytes: MAX_DOM_TEXT_BYTES,
            max_decode_bytes: MAX_DECODE_BYTES,
            max_concurrent_decodes: MAX_CONCURRENT_DECODES,
        }
    }
}

impl FrameLimits {
    /// Largest Browse or UploadFrame message to read: an oversize frame up to twice the frame
    /// limit is rejected with a reason (the stream goes on); a larger message ends the stream.
    pub fn max_message_bytes(&self) -> usize {
        2 * self.max_frame_bytes + self.max_url_bytes + self.max_dom_text_bytes + 64 * 1024
    }

    /// Why a frame's text fields are refused, if they are.
    fn check_fields(&self, frame: &IncomingFrame) -> Result<(), String> {
        if frame.url.len() > self.max_url_bytes {
            return Err(format!(
                "the frame's url is {} bytes, over the {}-byte limit (serving.max_url_bytes); send the page's address without data: parts",
                frame.url.len(),
                self.max_url_bytes
            ));
        }
        if frame.dom_text.len() > self.max_dom_text_bytes {
            return Err(format!(
                "the frame's dom_text is {} bytes, over the {}-byte limit (serving.max_dom_text_bytes); send the visible text only",
                frame.dom_text.len(),
                self.max_dom_text_bytes
            ));
        }
        Ok(())
    }
}

/// A frame as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct IncomingFrame {
    /// Per-session sequence, strictly increasing.
    pub sequence: u64,
    /// Capture time.
    pub captured_at_unix_ms: u64,
    /// Page URL.
    pub url: String,
    /// Viewport width.
    pub viewport_width: u32,
    /// Viewport height.
    pub viewport_height: u32,
    /// PNG or JPEG bytes.
    pub image: Vec<u8>,
    /// Visible DOM text (ground truth; stored, never read by the pipeline).
    pub dom_text: String,
}

/// The answer to one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameOutcome {
    /// The frame's sequence.
    pub sequence: u64,
    /// Stored and durable.
    pub accepted: bool,
    /// Content address (sha256 hex).
    pub frame_id: String,
    /// The bytes were already stored.
    pub deduplicated_bytes: bool,
    /// Decoded width.
    pub width: u32,
    /// Decoded height.
    pub height: u32,
    /// Sniffed type.
    pub mime: String,
    /// Why it was refused.
    pub reason: String,
}

/// What a valid image is.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFacts {
    /// `image/png` or `image/jpeg`.
    pub mime: &'static str,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Checks that `bytes` are a PNG or JPEG (by their signature, not a name) of bounded size and
/// dimensions that decodes completely, with the default [`FrameLimits`].
pub fn inspect_image(bytes: &[u8]) -> Result<ImageFacts, String> {
    inspect_image_within(bytes, &FrameLimits::default())
}

/// [`inspect_image`] under `limits`.
pub fn inspect_image_within(bytes: &[u8], limits: &FrameLimits) -> Result<ImageFacts, String> {
    if bytes.len() > limits.max_frame_bytes {
        return Err(format!(
            "the frame is {} bytes, over the {}-byte limit (serving.max_frame_bytes); send JPEG or a smaller viewport",
            bytes.len(),
            limits.max_frame_bytes
        ));
    }
    let (format, mime) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        (image::ImageFormat::Png, "image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        (image::ImageFormat::Jpeg, "image/jpeg")
    } else {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Err(format!(
            "the frame is not a PNG or JPEG image (it starts with {}); send PNG or JPEG bytes",
            if head.is_empty() {
                "nothing".to_owned()
            } else {
                head.join(" ")
            }
        ));
    };
    // The JPEG decoder fills a cut-off image with grey instead of failing; the end marker says
    // whether the whole picture arrived (encoders may pad a little after it).
    if format == image::ImageFormat::Jpeg {
        let tail = &bytes[bytes.len().saturating_sub(64)..];
        if !tail.windows(2).any(|pair| pair == [0xFF, 0xD9]) {
            return Err("the JPEG is cut off (it has no end-of-image marker); send the whole file".to_owned());
        }
    }
    // PNG decoders stop at the last pixel row and never look for the closing chunk, so a file
    // cut in its last bytes would pass; the `IEND` chunk (type and its fixed CRC) says the whole
    // file arrived (a little padding after it is allowed, as for JPEG).
    const IEND: [u8; 8] = [b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
    if format == image::ImageFormat::Png
        && !bytes[bytes.len().saturating_sub(64)..]
            .windows(8)
            .any(|chunk| chunk == IEND)
    {
        return Err("the PNG is cut off (it does not end with its IEND chunk); send the whole file".to_owned());
    }
    let (width, height) = match format {
        image::ImageFormat::Jpeg => decode_jpeg_brightness(bytes, limits)?,
        _ => decode_png(bytes, limits)?,
    };
    Ok(ImageFacts { mime, width, height })
}

/// Refuses a side outside [`MIN_FRAME_SIDE`] to [`MAX_FRAME_SIDE`].
fn check_sides(width: u32, height: u32) -> Result<(), String> {
    for (name, side) in [("width", width), ("height", height)] {
        if !(MIN_FRAME_SIDE..=MAX_FRAME_SIDE).contains(&side) {
            return Err(format!(
                "the frame's {name} is {side} pixels, outside {MIN_FRAME_SIDE} to {MAX_FRAME_SIDE}"
            ));
        }
    }
    Ok(())
}

/// Decodes a JPEG's whole entropy-coded stream but renders only its brightness channel: every
/// block is read (a cut or garbled stream fails as it would in a full decode), while the colour
/// channels' transforms, upsampling and colour conversion (over half the work) are skipped.
fn decode_jpeg_brightness(bytes: &[u8], limits: &FrameLimits) -> Result<(u32, u32), String> {
    use zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    // Lenient like `image` (and browsers): a damaged stream ends the picture early instead of
    // failing it, so what passed before still passes.
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(MAX_FRAME_SIDE as usize)
        .set_max_height(MAX_FRAME_SIDE as usize)
        .jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|e| format!("the image/jpeg header cannot be read: {e}"))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| "the image/jpeg header cannot be read: no dimensions".to_owned())?;
    let (width, height) = (width as u32, height as u32);
    check_sides(width, height)?;
    // The decoder keeps every channel's coefficients for a row of blocks besides the output.
    let needed = u64::from(width) * u64::from(height) * 2;
    if needed > limits.max_decode_bytes {
        return Err(format!(
            "the image/jpeg image does not decode: it needs {needed} bytes, over the {}-byte decoding limit (serving.max_decode_mib)",
            limits.max_decode_bytes
        ));
    }
    decoder
        .decode()
        .map_err(|e| format!("the image/jpeg image does not decode: {e}"))?;
    Ok((width, height))
}

/// Decodes a PNG completely, its allocations bounded (a header can claim less than the data holds).
fn decode_png(bytes: &[u8], limits: &FrameLimits) -> Result<(u32, u32), String> {
    let format = image::ImageFormat::Png;
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| format!("the image/png header cannot be read: {e}"))?;
    check_sides(width, height)?;
    let mut bounds = image::Limits::default();
    bounds.max_image_width = Some(MAX_FRAME_SIDE);
    bounds.max_image_height = Some(MAX_FRAME_SIDE);
    bounds.max_alloc = Some(limits.max_decode_bytes);
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(bounds);
    reader
        .decode()
        .map_err(|e| format!("the image/png image does not decode: {e}"))?;
    Ok((width, height))
}

impl Sessions {
    /// Validates, stores and (after one flush) acknowledges a group of frames, then closes a
    /// batch if enough frames are pending.
    pub async fn accept(&self, id: &str, frames: Vec<IncomingFrame>) -> Result<Vec<FrameOutcome>, SessionError> {
        let live = self.live(id)?;
        // Decoding is CPU work: do it off the async threads, before taking the session's lock,
        // a bounded number of groups at a time (a slow queue here slows the senders).
        let _decoding = self
            .decodes
            .acquire()
            .await
            .map_err(|_| SessionError::Worker("the frame decoders were shut down".into()))?;
        let limits = self.frame_limits;
        let inspected = tokio::task::spawn_blocking(move || {
            frames
                .into_iter()
                .map(|frame| {
                    let facts = limits
                        .check_fields(&frame)
                        .and_then(|()| inspect_image_within(&frame.image, &limits));
                    (frame, facts)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| SessionError::Worker(format!("the frame worker failed: {e}")))?;
        let mut outcomes = Vec::with_capacity(inspected.len());
        let mut new_events = Vec::new();
        {
            let mut record = self.record(&live).await?;
            if record.ended {
                return Err(SessionError::Ended(id.to_owned()));
            }
            for (frame, facts) in inspected {
                let sequence = frame.sequence;
                if sequence <= record.last_sequence {
                    // A retry of a stored frame (same sequence, same bytes) gets its first answer;
                    // anything else is out of order.
                    let stored = self.store.frame(id, sequence)?;
                    if let Some(meta) = stored.filter(|m| m.frame_id == hex::encode(Sha256::digest(&frame.image))) {
                        outcomes.push(accepted(&meta));
                    } else {
                        metrics::counter!(telemetry::FRAMES_REFUSED, "reason" => "out-of-order").increment(1);
                        outcomes.push(rejected(
                            sequence,
                            format!(
                                "sequence {sequence} is not after the last accepted frame ({}); number frames in increasing order",
                                record.last_sequence
                            ),
                        ));
                    }
                    continue;
                }
                let facts = match facts {
                    Ok(facts) => facts,
                    Err(reason) => {
                        metrics::counter!(telemetry::FRAMES_REFUSED, "reason" => "invalid").increment(1);
                        record.frames_rejected += 1;
                        new_events.push(crate::log::next_event(
                            &mut record,
                            FrameRejected {
                                sequence,
                                reason: reason.clone(),
                            }
                            .into(),
                        ));
                        outcomes.push(rejected(sequence, reason));
                        continue;
                    }
                };
                let mut meta = FrameMeta {
                    sequence,
                    frame_id: hex::encode(Sha256::digest(&frame.image)),
                    mime: facts.mime.to_owned(),
                    width: facts.width,
                    height: facts.height,
                    bytes: frame.image.len() as u64,
                    captured_at_unix_ms: frame.captured_at_unix_ms,
                    received_at_unix_ms: interarec_core::unix_millis(),
                    url: frame.url,
                    viewport_width: frame.viewport_width,
                    viewport_height: frame.viewport_height,
                    dom_text: frame.dom_text,
                    shared_bytes: false,
                };
                self.store.put_frame(id, &mut meta, &frame.image)?;
                // Only the summarising tool reads pages, and only for sessions the offline engine
                // reads; otherwise reading would be wasted work.
                let offline =
                    Provider::parse(&record.vision_provider).unwrap_or(self.planners.vision) == Provider::Offline;
                if let Some(reader) = &self.reader
                    && offline
                    && self.tools.has(SUMMARIZE_TOOL)
                {
                    let previous = self
                        .store
                        .frame(id, record.last_sequence)?
                        .map(|before| before.frame_id);
                    reader.prefetch(&meta.frame_id, previous.as_deref());
                }
                record.frames_accepted += 1;
                record.last_sequence = sequence;
                outcomes.push(accepted(&meta));
            }
            for event in &new_events {
                self.store.append_event(event)?;
            }
            self.store.put_session(&record)?;
            self.flush().await?;
        }
        let acknowledged = outcomes.iter().filter(|outcome| outcome.accepted).count();
        metrics::counter!(telemetry::FRAMES_ACKNOWLEDGED).increment(acknowledged as u64);
        for event in new_events {
            let _ = live.events.send(event);
        }
        let sessions = self.clone();
        let id = id.to_owned();
        self.spawn(async move {
            if let Err(error) = sessions.close_batches(&id, Closing::WhenFull).await {
                tracing::warn!(session = %id, %error, "closing a batch failed");
            }
        });
        Ok(outcomes)
    }
}

fn accepted(meta: &FrameMeta) -> FrameOutcome {
    FrameOutcome {
        sequence: meta.sequence,
        accepted: true,
        frame_id: meta.frame_id.clone(),
        deduplicated_bytes: meta.shared_bytes,
        width: meta.width,
        height: meta.height,
        mime: meta.mime.clone(),
        reason: String::new(),
    }
}

fn rejected(sequence: u64, reason: String) -> FrameOutcome {
    FrameOutcome {
        sequence,
        reason,
        ..FrameOutcome::default()
    }
}

#[cfg(test)]
mod properties {
    //! Property tests: no byte string makes frame inspection panic, and a cut-off image is
    //! refused with a reason rather than stored.
    use super::*;
    use proptest::prelude::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 7) as u8, (y * 3) as u8, 90]));
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgb8(image)
            .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
            .unwrap();
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn arbitrary_bytes_are_refused_with_a_reason(
            head in prop_oneof![Just(b"\x89PNG\r\n\x1a\n".to_vec()), Just(vec![0xFF, 0xD8, 0xFF]), Just(Vec::new())],
            tail in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let bytes = [head, tail].concat();
            if let Err(reason) = inspect_image(&bytes) {
                prop_assert!(!reason.is_empty());
            }
        }

        #[test]
        fn cut_off_pngs_are_refused(width in 16u32..48, height in 16u32..48, keep in 0.0f64..0.999) {
            let whole = png(width, height);
            prop_assert!(inspect_image(&whole).is_ok());
            let cut = &whole[..(whole.len() as f64 * keep) as usize];
            prop_assert!(inspect_image(cut).is_err(), "{} of {} bytes accepted", cut.len(), whole.len());
        }
    }
}
