//! Incremental reads compared with full reads of the same frame, on synthetic screens read by a
//! fake engine: every "line" is a black barcode whose bars spell a number, so a full read is exact
//! and any stale, cut or missing line shows up as a difference.

use super::*;
use crate::ocr::split_line;
use image::{Luma, Rgb, RgbImage};
use std::sync::Mutex;

/// Bars per line: 12 bits, most significant first; a 1 is a wide bar, a 0 a narrow one.
const BITS: u32 = 12;
const LINE_HEIGHT: u32 = 14;

/// A line on the synthetic screen: where it starts and the number it spells.
#[derive(Debug, Clone, Copy)]
struct Line {
    x: u32,
    y: u32,
    code: u16,
}

const fn line(x: u32, y: u32, code: u16) -> Line {
    Line { x, y, code }
}

/// (start, width) of each bar of a line starting at `x`.
fn bars(x: u32, code: u16) -> Vec<(u32, u32)> {
    let mut at = x;
    (0..BITS)
        .rev()
        .map(|bit| {
            let width = if code >> bit & 1 == 1 { 5 } else { 2 };
            let bar = (at, width);
            at += width + 3;
            bar
        })
        .collect()
}

/// Reads barcode lines; remembers the pixels each call covered.
#[derive(Default)]
struct FakeEngine {
    pixels_read: Mutex<Vec<u64>>,
}

impl OcrEngine for FakeEngine {
    fn name(&self) -> &str {
        "fake"
    }

    fn read(&self, image: &DynamicImage) -> Result<OcrPage, OcrError> {
        let grey = image.to_luma8();
        let (width, height) = grey.dimensions();
        self.pixels_read
            .lock()
            .unwrap()
            .push(u64::from(width) * u64::from(height));
        let dark = |x: u32, y: u32| grey.get_pixel(x, y).0[0] < 128;
        // A line is a run of rows with dark pixels whose bars sit at most 3 px apart.
        let mut seen = vec![false; (width * height) as usize];
        let mut lines = Vec::new();
        for y in 0..height {
            for x in 0..width {
                if !dark(x, y) || seen[(y * width + x) as usize] {
                    continue;
                }
                let bottom = (y..height).take_while(|&y2| dark(x, y2)).last().unwrap();
                let mut right = x;
                let mut widths = Vec::new();
                let mut at = x;
                while at < width && dark(at, y) {
                    let end = (at..width).take_while(|&x2| dark(x2, y)).last().unwrap();
                    widths.push(end - at + 1);
                    right = end;
                    match (end + 1..(end + 5).min(width)).find(|&x2| dark(x2, y)) {
                        Some(next) => at = next,
                        None => break,
                    }
                }
                for yy in y..=bottom {
                    for xx in x..=right {
                        seen[(yy * width + xx) as usize] = true;
                    }
                }
                let code = widths.iter().fold(0u32, |code, &w| code << 1 | u32::from(w >= 4));
                let bbox = BoundingBox {
                    x: x as f32,
                    y: y as f32,
                    width: (right - x + 1) as f32,
                    height: (bottom - y + 1) as f32,
                };
                lines.push(split_line(&format!("line{code}/{}", widths.len()), 1.0, bbox));
            }
        }
        sort_reading_order(&mut lines);
        Ok(OcrPage {
            engine: "fake".into(),
            width,
            height,
            lines,
            millis: 0,
            reused_lines: 0,
        })
    }
}

/// A 640x400 screen; `scroll` moves the page (not the header) up by that many pixels.
fn screen(header: &[Line], page: &[Line], scroll: i32) -> DynamicImage {
    let mut image = RgbImage::from_pixel(640, 400, Rgb([255, 255, 255]));
    let mut paint = |l: &Line, dy: i32| {
        for (x, width) in bars(l.x, l.code) {
            for y in 0..LINE_HEIGHT {
                let y = l.y as i32 + y as i32 - dy;
                if !(0..400).contains(&y) {
                    continue;
                }
                for x in x..x + width {
                    image.put_pixel(x, y as u32, Rgb([20, 20, 30]));
                }
            }
        }
    };
    for l in page {
        paint(l, scroll);
    }
    for l in header {
        paint(l, 0);
    }
    DynamicImage::ImageRgb8(image)
}

/// The page's lines, sorted, without those the frame's edge cuts to a sliver (an incremental
/// read does not read those again; real engines read nothing legible there either).
fn legible_lines_of(page: &OcrPage) -> Vec<(String, i32, i32, i32, i32)> {
    let sliver = |l: &&OcrLine| {
        (l.bbox.y <= 0.0 || l.bbox.bottom() >= page.height as f32) && l.bbox.height < LEGIBLE_SHARE * LINE_HEIGHT as f32
    };
    let mut lines: Vec<_> = page
        .lines
        .iter()
        .filter(|l| !sliver(l))
        .map(|l| {
            (
                l.text.clone(),
                l.bbox.x.round() as i32,
                l.bbox.y.round() as i32,
                l.bbox.width.round() as i32,
                l.bbox.height.round() as i32,
            )
        })
        .collect();
    lines.sort();
    lines
}

/// The page of a long listing: rows of two lines 40 px apart, each spelling its own number.
fn listing(rows: u32) -> Vec<Line> {
    (0..rows as u16)
        .flat_map(|row| {
            [
                line(40, 80 + u32::from(row) * 40, 2 * row + 1),
                line(250, 80 + u32::from(row) * 40, 2 * row + 2),
            ]
        })
        .collect()
}

#[test]
fn incremental_reads_equal_full_reads() {
    // The header sits right of the listing's columns, so the two never overlap when scrolled.
    let header = [line(450, 8, 4000), line(450, 30, 4001)];
    let page = listing(30);
    let mut changed_price = page.clone();
    changed_price[9].code = 3000;
    let other_page: Vec<Line> = (0..8).map(|i| line(20 + i * 20, 60 + i * 37, 100 + i as u16)).collect();
    // (case, before, after, most pixels a correct incremental read may need, most engine calls)
    let cases: Vec<(&str, DynamicImage, DynamicImage, u64, Option<usize>)> = vec![
        (
            "the same screen again",
            screen(&header, &page, 0),
            screen(&header, &page, 0),
            0,
            Some(0),
        ),
        (
            "scrolled down under a sticky header",
            screen(&header, &page, 0),
            screen(&header, &page, 160),
            640 * 200,
            Some(2),
        ),
        (
            "scrolled so a line is cut at the top",
            screen(&header, &page, 0),
            screen(&header, &page, 170),
            640 * 400,
            None,
        ),
        (
            "scrolled back up",
            screen(&header, &page, 240),
            screen(&header, &page, 120),
            640 * 160,
            Some(2),
        ),
        (
            "one line changed in place",
            screen(&header, &page, 0),
            screen(&header, &changed_price, 0),
            640 * 160,
            Some(1),
        ),
        (
            "another page",
            screen(&header, &page, 0),
            screen(&header, &other_page, 0),
            640 * 400,
            None,
        ),
    ];
    for (name, before, after, most_pixels, reads) in cases {
        let engine = FakeEngine::default();
        let previous_page = engine.read(&before).unwrap();
        engine.pixels_read.lock().unwrap().clear();
        let previous_grey = before.to_luma8();
        let incremental = read_after(
            &engine,
            &after,
            Some(PreviousFrame {
                image: &previous_grey,
                page: &previous_page,
            }),
        )
        .unwrap();
        let calls = engine.pixels_read.lock().unwrap().clone();
        let full = FakeEngine::default().read(&after).unwrap();
        assert_eq!(
            legible_lines_of(&incremental),
            legible_lines_of(&full),
            "{name}: the incremental page differs from a full read"
        );
        if let Some(reads) = reads {
            assert!(
                calls.len() <= reads,
                "{name}: engine calls {calls:?}, expected at most {reads}"
            );
        }
        let pixels: u64 = calls.iter().sum();
        assert!(
            pixels <= most_pixels,
            "{name}: read {pixels} pixels, expected at most {most_pixels}"
        );
        if reads == Some(0) {
            assert_eq!(incremental.reused_lines as usize, full.lines.len(), "{name}");
        }
    }
}

#[test]
fn without_a_usable_previous_frame_the_read_is_full() {
    let engine = FakeEngine::default();
    let now = screen(&[], &listing(5), 0);
    let small = GrayImage::from_pixel(320, 200, Luma([255]));
    let page = engine.read(&now).unwrap();
    let mut other_engine_page = page.clone();
    other_engine_page.engine = "another".into();
    let same_size = now.to_luma8();
    let previous: [(&str, PreviousFrame); 2] = [
        (
            "another size",
            PreviousFrame {
                image: &small,
                page: &page,
            },
        ),
        (
            "another engine",
            PreviousFrame {
                image: &same_size,
                page: &other_engine_page,
            },
        ),
    ];
    for (name, previous) in previous {
        engine.pixels_read.lock().unwrap().clear();
        let read = read_after(&engine, &now, Some(previous)).unwrap();
        assert_eq!(read.reused_lines, 0, "{name}");
        assert_eq!(*engine.pixels_read.lock().unwrap(), vec![640 * 400], "{name}");
    }
}

#[test]
fn scroll_is_found_from_pixels() {
    let page = listing(30);
    for scroll in [16, 40, 157, 300] {
        let before = screen(&[], &page, 0).to_luma8();
        let after = screen(&[], &page, scroll).to_luma8();
        assert_eq!(find_scroll(&after, &before), Some(scroll), "scroll by {scroll}");
    }
}
