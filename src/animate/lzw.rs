//! GIF's LZW compression of 8-bit palette indices, with a small hashed dictionary.
//!
//! The general encoder behind the `gif` crate (weezl) walks a tree per input byte; an
//! animation frame is mostly long runs (the "unchanged" index). Here the dictionary is an
//! open-addressing hash table of 8192 words (32 KiB, it stays in the fastest cache), each
//! holding a string's key (prefix code and next byte) and its code, as giflib does:
//! about five times fewer instructions per pixel, and no cache misses.

const MIN_CODE_SIZE: u8 = 8;
const CLEAR: u32 = 1 << MIN_CODE_SIZE;
const END: u32 = CLEAR + 1;
const FIRST_FREE: u32 = CLEAR + 2;
const MAX_CODES: u32 = 4096;
const CODE_BITS: u32 = 12;
/// Slots of the hash table (twice the most codes, so probes stay short).
const SLOTS: usize = 8192;
/// An empty slot: no entry has prefix 4095 and code 4095 (a prefix precedes its code).
const EMPTY: u32 = u32::MAX;

/// The dictionary: slot → key (prefix code << 8 | next byte) << 12 | code.
struct Dictionary(Vec<u32>);

impl Dictionary {
    fn slot(key: u32) -> usize {
        (key.wrapping_mul(0x9E37_79B1) >> (32 - SLOTS.trailing_zeros())) as usize
    }

    /// The code of a key, or the empty slot where it would go.
    fn find(&self, key: u32) -> Result<u32, usize> {
        let mut i = Self::slot(key);
        loop {
            let e = self.0[i];
            if e == EMPTY {
                return Err(i);
            }
            if e >> CODE_BITS == key {
                return Ok(e & (MAX_CODES - 1));
            }
            i = (i + 1) & (SLOTS - 1);
        }
    }

    fn clear(&mut self) {
        self.0.fill(EMPTY);
    }
}

/// Packs codes of growing width LSB-first, as GIF wants, mirroring the decoder's widths.
struct Codes {
    out: Vec<u8>,
    acc: u64,
    bits: u32,
    width: u32,
    /// The decoder's next free code (it adds an entry on reading every code but the first
    /// after a clear).
    decoder_next: u32,
    first: bool,
}

impl Codes {
    fn emit(&mut self, code: u32) {
        self.acc |= u64::from(code) << self.bits;
        self.bits += self.width;
        while self.bits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
        if code == CLEAR {
            self.reset();
            return;
        }
        if !self.first && self.decoder_next < MAX_CODES {
            self.decoder_next += 1;
            if self.decoder_next == 1 << self.width && self.width < CODE_BITS {
                self.width += 1;
            }
        }
        self.first = false;
    }

    fn reset(&mut self) {
        self.width = u32::from(MIN_CODE_SIZE) + 1;
        self.decoder_next = FIRST_FREE;
        self.first = true;
    }
}

/// Compress palette indices as the image data of a GIF frame: the minimum code size byte
/// (8) followed by the LZW code stream (clear code first, end code last), the form of
/// `gif::Frame::make_lzw_pre_encoded`.
pub fn encode(data: &[u8]) -> Vec<u8> {
    encode_runs(data, Some(RUN_BYTE))
}

/// The byte whose runs are skipped over whole: the GIF's "unchanged" index.
const RUN_BYTE: u8 = 255;

/// [`encode`], skipping through runs of `run_byte` along the dictionary's known codes for
/// ever longer runs of it (the same codes as looking each byte up, found without lookups).
fn encode_runs(data: &[u8], run_byte: Option<u8>) -> Vec<u8> {
    let mut c =
        Codes { out: Vec::with_capacity(data.len() / 4 + 16), acc: 0, bits: 0, width: 9, decoder_next: 0, first: true };
    c.out.push(MIN_CODE_SIZE);
    c.reset();
    c.emit(CLEAR);
    let Some(&head) = data.first() else {
        c.emit(END);
        return finish(c);
    };
    let t = run_byte.unwrap_or(0);
    // runs[k - 1]: the code of `t` repeated k times, for every such string in the dictionary.
    let mut runs: Vec<u32> = vec![u32::from(t)];
    let mut dict = Dictionary(vec![EMPTY; SLOTS]);
    let mut prefix = u32::from(head);
    // Some(k) while the prefix is `t` repeated k times.
    let mut run = (run_byte == Some(head)).then_some(1usize);
    let mut next = FIRST_FREE;
    let mut i = 1;
    while i < data.len() {
        let b = data[i];
        if let Some(k) = run.filter(|&k| b == t && k < runs.len()) {
            let limit = (runs.len() - k).min(data.len() - i);
            let step = run_length(&data[i..i + limit], t);
            prefix = runs[k + step - 1];
            run = Some(k + step);
            i += step;
            continue;
        }
        let key = prefix << 8 | u32::from(b);
        match dict.find(key) {
            Ok(code) => {
                prefix = code;
                run = None;
            }
            Err(slot) => {
                c.emit(prefix);
                if next < MAX_CODES {
                    dict.0[slot] = key << CODE_BITS | next;
                    if run == Some(runs.len()) && b == t {
                        runs.push(next);
                    }
                    next += 1;
                } else {
                    c.emit(CLEAR);
                    dict.clear();
                    runs.truncate(1);
                    next = FIRST_FREE;
                }
                prefix = u32::from(b);
                run = (run_byte == Some(b)).then_some(1);
            }
        }
        i += 1;
    }
    c.emit(prefix);
    c.emit(END);
    finish(c)
}

/// How many bytes at the start of `data` equal `t`: eight at a time, then one by one.
fn run_length(data: &[u8], t: u8) -> usize {
    let eight = u64::from_le_bytes([t; 8]);
    let (words, _) = data.as_chunks::<8>();
    let whole = words.iter().position(|w| u64::from_le_bytes(*w) != eight).unwrap_or(words.len()) * 8;
    whole + data[whole..].iter().position(|&x| x != t).unwrap_or(data.len() - whole)
}

fn finish(mut c: Codes) -> Vec<u8> {
    if c.bits > 0 {
        c.out.push(c.acc as u8);
    }
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode with the `gif` crate's own reader (weezl), through a one-frame GIF.
    fn decode(lzw: &[u8], len: usize) -> Vec<u8> {
        let (w, h) = if len.is_multiple_of(1000) { (1000, (len / 1000) as u16) } else { (len.max(1) as u16, 1u16) };
        let palette: Vec<u8> = (0..256 * 3).map(|i| i as u8).collect();
        let mut bytes = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut bytes, w, h, &palette).unwrap();
            let f = gif::Frame { width: w, height: h, buffer: std::borrow::Cow::Borrowed(lzw), ..Default::default() };
            e.write_lzw_pre_encoded_frame(&f).unwrap();
        }
        let mut o = gif::DecodeOptions::new();
        o.set_color_output(gif::ColorOutput::Indexed);
        let mut d = o.read_info(std::io::Cursor::new(bytes)).unwrap();
        d.read_next_frame().unwrap().unwrap().buffer.to_vec()
    }

    #[test]
    fn round_trips_through_an_independent_decoder() {
        // Runs, noise (fills the dictionary: several clears), a mix, and tiny inputs.
        let mut seed = 0x2545_f491_u32;
        let mut noise = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        };
        let random: Vec<u8> = (0..70_000).map(|_| noise()).collect();
        let mixed: Vec<u8> = (0..120_000u32).map(|i| if i % 997 < 600 { 255 } else { (i / 7 % 40) as u8 }).collect();
        let runs = vec![255u8; 65_000];
        let long_runs: Vec<u8> = (0..300_000u32).map(|i| if i % 5000 < 4700 { 255 } else { (i % 3) as u8 }).collect();
        for data in [vec![7u8], vec![255], vec![1, 2], vec![255, 255, 255], random, mixed, runs, long_runs] {
            let lzw = encode(&data);
            assert_eq!(decode(&lzw, data.len()), data, "{} bytes", data.len());
            // Skipping through runs gives exactly the codes of looking up every byte.
            assert!(lzw == encode_runs(&data, None), "{} bytes: run skipping changed the codes", data.len());
        }
    }

    #[test]
    fn run_lengths() {
        assert_eq!(run_length(&[], 255), 0);
        for len in 0..40 {
            for tail in [0usize, 1, 9] {
                let mut v = vec![255u8; len];
                v.extend(std::iter::repeat_n(3u8, tail));
                v.extend([255, 255]);
                assert_eq!(run_length(&v, 255), if tail == 0 { len + 2 } else { len }, "{len} {tail}");
            }
        }
    }

    #[test]
    fn smaller_than_the_general_encoder_or_about_the_same() {
        let data: Vec<u8> = (0..50_000u32).map(|i| if i % 300 < 200 { 255 } else { (i % 13) as u8 }).collect();
        let mut f =
            gif::Frame { width: 50_000, height: 1, buffer: std::borrow::Cow::Borrowed(&data), ..Default::default() };
        f.make_lzw_pre_encoded();
        let ours = encode(&data).len();
        assert!(ours as f64 <= f.buffer.len() as f64 * 1.02, "{ours} vs {}", f.buffer.len());
    }
}
