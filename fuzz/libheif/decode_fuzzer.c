// libFuzzer harness for the C half of unseen's HEIC path, built with AddressSanitizer against
// Debian's libheif 1.15.1 and libde265 1.0.11 sources (see build.sh). It makes the calls that
// crates/unseen/src/decode/heif.rs makes through libheif-rs: read the file from memory, take the
// primary image, refuse it above the fuzz pixel limit (as unseen does before decoding), decode
// it to interleaved RGB or RGBA (libde265 for HEVC, then libheif's colour conversion) and read
// every row of the plane.
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "libheif/heif.h"

// the same limit as fuzz/targets.rs (LIMITS.max_pixels)
#define MAX_PIXELS (1 << 18)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct heif_context *ctx = heif_context_alloc();
  struct heif_image_handle *handle = NULL;
  struct heif_image *image = NULL;
  assert(ctx);
  if (heif_context_read_from_memory_without_copy(ctx, data, size, NULL).code != heif_error_Ok) goto done;
  if (heif_context_get_primary_image_handle(ctx, &handle).code != heif_error_Ok) goto done;
  int w = heif_image_handle_get_width(handle), h = heif_image_handle_get_height(handle);
  if (w <= 0 || h <= 0 || (int64_t)w * h > MAX_PIXELS) goto done;
  int alpha = heif_image_handle_has_alpha_channel(handle);
  enum heif_chroma chroma = alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB;
  if (heif_decode_image(handle, &image, heif_colorspace_RGB, chroma, NULL).code != heif_error_Ok) goto done;
  int stride = 0;
  const uint8_t *plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
  int pw = heif_image_get_width(image, heif_channel_interleaved);
  int ph = heif_image_get_height(image, heif_channel_interleaved);
  if (plane) {
    // touch every byte unseen copies out of the plane
    unsigned sum = 0;
    int bpp = alpha ? 4 : 3;
    assert(stride >= pw * bpp);
    for (int y = 0; y < ph; y++)
      for (int x = 0; x < pw * bpp; x++) sum += plane[(size_t)y * stride + x];
    (void)sum;
  }
done:
  if (image) heif_image_release(image);
  if (handle) heif_image_handle_release(handle);
  heif_context_free(ctx);
  return 0;
}
