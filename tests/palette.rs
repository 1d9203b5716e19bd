//! Palette tiles: every tile of a real metatile is encoded as a palette PNG where it can
//! be; decoded by the png crate and by an independent reader (Python's Pillow, when
//! installed), its pixels equal the rendered RGBA exactly when the encoding is lossless,
//! and stay within the stated PSNR when quantised.

use steppe_atlas::atlas::Atlas;
use steppe_atlas::data::Source;
use steppe_atlas::output::{encode_png, encode_tile_png, psnr, TileEncoding, QUANTISE_MAX_ERROR, QUANTISE_MIN_PSNR};
use steppe_atlas::style::Style;
use steppe_atlas::tiles::grid::{MetaTile, TileId};
use steppe_atlas::tiles::{metatile_pixmap, TileLook};
use steppe_atlas::time::EndDates;

/// Decode a PNG to straight RGBA8 with the png crate.
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Rgba, png::BitDepth::Eight));
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn pillow_rgba(path: &std::path::Path) -> Option<Vec<u8>> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; from PIL import Image; sys.stdout.buffer.write(Image.open(sys.argv[1]).convert('RGBA').tobytes())"])
        .arg(path)
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

#[test]
fn palette_tiles_decode_to_the_rendered_pixels() {
    let atlas = Atlas::load(&Source::Embedded, EndDates::Inclusive).unwrap();
    let style = Style::load("atlas").unwrap();
    let look = TileLook { scale: 1, buffer_px: 128, lang: "en".into(), image: Default::default() };
    let tmp = tempfile::tempdir().unwrap();
    let mut counts = [0usize; 3];
    let mut pillow_checked = 0;
    let (mut palette_bytes, mut rgb_bytes) = (0, 0);
    // Turkistan's metatile at z5 (0.., 4x4 tiles) and the whole atlas at z2.
    for mt in [MetaTile::of(TileId { z: 5, x: 22, y: 11 }, 4), MetaTile::of(TileId { z: 2, x: 2, y: 1 }, 4)] {
        let image = metatile_pixmap(&atlas, &style, &mt, 1723, &look);
        for dx in 0..mt.size {
            for dy in 0..mt.size {
                let rect = tiny_skia::IntRect::from_xywh((128 + dx * 256) as i32, (128 + dy * 256) as i32, 256, 256);
                let tile = image.clone_rect(rect.unwrap()).unwrap();
                let (bytes, kind) = encode_tile_png(&tile, 96.0).unwrap();
                let truth = decode(&encode_png(&tile, 96.0).unwrap()).2;
                palette_bytes += bytes.len();
                rgb_bytes += encode_png(&tile, 96.0).unwrap().len();
                let (w, h, got) = decode(&bytes);
                assert_eq!((w, h), (256, 256));
                match kind {
                    TileEncoding::Indexed => {
                        counts[0] += 1;
                        assert!(got == truth, "a lossless palette tile differs from the render");
                        assert_eq!(&bytes[25..26], &[3], "colour type 3 (indexed)");
                    }
                    TileEncoding::Quantised => {
                        counts[1] += 1;
                        let sq: u64 =
                            got.iter().zip(&truth).map(|(a, b)| (i64::from(*a) - i64::from(*b)).pow(2) as u64).sum();
                        assert!(psnr(sq, got.len()) >= QUANTISE_MIN_PSNR, "PSNR {}", psnr(sq, got.len()));
                        let worst = got
                            .chunks_exact(4)
                            .zip(truth.chunks_exact(4))
                            .map(|(a, b)| {
                                a.iter().zip(b).map(|(x, y)| (i32::from(*x) - i32::from(*y)).pow(2) as u32).sum::<u32>()
                            })
                            .max()
                            .unwrap();
                        assert!(worst <= QUANTISE_MAX_ERROR.pow(2), "a pixel off by {}", f64::from(worst).sqrt());
                    }
                    TileEncoding::Truecolour => counts[2] += 1,
                }
                let path = tmp.path().join(format!("{}-{dx}-{dy}.png", mt.z));
                std::fs::write(&path, &bytes).unwrap();
                if let Some(p) = pillow_rgba(&path) {
                    assert!(p == got, "Pillow and the png crate read {} differently", path.display());
                    pillow_checked += 1;
                }
            }
        }
    }
    eprintln!(
        "indexed {}, quantised {}, truecolour {}; Pillow checked {pillow_checked}",
        counts[0], counts[1], counts[2]
    );
    eprintln!("palette {palette_bytes} bytes, truecolour {rgb_bytes} bytes");
    assert!(counts[0] > 0, "some tiles are lossless palette tiles");
    assert!(palette_bytes < rgb_bytes, "palette tiles are smaller");
}
