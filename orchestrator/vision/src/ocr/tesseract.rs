//! Tesseract, the alternative engine: Debian's `tesseract` program with TSV output, one thread
//! (`OMP_THREAD_LIMIT=1`, so two engines never fight over the two cores), bounded in time.

use super::{BoundingBox, OcrEngine, OcrError, OcrLine, OcrPage, OcrWord, sort_reading_order};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest one image may take before the run is abandoned.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The Tesseract engine.
pub struct Tesseract {
    program: String,
    name: String,
}

impl Tesseract {
    /// Finds `tesseract` on the PATH (or `$INTERAREC_TESSERACT`) and reads its version.
    pub fn detect() -> Result<Tesseract, OcrError> {
        let program = std::env::var("INTERAREC_TESSERACT").unwrap_or_else(|_| "tesseract".into());
        let output = Command::new(&program).arg("--version").output().map_err(|e| {
            OcrError::Engine(format!(
                "cannot run `{program}` ({e}): install it (`apt-get install tesseract-ocr`) or choose `--ocr paddle`"
            ))
        })?;
        let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
        let version = text
            .split_whitespace()
            .nth(1)
            .unwrap_or("unknown")
            .trim_start_matches('v')
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".");
        Ok(Tesseract {
            program,
            name: format!("tesseract-{version}"),
        })
    }
}

impl OcrEngine for Tesseract {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&self, image: &image::DynamicImage) -> Result<OcrPage, OcrError> {
        let started = Instant::now();
        // Lossless input: re-encoding a JPEG as JPEG would add artefacts.
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| OcrError::Image(e.to_string()))?;
        let mut child = Command::new(&self.program)
            .args(["stdin", "stdout", "--psm", "3", "tsv"])
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| OcrError::Engine(format!("cannot start `{}`: {e}", self.program)))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let writer = std::thread::spawn(move || stdin.write_all(&png));
        // Drain both pipes while waiting: a page's TSV can outgrow the pipe's buffer, and a
        // child blocked on a full pipe never exits.
        let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        );
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(OcrError::Engine(format!(
                        "tesseract took longer than {} s on one image and was stopped",
                        TIMEOUT.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(OcrError::Engine(format!("waiting for tesseract: {e}"))),
            }
        }
        let _ = writer.join();
        let status = child
            .wait()
            .map_err(|e| OcrError::Engine(format!("waiting for tesseract: {e}")))?;
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        if !status.success() {
            return Err(OcrError::Engine(format!(
                "tesseract failed ({status}): {}",
                String::from_utf8_lossy(&stderr).trim()
            )));
        }
        let mut lines = parse_tsv(&String::from_utf8_lossy(&stdout));
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

/// Groups Tesseract's word rows (level 5) into its lines (block, paragraph, line numbers).
fn parse_tsv(tsv: &str) -> Vec<OcrLine> {
    let mut lines: BTreeMap<(u32, u32, u32, u32), Vec<OcrWord>> = BTreeMap::new();
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let text = cols[11].trim();
        let confidence: f32 = cols[10].parse().unwrap_or(-1.0);
        if text.is_empty() || confidence < 0.0 {
            continue;
        }
        let number = |i: usize| cols[i].parse::<u32>().unwrap_or(0);
        let value = |i: usize| cols[i].parse::<f32>().unwrap_or(0.0);
        lines
            .entry((number(1), number(2), number(3), number(4)))
            .or_default()
            .push(OcrWord {
                text: text.to_owned(),
                confidence: confidence / 100.0,
                bbox: BoundingBox {
                    x: value(6),
                    y: value(7),
                    width: value(8),
                    height: value(9),
                },
            });
    }
    lines
        .into_values()
        .map(|words| {
            let bbox = words.iter().skip(1).fold(words[0].bbox, |acc, w| acc.union(&w.bbox));
            let confidence = words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32;
            OcrLine {
                text: words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "),
                confidence,
                bbox,
                words,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_group_into_lines_and_skip_layout_rows() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t1280\t800\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t50\t14\t96.5\tGreen\n\
                   5\t1\t1\t1\t1\t2\t65\t20\t40\t14\t90.0\tDress\n\
                   5\t1\t1\t1\t2\t1\t10\t40\t60\t14\t80.0\t$83.99\n\
                   5\t1\t2\t1\t1\t1\t300\t20\t5\t14\t-1\t \n";
        let lines = parse_tsv(tsv);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "Green Dress");
        assert_eq!(lines[0].bbox.width, 95.0);
        assert!((lines[0].confidence - 0.9325).abs() < 1e-4);
        assert_eq!(lines[1].words[0].text, "$83.99");
    }
}
