//! Issue 5, dirty corpus: a generator (this file, run by the test) builds small JPEG, PNG, WebP,
//! TIFF, HEIC, AVIF, GIF (still and animated), MP4, MOV and MKV files with a unique canary in every place identity hides: EXIF IFD0,
//! ExifIFD, GPS, MakerNote, the IFD1 thumbnail (a JPEG with its own EXIF and comment), XMP,
//! IPTC/Photoshop IRB, ICC `desc`/`cprt`, COM, APPn segments, a JFXX thumbnail, MPF secondary
//! images, bytes after EOI (Motion-Photo style); PNG tEXt/zTXt/iTXt/eXIf/tIME/iCCP/private chunks
//! and trailers; WebP EXIF/XMP/ICCP/unknown chunks; TIFF tags, XMP, IPTC, ICC, GPS; MP4/MOV udta
//! and ©xyz, `meta`/`keys` (com.apple.quicktime.location.ISO6709, make, model), per-track creation
//! times, handler names and titles, subtitles, a timecode data track, chapters, cover art,
//! attachments, exiftool-written XMP/Keys/UserData. One `unseen` run over the folder must write
//! every file (or refuse it clearly); no output may hold a canary byte sequence (ASCII, UTF-16LE/BE,
//! either case) or the canary date, and `exiftool -ee -a -u -G1 -j` on the outputs may list only
//! the allow-listed structural tags below. Needs ffmpeg, exiftool and heif-enc (installed by
//! .ci/run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::env::{crc32, read, stderr, testdata, Env};

/// Every canary starts with this; the part after it names the place (`CNRY5-gps-area`, ...).
const CANARY: &str = "CNRY5";
/// The date written into every time field that cannot hold text.
const DATE: &str = "1987:06:05";
/// The canary of testdata/good/metadata_canary.jpg, which is part of the corpus.
const FIXTURE_CANARY: &str = "CANARY-7f3a";

fn run_ok(cmd: &mut Command) {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (ffmpeg/exiftool missing?)"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn ffmpeg() -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-v", "error", "-y", "-nostdin"]);
    c
}

/// `exiftool -q -overwrite_original <args> <file>`.
fn exiftool_write(file: &Path, args: &[String]) {
    run_ok(Command::new("exiftool").args(["-q", "-q", "-m", "-overwrite_original"]).args(args).arg(file));
}

fn c(place: &str) -> String {
    format!("{CANARY}-{place}")
}

/// `-TAG=CNRY5-<tag>` for each tag.
fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| format!("-{t}={}", c(&t.replace(':', "-")))).collect()
}

// ---- byte builders ------------------------------------------------------------------------------

fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, marker];
    v.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn insert_after_soi(jpeg: &[u8], segments: &[u8]) -> Vec<u8> {
    let mut v = jpeg[..2].to_vec();
    v.extend_from_slice(segments);
    v.extend_from_slice(&jpeg[2..]);
    v
}

/// A little-endian TIFF with IFDs laid out one after another; an entry with tag 0x8769
/// (ExifIFD pointer) gets the offset of the next IFD. Entries: (tag, type, value bytes).
fn tiff_le(ifds: &[Vec<(u16, u16, Vec<u8>)>]) -> Vec<u8> {
    let mut offsets = vec![8usize];
    for ifd in ifds {
        let last = *offsets.last().unwrap();
        offsets.push(last + 2 + 12 * ifd.len() + 4);
    }
    let mut data_at = *offsets.last().unwrap();
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    let mut data = Vec::new();
    for (i, ifd) in ifds.iter().enumerate() {
        out.extend_from_slice(&u16::try_from(ifd.len()).unwrap().to_le_bytes());
        for (tag, ty, value) in ifd {
            let size = match ty {
                3 => 2,
                4 => 4,
                _ => 1,
            };
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&u32::try_from(value.len() / size).unwrap().to_le_bytes());
            if *tag == 0x8769 {
                out.extend_from_slice(&u32::try_from(offsets[i + 1]).unwrap().to_le_bytes());
            } else if value.len() <= 4 {
                let mut v = value.clone();
                v.resize(4, 0);
                out.extend_from_slice(&v);
            } else {
                out.extend_from_slice(&u32::try_from(data_at).unwrap().to_le_bytes());
                data.extend_from_slice(value);
                if value.len() % 2 == 1 {
                    data.push(0);
                }
                data_at = offsets.last().unwrap() + data.len();
            }
        }
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    out.extend_from_slice(&data);
    out
}

fn ascii(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// EXIF with IFD0 Artist and an ExifIFD MakerNote holding text in a vendor-like layout.
fn exif_with_makernote() -> Vec<u8> {
    let mut note = b"Nikon\0\x02\x10\0\0".to_vec();
    note.extend_from_slice(c("makernote-serial").as_bytes());
    note.extend_from_slice(&c("makernote-utf16").encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>());
    tiff_le(&[vec![(0x013B, 2, ascii(&c("makernote-file-artist"))), (0x8769, 4, vec![0; 4])], vec![(0x927C, 7, note)]])
}

/// A display-class ICC v4 profile whose `desc` and `cprt` are `mluc` text (UTF-16BE).
fn icc_profile(text: &str) -> Vec<u8> {
    let mluc = |s: &str| {
        let u: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut v = b"mluc\0\0\0\0".to_vec();
        v.extend_from_slice(&1u32.to_be_bytes());
        v.extend_from_slice(&12u32.to_be_bytes());
        v.extend_from_slice(b"enUS");
        v.extend_from_slice(&u32::try_from(u.len()).unwrap().to_be_bytes());
        v.extend_from_slice(&28u32.to_be_bytes());
        v.extend_from_slice(&u);
        v.resize(v.len().div_ceil(4) * 4, 0);
        v
    };
    let tags = [(b"desc", mluc(&format!("{text}-desc"))), (b"cprt", mluc(&format!("{text}-cprt")))];
    let table_len = 4 + 12 * tags.len();
    let mut table = u32::try_from(tags.len()).unwrap().to_be_bytes().to_vec();
    let mut data = Vec::new();
    for (sig, body) in &tags {
        table.extend_from_slice(*sig);
        table.extend_from_slice(&u32::try_from(128 + table_len + data.len()).unwrap().to_be_bytes());
        table.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
        data.extend_from_slice(body);
    }
    let size = 128 + table_len + data.len();
    let mut h = u32::try_from(size).unwrap().to_be_bytes().to_vec();
    h.extend_from_slice(b"none");
    h.extend_from_slice(&0x0430_0000u32.to_be_bytes());
    h.extend_from_slice(b"mntrRGB XYZ ");
    for v in [1987u16, 6, 5, 12, 0, 0] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h.extend_from_slice(b"acsp");
    h.resize(68, 0);
    for v in [63190i32, 65536, 54061] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h.resize(128, 0);
    h.extend_from_slice(&table);
    h.extend_from_slice(&data);
    h
}

fn png_chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(ty);
    v.extend_from_slice(data);
    v.extend_from_slice(&crc32(ty, data).to_be_bytes());
    v
}

/// zlib stream of stored (uncompressed) deflate blocks: readable by every inflater, and the
/// canary stays visible to a byte search of the input.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(65535).collect() };
    for (i, b) in blocks.iter().enumerate() {
        v.push(u8::from(i + 1 == blocks.len()));
        let n = u16::try_from(b.len()).unwrap();
        v.extend_from_slice(&n.to_le_bytes());
        v.extend_from_slice(&(!n).to_le_bytes());
        v.extend_from_slice(b);
    }
    let (mut a, mut s) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        s = (s + a) % 65521;
    }
    v.extend_from_slice(&((s << 16) | a).to_be_bytes());
    v
}

fn png_insert_after_ihdr(png: &[u8], chunks: &[u8]) -> Vec<u8> {
    let mut v = png[..33].to_vec();
    v.extend_from_slice(chunks);
    v.extend_from_slice(&png[33..]);
    v
}

fn xmp_packet(place: &str) -> String {
    format!(
        "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>\
         <rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description \
         xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:exif='http://ns.adobe.com/exif/1.0/'>\
         <dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>\
         <exif:GPSLatitude>12,20.7N</exif:GPSLatitude></rdf:Description></rdf:RDF></x:xmpmeta>\
         <?xpacket end='w'?>",
        c(place)
    )
}

/// A JPEG with an MPF APP2 index pointing at a secondary JPEG appended after the primary's EOI.
fn jpeg_with_mpf(primary: &[u8], secondary: &[u8]) -> Vec<u8> {
    // MP index IFD: MPFVersion, NumberOfImages, MPEntry (2 x 16 bytes); offsets are relative to
    // the TIFF header, which sits 10 bytes into the file (SOI, APP2 marker + length, "MPF\0")
    let build = |primary_len: u32| {
        let mut entries = Vec::new();
        entries.extend_from_slice(&0x0003_0000u32.to_le_bytes());
        entries.extend_from_slice(&primary_len.to_le_bytes());
        entries.extend_from_slice(&0u32.to_le_bytes());
        entries.extend_from_slice(&[0; 4]);
        entries.extend_from_slice(&0x0001_0001u32.to_le_bytes());
        entries.extend_from_slice(&u32::try_from(secondary.len()).unwrap().to_le_bytes());
        entries.extend_from_slice(&primary_len.saturating_sub(10).to_le_bytes());
        entries.extend_from_slice(&[0; 4]);
        let mut payload = b"MPF\0".to_vec();
        payload.extend_from_slice(&tiff_le(&[vec![
            (0xB000, 7, b"0100".to_vec()),
            (0xB001, 4, 2u32.to_le_bytes().to_vec()),
            (0xB002, 7, entries),
        ]]));
        jpeg_segment(0xE2, &payload)
    };
    let app2_len = build(0).len();
    let primary_len = u32::try_from(primary.len() + app2_len).unwrap();
    let mut v = insert_after_soi(primary, &build(primary_len));
    v.extend_from_slice(secondary);
    v
}

// ---- the corpus ---------------------------------------------------------------------------------

/// Builds the corpus in `dir`; returns the file names.
#[allow(clippy::too_many_lines)]
fn make_corpus(dir: &Path, scratch: &Path) -> Vec<String> {
    let w = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    let astro = testdata("astronaut.png");
    let base = |name: &str, extra: &[&str]| -> PathBuf {
        let p = scratch.join(name);
        run_ok(ffmpeg().arg("-i").arg(&astro).args(["-vf", "crop=200:200:126:18,scale=128:128"]).args(extra).arg(&p));
        p
    };
    let jpg = read(&base("base.jpg", &["-q:v", "3"]));
    let png = read(&base("base.png", &[]));
    let webp = base("base.webp", &["-c:v", "libwebp"]);
    let tif = base("base.tif", &[]);
    let copy_with = |name: &str, from: &Path, args: Vec<String>| {
        let p = dir.join(name);
        std::fs::copy(from, &p).unwrap();
        exiftool_write(&p, &args);
    };
    let jpg_path = scratch.join("base.jpg");

    // JPEG
    copy_with(
        "jpeg_exif_ifd0.jpg",
        &jpg_path,
        tags(&[
            "IFD0:Make",
            "IFD0:Model",
            "IFD0:Artist",
            "IFD0:Copyright",
            "IFD0:ImageDescription",
            "IFD0:Software",
            "IFD0:HostComputer",
            "IFD0:DocumentName",
            "IFD0:XPAuthor",
            "IFD0:XPComment",
            "IFD0:XPKeywords",
        ]),
    );
    let mut a = tags(&[
        "ExifIFD:SerialNumber",
        "ExifIFD:OwnerName",
        "ExifIFD:LensModel",
        "ExifIFD:LensSerialNumber",
        "ExifIFD:UserComment",
        "ExifIFD:ImageUniqueID",
    ]);
    a.push(format!("-ExifIFD:DateTimeOriginal={DATE} 12:34:56"));
    copy_with("jpeg_exif_exififd.jpg", &jpg_path, a);
    let mut a = tags(&["GPS:GPSProcessingMethod", "GPS:GPSAreaInformation", "GPS:GPSMapDatum"]);
    a.extend(
        [
            "-GPSLatitude=12.3456",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=65.4321",
            "-GPSLongitudeRef=W",
            "-GPSAltitude=4321",
        ]
        .map(String::from),
    );
    a.push(format!("-GPSDateStamp={DATE}"));
    copy_with("jpeg_exif_gps.jpg", &jpg_path, a);
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&exif_with_makernote());
    w("jpeg_makernote.jpg", &insert_after_soi(&jpg, &jpeg_segment(0xE1, &exif)));
    // the IFD1 thumbnail is itself a JPEG with EXIF and a comment
    let thumb = scratch.join("thumb.jpg");
    run_ok(ffmpeg().arg("-i").arg(&jpg_path).args(["-vf", "scale=64:64"]).arg(&thumb));
    exiftool_write(
        &thumb,
        &tags(&["IFD0:Artist", "Comment"]).iter().map(|t| t.replace("CNRY5-", "CNRY5-thumb-")).collect::<Vec<_>>(),
    );
    copy_with("jpeg_ifd1_thumbnail.jpg", &jpg_path, vec![format!("-ThumbnailImage<={}", thumb.display())]);
    copy_with(
        "jpeg_xmp.jpg",
        &jpg_path,
        tags(&[
            "XMP-dc:Creator",
            "XMP-dc:Description",
            "XMP-dc:Rights",
            "XMP-photoshop:City",
            "XMP-iptcExt:PersonInImage",
        ]),
    );
    copy_with(
        "jpeg_iptc_photoshop.jpg",
        &jpg_path,
        tags(&["IPTC:By-line", "IPTC:City", "IPTC:Caption-Abstract", "IPTC:Keywords", "Photoshop:URL"]),
    );
    let icc = scratch.join("canary.icc");
    std::fs::write(&icc, icc_profile(&c("icc"))).unwrap();
    copy_with("jpeg_icc.jpg", &jpg_path, vec![format!("-ICC_Profile<={}", icc.display())]);
    copy_with("jpeg_com.jpg", &jpg_path, tags(&["Comment"]));
    let secondary = insert_after_soi(&read(&thumb), &jpeg_segment(0xFE, c("mpf-secondary").as_bytes()));
    w("jpeg_mpf_secondary.jpg", &jpeg_with_mpf(&jpg, &secondary));
    let mut mp = jpg.clone();
    mp.extend_from_slice(b"\0\0\0\x18ftypmp42\0\0\0\0isommp42");
    mp.extend_from_slice(c("motion-photo-trailer").as_bytes());
    mp.extend_from_slice(&c("trailer-utf16").encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>());
    w("jpeg_trailer_after_eoi.jpg", &mp);
    let mut segs = Vec::new();
    for m in [0xE3u8, 0xE4, 0xEA, 0xEB, 0xEC, 0xED, 0xEF] {
        segs.extend(jpeg_segment(m, format!("{}-app{:x}", c("app"), m - 0xE0).as_bytes()));
    }
    // JFXX extension APP0 with an 8x1 RGB thumbnail whose "pixels" are text
    let mut jfxx = b"JFXX\0\x13\x08\x01".to_vec();
    jfxx.extend_from_slice(format!("{:<24}", c("jfxx-thumb")).as_bytes());
    segs.extend(jpeg_segment(0xE0, &jfxx));
    w("jpeg_appn_jfxx.jpg", &insert_after_soi(&jpg, &segs));
    std::fs::copy(testdata("good/metadata_canary.jpg"), dir.join("jpeg_everything_fixture.jpg")).unwrap();
    copy_with("jpeg_cmyk_tagged.jpg", &testdata("good/cmyk.jpg"), tags(&["IFD0:Artist", "XMP-dc:Creator"]));

    // PNG
    let text = |k: &str, place: &str| [k.as_bytes(), b"\0", c(place).as_bytes()].concat();
    w(
        "png_text.png",
        &png_insert_after_ihdr(
            &png,
            &[png_chunk(b"tEXt", &text("Author", "text-author")), png_chunk(b"tEXt", &text("Comment", "text-comment"))]
                .concat(),
        ),
    );
    let mut z = b"Description\0\0".to_vec();
    z.extend_from_slice(&zlib_stored(c("ztxt").as_bytes()));
    w("png_ztxt.png", &png_insert_after_ihdr(&png, &png_chunk(b"zTXt", &z)));
    let mut it = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    it.extend_from_slice(xmp_packet("itxt-xmp").as_bytes());
    let mut it2 = b"Title\0\0\0en\0Titel\0".to_vec();
    it2.extend_from_slice(c("itxt-title-\u{e9}").as_bytes());
    w("png_itxt_xmp.png", &png_insert_after_ihdr(&png, &[png_chunk(b"iTXt", &it), png_chunk(b"iTXt", &it2)].concat()));
    let exif_tiff = tiff_le(&[vec![(0x010F, 2, ascii(&c("exif-make"))), (0x013B, 2, ascii(&c("exif-artist")))]]);
    w("png_exif_chunk.png", &png_insert_after_ihdr(&png, &png_chunk(b"eXIf", &exif_tiff)));
    let time = [1987u16.to_be_bytes().as_slice(), &[6, 5, 12, 34, 56]].concat();
    w(
        "png_time.png",
        &png_insert_after_ihdr(
            &png,
            &[png_chunk(b"tIME", &time), png_chunk(b"tEXt", &text("Creation Time", "time-text"))].concat(),
        ),
    );
    let mut iccp = c("iccp-name").into_bytes();
    iccp.extend_from_slice(&[0, 0]);
    iccp.extend_from_slice(&zlib_stored(&icc_profile(&c("iccp"))));
    w("png_iccp.png", &png_insert_after_ihdr(&png, &png_chunk(b"iCCP", &iccp)));
    let mut t = png.clone();
    t.extend_from_slice(c("after-iend").as_bytes());
    w("png_trailer_after_iend.png", &t);
    w(
        "png_private_chunks.png",
        &png_insert_after_ihdr(
            &png,
            &[png_chunk(b"prVt", c("private").as_bytes()), png_chunk(b"caBX", c("c2pa-like").as_bytes())].concat(),
        ),
    );

    // WebP
    copy_with(
        "webp_exif.webp",
        &webp,
        tags(&["IFD0:Artist", "IFD0:Make", "ExifIFD:SerialNumber", "GPS:GPSAreaInformation"]),
    );
    copy_with("webp_xmp.webp", &webp, tags(&["XMP-dc:Creator", "XMP-photoshop:City"]));
    copy_with("webp_icc.webp", &webp, vec![format!("-ICC_Profile<={}", icc.display())]);
    let mut wb = read(&webp);
    let extra = [b"CNRY".as_slice(), &16u32.to_le_bytes(), c("unknown-chk").as_bytes().get(..16).unwrap()].concat();
    wb.extend_from_slice(&extra);
    let riff = u32::try_from(wb.len() - 8).unwrap();
    wb[4..8].copy_from_slice(&riff.to_le_bytes());
    wb.extend_from_slice(c("after-riff").as_bytes());
    w("webp_unknown_chunk_and_trailer.webp", &wb);

    // TIFF
    copy_with(
        "tiff_ifd0_tags.tif",
        &tif,
        tags(&[
            "IFD0:Artist",
            "IFD0:Make",
            "IFD0:Model",
            "IFD0:Copyright",
            "IFD0:ImageDescription",
            "IFD0:DocumentName",
            "IFD0:PageName",
            "IFD0:HostComputer",
            "IFD0:Software",
            "IFD0:XPAuthor",
        ]),
    );
    let mut a = tags(&["ExifIFD:SerialNumber", "ExifIFD:OwnerName", "GPS:GPSAreaInformation"]);
    a.extend(
        ["-GPSLatitude=12.3456", "-GPSLatitudeRef=N", "-GPSLongitude=65.4321", "-GPSLongitudeRef=W"].map(String::from),
    );
    a.push(format!("-ExifIFD:DateTimeOriginal={DATE} 12:34:56"));
    copy_with("tiff_exif_gps.tif", &tif, a);
    let mut a = tags(&["XMP-dc:Creator", "IPTC:By-line", "IPTC:City"]);
    a.push(format!("-ICC_Profile<={}", icc.display()));
    copy_with("tiff_xmp_iptc_icc.tif", &tif, a);

    // video: 1 s, 160x120, 10 fps
    let src = ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1"];
    let x264 = ["-c:v", "libx264", "-preset", "ultrafast"];
    let meta = |k: &str, place: &str| ["-metadata".to_owned(), format!("{k}={}", c(place))];
    let v = |name: &str, args: Vec<String>| run_ok(ffmpeg().args(args).arg(dir.join(name)));
    let mut a: Vec<String> = src.iter().chain(&["-f", "lavfi", "-i", "sine=d=1"]).map(|s| (*s).to_owned()).collect();
    a.extend(x264.map(String::from));
    for (k, p) in [
        ("title", "udta-title"),
        ("artist", "udta-artist"),
        ("comment", "udta-comment"),
        ("copyright", "udta-copyright"),
        ("description", "udta-description"),
    ] {
        a.extend(meta(k, p));
    }
    a.extend(
        ["-metadata", "location=+12.3456-065.4321/", "-metadata:s:a", &format!("title={}", c("audio-title"))]
            .map(String::from),
    );
    v("mp4_udta_xyz_audio.mp4", a);
    let mut a: Vec<String> = src.iter().chain(&x264).map(|s| (*s).to_owned()).collect();
    a.extend(["-movflags", "use_metadata_tags"].map(String::from));
    a.extend(meta("com.apple.quicktime.make", "keys-make"));
    a.extend(meta("com.apple.quicktime.model", "keys-model"));
    a.extend(meta("com.apple.quicktime.software", "keys-software"));
    a.extend(["-metadata".to_owned(), "com.apple.quicktime.location.ISO6709=+12.3456-065.4321+100.000/".to_owned()]);
    a.extend([
        "-metadata".to_owned(),
        format!("com.apple.quicktime.creationdate={}T12:34:56+0100", DATE.replace(':', "-")),
    ]);
    v("mov_meta_keys.mov", a);
    let mut a: Vec<String> = src.iter().chain(&x264).map(|s| (*s).to_owned()).collect();
    a.extend([
        "-metadata".to_owned(),
        format!("creation_time={}T12:34:56Z", DATE.replace(':', "-")),
        "-metadata:s:v".to_owned(),
        format!("creation_time={}T12:34:56Z", DATE.replace(':', "-")),
        "-metadata:s:v".to_owned(),
        format!("handler_name={}", c("handler")),
        "-metadata:s:v".to_owned(),
        format!("title={}", c("track-title")),
        "-metadata:s:v".to_owned(),
        "language=fin".to_owned(),
    ]);
    v("mov_track_times_handler.mov", a);
    let srt = scratch.join("s.srt");
    std::fs::write(&srt, format!("1\n00:00:00,000 --> 00:00:01,000\n{}\n", c("subtitle"))).unwrap();
    let mut a: Vec<String> = src.iter().map(|s| (*s).to_owned()).collect();
    a.extend(["-i".to_owned(), srt.display().to_string(), "-map".into(), "0:v".into(), "-map".into(), "1:s".into()]);
    a.extend(x264.map(String::from));
    a.extend(["-c:s", "mov_text", "-timecode", "13:57:19:07", "-metadata:s:s"].map(String::from));
    a.push(format!("title={}", c("subtitle-title")));
    v("mp4_subtitle_timecode_data.mp4", a);
    let ffmeta = scratch.join("chapters.txt");
    std::fs::write(
        &ffmeta,
        format!(
            ";FFMETADATA1\ntitle={}\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle={}\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=500\nEND=1000\ntitle={}\n",
            c("mkv-title"),
            c("chapter-1"),
            c("chapter-2")
        ),
    )
    .unwrap();
    let att = scratch.join("notes.txt");
    std::fs::write(&att, c("attachment")).unwrap();
    let mut a: Vec<String> = src.iter().map(|s| (*s).to_owned()).collect();
    a.extend([
        "-i".to_owned(),
        ffmeta.display().to_string(),
        "-map_metadata".into(),
        "1".into(),
        "-map_chapters".into(),
        "1".into(),
    ]);
    a.extend(x264.map(String::from));
    a.extend(["-attach".to_owned(), att.display().to_string(), "-metadata:s:t".into(), "mimetype=text/plain".into()]);
    a.extend(meta("ENCODED_BY", "mkv-encoded-by"));
    v("mkv_chapters_tags_attachment.mkv", a);
    let mp4_chapters = scratch.join("ch.mp4");
    let mut a: Vec<String> = src.iter().map(|s| (*s).to_owned()).collect();
    a.extend([
        "-i".to_owned(),
        ffmeta.display().to_string(),
        "-map_metadata".into(),
        "1".into(),
        "-map_chapters".into(),
        "1".into(),
    ]);
    a.extend(x264.map(String::from));
    run_ok(ffmpeg().args(&a).arg(&mp4_chapters));
    std::fs::copy(&mp4_chapters, dir.join("mp4_chapters.mp4")).unwrap();
    let cover = scratch.join("cover.jpg");
    std::fs::write(&cover, insert_after_soi(&read(&thumb), &jpeg_segment(0xFE, c("cover-art").as_bytes()))).unwrap();
    run_ok(
        ffmpeg()
            .arg("-i")
            .arg(&mp4_chapters)
            .arg("-i")
            .arg(&cover)
            .args(["-map", "0:v", "-map", "1", "-c", "copy", "-disposition:v:1", "attached_pic"])
            .arg(dir.join("mp4_cover_art.mp4")),
    );
    let et = dir.join("mp4_exiftool_xmp_keys_userdata.mp4");
    std::fs::copy(&mp4_chapters, &et).unwrap();
    let mut a = tags(&["XMP-dc:Creator", "Keys:Artist", "UserData:Artist", "ItemList:Artist", "UserData:Make"]);
    a.push("-QuickTime:GPSCoordinates=12.3456, -65.4321, 100".to_owned());
    exiftool_write(&et, &a);
    phone_videos(dir, scratch);

    // HEIC and AVIF (issue 11): heif-enc (Debian's libheif-examples) copies the dirty JPEGs'
    // EXIF; exiftool adds XMP and more EXIF; the AVIF also has a thumbnail item
    let heif = |name: &str, from: &str, extra: &[&str], args: Vec<String>| {
        let p = dir.join(name);
        run_ok(Command::new("heif-enc").args(["-q", "40"]).args(extra).arg("-o").arg(&p).arg(dir.join(from)));
        if !args.is_empty() {
            exiftool_write(&p, &args);
        }
    };
    heif("heic_exif_ifd0.heic", "jpeg_exif_ifd0.jpg", &[], tags(&["XMP-dc:Creator", "XMP-photoshop:City"]));
    heif("heic_exif_gps.heic", "jpeg_exif_gps.jpg", &["-t", "32"], vec![]);
    heif("avif_exif_thumbnail.avif", "jpeg_exif_exififd.jpg", &["-A", "-t", "32"], tags(&["XMP-dc:Rights"]));
    // GIF: a comment extension and XMP (exiftool), still and animated (the video path)
    run_ok(
        ffmpeg()
            .arg("-i")
            .arg(&astro)
            .args(["-vf", "crop=200:200:126:18,scale=96:96"])
            .arg(dir.join("gif_still_comment_xmp.gif")),
    );
    exiftool_write(&dir.join("gif_still_comment_xmp.gif"), &tags(&["Comment", "XMP-dc:Creator"]));
    run_ok(
        ffmpeg()
            .arg("-loop")
            .arg("1")
            .arg("-i")
            .arg(&astro)
            .args(["-vf", "crop=200:200:126+t*40:18,scale=96:96", "-r", "5", "-t", "1"])
            .arg(dir.join("gif_animated_comment.gif")),
    );
    exiftool_write(&dir.join("gif_animated_comment.gif"), &tags(&["Comment", "XMP-dc:Creator"]));

    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Issue 11: videos as phones write them, each with canaries: an iPhone-style HEVC MOV (QuickTime
/// `keys` make/model/software/location/date, a portrait display matrix, a timecode track, a
/// titled audio track), 10-bit HLG HEVC, video starting after longer audio behind an edit list,
/// and a timed-metadata (`mebx`) track.
fn phone_videos(dir: &Path, scratch: &Path) {
    let hevc = ["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac"];
    let lavfi = |v: &str, a: &str| ["-f", "lavfi", "-i", v, "-f", "lavfi", "-i", a].map(String::from);
    let meta = |k: &str, v: String| ["-metadata".to_owned(), format!("{k}={v}")];
    let mut a: Vec<String> = lavfi("testsrc2=s=192x108:r=10:d=1", "sine=d=1").into();
    a.extend(hevc.map(String::from));
    a.extend(["-movflags", "use_metadata_tags", "-timecode", "13:57:19:07"].map(String::from));
    for k in ["make", "model", "software", "location.name", "content.identifier"] {
        a.extend(meta(&format!("com.apple.quicktime.{k}"), c(&format!("iphone-{k}"))));
    }
    a.extend(meta("com.apple.quicktime.location.ISO6709", "+12.3456-065.4321+100.000/".into()));
    a.extend(meta("com.apple.quicktime.creationdate", format!("{}T12:34:56+0100", DATE.replace(':', "-"))));
    a.extend(["-metadata:s:a".to_owned(), format!("title={}", c("iphone-audio-title"))]);
    let iphone = dir.join("mov_hevc_iphone_keys_portrait_timecode.mov");
    run_ok(ffmpeg().args(&a).arg(&iphone));
    // portrait: the display matrix of the first track turns it 90° (as an iPhone's does)
    let mut b = read(&iphone);
    let m = b.windows(4).position(|w| w == b"tkhd").unwrap() + 44;
    for (i, v) in [0u32, 0x0001_0000, 0, 0xFFFF_0000, 0, 0, 0, 0, 0x4000_0000].iter().enumerate() {
        b[m + 4 * i..m + 4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    std::fs::write(&iphone, &b).unwrap();
    // the timecode track becomes a timed-metadata track (ffmpeg cannot write `mebx` itself)
    let hdlr = b.windows(8).position(|w| w == b"mhlrtmcd").unwrap();
    b[hdlr + 4..hdlr + 8].copy_from_slice(b"meta");
    let entry = (0..b.len() - 20).find(|&i| &b[i..i + 4] == b"stsd" && &b[i + 16..i + 20] == b"tmcd").unwrap();
    b[entry + 16..entry + 20].copy_from_slice(b"mebx");
    std::fs::write(dir.join("mov_hevc_timed_metadata_mebx.mov"), &b).unwrap();

    let mut a: Vec<String> = lavfi("testsrc2=s=192x108:r=10:d=1", "sine=d=1").into();
    a.extend(["-vf", "format=yuv420p,zscale=tin=bt709:pin=bt709:min=bt709:t=arib-std-b67:p=bt2020:m=bt2020nc:npl=203,format=yuv420p10le"].map(String::from));
    a.extend(hevc.map(String::from));
    a.extend(["-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc"].map(String::from));
    a.extend(meta("title", c("hdr-title")));
    a.extend(["-metadata:s:v".to_owned(), format!("handler_name={}", c("hdr-handler"))]);
    run_ok(ffmpeg().args(&a).arg(dir.join("mov_hevc_hdr_hlg.mov")));

    let late = scratch.join("late.mov");
    let mut a: Vec<String> = ["-f", "lavfi", "-i", "sine=d=2.6", "-itsoffset", "0.85"].map(String::from).into();
    a.extend(["-f", "lavfi", "-i", "testsrc2=s=192x108:r=10:d=1.5", "-map", "1:v", "-map", "0:a"].map(String::from));
    a.extend(["-c:v", "libx264", "-bf", "2", "-c:a", "aac", "-fps_mode", "passthrough"].map(String::from));
    a.extend(meta("comment", c("late-comment")));
    a.extend(meta("creation_time", format!("{}T12:34:56Z", DATE.replace(':', "-"))));
    run_ok(ffmpeg().args(&a).arg(&late));
    run_ok(
        ffmpeg()
            .args(["-ss", "0.3"])
            .arg("-i")
            .arg(&late)
            .args(["-c", "copy", "-map_metadata", "0"])
            .args(meta("title", c("edit-list-title")))
            .arg(dir.join("mov_late_video_edit_list.mov")),
    );
}

/// The byte forms searched for: the canary prefix and the date, in ASCII, UTF-16LE and UTF-16BE,
/// upper- and lower-case.
fn needles() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for s in [
        CANARY.to_owned(),
        CANARY.to_ascii_lowercase(),
        FIXTURE_CANARY.to_owned(),
        FIXTURE_CANARY.to_ascii_lowercase(),
        DATE.to_owned(),
        DATE.replace(':', "-"),
    ] {
        v.push((format!("{s} (ascii)"), s.as_bytes().to_vec()));
        v.push((format!("{s} (utf-16le)"), s.encode_utf16().flat_map(u16::to_le_bytes).collect()));
        v.push((format!("{s} (utf-16be)"), s.encode_utf16().flat_map(u16::to_be_bytes).collect()));
    }
    v
}

/// Tags exiftool may list for unseen's outputs (JPEG/PNG/WebP/TIFF/BMP/MP4): file-system facts,
/// the image or stream structure, and values derived from those. Nothing that names a person,
/// place, device, time of capture or software. Video times must be zero (checked separately).
const ALLOWED: &[&str] = &[
    "SourceFile",
    "ExifTool:ExifToolVersion",
    "ExifTool:Warning",
    "System:FileName",
    "System:Directory",
    "System:FileSize",
    "System:FileModifyDate",
    "System:FileAccessDate",
    "System:FileInodeChangeDate",
    "System:FilePermissions",
    "File:FileType",
    "File:FileTypeExtension",
    "File:MIMEType",
    "File:ImageWidth",
    "File:ImageHeight",
    "File:EncodingProcess",
    "File:BitsPerSample",
    "File:ColorComponents",
    "File:YCbCrSubSampling",
    "File:ExifByteOrder",
    "JFIF:JFIFVersion",
    "JFIF:ResolutionUnit",
    "JFIF:XResolution",
    "JFIF:YResolution",
    "Composite:ImageSize",
    "Composite:Megapixels",
];

/// PNG, WebP and TIFF structure, as exiftool 12.57 names it for unseen's outputs.
const ALLOWED_IMAGE: &[&str] = &[
    "PNG:BitDepth",
    "PNG:ColorType",
    "PNG:Compression",
    "PNG:Filter",
    "PNG:ImageHeight",
    "PNG:ImageWidth",
    "PNG:Interlace",
    "RIFF:ImageHeight",
    "RIFF:ImageWidth",
    "IFD0:BitsPerSample",
    "IFD0:Compression",
    "IFD0:ImageHeight",
    "IFD0:ImageWidth",
    "IFD0:PhotometricInterpretation",
    "IFD0:Predictor",
    "IFD0:ResolutionUnit",
    "IFD0:RowsPerStrip",
    "IFD0:SampleFormat",
    "IFD0:SamplesPerPixel",
    "IFD0:StripByteCounts",
    "IFD0:StripOffsets",
    "IFD0:XResolution",
    "IFD0:YResolution",
];

/// MP4 structure: brands, movie and track headers (all dates must be zero, checked below), the
/// H.264 sample description and sample tables. `HandlerDescription` is the muxer's fixed
/// "VideoHandler" (the input's handler names are checked by the canary search).
const ALLOWED_VIDEO: &[&str] = &[
    "Composite:AvgBitrate",
    "Composite:Rotation",
    "QuickTime:CompatibleBrands",
    "QuickTime:CreateDate",
    "QuickTime:CurrentTime",
    "QuickTime:Duration",
    "QuickTime:Free",
    "QuickTime:HandlerType",
    "QuickTime:HandlerVendorID",
    "QuickTime:MajorBrand",
    "QuickTime:MatrixStructure",
    "QuickTime:MediaData",
    "QuickTime:MediaDataOffset",
    "QuickTime:MediaDataSize",
    "QuickTime:MinorVersion",
    "QuickTime:ModifyDate",
    "QuickTime:MovieHeaderVersion",
    "QuickTime:NextTrackID",
    "QuickTime:PosterTime",
    "QuickTime:PreferredRate",
    "QuickTime:PreferredVolume",
    "QuickTime:PreviewDuration",
    "QuickTime:PreviewTime",
    "QuickTime:SelectionDuration",
    "QuickTime:SelectionTime",
    "QuickTime:TimeScale",
    "Track1:AVCConfiguration",
    "Track1:AverageBitrate",
    "Track1:BitDepth",
    "Track1:BufferSize",
    "Track1:ChunkOffset",
    "Track1:ColorPrimaries",
    "Track1:ColorProfiles",
    "Track1:CompositionTimeToSample",
    "Track1:CompressorID",
    "Track1:GraphicsMode",
    "Track1:HandlerDescription",
    "Track1:HandlerType",
    "Track1:ImageHeight",
    "Track1:ImageWidth",
    "Track1:MatrixCoefficients",
    "Track1:MatrixStructure",
    "Track1:MaxBitrate",
    "Track1:MediaCreateDate",
    "Track1:MediaDuration",
    "Track1:MediaHeaderVersion",
    "Track1:MediaLanguageCode",
    "Track1:MediaModifyDate",
    "Track1:MediaTimeScale",
    "Track1:OpColor",
    "Track1:PixelAspectRatio",
    "Track1:SampleSizes",
    "Track1:SampleToChunk",
    "Track1:SourceImageHeight",
    "Track1:SourceImageWidth",
    "Track1:SyncSampleTable",
    "Track1:TrackCreateDate",
    "Track1:TrackDuration",
    "Track1:TrackHeaderVersion",
    "Track1:TrackID",
    "Track1:TrackLayer",
    "Track1:TrackModifyDate",
    "Track1:TrackVolume",
    "Track1:TransferCharacteristics",
    "Track1:Unknown_edts",
    "Track1:VideoFrameRate",
    "Track1:XResolution",
    "Track1:YResolution",
];

/// Whether exiftool may report `tag` with `value` for an output.
fn allowed(tag: &str, value: &Value) -> bool {
    if !(ALLOWED.contains(&tag) || ALLOWED_IMAGE.contains(&tag) || ALLOWED_VIDEO.contains(&tag)) {
        return false;
    }
    // container dates are written as zero (file-system dates are the output's own)
    !tag.ends_with("Date") || tag.starts_with("System:") || value == "0000:00:00 00:00:00"
}

fn exiftool_json(files: &[PathBuf]) -> Vec<serde_json::Map<String, Value>> {
    let out = Command::new("exiftool")
        .args(["-ee", "-a", "-u", "-G1", "-j", "-api", "LargeFileSupport=1"])
        .args(files)
        .output()
        .expect("exiftool runs (Debian: apt install libimage-exiftool-perl)");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("exiftool JSON: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    v.as_array().unwrap().iter().map(|o| o.as_object().unwrap().clone()).collect()
}

#[test]
fn issue5_dirty_corpus_leaks_nothing() {
    let mut env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let corpus = env.path("in");
    std::fs::create_dir_all(&corpus).unwrap();
    let names = make_corpus(&corpus, scratch.path());
    for n in &names {
        env.input_bytes(n, &read(&corpus.join(n))); // remember hashes: Env checks inputs on drop
    }

    // the corpus really is dirty: every input shows a canary to exiftool -ee or to a byte search
    let inputs: Vec<PathBuf> = names.iter().map(|n| corpus.join(n)).collect();
    for (n, tags) in names.iter().zip(exiftool_json(&inputs)) {
        let bytes = read(&corpus.join(n));
        let seen = Value::Object(tags).to_string();
        assert!(
            seen.contains(CANARY)
                || seen.contains(DATE)
                || needles().iter().any(|(_, b)| bytes.windows(b.len()).any(|w| w == b)),
            "{n}: the generator failed to plant a canary"
        );
    }

    let out = env.unseen().args(["--preset", "fast", "-j", "2", "--report", "report.json", "in"]).output().unwrap();
    let report: Value = serde_json::from_slice(&read(&env.path("report.json"))).expect("report");
    let mut formats: BTreeMap<String, usize> = BTreeMap::new();
    let mut refused = Vec::new();
    let mut outputs = Vec::new();
    for f in report["files"].as_array().unwrap() {
        let input = f["input"].as_str().unwrap();
        let ext = Path::new(input).extension().unwrap().to_string_lossy().to_ascii_lowercase();
        *formats.entry(ext).or_default() += 1;
        match f["status"].as_str() {
            Some("ok") => outputs.push(PathBuf::from(f["output"].as_str().unwrap())),
            _ => refused.push(format!("{input}: {}", f["error"])),
        }
    }
    assert_eq!(report["files"].as_array().unwrap().len(), names.len(), "{}", stderr(&out));
    assert!(refused.is_empty(), "refused (each must be a clear reason, and none is expected):\n{}", refused.join("\n"));

    let mut leaks = Vec::new();
    for o in &outputs {
        let o = if o.is_absolute() { o.clone() } else { env.path("").join(o) };
        let bytes = read(&o);
        for (what, needle) in needles() {
            if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
                leaks.push(format!("{}: {what} at byte {at}", o.display()));
            }
        }
    }
    let abs: Vec<PathBuf> =
        outputs.iter().map(|o| if o.is_absolute() { o.clone() } else { env.path("").join(o) }).collect();
    for tags in exiftool_json(&abs) {
        let file = tags["SourceFile"].as_str().unwrap_or("?").to_owned();
        for (k, v) in &tags {
            let s = v.to_string();
            if !allowed(k, v)
                || s.contains(CANARY)
                || s.contains(FIXTURE_CANARY)
                || s.contains(DATE)
                || s.contains(&DATE.replace(':', "-"))
            {
                leaks.push(format!("{file}: {k} = {s}"));
            }
        }
    }
    println!(
        "dirty corpus: {} files, {} formats {:?}, written {}, refused {}, leaks {}",
        names.len(),
        formats.len(),
        formats,
        outputs.len(),
        refused.len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
    assert!(names.len() >= 30 && formats.len() >= 7, "{names:?}");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
