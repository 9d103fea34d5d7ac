//! Reading a frame against the one before it in the same stream. A shopper's viewport mostly
//! stays put or scrolls between two screenshots, so most of a new frame was already read: this
//! finds which 16-pixel tiles are unchanged (same place) or scrolled (the previous frame's pixels
//! shifted vertically), keeps the previous page's lines that lie wholly on such tiles, and runs
//! the engine only on full-width bands around the changed tiles. Reuse is decided on pixels,
//! never on text: a line is kept only when every tile under it matches the previous frame up to
//! JPEG noise, so what it says is what the engine read there before.

use super::{BoundingBox, OcrEngine, OcrError, OcrLine, OcrPage, sort_reading_order};
use image::{DynamicImage, GrayImage};
use std::time::Instant;

/// Tile side in pixels: JPEG's 16-pixel colour blocks, so an unchanged region decodes to the
/// same pixels and a scrolled one differs only by re-encoding noise.
const TILE: u32 = 16;
/// A pixel differing by more than this is changed content. Re-encoding noise on scrolled text
/// (quality-80 JPEG, 4:2:0) measured at most 63 on the recorded sessions; a changed glyph
/// differs by 100–250.
const NOISE_PIXEL: u8 = 80;
/// A tile whose mean difference exceeds this is changed (noise measured at most 8.3).
const NOISE_MEAN: u32 = 12;
/// When more than this share of the tiles changed, one full read is cheaper than many crops.
const FULL_READ_SHARE: f32 = 0.55;
/// Likewise when the bands to read cover more than this share of the frame.
const FULL_READ_AREA: f64 = 0.6;
/// A line cut by the frame's edge is read again when at least this share of it is visible.
const LEGIBLE_SHARE: f32 = 0.6;
/// Rows of matching content a vertical shift needs before the tiles are asked about it.
const MIN_SCROLL_ROWS: usize = 12;
/// Shifts (the best by matching rows) whose tiles are compared.
const SCROLL_PROPOSALS: usize = 8;
/// Tiles with content that must match before a shift counts as a scroll.
const MIN_SCROLL_TILES: usize = 4;
/// Band width for the per-row profiles the scroll search compares.
const BAND: u32 = 64;
/// Margin read around changed tiles, so text touching them is read whole.
const MARGIN: u32 = 8;
/// Changed regions closer than this are read as one.
const MERGE_GAP: u32 = 24;
/// Bands are read on canvases of a multiple of this height (see [`padded_band`]).
const BAND_HEIGHT: u32 = 80;

/// The previous frame of the same stream and what was read on it.
pub struct PreviousFrame<'a> {
    /// Its pixels, in grey.
    pub image: &'a GrayImage,
    /// Its page, as the same engine read it.
    pub page: &'a OcrPage,
}

/// Reads `image`, reusing what `previous` shows of it. Without a usable previous frame (none,
/// another size, another engine) this is a full read. The page's `reused_lines` says how many
/// lines came from the previous page.
pub fn read_after(
    engine: &dyn OcrEngine,
    image: &DynamicImage,
    previous: Option<PreviousFrame<'_>>,
) -> Result<OcrPage, OcrError> {
    let started = Instant::now();
    let Some(previous) = previous.filter(|p| {
        p.image.dimensions() == (image.width(), image.height())
            && (p.page.width, p.page.height) == (image.width(), image.height())
            && p.page.engine == engine.name()
    }) else {
        return engine.read(image);
    };
    let current = image.to_luma8();
    let plan = plan(&current, previous.image, &previous.page.lines);
    let frame_area = f64::from(image.width()) * f64::from(image.height());
    let region_area: f64 = plan
        .regions
        .iter()
        .map(|r| f64::from(r.width) * f64::from(r.height))
        .sum();
    // Reading crops costs per crop too (detection at full scale, a process per crop for
    // Tesseract): past 0.6 of the frame, one whole read is as fast and sees the whole layout.
    if plan.changed_share > FULL_READ_SHARE || region_area > FULL_READ_AREA * frame_area {
        return engine.read(image);
    }
    let mut lines = plan.kept;
    let reused_lines = lines.len() as u32;
    for region in &plan.regions {
        let page = engine.read(&padded_band(image, region))?;
        lines.extend(
            page.lines
                .into_iter()
                .map(|line| offset(line, region.x as f32, region.y as f32)),
        );
    }
    sort_reading_order(&mut lines);
    Ok(OcrPage {
        engine: engine.name().to_owned(),
        width: image.width(),
        height: image.height(),
        lines,
        millis: started.elapsed().as_millis() as u64,
        reused_lines,
    })
}

/// The band's pixels on a white canvas whose height is a multiple of [`BAND_HEIGHT`]: an engine
/// compiles its detection network once per input size, so a handful of sizes keeps every read on
/// a compiled plan (a new size costs more than reading the band).
fn padded_band(image: &DynamicImage, band: &Region) -> DynamicImage {
    let height = band
        .height
        .div_ceil(BAND_HEIGHT)
        .saturating_mul(BAND_HEIGHT)
        .min(image.height())
        .max(band.height);
    let crop = image.crop_imm(band.x, band.y, band.width, band.height).to_rgb8();
    let mut canvas = image::RgbImage::from_pixel(band.width, height, image::Rgb([255, 255, 255]));
    image::imageops::replace(&mut canvas, &crop, 0, 0);
    DynamicImage::ImageRgb8(canvas)
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Region {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

impl Region {
    fn right(&self) -> u32 {
        self.x + self.width
    }

    fn bottom(&self) -> u32 {
        self.y + self.height
    }

    fn union(&self, other: &Region) -> Region {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Region {
            x,
            y,
            width: self.right().max(other.right()) - x,
            height: self.bottom().max(other.bottom()) - y,
        }
    }

    /// Overlapping or closer than `gap` on both axes.
    fn near(&self, other: &Region, gap: u32) -> bool {
        self.x <= other.right() + gap
            && other.x <= self.right() + gap
            && self.y <= other.bottom() + gap
            && other.y <= self.bottom() + gap
    }

    fn touches(&self, bbox: &BoundingBox) -> bool {
        (self.x as f32) < bbox.right()
            && bbox.x < self.right() as f32
            && (self.y as f32) < bbox.bottom()
            && bbox.y < self.bottom() as f32
    }
}

/// What to keep and what to read again.
#[derive(Debug)]
struct Plan {
    kept: Vec<OcrLine>,
    regions: Vec<Region>,
    changed_share: f32,
}

/// Which tiles of `current` match `previous`, in place or shifted by one vertical scroll.
struct TileMap {
    columns: u32,
    rows: u32,
    unchanged: Vec<bool>,
    /// Content moved up by this many pixels (`current[y] == previous[y + shift]`), if it did.
    shift: Option<i32>,
    scrolled: Vec<bool>,
}

impl TileMap {
    fn new(current: &GrayImage, previous: &GrayImage) -> TileMap {
        let (width, height) = current.dimensions();
        let columns = width.div_ceil(TILE);
        let rows = height.div_ceil(TILE);
        let mut unchanged = Vec::with_capacity((columns * rows) as usize);
        for row in 0..rows {
            for column in 0..columns {
                unchanged.push(tile_matches(current, previous, column * TILE, row * TILE, 0));
            }
        }
        let mut map = TileMap {
            columns,
            rows,
            unchanged,
            shift: None,
            scrolled: vec![false; (columns * rows) as usize],
        };
        if map.unchanged.iter().all(|&same| same) {
            return map;
        }
        if let Some(shift) = find_scroll(current, previous) {
            for row in 0..rows {
                for column in 0..columns {
                    let y = row * TILE;
                    let source = y as i32 + shift;
                    let tile_height = TILE.min(height - y) as i32;
                    if source >= 0 && source + tile_height <= height as i32 {
                        map.scrolled[(row * columns + column) as usize] =
                            tile_matches(current, previous, column * TILE, y, shift);
                    }
                }
            }
            map.shift = Some(shift);
        }
        map
    }

    fn index(&self, column: u32, row: u32) -> usize {
        (row * self.columns + column) as usize
    }

    fn changed(&self, column: u32, row: u32) -> bool {
        let index = self.index(column, row);
        !self.unchanged[index] && !self.scrolled[index]
    }

    /// The tile columns and rows `bbox` covers (first and last), from its left/top edge clamped to
    /// the frame; the last ones may lie past the frame.
    fn span(bbox: &BoundingBox) -> (u32, u32, u32, u32) {
        let first = |at: f32| at.max(0.0) as u32 / TILE;
        let last = |end: f32| (end.ceil().max(1.0) as u32 - 1) / TILE;
        (first(bbox.x), first(bbox.y), last(bbox.right()), last(bbox.bottom()))
    }

    /// Whether some tile under `bbox` matches the previous frame in place and not under the
    /// scroll (a tile that matches both is blank or repeats itself).
    fn any_in_place_only(&self, bbox: &BoundingBox) -> bool {
        let (x0, y0, x1, y1) = Self::span(bbox);
        let (x0, x1) = (x0.min(self.columns - 1), x1.min(self.columns - 1));
        let (y0, y1) = (y0.min(self.rows - 1), y1.min(self.rows - 1));
        (y0..=y1).any(|row| {
            (x0..=x1).any(|column| {
                let index = self.index(column, row);
                self.unchanged[index] && !self.scrolled[index]
            })
        })
    }

    /// Whether every tile under `bbox` (current-frame pixels) satisfies `test`; boxes off the
    /// frame fail.
    fn all_under(&self, bbox: &BoundingBox, tiles: &[bool]) -> bool {
        if bbox.x < 0.0 || bbox.y < 0.0 || bbox.width <= 0.0 || bbox.height <= 0.0 {
            return false;
        }
        let (x0, y0, x1, y1) = Self::span(bbox);
        if x1 >= self.columns || y1 >= self.rows {
            return false;
        }
        (y0..=y1).all(|row| (x0..=x1).all(|column| tiles[self.index(column, row)]))
    }
}

/// Whether the tile at (`x`, `y`) of `current` shows what `previous` shows at (`x`, `y + shift`).
fn tile_matches(current: &GrayImage, previous: &GrayImage, x: u32, y: u32, shift: i32) -> bool {
    let (width, height) = current.dimensions();
    let (tile_width, tile_height) = (TILE.min(width - x), TILE.min(height - y));
    let mut total = 0u32;
    for dy in 0..tile_height {
        let source_y = (y + dy) as i32 + shift;
        let row = &current.as_raw()[((y + dy) * width + x) as usize..][..tile_width as usize];
        let before = &previous.as_raw()[(source_y as u32 * width + x) as usize..][..tile_width as usize];
        for (a, b) in row.iter().zip(before) {
            let difference = a.abs_diff(*b);
            if difference > NOISE_PIXEL {
                return false;
            }
            total += u32::from(difference);
        }
    }
    total <= NOISE_MEAN * tile_width * tile_height
}

/// The vertical scroll between two frames. Row profiles propose the shifts under which the most
/// non-blank pixel rows match (per-band means within noise); the tiles decide: the proposal under
/// which the most tiles with content match wins, if enough do.
fn find_scroll(current: &GrayImage, previous: &GrayImage) -> Option<i32> {
    let (now, now_busy) = row_profiles(current);
    let (before, _) = row_profiles(previous);
    let height = now.len() as i32;
    // Shifts ranked by the share of the overlap's non-blank rows that match (a small true scroll
    // and a large one compete fairly), then by how many do.
    let mut proposals: Vec<(u32, usize, i32)> = Vec::new();
    for shift in -(height - MIN_SCROLL_ROWS as i32)..=(height - MIN_SCROLL_ROWS as i32) {
        if shift == 0 {
            continue;
        }
        let (mut busy, mut matched) = (0usize, 0usize);
        for y in 0.max(-shift)..height.min(height - shift) {
            if !now_busy[y as usize] {
                continue;
            }
            busy += 1;
            if now[y as usize]
                .iter()
                .zip(&before[(y + shift) as usize])
                .all(|(a, b)| (a - b).abs() < 1.5)
            {
                matched += 1;
            }
        }
        if matched >= MIN_SCROLL_ROWS {
            proposals.push(((matched * 1000 / busy) as u32, matched, shift));
        }
    }
    proposals.sort_unstable_by(|a, b| b.cmp(a));
    proposals
        .iter()
        .take(SCROLL_PROPOSALS)
        .map(|&(_, _, shift)| (content_tile_agreement(current, previous, shift), shift))
        .filter(|&(tiles, _)| tiles >= MIN_SCROLL_TILES as i64)
        .max_by_key(|&(tiles, shift)| (tiles, std::cmp::Reverse(shift.abs())))
        .map(|(_, shift)| shift)
}

/// Tiles of `current` with content (not one flat colour) that match `previous` under `shift`,
/// less those that do not: a wrong shift can line up many tiles that merely begin alike (`$1`
/// of two prices) but leaves the rest of them apart.
fn content_tile_agreement(current: &GrayImage, previous: &GrayImage, shift: i32) -> i64 {
    let (width, height) = current.dimensions();
    let mut count = 0;
    for y in (0..height).step_by(TILE as usize) {
        let tile_height = TILE.min(height - y) as i32;
        if (y as i32 + shift) < 0 || y as i32 + shift + tile_height > height as i32 {
            continue;
        }
        for x in (0..width).step_by(TILE as usize) {
            let tile_width = TILE.min(width - x);
            let (low, high) = (y..y + tile_height as u32)
                .flat_map(|row| &current.as_raw()[(row * width + x) as usize..][..tile_width as usize])
                .fold((u8::MAX, 0u8), |(l, h), &p| (l.min(p), h.max(p)));
            if high - low > 32 {
                count += if tile_matches(current, previous, x, y, shift) {
                    1
                } else {
                    -1
                };
            }
        }
    }
    count
}

/// Mean grey per band of each pixel row, and whether the row has content (not one flat colour).
fn row_profiles(image: &GrayImage) -> (Vec<Vec<f32>>, Vec<bool>) {
    let (width, height) = image.dimensions();
    let mut profiles = Vec::with_capacity(height as usize);
    let mut busy = Vec::with_capacity(height as usize);
    for y in 0..height {
        let row = &image.as_raw()[(y * width) as usize..][..width as usize];
        profiles.push(
            row.chunks(BAND as usize)
                .map(|band| band.iter().map(|&p| f32::from(p)).sum::<f32>() / band.len() as f32)
                .collect(),
        );
        let (low, high) = row.iter().fold((u8::MAX, 0), |(l, h), &p| (l.min(p), h.max(p)));
        busy.push(high - low > 32);
    }
    (profiles, busy)
}

/// Decides which previous lines to keep (moved to where they are now) and which regions to read.
fn plan(current: &GrayImage, previous: &GrayImage, previous_lines: &[OcrLine]) -> Plan {
    let (width, height) = current.dimensions();
    let tiles = TileMap::new(current, previous);
    let changed_tiles = (0..tiles.rows)
        .flat_map(|row| (0..tiles.columns).map(move |column| (column, row)))
        .filter(|&(column, row)| tiles.changed(column, row))
        .count();
    let changed_share = changed_tiles as f32 / (tiles.columns * tiles.rows) as f32;

    // Each previous line where it is now: in place, or moved by the scroll.
    let mut kept = Vec::new();
    let mut dropped_boxes = Vec::new();
    for line in previous_lines {
        if tiles.all_under(&line.bbox, &tiles.unchanged) {
            kept.push(line.clone());
            continue;
        }
        if let Some(shift) = tiles.shift {
            let moved = offset(line.clone(), 0.0, -(shift as f32));
            if tiles.all_under(&moved.bbox, &tiles.scrolled) {
                kept.push(moved);
                continue;
            }
            dropped_boxes.push(moved.bbox);
        }
        dropped_boxes.push(line.bbox);
    }

    // New text can begin with the same pixels as what was there before: regions grow over the
    // previous lines where they were too.
    // (Only where some of their pixels stayed in place: after a scroll, what was there before
    // elsewhere has moved away.)
    let in_place_boxes: Vec<BoundingBox> = previous_lines
        .iter()
        .map(|l| l.bbox)
        .filter(|bbox| tiles.any_in_place_only(bbox))
        .collect();
    // Changed tiles grouped into padded rectangles.
    let mut regions: Vec<Region> = Vec::new();
    for row in 0..tiles.rows {
        for column in 0..tiles.columns {
            if tiles.changed(column, row) {
                let x = (column * TILE).saturating_sub(MARGIN);
                let y = (row * TILE).saturating_sub(MARGIN);
                regions.push(Region {
                    x,
                    y,
                    width: ((column + 1) * TILE + MARGIN).min(width) - x,
                    height: ((row + 1) * TILE + MARGIN).min(height) - y,
                });
            }
        }
    }
    // A previous line moved partly off the frame matches nothing whole: read what is left of it
    // when enough is left to be legible (a sliver is noise to a full read too).
    for bbox in &dropped_boxes {
        let visible = bbox.bottom().min(height as f32) - bbox.y.max(0.0);
        let cut = bbox.y < 0.0 || bbox.bottom() > height as f32;
        if cut && visible >= LEGIBLE_SHARE * bbox.height && !regions.iter().any(|r| r.touches(bbox)) {
            regions.push(clamp(bbox, width, height));
        }
    }
    // Grow regions over any line they cut (kept or dropped) so it is read whole, merge regions
    // that come close, and repeat until nothing changes.
    loop {
        let mut grown = false;
        for region in regions.iter_mut() {
            for bbox in kept
                .iter()
                .map(|l| &l.bbox)
                .chain(&dropped_boxes)
                .chain(&in_place_boxes)
            {
                if region.touches(bbox) {
                    let whole = clamp(bbox, width, height);
                    let union = region.union(&whole);
                    if union != *region {
                        *region = union;
                        grown = true;
                    }
                }
            }
        }
        let before = regions.len();
        regions = merge(regions, MERGE_GAP);
        if !grown && regions.len() == before {
            break;
        }
    }
    // Bands, grown over the kept lines their edges would cut, until none is cut (what else a
    // band's edge could cut is unchanged pixels no line was read on).
    let mut regions = bands(regions, width);
    loop {
        let grown: Vec<Region> = regions
            .iter()
            .map(|band| {
                kept.iter()
                    .map(|l| &l.bbox)
                    .filter(|bbox| band.touches(bbox))
                    .fold(*band, |band, bbox| band.union(&clamp(bbox, width, height)))
            })
            .collect();
        if grown == regions {
            break;
        }
        regions = bands(grown, width);
    }
    kept.retain(|line| !regions.iter().any(|r| r.touches(&line.bbox)));
    Plan {
        kept,
        regions,
        changed_share,
    }
}

/// Merges regions that are near each other until none are.
fn merge(mut regions: Vec<Region>, gap: u32) -> Vec<Region> {
    let mut merged: Vec<Region> = Vec::with_capacity(regions.len());
    while let Some(mut region) = regions.pop() {
        loop {
            let before = merged.len();
            merged.retain(|other| {
                if region.near(other, gap) {
                    region = region.union(other);
                    false
                } else {
                    true
                }
            });
            if merged.len() == before {
                break;
            }
        }
        merged.push(region);
    }
    merged
}

/// The regions as full-width bands (a band reads the whole row: fewer, larger reads, and no
/// line left of or right of a region is cut), overlapping bands merged.
fn bands(regions: Vec<Region>, width: u32) -> Vec<Region> {
    let bands = regions
        .into_iter()
        .map(|region| Region { x: 0, width, ..region })
        .collect();
    merge(bands, 0)
}

/// The box as a region inside the frame.
fn clamp(bbox: &BoundingBox, width: u32, height: u32) -> Region {
    let x = (bbox.x.max(0.0).floor() as u32).min(width - 1);
    let y = (bbox.y.max(0.0).floor() as u32).min(height - 1);
    let right = (bbox.right().ceil() as u32).clamp(x + 1, width);
    let bottom = (bbox.bottom().ceil() as u32).clamp(y + 1, height);
    Region {
        x,
        y,
        width: right - x,
        height: bottom - y,
    }
}

/// The line moved by (`dx`, `dy`), words included.
fn offset(mut line: OcrLine, dx: f32, dy: f32) -> OcrLine {
    line.bbox.x += dx;
    line.bbox.y += dy;
    for word in &mut line.words {
        word.bbox.x += dx;
        word.bbox.y += dy;
    }
    line
}

#[cfg(test)]
mod tests;
