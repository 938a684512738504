//! Terraform stage: finding, reading and parsing `.tf` and `.tf.json` files, with located syntax
//! errors. A file that fails to parse is reported and skipped; the others are still read.

use std::path::{Path, PathBuf};

use hcl_edit::structure::Body;
use miette::{Diagnostic, NamedSource, SourceSpan};

/// One Terraform source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as found (the linted directory joined with the relative path).
    pub path: PathBuf,
    /// File contents.
    pub text: String,
    /// Parsed body; `None` when the file has a syntax error.
    pub body: Option<Body>,
    /// Whether the file is JSON syntax (`.tf.json`): values are read, but spans point at the file
    /// start because the HCL body is synthesised.
    pub json: bool,
    /// Object keys given more than once (Terraform keeps the last value, and so does the body).
    pub repeated_keys: Vec<super::RepeatedKey>,
}

impl SourceFile {
    /// The directory holding the file.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("."))
    }
}

/// An error reading Terraform input, located where possible.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum LoadError {
    /// A syntax error.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(Box<SyntaxError>),
    /// A file could not be read.
    #[error("cannot read {path}")]
    #[diagnostic(code(tighten::io))]
    Io {
        /// File path for display.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// A syntax error at a file position.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("syntax error in {path}: {message}")]
#[diagnostic(code(tighten::syntax))]
pub struct SyntaxError {
    /// File path for display.
    pub path: String,
    /// What the parser says.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The file.
    #[source_code]
    pub src: NamedSource<String>,
    /// Where.
    #[label("here")]
    pub at: SourceSpan,
}

/// Every `.tf` / `.tf.json` file under `root`, recursively, skipping `.terraform/` and hidden
/// directories; sorted for deterministic output.
pub fn discover(root: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| LoadError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !name.starts_with('.') {
                    stack.push(path);
                }
            } else if is_terraform(&name) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn is_terraform(name: &str) -> bool {
    let ext = |p: &Path, e: &str| p.extension().is_some_and(|x| x.eq_ignore_ascii_case(e));
    let p = Path::new(name);
    ext(p, "tf") || (ext(p, "json") && p.file_stem().is_some_and(|s| ext(Path::new(s), "tf")))
}

/// Reads and parses one file. Syntax errors come back as `Err` with the text kept.
pub fn read(path: &Path) -> Result<SourceFile, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    parse(path.to_path_buf(), text)
}

/// Parses `text` as the contents of `path`.
pub fn parse(path: PathBuf, text: String) -> Result<SourceFile, LoadError> {
    let json = path.to_string_lossy().ends_with(".tf.json");
    let (body, repeated_keys) = if json {
        let body = super::json::to_body(&text)
            .map_err(|(message, offset)| syntax(&path, &text, &message, offset))?;
        (body, Vec::new())
    } else {
        super::repeated::parse_body(&text).map_err(|e| {
            let loc = e.location();
            syntax(&path, &text, e.message(), loc.offset())
        })?
    };
    Ok(SourceFile {
        path,
        text,
        body: Some(body),
        json,
        repeated_keys,
    })
}

fn syntax(path: &Path, text: &str, message: &str, offset: usize) -> LoadError {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.split(|b| *b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    let display = path.display().to_string();
    LoadError::Syntax(Box::new(SyntaxError {
        message: format!("{message} (line {line}, column {column})"),
        line,
        column,
        src: NamedSource::new(display.clone(), text.to_owned()),
        at: SourceSpan::from(offset..offset),
        path: display,
    }))
}
