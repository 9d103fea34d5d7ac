//! Session folders: `manifest.json` (script name and intent, viewport, interval, format, and one
//! entry per frame), `frames/NNNNNN.jpg|png` and, when captured, `dom/NNNNNN.txt`. The manifest
//! is rewritten after every frame, so a run that stops early leaves a readable folder with the
//! frames it took.

use crate::{CapturedFrame, ImageFormat};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The manifest of a session folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Script name.
    pub name: String,
    /// What the scripted shopper wanted.
    pub intent: String,
    /// The intent as facts (copied from the script; see `Script::expect`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub expect: std::collections::BTreeMap<String, serde_json::Value>,
    /// Viewport width.
    pub viewport_width: u32,
    /// Viewport height.
    pub viewport_height: u32,
    /// Interval asked for.
    pub interval_ms: u64,
    /// Image format.
    pub format: ImageFormat,
    /// Frames in order.
    pub frames: Vec<FrameEntry>,
    /// Why the run stopped early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One frame of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameEntry {
    /// Sequence from 1.
    pub sequence: u64,
    /// Image file, relative to the folder.
    pub file: String,
    /// Capture time.
    pub captured_at_unix_ms: u64,
    /// Page URL.
    pub url: String,
    /// Visible DOM text file, relative to the folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dom_text_file: Option<String>,
}

/// A folder being written.
#[derive(Debug)]
pub struct FolderWriter {
    dir: PathBuf,
    manifest: Manifest,
}

impl FolderWriter {
    /// Creates the folder (it must not hold a manifest already).
    pub fn create(dir: &Path, manifest: Manifest) -> std::io::Result<FolderWriter> {
        if dir.join("manifest.json").exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} already holds a session; choose an empty folder", dir.display()),
            ));
        }
        std::fs::create_dir_all(dir.join("frames"))?;
        let writer = FolderWriter {
            dir: dir.to_owned(),
            manifest,
        };
        writer.save()?;
        Ok(writer)
    }

    /// Writes a frame and updates the manifest.
    pub fn add(&mut self, frame: &CapturedFrame) -> std::io::Result<()> {
        let file = format!("frames/{:06}.{}", frame.sequence, frame.format.extension());
        std::fs::write(self.dir.join(&file), &frame.image)?;
        let dom_text_file = match &frame.dom_text {
            Some(text) => {
                std::fs::create_dir_all(self.dir.join("dom"))?;
                let name = format!("dom/{:06}.txt", frame.sequence);
                std::fs::write(self.dir.join(&name), text)?;
                Some(name)
            }
            None => None,
        };
        self.manifest.frames.push(FrameEntry {
            sequence: frame.sequence,
            file,
            captured_at_unix_ms: frame.captured_at_unix_ms,
            url: frame.url.clone(),
            dom_text_file,
        });
        self.save()
    }

    /// Records why the run stopped early.
    pub fn fail(&mut self, error: &str) -> std::io::Result<()> {
        self.manifest.error = Some(error.to_owned());
        self.save()
    }

    /// Frames written.
    pub fn frames(&self) -> usize {
        self.manifest.frames.len()
    }

    fn save(&self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.manifest).map_err(std::io::Error::other)?;
        let temporary = self.dir.join("manifest.json.tmp");
        std::fs::write(&temporary, text)?;
        std::fs::rename(temporary, self.dir.join("manifest.json"))
    }
}

/// A recorded frame read back.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedFrame {
    /// Its manifest entry.
    pub entry: FrameEntry,
    /// The image bytes.
    pub image: Vec<u8>,
    /// The DOM text, when recorded.
    pub dom_text: Option<String>,
}

/// Reads a session folder.
pub fn read(dir: &Path) -> Result<(Manifest, Vec<RecordedFrame>), String> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a session manifest: {e}", path.display()))?;
    let mut frames = Vec::with_capacity(manifest.frames.len());
    for entry in &manifest.frames {
        let image = std::fs::read(dir.join(&entry.file))
            .map_err(|e| format!("frame {} ({}) is missing: {e}", entry.sequence, entry.file))?;
        let dom_text = match &entry.dom_text_file {
            Some(file) => Some(std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))?),
            None => None,
        };
        frames.push(RecordedFrame {
            entry: entry.clone(),
            image,
            dom_text,
        });
    }
    Ok((manifest, frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(sequence: u64) -> CapturedFrame {
        CapturedFrame {
            sequence,
            captured_at_unix_ms: 1_000 * sequence,
            url: format!("http://shop/{sequence}"),
            viewport_width: 1280,
            viewport_height: 800,
            format: ImageFormat::Jpeg,
            image: vec![0xFF, 0xD8, 0xFF, sequence as u8],
            dom_text: sequence.is_multiple_of(2).then(|| format!("text {sequence}")),
        }
    }

    #[test]
    fn a_folder_reads_back_what_was_written_even_after_a_failure() {
        let dir = tempfile_dir();
        let manifest = Manifest {
            name: "green".into(),
            intent: "green dresses".into(),
            expect: Default::default(),
            viewport_width: 1280,
            viewport_height: 800,
            interval_ms: 500,
            format: ImageFormat::Jpeg,
            frames: Vec::new(),
            error: None,
        };
        let mut writer = FolderWriter::create(&dir, manifest.clone()).unwrap();
        writer.add(&frame(1)).unwrap();
        writer.add(&frame(2)).unwrap();
        writer.fail("step 3 (click #nope) failed").unwrap();
        let (read_manifest, frames) = read(&dir).unwrap();
        assert_eq!(read_manifest.error.as_deref(), Some("step 3 (click #nope) failed"));
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].image, frame(2).image);
        assert_eq!(frames[1].dom_text.as_deref(), Some("text 2"));
        assert_eq!(frames[0].dom_text, None);
        assert!(
            FolderWriter::create(&dir, manifest).is_err(),
            "an existing session is not overwritten"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read(&dir).unwrap_err().contains("cannot read"));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("interarec-folder-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}
