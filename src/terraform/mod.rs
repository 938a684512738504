//! Terraform stage: reads `.tf`/`.tf.json` files with spans (hcl-edit), evaluates what is known
//! statically (hcl-rs `eval`), follows local modules and the registry security-group module, and
//! builds the [`crate::model::Model`]. State files link the model to deployed ids.

mod eval;
pub mod files;
mod json;
mod module;
mod refs;
pub mod registry;
mod repeated;
mod rules;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use files::{LoadError, SourceFile, SyntaxError};
pub use repeated::RepeatedKey;
pub use rules::NO_SOURCE;

use crate::model::Model;

/// What `load` reads besides the directory.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var-file`s, applied to root modules after `terraform.tfvars` and `*.auto.tfvars`.
    pub var_files: Vec<PathBuf>,
}

/// The result of loading a directory: the files, the errors, the model.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every file found, parsed or not (suppressions are read from the text).
    pub files: Vec<SourceFile>,
    /// Syntax and read errors (the run exits 2 when there is any).
    pub errors: Vec<LoadError>,
    /// Groups and rules.
    pub model: Model,
    /// Directories evaluated as root modules.
    pub roots: Vec<PathBuf>,
}

/// Reads every Terraform file under `dir` and builds the model. Each directory holding `.tf`
/// files is a root module unless another directory calls it as a local module; module
/// directories are evaluated through their calls, with the caller's inputs.
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    // Lexically normalised, so that module sources (`../..`) resolve to the same paths as the
    // files found by walking the directory.
    let dir = &module::join_source(dir, ".");
    let paths = if dir.is_file() {
        vec![dir.clone()]
    } else {
        files::discover(dir)?
    };
    for path in paths {
        match files::read(&path) {
            Ok(f) => loaded.files.push(f),
            Err(e) => {
                if let LoadError::Syntax(syntax) = &e {
                    loaded.files.push(SourceFile {
                        path: path.clone(),
                        text: syntax.src.inner().clone(),
                        body: None,
                        json: false,
                        repeated_keys: Vec::new(),
                    });
                }
                loaded.errors.push(e);
            }
        }
    }
    follow_local_modules(&mut loaded);
    let var_files = read_var_files(opts)?;
    loaded.roots = build(&loaded.files, &var_files, dir, &mut loaded.model);
    Ok(loaded)
}

/// The `--var-file`s' texts.
fn read_var_files(opts: &LoadOptions) -> Result<Vec<(PathBuf, String)>, LoadError> {
    opts.var_files
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|text| (p.clone(), text))
                .map_err(|source| LoadError::Io {
                    path: p.display().to_string(),
                    source,
                })
        })
        .collect()
}

/// Reads the directories of local modules called from the files read so far when they lie
/// outside the linted directory (`source = "../../"`), as Terraform would.
fn follow_local_modules(loaded: &mut Loaded) {
    let mut seen: BTreeSet<PathBuf> = loaded.files.iter().map(|f| f.dir().to_path_buf()).collect();
    let mut next = 0;
    while next < loaded.files.len() && seen.len() < 256 {
        let f = &loaded.files[next];
        next += 1;
        let Some(body) = &f.body else { continue };
        let dir = f.dir().to_path_buf();
        let targets: Vec<PathBuf> = body
            .blocks()
            .filter(|b| b.ident.as_str() == "module")
            .filter_map(|b| module::literal_attr(&b.body, "source"))
            .filter(|s| module::is_local(s))
            .map(|s| module::join_source(&dir, &s))
            .collect();
        for target in targets {
            if !seen.insert(target.clone()) {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&target) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && files::is_terraform(&p.to_string_lossy()))
                .collect();
            paths.sort();
            for p in paths {
                match files::read(&p) {
                    Ok(f) => loaded.files.push(f),
                    Err(e) => loaded.errors.push(e),
                }
            }
        }
    }
}

/// Evaluates every root module; `dir` (the linted directory) is always a root.
fn build(
    files: &[SourceFile],
    var_files: &[(PathBuf, String)],
    dir: &Path,
    model: &mut Model,
) -> Vec<PathBuf> {
    let mut by_dir: BTreeMap<PathBuf, Vec<&SourceFile>> = BTreeMap::new();
    for f in files {
        by_dir.entry(f.dir().to_path_buf()).or_default().push(f);
    }
    let mut called: BTreeSet<PathBuf> = BTreeSet::new();
    for (dir, fs) in &by_dir {
        for f in fs {
            let Some(body) = &f.body else { continue };
            for b in body.blocks().filter(|b| b.ident.as_str() == "module") {
                if let Some(source) = module::literal_attr(&b.body, "source")
                    && module::is_local(&source)
                {
                    let target = module::join_source(dir, &source);
                    if &target != dir {
                        called.insert(target);
                    }
                }
            }
        }
    }
    let files = module::Files { by_dir };
    let roots: Vec<PathBuf> = files
        .by_dir
        .keys()
        .filter(|d| d.as_path() == dir || !called.contains(*d))
        .cloned()
        .collect();
    for root in &roots {
        let inst = module::Instance {
            root: root.clone(),
            stack: Vec::new(),
            dir: root.clone(),
            path: Vec::new(),
            inputs: hcl::Map::new(),
            input_locs: BTreeMap::new(),
            call: None,
            var_files: var_files.to_vec(),
            depth: 0,
        };
        module::evaluate(&files, &inst, model);
    }
    roots
}

/// The model of `loaded` with some files' texts replaced (the fix stage's verification): the
/// edited files are parsed again, the others reused, and every root module evaluated anew.
pub fn rebuild(
    loaded: &Loaded,
    edited: &BTreeMap<PathBuf, String>,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<Loaded, LoadError> {
    let mut out = Loaded::default();
    for f in &loaded.files {
        match edited.get(&f.path) {
            Some(text) => out.files.push(files::parse(f.path.clone(), text.clone())?),
            None => out.files.push(f.clone()),
        }
    }
    let var_files = read_var_files(opts)?;
    let dir = &module::join_source(dir, ".");
    out.roots = build(&out.files, &var_files, dir, &mut out.model);
    Ok(out)
}

/// Sets the deployed ids of groups and rules from `state`.
pub fn link_state(model: &mut Model, state: &state::State) {
    for g in &mut model.groups {
        g.deployed_id = state.id(&g.address.to_string()).map(str::to_owned);
    }
    for r in &mut model.rules {
        if r.style != crate::model::RuleStyle::Inline {
            r.deployed_id = state.id(&r.address.to_string()).map(str::to_owned);
        }
    }
}

/// Parses one Terraform text as if it were `path` and builds its model (for tests and fuzzing:
/// never panics).
pub fn model_of_text(path: &str, text: &str) -> Result<Model, LoadError> {
    let f = files::parse(PathBuf::from(path), text.to_owned())?;
    let mut model = Model::default();
    let dir = f.dir().to_path_buf();
    build(std::slice::from_ref(&f), &[], &dir, &mut model);
    Ok(model)
}
