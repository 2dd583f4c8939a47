//! The error path of a JS script: its QuickJS stack, whose positions are in
//! the bundle, mapped back to the `.ts`/`.js` sources with the hook's source
//! map (source map v3, as esbuild writes it: `sources`, `names`,
//! `mappings`, never `sourcesContent`).
//!
//! Nothing here runs on a call that succeeds: the map stays the bytes of the
//! hook's `yaowasm.js.sourcemap` section until an error needs it, and then
//! only the `mappings` up to the frame's line are decoded. The format is
//! small enough (base64 VLQ, five relative fields) that a few lines here
//! replace a crate and its seven dependencies in the shipped library.

use serde::Deserialize;

#[derive(Deserialize)]
struct RawMap<'a> {
    #[serde(default)]
    sources: Vec<Option<String>>,
    #[serde(default)]
    #[serde(rename = "sourceRoot")]
    source_root: Option<String>,
    #[serde(borrow)]
    mappings: std::borrow::Cow<'a, str>,
}

/// A place in a source: 1-based line and column, as stack frames show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub source: String,
    pub line: u32,
    pub column: u32,
}

/// A parsed map (only its sources and mappings text; decoded per lookup).
pub struct SourceMap<'a> {
    sources: Vec<String>,
    mappings: std::borrow::Cow<'a, str>,
}

impl<'a> SourceMap<'a> {
    pub fn parse(bytes: &'a [u8]) -> Option<SourceMap<'a>> {
        let raw: RawMap<'a> = serde_json::from_slice(bytes).ok()?;
        let root = raw.source_root.unwrap_or_default();
        let sources = raw
            .sources
            .into_iter()
            .map(|s| {
                let s = s.unwrap_or_default();
                if root.is_empty() {
                    s
                } else {
                    format!("{}/{s}", root.trim_end_matches('/'))
                }
            })
            .collect();
        Some(SourceMap { sources, mappings: raw.mappings })
    }

    /// The source place of generated `line`:`column` (both 1-based, as
    /// QuickJS reports them): the last mapping at or before the column on
    /// that line, else the line's first one.
    pub fn lookup(&self, line: u32, column: u32) -> Option<Place> {
        let (want_line, want_col) = (line.checked_sub(1)?, i64::from(column.saturating_sub(1)));
        // Fields 2-4 (source, line, column) are relative across the whole
        // text; field 1 (the generated column) restarts on each line.
        let (mut src, mut src_line, mut src_col) = (0i64, 0i64, 0i64);
        let mut best: Option<(i64, i64, i64)> = None;
        let mut first: Option<(i64, i64, i64)> = None;
        for (n, text) in self.mappings.split(';').enumerate() {
            let on_line = n as u32 == want_line;
            let mut gen_col = 0i64;
            for segment in text.split(',').filter(|s| !s.is_empty()) {
                let fields = vlq(segment)?;
                gen_col += fields[0];
                if fields.len() < 4 {
                    continue;
                }
                src += fields[1];
                src_line += fields[2];
                src_col += fields[3];
                if on_line {
                    first.get_or_insert((src, src_line, src_col));
                    if gen_col <= want_col {
                        best = Some((src, src_line, src_col));
                    }
                }
            }
            if on_line {
                break;
            }
        }
        let (src, line, col) = best.or(first)?;
        let source = self.sources.get(usize::try_from(src).ok()?)?.clone();
        Some(Place { source, line: u32::try_from(line + 1).ok()?, column: u32::try_from(col + 1).ok()? })
    }
}

/// One segment's fields (base64 VLQ); `None` when malformed.
fn vlq(segment: &str) -> Option<Vec<i64>> {
    let mut fields = Vec::with_capacity(5);
    let (mut value, mut shift) = (0i64, 0u32);
    for b in segment.bytes() {
        let digit = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as i64;
        if shift > 60 {
            return None;
        }
        value |= (digit & 31) << shift;
        if digit & 32 != 0 {
            shift += 5;
            continue;
        }
        fields.push(if value & 1 == 1 { -(value >> 1) } else { value >> 1 });
        (value, shift) = (0, 0);
    }
    (shift == 0 && !fields.is_empty()).then_some(fields)
}

/// One line of a QuickJS stack: `    at NAME (FILE:LINE:COL)`, or
/// `(native)`, or `    at FILE:LINE:COL`.
struct Frame<'a> {
    name: Option<&'a str>,
    file: &'a str,
    line: Option<(u32, u32)>,
}

fn parse_frame(text: &str) -> Option<Frame<'_>> {
    let rest = text.trim_start().strip_prefix("at ")?;
    let (name, location) = match rest.strip_suffix(')').and_then(|r| r.rsplit_once(" (")) {
        Some((name, location)) => (Some(name), location),
        None => (None, rest),
    };
    let numbers = location.rsplit_once(':').and_then(|(head, col)| {
        let (file, line) = head.rsplit_once(':')?;
        Some((file, line.parse().ok()?, col.parse().ok()?))
    });
    Some(match numbers {
        Some((file, line, col)) => Frame { name, file, line: Some((line, col)) },
        None => Frame { name, file: location, line: None },
    })
}

/// What an uncaught error's stack gives the host.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mapped {
    /// Every frame, one `    at …` line each, script frames mapped to
    /// their sources, the prelude's frames (and native frames right above
    /// one, as the entry's `apply`) left out.
    pub frames: Vec<String>,
    /// The first frame mapped to a source: `helper (scripts/t.ts:5:11)`.
    pub top: Option<String>,
}

/// Maps the frames of `stack` (QuickJS's `error.stack`) that are in the
/// script `script` (the name it was compiled under) with `map`.
pub fn map_stack(stack: &str, script: &str, map: Option<&[u8]>) -> Mapped {
    let map = map.and_then(SourceMap::parse);
    let mut out = Mapped::default();
    for text in stack.lines() {
        let Some(frame) = parse_frame(text) else { continue };
        if frame.file == "<yaowasm prelude>" {
            // With the native frames it called through (the entry's
            // `apply`).
            while out.frames.last().is_some_and(|f| f.ends_with(" (native)")) {
                out.frames.pop();
            }
            continue;
        }
        let place = match (&map, frame.line) {
            (Some(map), Some((line, col))) if frame.file == script => map.lookup(line, col),
            _ => None,
        };
        let shown = match (&place, frame.name) {
            (Some(p), Some(name)) => format!("{name} ({}:{}:{})", p.source, p.line, p.column),
            (Some(p), None) => format!("{}:{}:{}", p.source, p.line, p.column),
            // Not mapped: a native frame as QuickJS shows it; a script
            // frame without a map shows no bundle position (it would name
            // the .ts with the bundle's line), only its function.
            (None, name) if frame.file == script || frame.file == "<null>" => name.unwrap_or("<anonymous>").to_string(),
            (None, _) => text.trim_start().trim_start_matches("at ").to_string(),
        };
        if place.is_some() && out.top.is_none() {
            out.top = Some(shown.clone());
        }
        out.frames.push(format!("    at {shown}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // esbuild's map of a two-file bundle (scripts/lib/h.ts, scripts/t.ts):
    //  1 (() => {
    //  2   // scripts/lib/h.ts
    //  3   function deep(x) {
    //  4     if (x > 1) throw new Error("too deep");
    //  5     return x;
    //  6   }
    //  7
    //  8   // scripts/t.ts
    //  9   function b(n) {
    // 10     return deep(n);
    const MAP: &str = r#"{"version": 3, "sources": ["scripts/lib/h.ts", "scripts/t.ts"],
      "mappings": ";;AACO,WAAS,KAAK,GAAmB;AACtC,QAAI,IAAI,EAAG,OAAM,IAAI,MAAM,UAAU;AACrC,WAAO;AAAA,EACT;;;ACHA,WAAS,EAAE,GAAW;AACpB,WAAO,KAAK,CAAC;AAAA,EACf;AACO,WAAS,KAAK,GAAW;AAC9B,WAAO,EAAE,CAAC;AAAA,EACZ;",
      "names": []}"#;

    #[test]
    fn vlq_fields() {
        assert_eq!(vlq("AAAA"), Some(vec![0, 0, 0, 0]));
        assert_eq!(vlq("AACtC"), Some(vec![0, 0, 1, -38]));
        assert_eq!(vlq("gB"), Some(vec![16]));
        assert_eq!(vlq("g"), None, "a continuation with nothing after it");
        assert_eq!(vlq("A*"), None);
    }

    #[test]
    fn lookups_land_on_the_source_line_and_column() {
        let map = SourceMap::parse(MAP.as_bytes()).unwrap();
        // `throw` on bundle line 4, col 16 (1-based) is h.ts line 3 col 14.
        assert_eq!(map.lookup(4, 16), Some(Place { source: "scripts/lib/h.ts".into(), line: 3, column: 14 }));
        // `deep(n)` on bundle line 10 is t.ts line 3.
        assert_eq!(map.lookup(10, 12).map(|p| (p.source, p.line)), Some(("scripts/t.ts".into(), 3)));
        // Before the first mapping on a line: that line's first mapping.
        assert_eq!(map.lookup(4, 1).map(|p| p.line), Some(3));
        // A line with no mappings, a line past the end.
        assert_eq!(map.lookup(7, 1), None);
        assert_eq!(map.lookup(99, 1), None);
    }

    #[test]
    fn stacks_are_mapped_and_the_prelude_left_out() {
        let stack = "    at deep (/app/t.ts:4:16)\n    at map (native)\n    at b (/app/t.ts:10:12)\n    at apply (native)\n    at invoke (<yaowasm prelude>:180:14)\n";
        let m = map_stack(stack, "/app/t.ts", Some(MAP.as_bytes()));
        assert_eq!(m.top.as_deref(), Some("deep (scripts/lib/h.ts:3:14)"));
        assert_eq!(m.frames, vec!["    at deep (scripts/lib/h.ts:3:14)", "    at map (native)", "    at b (scripts/t.ts:3:10)"]);
        // No map: functions only, no bundle positions under the .ts name.
        let m = map_stack(stack, "/app/t.ts", None);
        assert_eq!(m.top, None);
        assert_eq!(m.frames, vec!["    at deep", "    at map (native)", "    at b"]);
    }
}
