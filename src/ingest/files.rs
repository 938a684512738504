//! Which files a list of sources means: files as given, directories walked recursively in name
//! order, keeping the files a predicate accepts and counting the others.

use std::path::{Path, PathBuf};

use super::IngestError;

/// The files to read, and the ones skipped.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<PathBuf>,
    /// Files inside directories that `accept` refused.
    pub skipped: Vec<PathBuf>,
}

/// Lists the files of `sources`. A file named directly is always kept: the user asked for it.
pub fn walk(
    sources: &[PathBuf],
    accept: impl Fn(&Path) -> bool + Copy,
) -> Result<Walk, IngestError> {
    let mut walk = Walk::default();
    for source in sources {
        let meta = std::fs::metadata(source).map_err(|e| IngestError::Io {
            path: source.clone(),
            source: e,
        })?;
        if meta.is_dir() {
            walk_dir(source, &mut walk, accept)?;
        } else {
            walk.files.push(source.clone());
        }
    }
    Ok(walk)
}

fn walk_dir(
    dir: &Path,
    walk: &mut Walk,
    accept: impl Fn(&Path) -> bool + Copy,
) -> Result<(), IngestError> {
    let io = |e| IngestError::Io {
        path: dir.to_owned(),
        source: e,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if entry.file_type().map_err(io)?.is_dir() {
            walk_dir(&path, walk, accept)?;
        } else if accept(&path) {
            walk.files.push(path);
        } else {
            walk.skipped.push(path);
        }
    }
    Ok(())
}
