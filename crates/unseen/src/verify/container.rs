//! Allow-list checks of output container structure. Anything not listed here (EXIF, XMP, ICC,
//! comments, text chunks, thumbnails, trailing bytes) makes the check fail.

use crate::decode::ImageKind;

/// Checks that `bytes` contain only the structures unseen's encoder is allowed to write.
///
/// # Errors
/// A description of the first disallowed or malformed structure.
pub fn check_container(kind: ImageKind, bytes: &[u8]) -> Result<(), String> {
    match kind {
        ImageKind::Jpeg => jpeg(bytes),
        ImageKind::Png => png(bytes),
        ImageKind::WebP => webp(bytes),
        ImageKind::Tiff => tiff(bytes),
        ImageKind::Bmp => bmp(bytes),
    }
}

fn be16(b: &[u8], p: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([*b.get(p)?, *b.get(p + 1)?])))
}

/// JPEG: SOI, APP0 (JFIF only), DQT, SOFn, DHT, DRI, SOS with entropy data, RSTn, EOI; nothing
/// after EOI.
fn jpeg(b: &[u8]) -> Result<(), String> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err("missing SOI".into());
    }
    let mut p = 2;
    loop {
        if b.get(p) != Some(&0xFF) {
            return Err(format!("expected a marker at byte {p}"));
        }
        let m = *b.get(p + 1).ok_or("truncated marker")?;
        match m {
            0xD9 => {
                return if p + 2 == b.len() { Ok(()) } else { Err(format!("{} bytes after EOI", b.len() - p - 2)) };
            }
            0xFF => {
                p += 1; // fill byte
                continue;
            }
            0xD0..=0xD7 => {
                p += 2;
                continue;
            }
            _ => {}
        }
        let len = be16(b, p + 2).ok_or("truncated segment length")?;
        if len < 2 || p + 2 + len > b.len() {
            return Err(format!("segment 0x{m:02X} at byte {p} overruns the file"));
        }
        let body = &b[p + 4..p + 2 + len];
        match m {
            0xE0 => {
                if !body.starts_with(b"JFIF\0") {
                    return Err("APP0 segment is not JFIF".into());
                }
                // a JFIF thumbnail would carry pixels of the original: width/height must be 0
                if body.len() < 14 || body[12] != 0 || body[13] != 0 || body.len() != 14 {
                    return Err("JFIF segment carries a thumbnail or extra data".into());
                }
            }
            0xDB | 0xC4 | 0xDD | 0xC0 | 0xC1 | 0xC2 => {}
            0xDA => {
                // skip entropy-coded data up to the next marker that is not RSTn or stuffing
                let mut q = p + 2 + len;
                loop {
                    if q + 1 >= b.len() {
                        return Err("entropy-coded data runs to the end of the file (no EOI)".into());
                    }
                    if b[q] == 0xFF && b[q + 1] != 0x00 && !(0xD0..=0xD7).contains(&b[q + 1]) {
                        break;
                    }
                    q += 1;
                }
                p = q;
                continue;
            }
            other => return Err(format!("disallowed segment 0x{other:02X}")),
        }
        p += 2 + len;
    }
}

/// PNG: IHDR, PLTE, tRNS, IDAT, IEND only; nothing after IEND.
fn png(b: &[u8]) -> Result<(), String> {
    if !b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err("missing PNG signature".into());
    }
    let mut p = 8;
    while p + 8 <= b.len() {
        let len = u32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) as usize;
        let ty = &b[p + 4..p + 8];
        let end = p.checked_add(12).and_then(|v| v.checked_add(len)).ok_or("chunk length overflow")?;
        if end > b.len() {
            return Err("chunk overruns the file".into());
        }
        match ty {
            b"IHDR" | b"PLTE" | b"tRNS" | b"IDAT" => {}
            b"IEND" => {
                return if end == b.len() { Ok(()) } else { Err(format!("{} bytes after IEND", b.len() - end)) };
            }
            other => return Err(format!("disallowed chunk {:?}", String::from_utf8_lossy(other))),
        }
        p = end;
    }
    Err("missing IEND".into())
}

/// WebP: a RIFF whose size matches the file, holding VP8L / VP8 / ALPH and a VP8X header that
/// declares no ICC, EXIF, XMP or animation.
fn webp(b: &[u8]) -> Result<(), String> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return Err("missing RIFF/WEBP header".into());
    }
    let riff = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if riff + 8 != b.len() {
        return Err(format!("RIFF size {} does not match the file ({} bytes)", riff + 8, b.len()));
    }
    let mut p = 12;
    while p < b.len() {
        if p + 8 > b.len() {
            return Err("truncated chunk header".into());
        }
        let ty = &b[p..p + 4];
        let len = u32::from_le_bytes([b[p + 4], b[p + 5], b[p + 6], b[p + 7]]) as usize;
        let end = p + 8 + len + (len & 1);
        if end > b.len() {
            return Err("chunk overruns the file".into());
        }
        match ty {
            b"VP8L" | b"VP8 " | b"ALPH" => {}
            b"VP8X" => {
                if len < 1 || b[p + 8] & !0x10 != 0 {
                    return Err("VP8X declares metadata or animation".into());
                }
            }
            other => return Err(format!("disallowed chunk {:?}", String::from_utf8_lossy(other))),
        }
        p = end;
    }
    Ok(())
}

/// TIFF: one IFD holding only image-structure tags; no strings, no sub-IFDs, no second page.
fn tiff(b: &[u8]) -> Result<(), String> {
    const ALLOWED: &[u16] = &[254, 256, 257, 258, 259, 262, 273, 277, 278, 279, 282, 283, 284, 296, 317, 338, 339];
    let le = match b.get(0..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        _ => return Err("missing TIFF header".into()),
    };
    let r16 = |p: usize| -> Option<u16> {
        let s = b.get(p..p + 2)?;
        Some(if le { u16::from_le_bytes([s[0], s[1]]) } else { u16::from_be_bytes([s[0], s[1]]) })
    };
    let r32 = |p: usize| -> Option<u32> {
        let s = b.get(p..p + 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if le { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
    };
    let ifd = r32(4).ok_or("truncated header")? as usize;
    let n = usize::from(r16(ifd).ok_or("truncated IFD")?);
    for i in 0..n {
        let tag = r16(ifd + 2 + i * 12).ok_or("truncated IFD entry")?;
        if !ALLOWED.contains(&tag) {
            return Err(format!("disallowed tag {tag}"));
        }
    }
    if r32(ifd + 2 + n * 12).ok_or("truncated IFD")? != 0 {
        return Err("more than one IFD".into());
    }
    // every byte belongs to the header, the IFD, a field's value or a strip: TIFF readers skip
    // unreferenced bytes, so anything else (a trailer, a block between strips) could carry data
    let mut ranges: Vec<(usize, usize)> = vec![(0, 8), (ifd, ifd + 2 + n * 12 + 4)];
    let (mut offsets, mut counts) = (None, None);
    for i in 0..n {
        let e = ifd + 2 + i * 12;
        let (tag, kind) = (r16(e).ok_or("truncated IFD entry")?, r16(e + 2).ok_or("truncated IFD entry")?);
        let count = r32(e + 4).ok_or("truncated IFD entry")? as usize;
        let unit: usize = match kind {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 => 4,
            5 | 10 | 12 => 8,
            other => return Err(format!("tag {tag} has an unknown field type {other}")),
        };
        let size = unit.checked_mul(count).ok_or("field too large")?;
        let at = if size > 4 {
            let off = r32(e + 8).ok_or("truncated IFD entry")? as usize;
            ranges.push((off, off.checked_add(size).ok_or("field too large")?));
            off
        } else {
            e + 8
        };
        match tag {
            273 => offsets = Some((kind, count, at)),
            279 => counts = Some((kind, count, at)),
            _ => {}
        }
    }
    let value = |(kind, _, at): (u16, usize, usize), k: usize| -> Option<usize> {
        match kind {
            3 => r16(at.checked_add(k.checked_mul(2)?)?).map(usize::from),
            4 => r32(at.checked_add(k.checked_mul(4)?)?).map(|v| v as usize),
            _ => None,
        }
    };
    let (Some(offsets), Some(counts)) = (offsets, counts) else { return Err("strips are not described".into()) };
    if offsets.1 != counts.1 {
        return Err("strip offsets and byte counts differ in number".into());
    }
    for k in 0..offsets.1 {
        let (off, cnt) = (value(offsets, k).ok_or("bad strip offset")?, value(counts, k).ok_or("bad strip size")?);
        ranges.push((off, off.checked_add(cnt).ok_or("strip too large")?));
    }
    ranges.sort_unstable();
    let mut end = 0;
    for (start, stop) in ranges {
        if stop > b.len() {
            return Err("a field or strip lies past the end of the file".into());
        }
        // one byte of padding keeps fields at even offsets
        if start > end + 1 {
            return Err(format!("{} bytes at offset {end} belong to no field or strip", start - end));
        }
        end = end.max(stop);
    }
    if end + 1 < b.len() {
        return Err(format!("{} bytes after the image data", b.len() - end));
    }
    Ok(())
}

/// BMP: file size matches the header, and no embedded colour profile.
fn bmp(b: &[u8]) -> Result<(), String> {
    if b.len() < 18 || &b[0..2] != b"BM" {
        return Err("missing BM header".into());
    }
    let size = u32::from_le_bytes([b[2], b[3], b[4], b[5]]) as usize;
    if size != b.len() {
        return Err(format!("header size {size} does not match the file ({} bytes)", b.len()));
    }
    let dib = u32::from_le_bytes([b[14], b[15], b[16], b[17]]);
    match dib {
        40 | 108 => Ok(()),
        124 => {
            let cs = b.get(70..74).ok_or("truncated V5 header")?;
            if cs == b"DEBM" || cs == b"MBED" || cs == b"KNIL" || cs == b"LINK" {
                Err("BMP carries a colour profile".into())
            } else {
                Ok(())
            }
        }
        other => Err(format!("unexpected DIB header size {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_rejects_comment_exif_and_trailer() {
        let img = image::RgbImage::new(16, 16);
        let bytes = crate::encode::encode_image(&img, None, ImageKind::Jpeg, 90).unwrap();
        jpeg(&bytes).unwrap();
        let mut trailer = bytes.clone();
        trailer.extend_from_slice(b"MOTIONPHOTO");
        assert!(jpeg(&trailer).unwrap_err().contains("after EOI"));
        let mut com = bytes[..2].to_vec();
        com.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x06, b'h', b'e', b'l', b'o']);
        com.extend_from_slice(&bytes[2..]);
        assert!(jpeg(&com).unwrap_err().contains("0xFE"));
        let mut exif = bytes[..2].to_vec();
        exif.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x08, b'E', b'x', b'i', b'f', 0, 0]);
        exif.extend_from_slice(&bytes[2..]);
        assert!(jpeg(&exif).is_err());
    }

    #[test]
    fn png_rejects_text_chunks_and_trailers() {
        let img = image::RgbImage::new(4, 4);
        let bytes = crate::encode::encode_image(&img, None, ImageKind::Png, 90).unwrap();
        png(&bytes).unwrap();
        let mut text = bytes[..33].to_vec(); // signature + IHDR
        text.extend_from_slice(&[0, 0, 0, 4]);
        text.extend_from_slice(b"tEXtabcd\0\0\0\0");
        text.extend_from_slice(&bytes[33..]);
        assert!(png(&text).unwrap_err().contains("tEXt"));
        let mut trailer = bytes.clone();
        trailer.push(0);
        assert!(png(&trailer).is_err());
    }

    /// Found by the soak run (bench/soak.py): a metadata trailer after a TIFF's strips passed.
    #[test]
    fn tiff_rejects_bytes_that_belong_to_no_field_or_strip() {
        let img = image::RgbImage::from_fn(40, 300, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let bytes = crate::encode::encode_image(&img, None, ImageKind::Tiff, 90).unwrap();
        tiff(&bytes).unwrap();
        let mut trailer = bytes.clone();
        trailer.extend_from_slice(b"GPS 51.5N 0.1W");
        assert!(tiff(&trailer).unwrap_err().contains("after the image data"), "{:?}", tiff(&trailer));
        // a block hidden between the header and the first referenced byte
        let mut hidden = bytes[..8].to_vec();
        hidden.extend_from_slice(b"GPS 51.5N 0.1W..");
        hidden.extend_from_slice(&bytes[8..]);
        assert!(tiff(&hidden).is_err());
    }

    #[test]
    fn every_encoder_output_passes() {
        let img = image::RgbImage::from_fn(33, 17, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let alpha = image::GrayImage::from_fn(33, 17, |x, _| image::Luma([x as u8 * 7]));
        for kind in [ImageKind::Jpeg, ImageKind::Png, ImageKind::WebP, ImageKind::Tiff, ImageKind::Bmp] {
            for a in [None, Some(&alpha)] {
                let bytes = crate::encode::encode_image(&img, a, kind, 90).unwrap();
                check_container(kind, &bytes).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            }
        }
    }
}
