//! Just enough of the zip format to read an OSV export (`PyPI/all.zip`):
//! the central directory, and each member stored or deflated. The `zip`
//! crate would bring compression, encryption and a proc-macro along; this
//! reader needs miniz_oxide's raw inflate only. ZIP64 archives (over 4 GiB
//! or 65 535 members) and encrypted members are refused with that reason.

/// The largest archive read, and the largest member inflated.
const MAX_ARCHIVE: u64 = 1 << 30;

/// One member of an archive: its name and its bytes, inflated.
pub struct Member {
    pub name: String,
    pub bytes: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]) as usize)
}

/// Reads the members whose name passes `want`, each inflated up to
/// `max_member` bytes.
pub fn read(path: &std::path::Path, want: impl Fn(&str) -> bool, max_member: usize) -> Result<Vec<Member>, String> {
    use std::io::Read;
    let shown = path.display();
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ARCHIVE + 1).read_to_end(&mut data))
        .map_err(|e| format!("`{shown}`: {e}"))?;
    if data.len() as u64 > MAX_ARCHIVE {
        return Err(format!("`{shown}`: larger than {} MiB", MAX_ARCHIVE >> 20));
    }
    let bad = |what: &str| format!("`{shown}`: not a readable zip archive ({what})");
    // The end-of-central-directory record: 22 bytes plus a comment of at
    // most 64 KiB, at the end.
    let from = data.len().saturating_sub(22 + 65_535);
    let eocd = (from..data.len().saturating_sub(21))
        .rev()
        .find(|&i| data.get(i..i + 4) == Some(&[0x50, 0x4b, 0x05, 0x06][..]))
        .ok_or_else(|| bad("no end of central directory"))?;
    let count = u16_at(&data, eocd + 10).ok_or_else(|| bad("truncated"))?;
    let mut at = u32_at(&data, eocd + 16).ok_or_else(|| bad("truncated"))?;
    if count == 0xffff || at == 0xffff_ffff {
        return Err(format!("`{shown}`: ZIP64 archives are not read; unpack it and pass the directory"));
    }
    let mut out = Vec::new();
    for _ in 0..count {
        if data.get(at..at + 4) != Some(&[0x50, 0x4b, 0x01, 0x02][..]) {
            return Err(bad("broken central directory"));
        }
        let field = |off: usize, len: u8| match len {
            2 => u16_at(&data, at + off),
            _ => u32_at(&data, at + off),
        };
        let (flags, method) = (field(8, 2), field(10, 2));
        let (size, name_len, extra_len, comment_len, local) =
            (field(20, 4), field(28, 2), field(30, 2), field(32, 2), field(42, 4));
        let (Some(flags), Some(method), Some(size), Some(name_len), Some(extra_len), Some(comment_len), Some(local)) =
            (flags, method, size, name_len, extra_len, comment_len, local)
        else {
            return Err(bad("truncated central directory"));
        };
        let name = data.get(at + 46..at + 46 + name_len).ok_or_else(|| bad("truncated name"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        at += 46 + name_len + extra_len + comment_len;
        if name.ends_with('/') || !want(&name) {
            continue;
        }
        if flags & 1 != 0 {
            return Err(format!("`{shown}`: member `{name}` is encrypted"));
        }
        let local_name = u16_at(&data, local + 26).ok_or_else(|| bad("truncated local header"))?;
        let local_extra = u16_at(&data, local + 28).ok_or_else(|| bad("truncated local header"))?;
        let start = local + 30 + local_name + local_extra;
        let raw = data.get(start..start + size).ok_or_else(|| bad("member runs past the end"))?;
        let bytes = match method {
            0 if raw.len() <= max_member => raw.to_vec(),
            0 => return Err(format!("`{shown}`: member `{name}` is larger than {max_member} bytes")),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(raw, max_member)
                .map_err(|e| format!("`{shown}`: member `{name}`: cannot inflate ({:?})", e.status))?,
            m => return Err(format!("`{shown}`: member `{name}` uses compression method {m}, which is not read")),
        };
        out.push(Member { name, bytes });
    }
    Ok(out)
}
