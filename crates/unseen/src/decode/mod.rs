//! Stage 1: decode. Turns input bytes into upright 8-bit pixels and nothing else: no metadata
//! survives this stage except the EXIF orientation, which is applied to the pixels and dropped.

mod image;
pub mod video;

pub use self::image::{decode_image, sniff_format, DecodedImage, ImageKind};
