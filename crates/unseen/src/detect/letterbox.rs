//! Mapping between source pixels and network-input tensors: scaling, tiling, padding to
//! multiples of 32, and horizontal flips. `Letterbox::to_source` inverts what `tensor` did.

use image::RgbImage;

use crate::geom::Rect;

/// Where one network input came from in the source image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Horizontal scale from source to scaled image.
    pub sx: f32,
    /// Vertical scale from source to scaled image.
    pub sy: f32,
    /// Tile origin in the scaled image.
    pub ox: u32,
    /// Tile origin in the scaled image.
    pub oy: u32,
    /// Tile width in the scaled image (before padding).
    pub tw: u32,
    /// Tile height in the scaled image (before padding).
    pub th: u32,
    /// Padded tensor width (multiple of 32).
    pub pw: u32,
    /// Padded tensor height (multiple of 32).
    pub ph: u32,
    /// Whether the tile was mirrored left-right.
    pub flip: bool,
}

/// The planar 1×3×ph×pw tensor of `img` placed at the top left, channels in **BGR** order, values
/// 0..255, `pad` everywhere else (YOLOX and YuNet take this; CenterFace takes RGB, see
/// [`Letterbox::tensor`]).
#[must_use]
pub fn bgr_tensor(img: &RgbImage, pw: usize, ph: usize, pad: f32) -> Vec<f32> {
    let plane = pw * ph;
    let mut t = vec![pad; 3 * plane];
    for (x, y, p) in img.enumerate_pixels() {
        let o = y as usize * pw + x as usize;
        t[o] = f32::from(p[2]);
        t[plane + o] = f32::from(p[1]);
        t[2 * plane + o] = f32::from(p[0]);
    }
    t
}

/// Rounds up to a multiple of 32 (at least 32).
#[must_use]
pub fn pad32(v: u32) -> u32 {
    v.div_ceil(32).max(1) * 32
}

impl Letterbox {
    /// Maps a box in tensor pixels back to source pixels.
    #[must_use]
    pub fn to_source(&self, r: Rect) -> Rect {
        let x = if self.flip { self.tw as f32 - r.x2() } else { r.x };
        Rect {
            x: (x + self.ox as f32) / self.sx,
            y: (r.y + self.oy as f32) / self.sy,
            w: r.w / self.sx,
            h: r.h / self.sy,
        }
    }

    /// Maps a box in source pixels into tensor pixels (the inverse of [`Letterbox::to_source`]).
    #[must_use]
    pub fn from_source(&self, r: Rect) -> Rect {
        let x = r.x * self.sx - self.ox as f32;
        let w = r.w * self.sx;
        let x = if self.flip { self.tw as f32 - (x + w) } else { x };
        Rect { x, y: r.y * self.sy - self.oy as f32, w, h: r.h * self.sy }
    }

    /// Builds the planar 1×3×ph×pw tensor (RGB, 0..255, zero padding) for this tile of `scaled`.
    #[must_use]
    pub fn tensor(&self, scaled: &RgbImage) -> Vec<f32> {
        let (pw, ph) = (self.pw as usize, self.ph as usize);
        let plane = pw * ph;
        let mut t = vec![0.0f32; 3 * plane];
        let raw = scaled.as_raw();
        let stride = scaled.width() as usize * 3;
        for y in 0..self.th as usize {
            let row = &raw[(y + self.oy as usize) * stride..];
            for x in 0..self.tw as usize {
                let sxp = if self.flip { self.tw as usize - 1 - x } else { x } + self.ox as usize;
                let p = &row[sxp * 3..sxp * 3 + 3];
                let o = y * pw + x;
                t[o] = f32::from(p[0]);
                t[plane + o] = f32::from(p[1]);
                t[2 * plane + o] = f32::from(p[2]);
            }
        }
        t
    }
}

/// Splits a `w`×`h` scaled image into tiles of at most `max` pixels a side overlapping by at
/// least `overlap`, returned as (x, y, width, height). One tile when the image fits.
///
/// Along each side the tiles are as few as `max` allows and as small as covering the side then
/// allows (rounded up to the tensor's multiple of 32, which would be padding otherwise), spread
/// evenly: a 4032×3024 image at `max` 1536 is cut into 3×3 tiles of 1536×1184, not 1536×1536
/// (23 % fewer pixels through the network for the same overlap).
#[must_use]
pub fn tiles(w: u32, h: u32, max: u32, overlap: u32) -> Vec<(u32, u32, u32, u32)> {
    let spans = |len: u32| -> Vec<(u32, u32)> {
        if len <= max {
            return vec![(0, len)];
        }
        let n = (len - overlap).div_ceil(max - overlap);
        // n equal tiles overlapping by `overlap` cover len + (n - 1) * overlap; one pixel more
        // absorbs the rounding of the starts below
        let size = pad32((len + (n - 1) * overlap).div_ceil(n) + 1).min(max);
        (0..n).map(|i| ((u64::from(len - size) * u64::from(i) / u64::from(n - 1)) as u32, size)).collect()
    };
    let mut out = Vec::new();
    for &(y, th) in &spans(h) {
        for &(x, tw) in &spans(w) {
            out.push((x, y, tw, th));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn letterbox_round_trips(sx in 0.1f32..4.0, sy in 0.1f32..4.0, ox in 0u32..500, oy in 0u32..500,
                                 tw in 32u32..1000, flip: bool, x in 0f32..900.0, y in 0f32..900.0,
                                 w in 1f32..300.0, h in 1f32..300.0) {
            let lb = Letterbox { sx, sy, ox, oy, tw, th: 100, pw: pad32(tw), ph: 128, flip };
            let r = Rect { x, y, w, h };
            let back = lb.to_source(lb.from_source(r));
            prop_assert!((back.x - r.x).abs() < 1e-2 && (back.y - r.y).abs() < 1e-2);
            prop_assert!((back.w - r.w).abs() < 1e-2 && (back.h - r.h).abs() < 1e-2);
        }

        #[test]
        fn tiles_cover_the_image(w in 1u32..5000, h in 1u32..5000) {
            let t = tiles(w, h, 1024, 128);
            for &(x, y, tw, th) in &t {
                prop_assert!(tw <= 1024 && th <= 1024 && x + tw <= w && y + th <= h);
            }
            // every column and row is covered, and neighbours overlap by at least 128 px
            let mut xs: Vec<(u32, u32)> = t.iter().map(|&(x, _, tw, _)| (x, x + tw)).collect();
            xs.sort_unstable(); xs.dedup();
            prop_assert_eq!(xs[0].0, 0);
            prop_assert_eq!(xs.last().unwrap().1, w);
            for p in xs.windows(2) { prop_assert!(p[0].1 >= p[1].0 + 128); }
            // no more tiles than needed, and each no larger than covering the side needs
            if w > 1024 {
                let n = (w - 128).div_ceil(1024 - 128);
                prop_assert_eq!(xs.len() as u32, n);
                prop_assert!(xs[0].1 <= pad32((w + (n - 1) * 128).div_ceil(n) + 1));
            }
        }
    }

    #[test]
    fn a_phone_photo_is_cut_into_tiles_no_larger_than_it_needs() {
        let t = tiles(4032, 3024, 1536, 256);
        assert_eq!(t.len(), 9);
        assert!(t.iter().all(|&(_, _, tw, th)| (tw, th) == (1536, 1184)), "{t:?}");
        assert_eq!(t[8], (4032 - 1536, 3024 - 1184, 1536, 1184));
    }

    #[test]
    fn flipped_tensor_mirrors_pixels() {
        let mut img = RgbImage::new(40, 2);
        img.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        let lb = Letterbox { sx: 1.0, sy: 1.0, ox: 0, oy: 0, tw: 40, th: 2, pw: 64, ph: 32, flip: true };
        let t = lb.tensor(&img);
        assert_eq!(t[39], 255.0);
        assert_eq!(t[0], 0.0);
        assert_eq!(t[40], 0.0); // padding
    }
}
