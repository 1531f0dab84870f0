//! Stage 4: encode. Writes decoded pixels into a fresh file of the chosen format. This is the
//! only place that decides what goes into an output, and it writes no metadata at all: no EXIF,
//! XMP, IPTC, ICC profile, comments, thumbnails or text chunks.

pub mod video;

use std::io::Cursor;

use image::codecs::{bmp::BmpEncoder, jpeg::JpegEncoder, png::PngEncoder, tiff::TiffEncoder, webp::WebPEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, RgbImage, RgbaImage};

use crate::decode::ImageKind;

/// Encodes `rgb` (plus `alpha` where the format keeps it) as `kind`. JPEG uses `quality`; WebP
/// is written losslessly; PNG, TIFF and BMP are lossless by nature.
///
/// # Errors
/// The encoder's error text.
pub fn encode_image(
    rgb: &RgbImage,
    alpha: Option<&GrayImage>,
    kind: ImageKind,
    quality: u8,
) -> Result<Vec<u8>, String> {
    let (w, h) = rgb.dimensions();
    let rgba;
    let (data, color): (&[u8], ExtendedColorType) = match alpha {
        Some(a) if kind.keeps_alpha() => {
            rgba = RgbaImage::from_fn(w, h, |x, y| {
                let p = rgb.get_pixel(x, y);
                image::Rgba([p[0], p[1], p[2], a.get_pixel(x, y)[0]])
            });
            (rgba.as_raw(), ExtendedColorType::Rgba8)
        }
        _ => (rgb.as_raw(), ExtendedColorType::Rgb8),
    };
    let mut buf = Vec::new();
    let r = match kind {
        ImageKind::Jpeg => JpegEncoder::new_with_quality(&mut buf, quality).write_image(data, w, h, color),
        ImageKind::Png => PngEncoder::new(&mut buf).write_image(data, w, h, color),
        ImageKind::WebP => WebPEncoder::new_lossless(&mut buf).write_image(data, w, h, color),
        ImageKind::Tiff => TiffEncoder::new(Cursor::new(&mut buf)).write_image(data, w, h, color),
        ImageKind::Bmp => BmpEncoder::new(&mut buf).write_image(data, w, h, color),
    };
    r.map_err(|e| e.to_string())?;
    Ok(buf)
}
