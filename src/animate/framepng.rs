//! PNG frames that re-encode only the parts of rows that changed since the frame before.
//!
//! A frame is written as 8-bit RGB, every row Paeth-filtered, in one deflate block with
//! a fixed Huffman code: the code of the `fdeflate` crate (which `png` uses for its fast
//! setting), tuned for filtered image data, with literals and runs of zero bytes only
//! (a zero, then copies at distance 1). Each row is cut into pieces of [`PIECE`] pixels
//! and zero runs end at a piece's edge, so nothing refers back past the start of a piece:
//! a piece's bits and its share of the Adler-32 checksum depend only on its pixels, the
//! pixel to its left and those same pixels in the row above (Paeth's neighbours). A piece
//! whose pixels equal the previous frame's there keeps its bits, and a frame is the
//! concatenation of its pieces' bits, whoever encoded them. In a map animation most of a
//! frame does not change from one year to the next, and a flat run of pixels (equal to the
//! left, upper and upper-left neighbours) is three zero bytes a pixel that cost no
//! per-byte work at all.

use std::sync::Arc;

/// Code lengths of the literal/length alphabet (0–255 literals, 256 end of block,
/// 257–285 lengths), as in `fdeflate` 0.3 (`tables::HUFFMAN_LENGTHS`, MIT OR Apache-2.0).
static LENGTHS: [u8; 286] = [
    2, 3, 4, 5, 5, 6, 6, 7, 7, 7, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 10, 11, 10, 10, 10, 10, 10, 10, 10, 10, 10, 9, 9,
    9, 9, 9, 8, 9, 8, 8, 8, 8, 8, 7, 7, 7, 6, 6, 6, 5, 4, 3, 12, 12, 12, 9, 9, 11, 10, 11, 11, 10, 11, 11, 11, 11, 11,
    11, 12, 11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 9,
];

/// The zlib header and the dynamic block header (the last byte holds 5 bits) that declare
/// [`LENGTHS`] and a distance code whose one-bit code `0` means distance 1, as in
/// `fdeflate` 0.3 (`Compressor::write_headers`).
const HEADER: [u8; 54] = [
    120, 1, 237, 192, 3, 160, 36, 89, 150, 198, 241, 255, 119, 238, 141, 200, 204, 167, 114, 75, 99, 174, 109, 219,
    182, 109, 219, 182, 109, 219, 182, 109, 105, 140, 158, 150, 74, 175, 158, 50, 51, 34, 238, 249, 118, 183, 106, 122,
    166, 135, 59, 107, 213, 15,
];
const HEADER_TAIL_BITS: u32 = 5;

/// Deflate's length symbols: first length of each of 257–285, and its extra bits.
const LENGTH_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
/// Adler-32's modulus.
const ADLER: u64 = 65_521;
/// The filter type byte of every row.
const PAETH: u8 = 4;

/// The canonical codes of [`LENGTHS`], bit-reversed for LSB-first packing.
static CODES: [u16; 286] = {
    let mut codes = [0u16; 286];
    let mut code = 0u32;
    let mut len = 1;
    while len <= 15 {
        let mut i = 0;
        while i < 286 {
            if LENGTHS[i] == len {
                codes[i] = (code as u16).reverse_bits() >> (16 - len);
                code += 1;
            }
            i += 1;
        }
        code <<= 1;
        len += 1;
    }
    codes
};

/// A literal's code and width.
#[inline(always)]
fn literal(b: u8) -> (u64, u32) {
    (u64::from(CODES[usize::from(b)]), u32::from(LENGTHS[usize::from(b)]))
}

/// Each copy length 3–258 as one write: the length code, its extra bits, and the distance
/// code `0` (distance 1).
static COPIES: std::sync::LazyLock<Vec<(u32, u8)>> = std::sync::LazyLock::new(|| {
    (0..=258u16)
        .map(|len| {
            if len < 3 {
                return (0, 0);
            }
            let s = if len == 258 { 28 } else { LENGTH_BASE.iter().rposition(|&b| b <= len).expect("len >= 3") };
            let (code, width) = (u32::from(CODES[257 + s]), u32::from(LENGTHS[257 + s]));
            let extra = u32::from(LENGTH_EXTRA[s]);
            let bits = code | u32::from(len - LENGTH_BASE[s]) << width;
            (bits, (width + extra + 1) as u8)
        })
        .collect()
});

/// Bits packed LSB first.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    #[inline(always)]
    fn put(&mut self, bits: u64, n: u32) {
        self.acc |= bits << self.n;
        self.n += n;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// A zero run of `run` bytes: a literal zero, then copies of it.
    #[inline(never)]
    fn zeros(&mut self, mut run: u32) {
        let (z, zn) = literal(0);
        self.put(z, zn);
        run -= 1;
        let copies = &*COPIES;
        while run >= 258 {
            let (b, n) = copies[258];
            self.put(u64::from(b), u32::from(n));
            run -= 258;
        }
        if run > 4 {
            let (b, n) = copies[run as usize];
            self.put(u64::from(b), u32::from(n));
        } else {
            // The zero literal's code is all zero bits.
            self.put(0, run * zn);
        }
    }

    /// The bit count and the bytes (the last one partly filled).
    fn finish(mut self) -> (u64, Vec<u8>) {
        let total = self.out.len() as u64 * 8 + u64::from(self.n);
        let tail = self.n.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..tail]);
        (total, self.out)
    }
}

/// Bit strings joined at any bit offset, 64 bits at a time.
struct Stream {
    out: Vec<u8>,
    acc: u128,
    n: u32,
}

impl Stream {
    /// Append the low `n` (at most 64) bits of `bits`.
    #[inline(always)]
    fn put(&mut self, bits: u64, n: u32) {
        self.acc |= u128::from(bits) << self.n;
        self.n += n;
        if self.n >= 64 {
            self.out.extend_from_slice(&(self.acc as u64).to_le_bytes());
            self.acc >>= 64;
            self.n -= 64;
        }
    }
}

/// One filtered, compressed row: its bits, and its share of the Adler-32 checksum.
pub struct RowCode {
    bits: Vec<u8>,
    nbits: u64,
    /// Filtered bytes it stands for.
    len: u64,
    /// Sum of the row's filtered bytes, mod 65521.
    sum: u64,
    /// Sum of the running sums, mod 65521 (how the row moves Adler-32's second half).
    weighted: u64,
}

/// Pixels in a piece: each row is encoded as pieces of this many pixels, zero runs cut
/// at their edges, so a change re-encodes only the pieces it touches.
pub const PIECE: usize = 128;

/// Encode pixels `x0..x1` of row `cur` (premultiplied RGBA words) under `above` (None
/// for the first row), with the row's filter type byte first when `x0` is 0. None if a
/// pixel is not opaque (such frames are written as RGBA elsewhere).
pub fn encode_row(cur: &[[u8; 4]], above: Option<&[[u8; 4]]>, x0: usize, x1: usize) -> Option<RowCode> {
    let mut bits = Bits { out: Vec::with_capacity((x1 - x0) / 2 + 16), acc: 0, n: 0 };
    let (mut s, mut t) = (0u64, 0u64);
    let mut run = 0u32;
    if x0 == 0 {
        let (p, pn) = literal(PAETH);
        bits.put(p, pn);
        s += u64::from(PAETH);
        t += s;
    }
    // The first row is filtered against a row of zeros.
    let zeros;
    let up = match above {
        Some(up) => up,
        None => {
            zeros = vec![[0u8; 4]; cur.len()];
            &zeros
        }
    };
    let n = x1.min(cur.len()).min(up.len());
    let mut alpha = u32::MAX;
    let mut x = x0;
    while x < n {
        let px = cur[x];
        alpha &= u32::from_le_bytes(px);
        if x > 0 && px == cur[x - 1] && px == up[x] && px == up[x - 1] {
            // Flat: equal to its left, upper and upper-left neighbours, and so, as far as
            // the row and the row above stay this colour, are the pixels after it.
            let mut k = x + 1;
            // Eight pixels (32 bytes) at a time, compared as whole arrays (vector compares).
            let eight: [u8; 32] = std::array::from_fn(|i| px[i % 4]);
            let (cb, ub) = (cur[..n].as_flattened(), up[..n].as_flattened());
            while k + 8 <= n {
                let (c8, u8_): (&[u8; 32], &[u8; 32]) = (
                    cb[k * 4..k * 4 + 32].try_into().expect("32 bytes"),
                    ub[k * 4..k * 4 + 32].try_into().expect("32 bytes"),
                );
                if *c8 != eight || *u8_ != eight {
                    break;
                }
                k += 8;
            }
            while k < n && cur[k] == px && up[k] == px {
                k += 1;
            }
            let m = (k - x) as u32 * 3;
            run += m;
            t += u64::from(m) * s;
            x = k;
            continue;
        }
        let (a, b, c) = if x > 0 { (cur[x - 1], up[x], up[x - 1]) } else { ([0; 4], up[x], [0; 4]) };
        for k in 0..3 {
            let v = px[k].wrapping_sub(paeth(a[k], b[k], c[k]));
            s += u64::from(v);
            t += s;
            if v == 0 {
                run += 1;
            } else {
                if run > 0 {
                    bits.zeros(run);
                    run = 0;
                }
                let (l, ln) = literal(v);
                bits.put(l, ln);
            }
        }
        x += 1;
    }
    if alpha >> 24 != 0xFF {
        return None;
    }
    if run > 0 {
        bits.zeros(run);
    }
    let (nbits, bits) = bits.finish();
    let len = (n.saturating_sub(x0) * 3 + usize::from(x0 == 0)) as u64;
    Some(RowCode { bits, nbits, len, sum: s % ADLER, weighted: t % ADLER })
}

#[inline(always)]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (i16::from(a), i16::from(b), i16::from(c));
    let pa = (ib - ic).abs();
    let pb = (ia - ic).abs();
    let pc = (ia + ib - 2 * ic).abs();
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// The pieces of one frame, row by row ([`pieces`] a row): each one's code, encoded for
/// this frame or kept from an earlier one (None for a piece with a pixel that is not opaque).
pub type Rows = Vec<Option<Arc<RowCode>>>;

/// Pieces in a row of `width` pixels.
pub fn pieces(width: usize) -> usize {
    width.div_ceil(PIECE).max(1)
}

/// The pieces that need encoding for frame `cur` after frame `prev` (all of them when
/// there is none): a piece's bits depend on its pixels, the pixel left of it, and the
/// same pixels of the row above, so those whose pixels changed and those below them.
pub fn rows_to_encode(prev: Option<&[u8]>, cur: &[u8], width: usize) -> Vec<bool> {
    let row = width * 4;
    let height = cur.len() / row.max(1);
    let np = pieces(width);
    let Some(prev) = prev.filter(|p| p.len() == cur.len()) else { return vec![true; height * np] };
    let mut changed = vec![false; height * np];
    for y in 0..height {
        let (a, b) = (&prev[y * row..(y + 1) * row], &cur[y * row..(y + 1) * row]);
        if a == b {
            continue;
        }
        for k in 0..np {
            let (x0, x1) = ((k * PIECE).saturating_sub(1), ((k + 1) * PIECE).min(width));
            changed[y * np + k] = a[x0 * 4..x1 * 4] != b[x0 * 4..x1 * 4];
        }
    }
    (0..height * np).map(|i| changed[i] || (i >= np && changed[i - np])).collect()
}

/// Encode the pieces marked in `which` of an RGBA frame (None for the others).
pub fn encode_rows(cur: &[u8], width: usize, which: &[bool]) -> Vec<Option<Option<Arc<RowCode>>>> {
    let (words, _) = cur.as_chunks::<4>();
    let row = |y: usize| &words[y * width..(y + 1) * width];
    let np = pieces(width);
    which
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let (y, k) = (i / np, i % np);
            let (x0, x1) = (k * PIECE, ((k + 1) * PIECE).min(width));
            w.then(|| encode_row(row(y), (y > 0).then(|| row(y - 1)), x0, x1).map(Arc::new))
        })
        .collect()
}

/// The PNG file of a frame whose rows are all encoded (None if a row is not opaque).
pub fn assemble(rows: &Rows, width: u32, dpi: f32) -> Option<Vec<u8>> {
    let height = (rows.len() / pieces(width as usize)) as u32;
    let total_bits: u64 = rows.iter().map(|r| r.as_ref().map_or(0, |r| r.nbits)).sum();
    let mut z = Stream { out: Vec::with_capacity((total_bits / 8) as usize + 64), acc: 0, n: 0 };
    z.out.extend_from_slice(&HEADER[..53]);
    z.put(u64::from(HEADER[53]), HEADER_TAIL_BITS);
    let (mut a, mut b) = (1u64, 0u64);
    for r in rows {
        let r = r.as_ref()?;
        b = (b + r.len % ADLER * a + r.weighted) % ADLER;
        a = (a + r.sum) % ADLER;
        let whole = (r.nbits / 64) as usize;
        let (words, _) = r.bits.as_chunks::<8>();
        for w in &words[..whole] {
            z.put(u64::from_le_bytes(*w), 64);
        }
        let rest = (r.nbits % 64) as u32;
        if rest > 0 {
            let mut tail = [0u8; 8];
            let from = whole * 8;
            tail[..r.bits.len() - from].copy_from_slice(&r.bits[from..]);
            z.put(u64::from_le_bytes(tail) & ((1 << rest) - 1), rest);
        }
    }
    z.put(u64::from(CODES[256]), u32::from(LENGTHS[256]));
    let tail = z.n.div_ceil(8) as usize;
    let mut idat = z.out;
    idat.extend_from_slice(&z.acc.to_le_bytes()[..tail]);
    idat.extend_from_slice(&((b << 16 | a) as u32).to_be_bytes());

    let mut png = Vec::with_capacity(idat.len() + 128);
    png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    let ppm = (f64::from(dpi) / 0.0254).round() as u32;
    let mut phys = Vec::with_capacity(9);
    phys.extend_from_slice(&ppm.to_be_bytes());
    phys.extend_from_slice(&ppm.to_be_bytes());
    phys.push(1);
    chunk(&mut png, b"pHYs", &phys);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    Some(png)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().expect("a PNG");
        let mut buf = vec![0; r.output_buffer_size().expect("size")];
        let info = r.next_frame(&mut buf).expect("a frame");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        (info.width, info.height, buf[..info.buffer_size()].to_vec())
    }

    /// A frame with flat areas, gradients, noise and edges, made opaque.
    fn frame(w: usize, h: usize, seed: u32) -> Vec<u8> {
        let mut s = seed | 1;
        let mut noise = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s
        };
        let mut px = Vec::with_capacity(w * h * 4);
        for y in 0..h {
            for x in 0..w {
                let c = if y < h / 3 {
                    [200, 190, 170]
                } else if y < h / 2 {
                    [(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8]
                } else if x % 37 < 5 {
                    let n = noise();
                    [n as u8, (n >> 8) as u8, (n >> 16) as u8]
                } else {
                    [10, 120, 250]
                };
                px.extend_from_slice(&[c[0], c[1], c[2], 255]);
            }
        }
        px
    }

    fn rows_of(px: &[u8], w: usize) -> Rows {
        let h = px.len() / (w * 4);
        encode_rows(px, w, &vec![true; h * pieces(w)]).into_iter().map(|r| r.expect("all encoded")).collect()
    }

    #[test]
    fn frames_decode_to_their_pixels_through_an_independent_reader() {
        for (w, h) in [(1, 1), (3, 2), (97, 61), (640, 40)] {
            let px = frame(w, h, (w * h) as u32);
            let png_bytes = assemble(&rows_of(&px, w), w as u32, 96.0).expect("opaque");
            let (dw, dh, rgb) = decode(&png_bytes);
            assert_eq!((dw as usize, dh as usize), (w, h));
            let want: Vec<u8> = px.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            assert!(rgb == want, "{w}x{h}");
            // flate2 (miniz_oxide) checks the zlib stream and its Adler-32 on its own.
            let idat = &png_bytes[8 + 25 + 21 + 8..png_bytes.len() - 12 - 4];
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(idat), &mut raw).expect("a zlib stream");
            assert_eq!(raw.len(), h * (1 + 3 * w));
        }
    }

    #[test]
    fn long_zero_runs_and_every_run_length_decode() {
        // Flat rows (runs far longer than 258) and runs of every length 1–300 between edges.
        let w = 700;
        let mut px = vec![255u8; w * 4 * 3];
        for x in (0..w).step_by(1) {
            let at = (w + x) * 4;
            let run = x % 301;
            if run == 0 || x % 97 == 0 {
                px[at] = (x % 251) as u8;
            }
        }
        let png_bytes = assemble(&rows_of(&px, w), w as u32, 72.0).expect("opaque");
        let (_, _, rgb) = decode(&png_bytes);
        let want: Vec<u8> = px.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        assert!(rgb == want);
    }

    #[test]
    fn kept_pieces_give_the_same_file_as_a_fresh_encoding() {
        let (w, h) = (300, 50);
        let a = frame(w, h, 7);
        // Changes in one piece, at a piece's first pixel (the next piece's left neighbour
        // is then unchanged) and at a piece's last pixel (it is the next piece's left).
        for (x0, x1, want) in [(10, 30, 2), (128, 129, 2), (127, 128, 4), (0, 300, 6)] {
            let mut b = a.clone();
            for x in x0..x1 {
                b[(20 * w + x) * 4 + 1] ^= 0x55;
            }
            let which = rows_to_encode(Some(&a), &b, w);
            assert_eq!(which.iter().filter(|&&x| x).count(), want, "pieces to encode for {x0}..{x1}");
            let mut rows = rows_of(&a, w);
            for (i, fresh) in encode_rows(&b, w, &which).into_iter().enumerate() {
                if let Some(r) = fresh {
                    rows[i] = r;
                }
            }
            let kept = assemble(&rows, w as u32, 96.0).expect("opaque");
            assert!(kept == assemble(&rows_of(&b, w), w as u32, 96.0).expect("opaque"), "{x0}..{x1}");
            let want_rgb: Vec<u8> = b.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            assert!(decode(&kept).2 == want_rgb);
        }
    }

    #[test]
    fn a_translucent_pixel_is_refused() {
        let mut px = frame(8, 4, 3);
        px[4 * 9 + 3] = 128;
        assert!(assemble(&rows_of(&px, 8), 8, 96.0).is_none());
    }
}
