//! Stage 1: decode. Turns input bytes into upright 8-bit pixels and nothing else: no metadata
//! survives this stage except the EXIF orientation, which is applied to the pixels and dropped.

mod heif;
mod image;
mod stable;
pub mod video;

pub(crate) use self::image::ftyp_brands;
pub use self::image::{
    decode_image, has_raw_extension, image_dimensions, is_animated, sniff_format, sniff_source, DecodedImage, Format,
    ImageKind, RAW_EXTENSIONS,
};
pub use self::stable::Snapshot;
