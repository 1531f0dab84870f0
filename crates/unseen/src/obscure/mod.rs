//! Stage 3: obscure. Pure functions on pixel buffers; no I/O.
//!
//! # The irreversibility rule
//! With the default settings (blur or mosaic, grid ≤ 4), every pixel written inside a region
//! depends on the original region **only through a grid of at most 4×4 block means** (one mean
//! colour per cell of the region's bounding box) **plus fresh random noise** (uniform, ±`noise`
//! levels per channel, drawn from the operating system's generator for every region and every
//! call). Sixteen mean colours of a face carry no usable identity signal, and the noise makes
//! the written values useless for averaging across copies. `solid` writes black and depends on
//! nothing. [`check`] verifies the rule on a finished image; the pipeline runs it before any
//! output is committed.

use image::{Rgb, RgbImage};
use rand::{Rng, RngCore, SeedableRng};

use crate::geom::Rect;
use crate::options::{Mode, Shape};

/// A region to obscure: its box in source pixels (margin already applied) and shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// The box.
    pub rect: Rect,
    /// Ellipse inscribed in the box, or the whole box.
    pub shape: Shape,
}

/// Obscuring parameters (a subset of [`crate::Options`]).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Mode.
    pub mode: Mode,
    /// Grid side (cells per axis).
    pub grid: u32,
    /// Noise amplitude in 8-bit levels.
    pub noise: u8,
}

/// Integer pixel bounds `[x0, x1) × [y0, y1)` of a region clipped to a `w`×`h` image.
#[must_use]
pub fn bounds(r: &Rect, w: u32, h: u32) -> Option<(u32, u32, u32, u32)> {
    let x0 = r.x.max(0.0).floor() as u32;
    let y0 = r.y.max(0.0).floor() as u32;
    let x1 = (r.x2().min(w as f32).ceil().max(0.0) as u32).min(w);
    let y1 = (r.y2().min(h as f32).ceil().max(0.0) as u32).min(h);
    (x0 < x1 && y0 < y1).then_some((x0, y0, x1, y1))
}

/// Whether pixel (x, y) belongs to the region. Tiny regions (< 4 px a side) are treated as boxes
/// so that no pixel of a small face escapes the ellipse test.
#[must_use]
pub fn inside(region: &Region, x: u32, y: u32) -> bool {
    let r = region.rect;
    // every pixel the box touches counts, so partially covered pixels are obscured too
    if (Rect { x: x as f32, y: y as f32, w: 1.0, h: 1.0 }).intersection(&r) <= 0.0 {
        return false;
    }
    match region.shape {
        Shape::Box => true,
        Shape::Ellipse if r.w < 4.0 || r.h < 4.0 => true,
        Shape::Ellipse => {
            let (cx, cy) = r.center();
            // test the pixel corner nearest the centre, so partially covered pixels count
            let nx = (cx.clamp(x as f32, x as f32 + 1.0) - cx) / (r.w / 2.0);
            let ny = (cy.clamp(y as f32, y as f32 + 1.0) - cy) / (r.h / 2.0);
            nx * nx + ny * ny <= 1.0
        }
    }
}

/// The smooth or blocky colour field of one region, computed from the original pixels through
/// the grid of block means and nothing else.
struct Field {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    gx: u32,
    gy: u32,
    means: Vec<[f32; 3]>,
    smooth: bool,
}

impl Field {
    fn new(img: &RgbImage, b: (u32, u32, u32, u32), grid: u32, smooth: bool) -> Field {
        let (x0, y0, x1, y1) = b;
        let (bw, bh) = (x1 - x0, y1 - y0);
        let (gx, gy) = (grid.min(bw), grid.min(bh));
        let mut sums = vec![[0f64; 4]; (gx * gy) as usize];
        for y in y0..y1 {
            let cy = (y - y0) * gy / bh;
            for x in x0..x1 {
                let cx = (x - x0) * gx / bw;
                let p = img.get_pixel(x, y);
                let s = &mut sums[(cy * gx + cx) as usize];
                s[0] += f64::from(p[0]);
                s[1] += f64::from(p[1]);
                s[2] += f64::from(p[2]);
                s[3] += 1.0;
            }
        }
        let means = sums.iter().map(|s| [(s[0] / s[3]) as f32, (s[1] / s[3]) as f32, (s[2] / s[3]) as f32]).collect();
        Field { x0, y0, x1, y1, gx, gy, means, smooth }
    }

    fn value(&self, x: u32, y: u32) -> [f32; 3] {
        let (bw, bh) = ((self.x1 - self.x0) as f32, (self.y1 - self.y0) as f32);
        if !self.smooth {
            let cx = (x - self.x0) * self.gx / (self.x1 - self.x0);
            let cy = (y - self.y0) * self.gy / (self.y1 - self.y0);
            return self.means[(cy * self.gx + cx) as usize];
        }
        // bilinear between cell centres, clamped at the border
        let fx = ((x - self.x0) as f32 + 0.5) / bw * self.gx as f32 - 0.5;
        let fy = ((y - self.y0) as f32 + 0.5) / bh * self.gy as f32 - 0.5;
        let fx = fx.clamp(0.0, (self.gx - 1) as f32);
        let fy = fy.clamp(0.0, (self.gy - 1) as f32);
        let (ix, iy) = (fx.floor() as u32, fy.floor() as u32);
        let (ix1, iy1) = ((ix + 1).min(self.gx - 1), (iy + 1).min(self.gy - 1));
        let (tx, ty) = (fx - ix as f32, fy - iy as f32);
        let m = |cx: u32, cy: u32| self.means[(cy * self.gx + cx) as usize];
        let (a, b, c, d) = (m(ix, iy), m(ix1, iy), m(ix, iy1), m(ix1, iy1));
        let mut out = [0f32; 3];
        for k in 0..3 {
            let top = a[k] + (b[k] - a[k]) * tx;
            let bot = c[k] + (d[k] - c[k]) * tx;
            out[k] = top + (bot - top) * ty;
        }
        out
    }
}

/// A noise source: fresh from the OS unless a seed is given (tests only).
#[must_use]
pub fn noise_rng(seed: Option<u64>) -> rand::rngs::StdRng {
    match seed {
        Some(s) => rand::rngs::StdRng::seed_from_u64(s),
        None => rand::rngs::StdRng::from_os_rng(),
    }
}

fn fields(img: &RgbImage, regions: &[Region], p: &Params) -> Vec<Option<Field>> {
    let (w, h) = img.dimensions();
    regions
        .iter()
        .map(|r| {
            let b = bounds(&r.rect, w, h)?;
            match p.mode {
                Mode::Blur => Some(Field::new(img, b, p.grid, true)),
                Mode::Mosaic => Some(Field::new(img, b, p.grid, false)),
                Mode::Solid | Mode::None => None,
            }
        })
        .collect()
}

/// Obscures every region of `img` in place. All block means are taken from the original pixels
/// before anything is written, so overlapping regions do not feed on each other.
pub fn obscure(img: &mut RgbImage, regions: &[Region], p: &Params, rng: &mut dyn RngCore) {
    let (w, h) = img.dimensions();
    let fields = fields(img, regions, p);
    for (region, field) in regions.iter().zip(&fields) {
        let Some((x0, y0, x1, y1)) = bounds(&region.rect, w, h) else { continue };
        if p.mode == Mode::None {
            outline(img, (x0, y0, x1, y1));
            continue;
        }
        let a = i16::from(p.noise);
        for y in y0..y1 {
            for x in x0..x1 {
                if !inside(region, x, y) {
                    continue;
                }
                let px = match field {
                    Some(f) => {
                        let v = f.value(x, y);
                        let mut o = [0u8; 3];
                        for k in 0..3 {
                            let n = if a > 0 { rng.random_range(-a..=a) } else { 0 };
                            o[k] = (v[k].round() as i16 + n).clamp(0, 255) as u8;
                        }
                        o
                    }
                    None => [0, 0, 0],
                };
                img.put_pixel(x, y, Rgb(px));
            }
        }
    }
}

fn outline(img: &mut RgbImage, (x0, y0, x1, y1): (u32, u32, u32, u32)) {
    for y in y0..y1 {
        for x in x0..x1 {
            if x < x0 + 2 || x + 2 >= x1 || y < y0 + 2 || y + 2 >= y1 {
                img.put_pixel(x, y, Rgb([255, 0, 0]));
            }
        }
    }
}

/// A `w*h` mask of the pixels covered by at least one region.
#[must_use]
pub fn covered_mask(regions: &[Region], w: u32, h: u32) -> Vec<bool> {
    let mut map = vec![false; (w as usize) * (h as usize)];
    for r in regions {
        if let Some((x0, y0, x1, y1)) = bounds(&r.rect, w, h) {
            for y in y0..y1 {
                for x in x0..x1 {
                    if inside(r, x, y) {
                        map[(y * w + x) as usize] = true;
                    }
                }
            }
        }
    }
    map
}

fn overlaps(a: (u32, u32, u32, u32), b: (u32, u32, u32, u32)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Checks that `obscured` obeys the rule for every region, given the `original`: each covered
/// pixel lies within the noise amplitude of the field computed from the original's block means
/// (blur, mosaic), or is black (solid); where regions overlap, the last one written counts.
/// Outside the regions the images must be identical. Mode `none` only checks the size.
///
/// # Errors
/// A description of the first violation.
pub fn check(original: &RgbImage, obscured: &RgbImage, regions: &[Region], p: &Params) -> Result<(), String> {
    if original.dimensions() != obscured.dimensions() {
        return Err("obscured image has a different size".into());
    }
    if p.mode == Mode::None {
        return Ok(());
    }
    let (w, h) = original.dimensions();
    let fields = fields(original, regions, p);
    let all_bounds: Vec<_> = regions.iter().map(|r| bounds(&r.rect, w, h)).collect();
    let tol = f32::from(p.noise) + 1.0;
    for (i, region) in regions.iter().enumerate() {
        let Some(b) = all_bounds[i] else { continue };
        let later: Vec<&Region> = (i + 1..regions.len())
            .filter(|&j| all_bounds[j].is_some_and(|bj| overlaps(b, bj)))
            .map(|j| &regions[j])
            .collect();
        for y in b.1..b.3 {
            for x in b.0..b.2 {
                if !inside(region, x, y) || later.iter().any(|r| inside(r, x, y)) {
                    continue;
                }
                let o = obscured.get_pixel(x, y);
                match &fields[i] {
                    Some(f) => {
                        let v = f.value(x, y);
                        if (0..3).any(|k| (f32::from(o[k]) - v[k]).abs() > tol) {
                            return Err(format!(
                                "pixel ({x}, {y}) in region {i} is not obscured (off the block-mean field by more than the noise)"
                            ));
                        }
                    }
                    None if o.0 != [0, 0, 0] => {
                        return Err(format!("pixel ({x}, {y}) in region {i} is not solid black"));
                    }
                    None => {}
                }
            }
        }
    }
    let covered = covered_mask(regions, w, h);
    for ((i, a), b) in original.pixels().enumerate().zip(obscured.pixels()) {
        if a != b && !covered[i] {
            return Err(format!("pixel ({}, {}) outside every region was changed", i as u32 % w, i as u32 / w));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{prop_assert, prop_assert_eq, proptest};

    fn random_image(w: u32, h: u32, seed: u64) -> RgbImage {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        RgbImage::from_fn(w, h, |_, _| Rgb([rng.random(), rng.random(), rng.random()]))
    }

    fn params(mode: Mode) -> Params {
        Params { mode, grid: 4, noise: 24 }
    }

    #[test]
    fn equal_block_means_give_outputs_that_differ_only_by_noise() {
        // Face B is face A with the pixels of every 4x4 cell shuffled: same block means, different face.
        let a = random_image(64, 64, 1);
        let mut b = a.clone();
        for cy in 0..4 {
            for cx in 0..4 {
                let mut px: Vec<Rgb<u8>> = Vec::new();
                for y in cy * 16..cy * 16 + 16 {
                    for x in cx * 16..cx * 16 + 16 {
                        px.push(*a.get_pixel(x, y));
                    }
                }
                px.reverse();
                let mut it = px.into_iter();
                for y in cy * 16..cy * 16 + 16 {
                    for x in cx * 16..cx * 16 + 16 {
                        b.put_pixel(x, y, it.next().unwrap());
                    }
                }
            }
        }
        assert_ne!(a, b);
        let region = [Region { rect: Rect { x: 0.0, y: 0.0, w: 64.0, h: 64.0 }, shape: Shape::Box }];
        for mode in [Mode::Blur, Mode::Mosaic] {
            let (mut oa, mut ob) = (a.clone(), b.clone());
            obscure(&mut oa, &region, &params(mode), &mut noise_rng(Some(7)));
            obscure(&mut ob, &region, &params(mode), &mut noise_rng(Some(7)));
            assert_eq!(oa, ob, "{mode:?}: same means and same noise must give the same pixels");
            // and with different noise they differ, by at most twice the amplitude
            let mut oc = b.clone();
            obscure(&mut oc, &region, &params(mode), &mut noise_rng(Some(8)));
            assert_ne!(oa, oc);
            for (p, q) in oa.pixels().zip(oc.pixels()) {
                for k in 0..3 {
                    assert!((i16::from(p[k]) - i16::from(q[k])).abs() <= 48);
                }
            }
        }
    }

    #[test]
    fn fresh_noise_differs_between_calls() {
        let a = random_image(32, 32, 3);
        let region = [Region { rect: Rect { x: 0.0, y: 0.0, w: 32.0, h: 32.0 }, shape: Shape::Box }];
        let (mut o1, mut o2) = (a.clone(), a.clone());
        obscure(&mut o1, &region, &params(Mode::Blur), &mut noise_rng(None));
        obscure(&mut o2, &region, &params(Mode::Blur), &mut noise_rng(None));
        assert_ne!(o1, o2);
    }

    #[test]
    fn solid_is_black_and_check_catches_untouched_regions() {
        let a = random_image(40, 40, 4);
        let region = [Region { rect: Rect { x: 5.0, y: 5.0, w: 20.0, h: 20.0 }, shape: Shape::Ellipse }];
        let mut o = a.clone();
        obscure(&mut o, &region, &params(Mode::Solid), &mut noise_rng(Some(1)));
        assert_eq!(o.get_pixel(15, 15).0, [0, 0, 0]);
        assert_eq!(o.get_pixel(5, 5), a.get_pixel(5, 5), "ellipse corner stays");
        check(&a, &o, &region, &params(Mode::Solid)).unwrap();
        // the untouched original fails the check
        assert!(check(&a, &a, &region, &params(Mode::Solid)).is_err());
        assert!(check(&a, &a, &region, &params(Mode::Blur)).is_err());
    }

    proptest! {
        #[test]
        fn obscure_leaves_outside_pixels_alone_and_passes_check(
            x in -10f32..60.0, y in -10f32..60.0, w in 0.5f32..50.0, h in 0.5f32..50.0,
            ellipse: bool, mode in 0usize..3, seed: u64)
        {
            let a = random_image(48, 40, seed);
            let shape = if ellipse { Shape::Ellipse } else { Shape::Box };
            let mode = [Mode::Blur, Mode::Mosaic, Mode::Solid][mode];
            let regions = [Region { rect: Rect { x, y, w, h }, shape },
                           Region { rect: Rect { x: x + 5.0, y, w, h }, shape }];
            let mut o = a.clone();
            obscure(&mut o, &regions, &params(mode), &mut noise_rng(Some(seed)));
            prop_assert!(check(&a, &o, &regions, &params(mode)).is_ok());
            let cover = covered_mask(&regions, 48, 40);
            for (i, (p, q)) in a.pixels().zip(o.pixels()).enumerate() {
                if !cover[i] { prop_assert_eq!(p, q); }
            }
        }
    }
}
