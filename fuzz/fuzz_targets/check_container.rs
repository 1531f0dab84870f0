//! `verify::check_container` on arbitrary bytes for every format: an error or Ok, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unseen::decode::ImageKind;

fuzz_target!(|data: &[u8]| {
    for kind in [ImageKind::Jpeg, ImageKind::Png, ImageKind::WebP, ImageKind::Tiff, ImageKind::Bmp] {
        let _ = unseen::verify::check_container(kind, data);
    }
});
