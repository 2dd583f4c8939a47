//! `$L` for the standalone runtime: the app's language pack, as Yao reads
//! it. Yao picks the folder `langs/<YAO_LANG>/` (default `en-us`, the
//! folder name compared in lower case) and `$L(text)` looks the text up in
//! that folder's `global.yml` (gou `lang.Replace` over the default dict);
//! a text the pack lacks comes back unchanged. The engine's `$L` calls the
//! process `lang.Replace` with `[text]` (js/README.md), which this serves.
//!
//! The pack is read once, when `run` or `serve` starts; editing it needs a
//! restart (serve's reload watches scripts and routes only).

use std::collections::HashMap;
use std::path::Path;
use yaowasm::{value, Error};

/// The name of the process `$L` calls (Yao process names ignore case).
pub const PROCESS: &str = "lang.Replace";

/// One language's global words.
pub struct Langs {
    pub locale: String,
    words: HashMap<String, String>,
}

impl Langs {
    /// The pack of `YAO_LANG` (else `en-us`) under `<app>/langs/`: `None`
    /// when the app has no folder for that language, as Yao then translates
    /// nothing; an error when its `global.yml` cannot be read or is not a
    /// map of words.
    pub fn load(app_root: &Path) -> Result<Option<Langs>, Error> {
        let locale = std::env::var("YAO_LANG").ok().filter(|l| !l.is_empty()).unwrap_or_else(|| "en-us".into()).to_lowercase();
        let Ok(entries) = std::fs::read_dir(app_root.join("langs")) else { return Ok(None) };
        let Some(dir) = entries
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().to_lowercase() == locale && e.path().is_dir())
            .map(|e| e.path())
        else {
            return Ok(None);
        };
        let file = dir.join("global.yml");
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::bad_request(format!("{}: cannot read: {e}", file.display()))),
        };
        let words = parse_words(&text).map_err(|e| Error::bad_request(format!("{}: {e}", file.display())))?;
        Ok(Some(Langs { locale, words }))
    }

    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    /// The word for `text`, or `text` itself.
    pub fn translate<'a>(&'a self, text: &'a str) -> &'a str {
        self.words.get(text).map(String::as_str).unwrap_or(text)
    }

    /// Serves `lang.Replace`: args `[text]`; a text that is not a string
    /// comes back as it is, as `$L` does with it.
    pub fn replace(&self, args: &[u8]) -> Result<Vec<u8>, Error> {
        let args = value::msgpack_to_json(args).map_err(|e| Error::bad_request(format!("{PROCESS}: {e}")))?;
        let out = match args.get(0) {
            Some(serde_json::Value::String(text)) => serde_json::Value::String(self.translate(text).to_owned()),
            Some(other) => other.clone(),
            None => return Err(Error::bad_request(format!("{PROCESS}: expects [text]"))),
        };
        value::json_to_msgpack(&out).map_err(Error::internal)
    }
}

/// `global.yml`: a map of text to word. Scalars become their text, as Go's
/// YAML decoder turns them into gou's `map[string]string`.
fn parse_words(text: &str) -> Result<HashMap<String, String>, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let mut words = HashMap::new();
    let Some(doc) = docs.into_iter().next() else { return Ok(words) };
    let scalar = |y: &Yaml| match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    match doc {
        Yaml::Hash(map) => {
            for (k, v) in &map {
                let (Some(k), Some(v)) = (scalar(k), scalar(v)) else {
                    return Err(format!("{k:?}: {v:?} is not a word (a text: its translation)"));
                };
                words.insert(k, v);
            }
            Ok(words)
        }
        Yaml::Null => Ok(words),
        _ => Err("must be a map of text: translation".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_read_as_gou_reads_them() {
        let words = parse_words("Pet: 宠物\n\"Hello World\": 你好\n3: three\nyes: true\n").unwrap();
        assert_eq!(words["Pet"], "宠物");
        assert_eq!(words["Hello World"], "你好");
        assert_eq!(words["3"], "three");
        assert_eq!(parse_words("").unwrap().len(), 0);
        assert!(parse_words("- a\n- b\n").unwrap_err().contains("map"));
        assert!(parse_words("a: [1, 2]\n").unwrap_err().contains("not a word"));
        assert!(parse_words("a: b: c\n").unwrap_err().contains("not YAML"));
    }
}
