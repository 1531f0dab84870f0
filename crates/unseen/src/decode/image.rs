//! Still-image decoding with resource limits and animation / multi-page refusal.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::error::{Error, Result};
use crate::options::Limits;

/// The still-image formats unseen reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// JPEG (baseline and progressive, 8-bit).
    Jpeg,
    /// PNG (not animated).
    Png,
    /// WebP (not animated); written losslessly.
    WebP,
    /// TIFF (single page).
    Tiff,
    /// BMP.
    Bmp,
}

impl ImageKind {
    /// The matching `image` crate format.
    #[must_use]
    pub fn image_format(self) -> ImageFormat {
        match self {
            ImageKind::Jpeg => ImageFormat::Jpeg,
            ImageKind::Png => ImageFormat::Png,
            ImageKind::WebP => ImageFormat::WebP,
            ImageKind::Tiff => ImageFormat::Tiff,
            ImageKind::Bmp => ImageFormat::Bmp,
        }
    }

    /// The format a file extension names, if it is one unseen writes.
    #[must_use]
    pub fn from_extension(path: &Path) -> Option<ImageKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "jpg" | "jpeg" | "jpe" | "jfif" => ImageKind::Jpeg,
            "png" => ImageKind::Png,
            "webp" => ImageKind::WebP,
            "tif" | "tiff" => ImageKind::Tiff,
            "bmp" => ImageKind::Bmp,
            _ => return None,
        })
    }

    /// Short lowercase name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpeg",
            ImageKind::Png => "png",
            ImageKind::WebP => "webp",
            ImageKind::Tiff => "tiff",
            ImageKind::Bmp => "bmp",
        }
    }

    /// The usual file extension (without the dot).
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            other => other.name(),
        }
    }

    /// Whether the format can carry an alpha channel in unseen's output.
    #[must_use]
    pub fn keeps_alpha(self) -> bool {
        matches!(self, ImageKind::Png | ImageKind::WebP | ImageKind::Tiff)
    }
}

/// A still-image format unseen reads, by content. Every one of them is written as an
/// [`ImageKind`] ([`Format::output_kind`]): the five written formats as themselves, GIF as PNG
/// (lossless, like GIF), HEIF/HEIC and AVIF as JPEG (see README: no HEIF encoder that unseen
/// could verify as strictly ships with Debian, and JPEG opens everywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JPEG.
    Jpeg,
    /// PNG (animated PNGs go to the video path).
    Png,
    /// WebP.
    WebP,
    /// TIFF.
    Tiff,
    /// BMP.
    Bmp,
    /// GIF (animated GIFs go to the video path).
    Gif,
    /// HEIF with HEVC pictures (HEIC, the iPhone's default), decoded with libheif.
    Heif,
    /// AVIF (HEIF with AV1 pictures), decoded with libheif.
    Avif,
}

impl Format {
    /// The format the output of such an input is written in by default.
    #[must_use]
    pub fn output_kind(self) -> ImageKind {
        match self {
            Format::Jpeg | Format::Heif | Format::Avif => ImageKind::Jpeg,
            Format::Png | Format::Gif => ImageKind::Png,
            Format::WebP => ImageKind::WebP,
            Format::Tiff => ImageKind::Tiff,
            Format::Bmp => ImageKind::Bmp,
        }
    }

    /// The written format this is, if it is one.
    #[must_use]
    pub fn as_written(self) -> Option<ImageKind> {
        match self {
            Format::Jpeg => Some(ImageKind::Jpeg),
            Format::Png => Some(ImageKind::Png),
            Format::WebP => Some(ImageKind::WebP),
            Format::Tiff => Some(ImageKind::Tiff),
            Format::Bmp => Some(ImageKind::Bmp),
            Format::Gif | Format::Heif | Format::Avif => None,
        }
    }

    /// Short lowercase name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Gif => "gif",
            Format::Heif => "heif",
            Format::Avif => "avif",
            other => other.output_kind().name(),
        }
    }
}

/// An upright image, reduced to 8-bit RGB plus an optional alpha plane.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    /// The pixels, orientation applied.
    pub rgb: RgbImage,
    /// The alpha plane, if the input had one.
    pub alpha: Option<GrayImage>,
    /// The format its output is written in by default ([`Format::output_kind`] of `format`).
    pub kind: ImageKind,
    /// The format the bytes were in (by content, not by extension).
    pub format: Format,
}

/// Identifies the format from the leading bytes and returns the format its output is written
/// in ([`Format::output_kind`]), or says why it is not supported.
///
/// # Errors
/// As [`sniff_source`].
pub fn sniff_format(path: &Path, bytes: &[u8]) -> Result<ImageKind> {
    sniff_source(path, bytes).map(Format::output_kind)
}

/// Extensions of camera RAW files. Most are TIFF inside and would decode as their small embedded
/// preview, so they are refused by name before their content is looked at.
pub const RAW_EXTENSIONS: &[&str] = &[
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "orf", "rw2", "raf", "srw", "pef", "3fr", "iiq",
    "x3f", "raw", "rwl", "erf", "mrw", "dcr", "kdc", "mos", "mef",
];

/// Whether the name has a camera RAW extension ([`RAW_EXTENSIONS`]).
#[must_use]
pub fn has_raw_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| RAW_EXTENSIONS.iter().any(|r| r.eq_ignore_ascii_case(e)))
}

/// The brands of an ISO-BMFF `ftyp` box (major first), if the bytes start with one.
pub(crate) fn ftyp_brands(bytes: &[u8]) -> Option<Vec<[u8; 4]>> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let size = (u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize).clamp(12, 4096);
    let end = size.min(bytes.len());
    let mut brands = vec![[bytes[8], bytes[9], bytes[10], bytes[11]]];
    // minor version at 12..16, compatible brands after it
    let mut p = 16;
    while p + 4 <= end {
        brands.push([bytes[p], bytes[p + 1], bytes[p + 2], bytes[p + 3]]);
        p += 4;
    }
    Some(brands)
}

/// HEIF/AVIF by their `ftyp` brands: `Ok(Some)` for a still image, `Err` with the reason for an
/// image sequence (burst, animation), `Ok(None)` for anything else (MP4, MOV).
fn sniff_heif(bytes: &[u8]) -> std::result::Result<Option<Format>, &'static str> {
    let Some(brands) = ftyp_brands(bytes) else { return Ok(None) };
    let major = brands[0];
    let has = |b: &[u8; 4]| brands.contains(b);
    if matches!(&major, b"msf1" | b"hevc" | b"hevx" | b"hevs" | b"avis") {
        return Err("HEIF/AVIF image sequences (bursts, animations) are not supported");
    }
    if has(b"avif") {
        return Ok(Some(Format::Avif));
    }
    if matches!(&major, b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"mif2" | b"MiHE" | b"MiHB")
        || (has(b"mif1") && !has(b"isom") && !has(b"qt  "))
    {
        return Ok(Some(Format::Heif));
    }
    Ok(None)
}

/// Identifies the format from the leading bytes, or says why it is not supported.
///
/// # Errors
/// [`Error::Decode`] for empty or unrecognisable data, [`Error::Unsupported`] for known formats
/// that unseen does not process (camera RAW by extension, Photoshop, JPEG XL, HEIF sequences,
/// icons and other rare formats).
pub fn sniff_source(path: &Path, bytes: &[u8]) -> Result<Format> {
    if bytes.is_empty() {
        return Err(Error::decode(path, "file is empty (0 bytes)"));
    }
    if has_raw_extension(path) {
        return Err(Error::unsupported(path, "camera RAW files are not supported (export them to JPEG or TIFF first)"));
    }
    match sniff_heif(bytes) {
        Ok(Some(f)) => return Ok(f),
        Ok(None) => {}
        Err(why) => return Err(Error::unsupported(path, why)),
    }
    if bytes.starts_with(b"8BPS") {
        return Err(Error::unsupported(path, "Photoshop (PSD) documents are not supported (export them to PNG first)"));
    }
    if bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Err(Error::unsupported(path, "JPEG XL images are not supported"));
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
        Ok(ImageFormat::Png) => Ok(Format::Png),
        Ok(ImageFormat::WebP) => Ok(Format::WebP),
        Ok(ImageFormat::Tiff) => Ok(Format::Tiff),
        Ok(ImageFormat::Bmp) => Ok(Format::Bmp),
        Ok(ImageFormat::Gif) => Ok(Format::Gif),
        Ok(other) => Err(Error::unsupported(
            path,
            format!("{other:?} images are not supported (use JPEG, PNG, WebP, TIFF, BMP, GIF, HEIC or AVIF)"),
        )),
        Err(_) => Err(Error::decode(
            path,
            "not a recognised image (expected JPEG, PNG, WebP, TIFF, BMP, GIF, HEIC or AVIF content)",
        )),
    }
}

/// Decodes a still image: checks the format, refuses animations and multi-page files, enforces
/// the pixel and allocation limits before decoding pixels, and applies EXIF orientation.
///
/// # Errors
/// [`Error::Decode`], [`Error::Unsupported`] or [`Error::Limits`], naming `path`.
pub fn decode_image(path: &Path, bytes: &[u8], limits: &Limits) -> Result<DecodedImage> {
    let format = sniff_source(path, bytes)?;
    let kind = format.output_kind();
    if matches!(format, Format::Heif | Format::Avif) {
        let (rgb, alpha) = super::heif::decode(path, bytes, limits)?;
        return Ok(DecodedImage { rgb, alpha, kind, format });
    }
    refuse_multi_frame(path, format, bytes)?;
    if format == Format::Jpeg && !jpeg_reaches_eoi(bytes) {
        // The JPEG decoder runs in lenient mode and would fill the missing part with grey.
        return Err(Error::decode(path, "JPEG data ends before the end-of-image marker (truncated file)"));
    }
    let image_format = match format {
        Format::Gif => ImageFormat::Gif,
        other => other.output_kind().image_format(),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut lim = image::Limits::default();
    lim.max_alloc = Some(limits.max_alloc);
    reader.limits(lim);
    let mut decoder = reader.into_decoder().map_err(|e| map_image_error(path, e))?;
    let (w, h) = decoder.dimensions();
    check_size(path, w, h, limits)?;
    let orientation = decoder.orientation().map_err(|e| map_image_error(path, e))?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| map_image_error(path, e))?;
    img.apply_orientation(orientation);

    let alpha = if img.color().has_alpha() {
        let rgba = img.to_rgba8();
        let a = GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| image::Luma([rgba.get_pixel(x, y)[3]]));
        Some(a)
    } else {
        None
    };
    let rgb = img.into_rgb8();
    Ok(DecodedImage { rgb, alpha, kind, format })
}

/// The stored width and height of a still image, read from its header only (no pixel is
/// decoded; EXIF orientation is not applied, which keeps the product). `None` when the format or
/// header cannot be read: decoding will say why.
#[must_use]
pub fn image_dimensions(path: &Path, bytes: &[u8]) -> Option<(u32, u32)> {
    let format = sniff_source(path, bytes).ok()?;
    if matches!(format, Format::Heif | Format::Avif) {
        return super::heif::dimensions(bytes);
    }
    let image_format = match format {
        Format::Gif => ImageFormat::Gif,
        other => other.output_kind().image_format(),
    };
    ImageReader::with_format(Cursor::new(bytes), image_format).into_dimensions().ok()
}

/// Refuses images above the pixel limit (before any pixel is decoded) and images without pixels.
pub(crate) fn check_size(path: &Path, w: u32, h: u32, limits: &Limits) -> Result<()> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(Error::limits(
            path,
            format!("{w}x{h} is {pixels} pixels, above the limit of {} (see --max-pixels)", limits.max_pixels),
        ));
    }
    if w == 0 || h == 0 {
        return Err(Error::decode(path, format!("image has no pixels ({w}x{h})")));
    }
    Ok(())
}

fn map_image_error(path: &Path, e: image::ImageError) -> Error {
    match e {
        image::ImageError::Limits(l) => Error::limits(path, l.to_string()),
        image::ImageError::Unsupported(u) => Error::unsupported(path, u.to_string()),
        other => Error::decode(path, other),
    }
}

/// Refuses animated PNG/WebP/GIF and multi-page TIFF here: unseen would otherwise anonymise only
/// the first frame and silently drop (or worse, keep) the rest. Animated GIF and PNG normally
/// never get here: they go through the video path (see [`is_animated`]).
fn refuse_multi_frame(path: &Path, format: Format, bytes: &[u8]) -> Result<()> {
    if format == Format::WebP && webp_is_animated(bytes) {
        return Err(Error::unsupported(
            path,
            "animated WebP is not supported (Debian's ffmpeg cannot decode it): convert it to GIF or MP4 first",
        ));
    }
    if is_animated(format, bytes) {
        return Err(Error::unsupported(path, "animated images go through the video pipeline, not the image one"));
    }
    if format == Format::Tiff && tiff_page_count_above_one(bytes) {
        return Err(Error::unsupported(path, "multi-page TIFF files are not supported"));
    }
    Ok(())
}

/// Whether an image of this format holds more than one frame (animated GIF, APNG, animated
/// WebP).
#[must_use]
pub fn is_animated(format: Format, bytes: &[u8]) -> bool {
    match format {
        Format::Png => png_has_chunk(bytes, *b"acTL"),
        Format::WebP => webp_is_animated(bytes),
        Format::Gif => gif_frames(bytes, 2) >= 2,
        _ => false,
    }
}

/// Counts the image descriptors of a GIF, stopping at `stop`. A damaged block structure ends
/// the count (the decoder reports the damage).
pub(crate) fn gif_frames(b: &[u8], stop: usize) -> usize {
    if b.len() < 13 || !(b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return 0;
    }
    let table = |flags: u8| if flags & 0x80 != 0 { 3usize << ((flags & 7) + 1) } else { 0 };
    // data sub-blocks from p: returns the position after the terminator
    let skip_blocks = |mut p: usize| -> Option<usize> {
        loop {
            let n = usize::from(*b.get(p)?);
            p += 1;
            if n == 0 {
                return Some(p);
            }
            p += n;
        }
    };
    let mut p = 13 + table(b[10]);
    let mut frames = 0;
    while frames < stop {
        match b.get(p) {
            Some(0x21) => match skip_blocks(p + 2) {
                Some(q) => p = q,
                None => break,
            },
            Some(0x2C) => {
                frames += 1;
                let Some(&flags) = b.get(p + 9) else { break };
                // descriptor, local colour table, LZW code size, image data
                match skip_blocks(p + 10 + table(flags) + 1) {
                    Some(q) => p = q,
                    None => break,
                }
            }
            _ => break,
        }
    }
    frames
}

/// Whether a JPEG's marker structure runs from SOI to an EOI marker: segments are skipped by
/// their length, entropy-coded data up to the next marker (byte stuffing and restart markers
/// included). A truncated file never reaches EOI. Bytes after EOI are not looked at.
pub(crate) fn jpeg_reaches_eoi(b: &[u8]) -> bool {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut p = 2;
    while p + 1 < b.len() {
        if b[p] != 0xFF {
            return false;
        }
        match b[p + 1] {
            0xD9 => return true,
            // fill byte, or a marker without a length (TEM, RSTn)
            0xFF => p += 1,
            0x01 | 0xD0..=0xD7 => p += 2,
            m => {
                let Some(len) = b.get(p + 2..p + 4).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
                    return false;
                };
                if len < 2 {
                    return false;
                }
                p += 2 + len;
                if m == 0xDA {
                    // entropy-coded data: up to a marker that is neither stuffing (FF 00) nor RSTn
                    while p + 1 < b.len() && !(b[p] == 0xFF && b[p + 1] != 0x00 && !(0xD0..=0xD7).contains(&b[p + 1])) {
                        p += 1;
                    }
                }
            }
        }
    }
    false
}

/// Walks PNG chunks up to the first IDAT looking for `want`.
pub(crate) fn png_has_chunk(bytes: &[u8], want: [u8; 4]) -> bool {
    let mut pos = 8;
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]) as usize;
        let ty = [bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]];
        if ty == want {
            return true;
        }
        if &ty == b"IDAT" || &ty == b"IEND" {
            return false;
        }
        pos = pos.saturating_add(12).saturating_add(len);
    }
    false
}

pub(crate) fn webp_is_animated(bytes: &[u8]) -> bool {
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let ty = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
        if ty == b"VP8X" && pos + 8 < bytes.len() && bytes[pos + 8] & 0x02 != 0 {
            return true;
        }
        if ty == b"ANIM" || ty == b"ANMF" {
            return true;
        }
        pos = pos.saturating_add(8).saturating_add(len + (len & 1));
    }
    false
}

fn tiff_page_count_above_one(bytes: &[u8]) -> bool {
    let le = bytes.starts_with(b"II");
    let u16_at = |p: usize| -> Option<u16> {
        let b = bytes.get(p..p + 2)?;
        Some(if le { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) })
    };
    let u32_at = |p: usize| -> Option<u32> {
        let b = bytes.get(p..p + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if le { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
    };
    (|| -> Option<bool> {
        let ifd0 = u32_at(4)? as usize;
        let n = u16_at(ifd0)? as usize;
        let next = u32_at(ifd0 + 2 + n * 12)?;
        Some(next != 0)
    })()
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_garbage_are_decode_errors() {
        let p = Path::new("x.jpg");
        let e = decode_image(p, b"", &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = decode_image(p, b"hello world, not an image", &Limits::default()).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e}");
    }

    #[test]
    fn truncated_jpeg_is_an_error_and_trailing_bytes_are_not() {
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Jpeg).unwrap();
        assert!(jpeg_reaches_eoi(&buf));
        assert!(decode_image(Path::new("ok.jpg"), &buf, &Limits::default()).is_ok());
        for cut in [buf.len() - 2, buf.len() / 2, 200] {
            assert!(!jpeg_reaches_eoi(&buf[..cut]), "cut at {cut}");
            let Err(e) = decode_image(Path::new("cut.jpg"), &buf[..cut], &Limits::default()) else {
                panic!("cut at {cut}: truncated JPEG decoded");
            };
            assert!(e.to_string().contains("truncated"), "{e}");
        }
        let mut trailer = buf.clone();
        trailer.extend_from_slice(b"\xFF\xD8 vendor trailer");
        assert!(decode_image(Path::new("trailer.jpg"), &trailer, &Limits::default()).is_ok());
    }

    #[test]
    fn pixel_limit_is_checked_before_decoding() {
        let img = RgbImage::new(100, 100);
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Png).unwrap();
        let limits = Limits { max_pixels: 9_999, ..Limits::default() };
        let e = decode_image(Path::new("big.png"), &buf, &limits).unwrap_err();
        assert!(matches!(e, Error::Limits { .. }), "{e}");
        assert!(decode_image(Path::new("ok.png"), &buf, &Limits::default()).is_ok());
    }
}
