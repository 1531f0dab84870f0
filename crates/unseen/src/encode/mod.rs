//! Stage 4: encode. Writes decoded pixels into a fresh file of the chosen format. This is the
//! only place that decides what goes into an output, and it writes no metadata at all: no EXIF,
//! XMP, IPTC, ICC profile, comments, thumbnails or text chunks.

pub mod video;

use std::io::Cursor;

use image::codecs::{bmp::BmpEncoder, png::PngEncoder, tiff::TiffEncoder, webp::WebPEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, RgbImage, RgbaImage};

use crate::decode::ImageKind;

/// Encodes `rgb` (plus `alpha` where the format keeps it) as `kind`. JPEG uses `quality` (baseline,
/// libjpeg's quality scale, no chroma subsampling); WebP is written losslessly; PNG, TIFF and BMP
/// are lossless by nature.
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
        ImageKind::Jpeg => return encode_jpeg(rgb, quality, buf),
        ImageKind::Png => PngEncoder::new(&mut buf).write_image(data, w, h, color),
        ImageKind::WebP => WebPEncoder::new_lossless(&mut buf).write_image(data, w, h, color),
        ImageKind::Tiff => TiffEncoder::new(Cursor::new(&mut buf)).write_image(data, w, h, color),
        ImageKind::Bmp => BmpEncoder::new(&mut buf).write_image(data, w, h, color),
    };
    r.map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Baseline JPEG with no metadata segment (`jpeg-encoder` writes only SOI, APP0 (JFIF), the
/// tables, the frame and the scan unless asked for more), YCbCr 4:4:4 at every quality, as the
/// `image` crate's encoder wrote before: chroma subsampling would move colours at the edges of
/// obscured regions and eat into verification's tolerance at low `--jpeg-quality`.
fn encode_jpeg(rgb: &RgbImage, quality: u8, mut buf: Vec<u8>) -> Result<Vec<u8>, String> {
    let (w, h) = rgb.dimensions();
    let too_large = || format!("{w}x{h} is larger than JPEG's 65535-pixel limit");
    let w16 = u16::try_from(w).map_err(|_| too_large())?;
    let h16 = u16::try_from(h).map_err(|_| too_large())?;
    let mut encoder = jpeg_encoder::Encoder::new(&mut buf, quality);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    encoder.encode(rgb.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb).map_err(|e| e.to_string())?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The markers of a baseline JPEG, in order, up to the scan.
    fn markers(bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![];
        let mut i = 2;
        while i + 4 <= bytes.len() && bytes[i] == 0xFF {
            let m = bytes[i + 1];
            out.push(m);
            if m == 0xDA {
                break;
            }
            i += 2 + usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        }
        out
    }

    #[test]
    fn jpeg_output_is_faithful_full_chroma_and_carries_no_metadata() {
        let img = RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 2) as u8, (y * 3) as u8, ((x + y) % 256) as u8]));
        let bytes = encode_image(&img, None, ImageKind::Jpeg, 92).unwrap();
        assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
        assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9]);
        let m = markers(&bytes);
        // SOI is skipped; APP0 (JFIF), then only tables, the frame and the scan
        assert_eq!(m[0], 0xE0, "{m:x?}");
        assert!(m[1..].iter().all(|&m| matches!(m, 0xDB | 0xC0 | 0xC4 | 0xDA)), "{m:x?}");
        let back = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (96, 64));
        let err: f64 = img.as_raw().iter().zip(back.as_raw()).map(|(&a, &b)| f64::from(a.abs_diff(b))).sum::<f64>()
            / img.as_raw().len() as f64;
        assert!(err < 1.5, "mean error {err}");
        // every component at full resolution (SOF0: 3 components, each sampled 1x1)
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        assert_eq!(bytes[sof + 9], 3);
        for c in 0..3 {
            assert_eq!(bytes[sof + 11 + 3 * c], 0x11, "component {c}");
        }
    }

    #[test]
    fn jpeg_larger_than_its_format_allows_is_an_error() {
        let img = RgbImage::new(70_000, 1);
        assert!(encode_image(&img, None, ImageKind::Jpeg, 92).unwrap_err().contains("65535"));
    }
}
