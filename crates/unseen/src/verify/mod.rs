//! Stage 5: verify. Re-reads the bytes that were written and proves them clean before they may
//! be committed: only allow-listed container structures (no metadata can hide), the expected
//! size, and pixels equal to the intended obscured image (within JPEG tolerance).

mod container;
pub mod video;

use std::path::Path;

use image::{GrayImage, RgbImage};

pub use self::container::check_container;
use crate::decode::{decode_image, ImageKind};
use crate::error::{Error, Result};
use crate::obscure::{bounds, Region};
use crate::options::Limits;

/// Largest mean absolute difference (per channel, 8-bit levels) allowed between the decoded
/// JPEG output and the intended image over the whole picture.
pub const JPEG_MEAN_TOLERANCE: f64 = 3.0;
/// The same, inside any single obscured region (noise costs more bits).
pub const JPEG_REGION_TOLERANCE: f64 = 10.0;

/// Verifies written output bytes against the intended pixels.
///
/// # Errors
/// [`Error::Verify`] naming `path` (the input) and the first problem found.
pub fn verify_output(
    path: &Path,
    bytes: &[u8],
    kind: ImageKind,
    intended: &RgbImage,
    alpha: Option<&GrayImage>,
    regions: &[Region],
) -> Result<()> {
    check_container(kind, bytes).map_err(|e| Error::verify(path, format!("{} container: {e}", kind.name())))?;
    let limits = Limits { max_pixels: u64::MAX, max_file_bytes: u64::MAX, max_alloc: u64::MAX };
    let decoded =
        decode_image(path, bytes, &limits).map_err(|e| Error::verify(path, format!("output does not decode: {e}")))?;
    if decoded.format.as_written() != Some(kind) {
        return Err(Error::verify(path, format!("output is {:?}, expected {:?}", decoded.format, kind)));
    }
    if decoded.rgb.dimensions() != intended.dimensions() {
        return Err(Error::verify(
            path,
            format!("output is {:?}, expected {:?}", decoded.rgb.dimensions(), intended.dimensions()),
        ));
    }
    if kind == ImageKind::Jpeg {
        let global = mean_abs_diff(&decoded.rgb, intended, None);
        if global > JPEG_MEAN_TOLERANCE {
            return Err(Error::verify(
                path,
                format!("output differs from the intended pixels by {global:.2} levels on average"),
            ));
        }
        let (w, h) = intended.dimensions();
        for (i, r) in regions.iter().enumerate() {
            if let Some(b) = bounds(&r.rect, w, h) {
                let d = mean_abs_diff(&decoded.rgb, intended, Some(b));
                if d > JPEG_REGION_TOLERANCE {
                    return Err(Error::verify(
                        path,
                        format!("region {i} differs from its obscured pixels by {d:.2} levels on average"),
                    ));
                }
            }
        }
    } else {
        if decoded.rgb != *intended {
            return Err(Error::verify(path, "lossless output does not match the intended pixels"));
        }
        if kind.keeps_alpha() && decoded.alpha.as_ref() != alpha {
            return Err(Error::verify(path, "alpha channel does not match"));
        }
    }
    Ok(())
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage, within: Option<(u32, u32, u32, u32)>) -> f64 {
    let (w, h) = a.dimensions();
    let (x0, y0, x1, y1) = within.unwrap_or((0, 0, w, h));
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            for k in 0..3 {
                sum += u64::from(p[k].abs_diff(q[k]));
            }
        }
    }
    let n = u64::from(x1 - x0) * u64::from(y1 - y0) * 3;
    if n == 0 {
        0.0
    } else {
        sum as f64 / n as f64
    }
}
