//! The dominant colour of a picture region: k-means over its pixels in CIELAB (where distance
//! follows perceived difference), the largest cluster that is not page background, named by the
//! nearest of the catalog's colour names.

use crate::ocr::BoundingBox;

/// Reference colours in sRGB for the names catalogs use.
const NAMED_COLOURS: [(&str, [u8; 3]); 16] = [
    ("black", [25, 25, 25]),
    ("white", [245, 245, 245]),
    ("grey", [128, 128, 128]),
    ("red", [200, 30, 40]),
    ("green", [40, 150, 60]),
    ("blue", [40, 90, 200]),
    ("navy", [25, 35, 90]),
    ("yellow", [240, 210, 40]),
    ("orange", [240, 130, 30]),
    ("pink", [240, 130, 170]),
    ("purple", [120, 60, 160]),
    ("beige", [220, 200, 160]),
    ("brown", [120, 75, 40]),
    ("teal", [0, 128, 128]),
    ("olive", [110, 120, 40]),
    ("gold", [200, 160, 50]),
];

/// sRGB (0..=255) to CIELAB (D65).
pub fn to_lab(rgb: [u8; 3]) -> [f32; 3] {
    let linear = |c: u8| {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (linear(rgb[0]), linear(rgb[1]), linear(rgb[2]));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

fn distance(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// Cluster centres and sizes of `points` (k-means, deterministic start spread over lightness).
pub fn kmeans(points: &[[f32; 3]], k: usize, iterations: usize) -> Vec<([f32; 3], usize)> {
    if points.is_empty() || k == 0 {
        return Vec::new();
    }
    let mut sorted: Vec<&[f32; 3]> = points.iter().collect();
    sorted.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let mut centres: Vec<[f32; 3]> = (0..k).map(|i| *sorted[(2 * i + 1) * sorted.len() / (2 * k)]).collect();
    let mut assignment = vec![0usize; points.len()];
    for _ in 0..iterations {
        let mut changed = false;
        for (point, assigned) in points.iter().zip(assignment.iter_mut()) {
            let nearest = (0..k)
                .min_by(|&a, &b| distance(point, &centres[a]).total_cmp(&distance(point, &centres[b])))
                .unwrap_or(0);
            changed |= nearest != *assigned;
            *assigned = nearest;
        }
        let mut sums = vec![[0f32; 4]; k];
        for (point, &c) in points.iter().zip(&assignment) {
            sums[c][0] += point[0];
            sums[c][1] += point[1];
            sums[c][2] += point[2];
            sums[c][3] += 1.0;
        }
        for (centre, sum) in centres.iter_mut().zip(&sums) {
            if sum[3] > 0.0 {
                *centre = [sum[0] / sum[3], sum[1] / sum[3], sum[2] / sum[3]];
            }
        }
        if !changed {
            break;
        }
    }
    let mut sizes = vec![0usize; k];
    for &c in &assignment {
        sizes[c] += 1;
    }
    centres.into_iter().zip(sizes).collect()
}

/// The dominant colour of `region`, named from `names` (the catalog's colour vocabulary; names
/// it does not know are skipped). `None` when the region is all background or nothing matches.
pub fn dominant_colour(image: &image::RgbImage, region: BoundingBox, names: &[&str]) -> Option<String> {
    // The catalog's own spelling is returned (`gray` for a catalog that writes it so).
    let spelled = |name: &str| {
        names
            .iter()
            .copied()
            .find(|n| n.eq_ignore_ascii_case(name) || (name == "grey" && n.eq_ignore_ascii_case("gray")))
    };
    let candidates: Vec<(&str, [f32; 3])> = NAMED_COLOURS
        .iter()
        .filter_map(|(name, rgb)| spelled(name).map(|catalog_name| (catalog_name, to_lab(*rgb))))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let x0 = region.x.max(0.0) as u32;
    let y0 = region.y.max(0.0) as u32;
    let x1 = (region.right() as u32).min(image.width());
    let y1 = (region.bottom() as u32).min(image.height());
    if x1 <= x0 + 4 || y1 <= y0 + 4 {
        return None;
    }
    // About 2,000 samples are plenty for three clusters.
    let step = (((x1 - x0) * (y1 - y0)) as f32 / 2_000.0).sqrt().max(1.0) as usize;
    let mut points = Vec::new();
    for y in (y0..y1).step_by(step) {
        for x in (x0..x1).step_by(step) {
            points.push(to_lab(image.get_pixel(x, y).0));
        }
    }
    let clusters = kmeans(&points, 3, 12);
    // The backdrop: what the region's edges show (a photo's studio backdrop, a gradient, the
    // page), as the colours holding at least a quarter of the edge samples.
    let mut edge = Vec::new();
    let (margin_x, margin_y) = (((x1 - x0) / 20).max(1), ((y1 - y0) / 20).max(1));
    for y in (y0..y1).step_by(step) {
        for x in (x0..x1).step_by(step) {
            if x < x0 + margin_x || x >= x1 - margin_x || y < y0 + margin_y || y >= y1 - margin_y {
                edge.push(to_lab(image.get_pixel(x, y).0));
            }
        }
    }
    let backdrop: Vec<[f32; 3]> = kmeans(&edge, 2, 8)
        .into_iter()
        .filter(|(_, size)| *size * 4 >= edge.len())
        .map(|(centre, _)| centre)
        .collect();
    // Page background is near-white and unsaturated; text and outlines are small clusters.
    let background = |c: &[f32; 3]| {
        (c[0] > 90.0 && (c[1].powi(2) + c[2].powi(2)).sqrt() < 8.0)
            || backdrop.iter().any(|b| distance(b, c) < BACKDROP_DISTANCE)
    };
    let (centre, size) = clusters
        .into_iter()
        .filter(|(c, _)| !background(c))
        .max_by_key(|(_, size)| *size)?;
    if size * 10 < points.len() {
        return None;
    }
    candidates
        .into_iter()
        .min_by(|a, b| distance(&a.1, &centre).total_cmp(&distance(&b.1, &centre)))
        .map(|(name, _)| name.to_owned())
}

/// Lab distance within which a cluster is the backdrop seen at the region's edges.
const BACKDROP_DISTANCE: f32 = 12.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_dominant_colour_of_a_picture_on_a_white_page() {
        let names = ["green", "red", "blue", "black", "white", "beige"];
        let cases: [([u8; 3], Option<&str>); 5] = [
            ([46, 139, 87], Some("green")),
            ([178, 34, 34], Some("red")),
            ([30, 60, 180], Some("blue")),
            ([20, 20, 20], Some("black")),
            ([255, 255, 255], None),
        ];
        for (fill, expected) in cases {
            // A white page with a coloured garment in the middle and a grey caption line.
            let image = image::RgbImage::from_fn(200, 200, |x, y| {
                if (50..150).contains(&x) && (30..170).contains(&y) {
                    image::Rgb(fill)
                } else if y > 185 {
                    image::Rgb([90, 90, 90])
                } else {
                    image::Rgb([255, 255, 255])
                }
            });
            let region = BoundingBox {
                x: 0.0,
                y: 0.0,
                width: 200.0,
                height: 200.0,
            };
            assert_eq!(dominant_colour(&image, region, &names).as_deref(), expected, "{fill:?}");
        }
    }

    #[test]
    fn a_shaded_product_on_a_tinted_backdrop() {
        let names = ["gray", "blue", "white", "beige", "black"];
        // A warm grey-beige gradient backdrop (a studio photo's), a blue product lit from the
        // top left and shaded to the bottom right, a soft shadow under it.
        let image = image::RgbImage::from_fn(200, 200, |x, y| {
            let t = y as f32 / 200.0;
            let backdrop = [
                (239.0 - 22.0 * t) as u8,
                (234.0 - 24.0 * t) as u8,
                (226.0 - 29.0 * t) as u8,
            ];
            if (60..140).contains(&x) && (30..180).contains(&y) {
                let light = 1.25 - 0.5 * ((x - 60) as f32 / 80.0 + (y - 30) as f32 / 150.0) / 2.0;
                image::Rgb([
                    (47.0 * light) as u8,
                    (95.0 * light) as u8,
                    (179.0 * light).min(255.0) as u8,
                ])
            } else if (40..160).contains(&x) && (182..192).contains(&y) {
                image::Rgb([170, 165, 158])
            } else {
                image::Rgb(backdrop)
            }
        });
        let region = BoundingBox {
            x: 0.0,
            y: 0.0,
            width: 200.0,
            height: 200.0,
        };
        assert_eq!(dominant_colour(&image, region, &names).as_deref(), Some("blue"));
        assert_eq!(
            dominant_colour(&image, region, &["gray", "white"]).as_deref(),
            Some("gray")
        );
    }
}
