//! HEIF/HEIC and AVIF stills through libheif (Debian's `libheif`, via the `libheif-rs` binding;
//! cargo feature `heif`, on by default).
//!
//! Only the primary image is decoded. libheif applies the file's own transformations (`irot`
//! rotation, `imir` mirroring, `clap` crop) to the pixels, and assembles iPhone grid (tiled)
//! images; 10-bit pictures are reduced to 8 bits. EXIF orientation is not applied on top: in
//! HEIF it only mirrors the `irot`/`imir` transformations (applying both would turn the picture
//! twice). Depth maps, auxiliary images (alpha excepted), thumbnails, EXIF and XMP are never
//! read: the output is written from these pixels alone.

use std::path::Path;

use image::{GrayImage, RgbImage};

use crate::error::{Error, Result};
use crate::options::Limits;

/// Decodes the primary image into upright 8-bit RGB and an optional alpha plane.
///
/// # Errors
/// [`Error::Decode`] for damaged files, [`Error::Limits`] above the pixel or allocation limits
/// (checked from the header before decoding), [`Error::Unsupported`] when unseen was built
/// without the `heif` feature.
#[cfg(feature = "heif")]
pub(crate) fn decode(path: &Path, bytes: &[u8], limits: &Limits) -> Result<(RgbImage, Option<GrayImage>)> {
    use libheif_rs::{ColorSpace, HeifContext, RgbChroma};

    // libheif's messages may span lines; its security limits are resource limits
    let bad = |what: &str, e: libheif_rs::HeifError| {
        let msg = e.message.split_whitespace().collect::<Vec<_>>().join(" ");
        if msg.contains("Security limit exceeded") {
            Error::limits(path, format!("{what}: {msg}"))
        } else {
            Error::decode(path, format!("{what}: {msg}"))
        }
    };
    // `bytes` outlives `ctx` and everything made from it (the context does not copy them)
    let ctx = HeifContext::read_from_bytes(bytes).map_err(|e| bad("not a readable HEIF file", e))?;
    let handle = ctx.primary_image_handle().map_err(|e| bad("no primary image", e))?;
    let (w, h) = (handle.width(), handle.height());
    super::image::check_size(path, w, h, limits)?;
    let alpha = handle.has_alpha_channel();
    let channels: u64 = if alpha { 4 } else { 3 };
    // the decoded YCbCr planes (up to 16 bits) plus the interleaved result
    let need = u64::from(w) * u64::from(h) * (6 + channels);
    if need > limits.max_alloc {
        return Err(Error::limits(
            path,
            format!("decoding {w}x{h} needs about {need} bytes, above the limit of {}", limits.max_alloc),
        ));
    }
    let chroma = if alpha { RgbChroma::Rgba } else { RgbChroma::Rgb };
    let image = handle.decode(ColorSpace::Rgb(chroma), None).map_err(|e| bad("HEIF picture", e))?;
    let plane =
        image.planes().interleaved.ok_or_else(|| Error::decode(path, "libheif gave no interleaved RGB plane"))?;
    if (plane.width, plane.height) != (w, h) || plane.storage_bits_per_pixel != 8 * channels as u8 {
        return Err(Error::decode(
            path,
            format!(
                "libheif gave {}x{} at {} bits per pixel, expected {w}x{h} at {}",
                plane.width,
                plane.height,
                plane.storage_bits_per_pixel,
                8 * channels
            ),
        ));
    }
    let row = w as usize * channels as usize;
    let mut rgb = RgbImage::new(w, h);
    let mut a = alpha.then(|| GrayImage::new(w, h));
    for y in 0..h as usize {
        let src = plane
            .data
            .get(y * plane.stride..y * plane.stride + row)
            .ok_or_else(|| Error::decode(path, "libheif gave a short plane"))?;
        for (x, px) in src.chunks_exact(channels as usize).enumerate() {
            rgb.put_pixel(x as u32, y as u32, image::Rgb([px[0], px[1], px[2]]));
            if let Some(a) = a.as_mut() {
                a.put_pixel(x as u32, y as u32, image::Luma([px[3]]));
            }
        }
    }
    Ok((rgb, a))
}

/// Without the `heif` feature: HEIF and AVIF are named as unsupported.
#[cfg(not(feature = "heif"))]
pub(crate) fn decode(path: &Path, _bytes: &[u8], _limits: &Limits) -> Result<(RgbImage, Option<GrayImage>)> {
    Err(Error::unsupported(path, "HEIC/HEIF and AVIF support is not compiled in (cargo feature `heif`)"))
}

/// The primary image's width and height, from the container alone (nothing is decoded).
#[cfg(feature = "heif")]
pub(crate) fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let ctx = libheif_rs::HeifContext::read_from_bytes(bytes).ok()?;
    let handle = ctx.primary_image_handle().ok()?;
    Some((handle.width(), handle.height()))
}

/// Without the `heif` feature nothing is known (decoding then refuses the file).
#[cfg(not(feature = "heif"))]
pub(crate) fn dimensions(_bytes: &[u8]) -> Option<(u32, u32)> {
    None
}
