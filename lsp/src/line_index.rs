//! Byte offsets (what the language crate speaks) to LSP positions (lines and
//! UTF-16 code units, the protocol's default encoding) and back.

use tower_lsp_server::ls_types::{Position, Range};

#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of the start of every line.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts, len: text.len() }
    }

    /// The position of a byte offset (clamped to the text, and down to a
    /// character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(self.len);
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|s| *s <= offset).saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character: usize = text.get(start..offset).map_or(0, |s| s.chars().map(char::len_utf16).sum());
        Position { line: clamp_u32(line), character: clamp_u32(character) }
    }

    pub fn range(&self, text: &str, range: std::ops::Range<usize>) -> Range {
        Range { start: self.position(text, range.start), end: self.position(text, range.end.max(range.start)) }
    }

    /// The byte offset of a position; a position past the end of its line is
    /// the end of the line, a line past the end is the end of the text.
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else { return self.len };
        let end = self.starts.get(position.line as usize + 1).map_or(self.len, |next| next.saturating_sub(1));
        let line = text.get(start..end).unwrap_or("");
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        // Past the last character: the end of the line (before `\r\n`'s `\r`
        // too would be kinder, but the protocol counts `\r` as a character).
        end
    }

    pub fn end(&self, text: &str) -> Position {
        self.position(text, self.len)
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_multibyte_characters() {
        let text = "ab\nπ😀x\n\nend";
        let index = LineIndex::new(text);
        for offset in [0, 1, 2, 3, 5, 9, 10, 11, 12, 15] {
            let p = index.position(text, offset);
            assert_eq!(index.offset(text, p), offset, "{offset} {p:?}");
        }
        assert_eq!(index.position(text, 9), Position { line: 1, character: 3 });
        assert_eq!(index.position(text, 10), Position { line: 1, character: 4 });
        assert_eq!(index.offset(text, Position { line: 1, character: 99 }), 10);
        assert_eq!(index.offset(text, Position { line: 9, character: 0 }), text.len());
        // Inside a character: down to its start.
        assert_eq!(index.position(text, 4), Position { line: 1, character: 0 });
    }
}
