//! The image formats raster tiles are stored and served in: PNG (palette where it fits,
//! see [`crate::output::encode_tile_png`]) or lossless WebP (VP8L, encoded by the
//! `image-webp` crate). A lossless WebP tile decodes to exactly the rendered pixels
//! (straight alpha), so choosing WebP costs nothing visually.

use crate::error::{Error, Result};

/// How a raster tile is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ImageFormat {
    /// PNG: 8-bit palette where a tile has few colours, else truecolour.
    #[default]
    Png,
    /// Lossless WebP (VP8L): exactly the rendered pixels.
    Webp,
}

impl ImageFormat {
    /// The file extension, without the dot: `png` or `webp`.
    pub fn ext(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }

    /// The media type: `image/png` or `image/webp`.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// The format named by an extension or an MBTiles `format` value (`png`, `webp`).
    pub fn from_name(name: &str) -> Option<ImageFormat> {
        match name.to_ascii_lowercase().as_str() {
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }

    /// The format of encoded bytes, by their signature; None for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }

    /// The PMTiles tile type of this format.
    pub fn pmtiles_type(self) -> pmtiles::TileType {
        match self {
            ImageFormat::Png => pmtiles::TileType::Png,
            ImageFormat::Webp => pmtiles::TileType::Webp,
        }
    }
}

/// Encode a map tile (premultiplied RGBA, as rendered) in `format`: PNG as
/// [`crate::output::encode_tile_png`] (with the dpi), from the tile's colours when they
/// are `counted` ([`crate::output::encode_counted_tile_png`], the same bytes), WebP as
/// [`encode_webp`].
pub fn encode_tile(
    pixmap: &tiny_skia::Pixmap,
    dpi: f32,
    format: ImageFormat,
    counted: Option<&crate::output::TileColours>,
) -> Result<Vec<u8>> {
    match (format, counted) {
        (ImageFormat::Png, Some(counted)) => Ok(crate::output::encode_counted_tile_png(pixmap, dpi, counted)?.0),
        (ImageFormat::Png, None) => Ok(crate::output::encode_tile_png(pixmap, dpi)?.0),
        (ImageFormat::Webp, _) => encode_webp(pixmap),
    }
}

/// Encode pixels (premultiplied RGBA, as rendered) as a lossless WebP: un-premultiplied
/// (WebP stores straight alpha, rounded as the PNG encoder rounds). Decoding gives back
/// exactly these straight-alpha pixels. Tiles are always encoded as RGBA, so the VP8L
/// header's `alpha_is_used` hint is set even on opaque tiles; the alpha channel of an
/// opaque tile then has one Huffman symbol and costs no bits.
pub fn encode_webp(pixmap: &tiny_skia::Pixmap) -> Result<Vec<u8>> {
    use image_webp::{ColorType, WebPEncoder};
    let (w, h) = (pixmap.width(), pixmap.height());
    let data = pixmap.data();
    // Premultiplied and straight alpha are the same where every pixel is opaque: then the
    // pixels go to the encoder as they are (it copies them once, whatever the colour type).
    let opaque = data.chunks_exact(4).all(|p| p[3] == 255);
    let pixels: std::borrow::Cow<[u8]> = if opaque {
        std::borrow::Cow::Borrowed(data)
    } else {
        let mut v = Vec::with_capacity(data.len());
        for p in data.chunks_exact(4) {
            v.extend_from_slice(&straight(p));
        }
        std::borrow::Cow::Owned(v)
    };
    let color = ColorType::Rgba8;
    let mut out = Vec::new();
    let mut enc = WebPEncoder::new(&mut out);
    // Without the predictor transform: a map tile is flat fills, which the encoder's
    // run-length codes take whole, and on the bench fixture's 304 tiles the predictor made
    // them 16 % larger (1.15 MB against 0.98 MB).
    let mut params = image_webp::EncoderParams::default();
    params.use_predictor_transform = false;
    enc.set_params(params);
    enc.encode(&pixels, w, h, color).map_err(|e| Error::Encode(format!("WebP tile {w}×{h}: {e}")))?;
    Ok(out)
}

/// One premultiplied RGBA pixel as straight alpha (the rounding of the PNG encoder).
fn straight(p: &[u8]) -> [u8; 4] {
    let a = p[3];
    let un = |c: u8| {
        if a == 0 || a == 255 {
            c
        } else {
            ((u16::from(c) * 255 + u16::from(a) / 2) / u16::from(a)).min(255) as u8
        }
    };
    [un(p[0]), un(p[1]), un(p[2]), a]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tile with flat fills, an anti-aliased stroke and translucent pixels.
    fn sample(opaque: bool) -> tiny_skia::Pixmap {
        let mut pm = tiny_skia::Pixmap::new(256, 256).unwrap();
        if opaque {
            pm.fill(tiny_skia::Color::from_rgba8(242, 239, 233, 255));
        }
        let mut paint = tiny_skia::Paint::default();
        paint.set_color_rgba8(180, 40, 30, 160);
        paint.anti_alias = true;
        let mut pb = tiny_skia::PathBuilder::new();
        pb.move_to(10.0, 20.0);
        pb.cubic_to(90.0, 250.0, 160.0, -40.0, 250.0, 200.0);
        let path = pb.finish().unwrap();
        let stroke = tiny_skia::Stroke { width: 5.5, ..Default::default() };
        pm.stroke_path(&path, &paint, &stroke, tiny_skia::Transform::identity(), None);
        pm
    }

    #[test]
    fn webp_round_trips_to_the_straight_pixels() {
        for opaque in [true, false] {
            let pm = sample(opaque);
            let bytes = encode_webp(&pm).unwrap();
            assert_eq!(ImageFormat::sniff(&bytes), Some(ImageFormat::Webp));
            let mut dec = image_webp::WebPDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
            assert_eq!(dec.dimensions(), (256, 256));
            assert!(!dec.is_lossy());
            let mut buf = vec![0u8; dec.output_buffer_size().unwrap()];
            dec.read_image(&mut buf).unwrap();
            let want: Vec<u8> = pm.data().chunks_exact(4).flat_map(straight).collect();
            assert_eq!(buf, want, "opaque={opaque}");
            if !opaque {
                assert!(want.chunks_exact(4).any(|p| p[3] > 0 && p[3] < 255 && p[0] > 0), "translucent pixels tested");
            }
        }
    }

    #[test]
    fn names_and_signatures() {
        assert_eq!(ImageFormat::from_name("WEBP"), Some(ImageFormat::Webp));
        assert_eq!(ImageFormat::from_name("jpg"), None);
        assert_eq!(ImageFormat::sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageFormat::Png));
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WEBPVP8L"), Some(ImageFormat::Webp));
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(ImageFormat::Webp.mime(), "image/webp");
    }
}
