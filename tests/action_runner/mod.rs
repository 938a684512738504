//! A local stand-in for GitHub's runner, executing a composite action's steps as the runner does:
//! `if:` conditions, `env:` and `with:` filled in from the contexts, each `run:` written to a file
//! and run by `bash --noprofile --norc -eo pipefail` in `GITHUB_WORKSPACE`, with fresh
//! `GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` / `GITHUB_PATH` / `GITHUB_ENV` files whose contents
//! feed the later steps. Steps that call another action (`uses:`) are recorded with their filled-in
//! `with:`, not run. And a small HTTP file server on 127.0.0.1 for the release downloads.

#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod expr;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use expr::{Contexts, condition, interpolate};
use serde_norway::Value;

/// What one step did.
#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub name: String,
    /// `run` or the action of a `uses:` step.
    pub kind: String,
    /// Whether its `if:` let it run (a `uses:` step is never executed, only recorded).
    pub ran: bool,
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
    /// A `uses:` step's inputs, filled in.
    pub with: BTreeMap<String, String>,
    /// Wall time of a `run:` step.
    pub secs: f64,
}

/// A finished run of the action.
#[derive(Debug)]
pub struct Run {
    pub steps: Vec<Step>,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    pub failed: bool,
}

impl Run {
    pub fn step(&self, id_or_name: &str) -> &Step {
        self.steps
            .iter()
            .find(|s| s.id == id_or_name || s.name == id_or_name)
            .unwrap_or_else(|| panic!("no step {id_or_name}"))
    }

    /// Every step's stdout, in order: what the job log shows (and the runner parses).
    pub fn log(&self) -> String {
        self.steps.iter().map(|s| s.stdout.as_str()).collect()
    }
}

/// The job around the action: its environment and the action's inputs.
pub struct Job {
    pub action_dir: PathBuf,
    pub workspace: PathBuf,
    pub runner_temp: PathBuf,
    pub env: BTreeMap<String, String>,
    pub inputs: BTreeMap<String, String>,
    pub github: BTreeMap<String, String>,
}

fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn map<'a>(v: &'a Value, key: &str) -> Vec<(String, &'a Value)> {
    v.get(key)
        .and_then(Value::as_mapping)
        .map(|m| m.iter().map(|(k, v)| (s(k), v)).collect())
        .unwrap_or_default()
}

/// `name=value` lines and `name<<DELIM` … `DELIM` blocks, as the runner reads `GITHUB_OUTPUT`.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            out.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_owned(), value.to_owned());
        } else if !line.is_empty() {
            panic!("malformed GITHUB_OUTPUT line {line:?}");
        }
    }
    out
}

impl Job {
    /// Runs the composite action's steps in order.
    pub fn run(&self) -> Run {
        let text = std::fs::read_to_string(self.action_dir.join("action.yml")).unwrap();
        let action: Value = serde_norway::from_str(&text).unwrap();
        let mut cx = Contexts::default();
        let mut inputs = BTreeMap::new();
        for (name, spec) in map(&action, "inputs") {
            let value = self
                .inputs
                .get(&name)
                .cloned()
                .unwrap_or_else(|| spec.get("default").map(s).unwrap_or_default());
            inputs.insert(name, value);
        }
        for name in self.inputs.keys() {
            assert!(inputs.contains_key(name), "action.yml has no input {name}");
        }
        cx.maps.insert("inputs", inputs);
        cx.maps.insert("github", self.github.clone());
        cx.maps.insert(
            "runner",
            [("temp", &self.runner_temp)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.display().to_string()))
                .collect(),
        );
        cx.maps.insert("steps", BTreeMap::new());

        let files = self.runner_temp.join("_runner_file_commands");
        std::fs::create_dir_all(&files).unwrap();
        let mut path_dirs: Vec<String> = Vec::new();
        let mut exported: BTreeMap<String, String> = BTreeMap::new();
        let mut summary = String::new();
        let mut steps = Vec::new();
        let runs = action.get("runs").unwrap();
        assert_eq!(runs.get("using").map(s).as_deref(), Some("composite"));
        for (i, step) in runs
            .get("steps")
            .and_then(Value::as_sequence)
            .unwrap()
            .iter()
            .enumerate()
        {
            let id = step.get("id").map_or_else(|| format!("__{i}"), s);
            let name = step.get("name").map(s).unwrap_or_default();
            let cond = step.get("if").map(s);
            let ran = condition(cond.as_deref(), &cx);
            let mut record = Step {
                id: id.clone(),
                name,
                kind: step.get("uses").map_or_else(|| "run".to_owned(), s),
                ran,
                exit: None,
                stdout: String::new(),
                stderr: String::new(),
                outputs: BTreeMap::new(),
                with: BTreeMap::new(),
                secs: 0.0,
            };
            if ran {
                if step.get("uses").is_some() {
                    record.with = map(step, "with")
                        .into_iter()
                        .map(|(k, v)| (k, interpolate(&s(v), &cx)))
                        .collect();
                } else {
                    let script = s(step.get("run").unwrap());
                    assert_eq!(step.get("shell").map(s).as_deref(), Some("bash"));
                    let env: BTreeMap<String, String> = map(step, "env")
                        .into_iter()
                        .map(|(k, v)| (k, interpolate(&s(v), &cx)))
                        .collect();
                    let n = format!("{i:02}");
                    let output = files.join(format!("output_{n}"));
                    let step_summary = files.join(format!("summary_{n}"));
                    let github_path = files.join(format!("path_{n}"));
                    let github_env = files.join(format!("env_{n}"));
                    let script_file = files.join(format!("step_{n}.sh"));
                    for f in [&output, &step_summary, &github_path, &github_env] {
                        std::fs::write(f, "").unwrap();
                    }
                    std::fs::write(&script_file, &script).unwrap();
                    let mut path: Vec<String> = path_dirs.iter().rev().cloned().collect();
                    path.push(self.env.get("PATH").cloned().unwrap_or_default());
                    let started = std::time::Instant::now();
                    let out = std::process::Command::new("bash")
                        .args(["--noprofile", "--norc", "-eo", "pipefail"])
                        .arg(&script_file)
                        .current_dir(&self.workspace)
                        .env_clear()
                        .envs(&self.env)
                        .envs(&exported)
                        .envs(&env)
                        .env("PATH", path.join(":"))
                        .env("GITHUB_WORKSPACE", &self.workspace)
                        .env("GITHUB_ACTION_PATH", &self.action_dir)
                        .env("RUNNER_TEMP", &self.runner_temp)
                        .env("GITHUB_OUTPUT", &output)
                        .env("GITHUB_STEP_SUMMARY", &step_summary)
                        .env("GITHUB_PATH", &github_path)
                        .env("GITHUB_ENV", &github_env)
                        .output()
                        .unwrap();
                    record.secs = started.elapsed().as_secs_f64();
                    record.exit = out.status.code();
                    record.stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                    record.stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                    record.outputs = parse_outputs(&std::fs::read_to_string(&output).unwrap());
                    summary.push_str(&std::fs::read_to_string(&step_summary).unwrap());
                    path_dirs.extend(
                        std::fs::read_to_string(&github_path)
                            .unwrap()
                            .lines()
                            .map(str::to_owned),
                    );
                    exported.extend(parse_outputs(
                        &std::fs::read_to_string(&github_env).unwrap(),
                    ));
                    if !out.status.success() {
                        cx.failed = true;
                    }
                }
            }
            let steps_cx = cx.maps.get_mut("steps").unwrap();
            for (k, v) in &record.outputs {
                steps_cx.insert(format!("{id}.outputs.{k}"), v.clone());
            }
            steps.push(record);
        }
        let outputs = map(&action, "outputs")
            .into_iter()
            .map(|(k, v)| (k, interpolate(&s(v.get("value").unwrap()), &cx)))
            .collect();
        Run {
            steps,
            outputs,
            summary,
            failed: cx.failed,
        }
    }
}

/// An HTTP/1.1 file server on 127.0.0.1 for GET requests: `files` maps a path to its bytes
/// (404 for anything else); `requests` lists the paths asked for. It serves until dropped.
pub struct FileServer {
    pub url: String,
    pub files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn serve(
    mut stream: TcpStream,
    files: &Mutex<BTreeMap<String, Vec<u8>>>,
    log: &Mutex<Vec<String>>,
) {
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request.split(' ').nth(1).unwrap_or("").to_owned();
    log.lock().unwrap().push(path.clone());
    let body = files.lock().unwrap().get(&path).cloned();
    let (status, body) = match body {
        Some(b) => ("200 OK", b),
        None => ("404 Not Found", b"not found\n".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

impl FileServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let files = Arc::new(Mutex::new(BTreeMap::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (files, requests, stop) = (files.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &files, &requests);
                    }
                }
            })
        };
        FileServer {
            url: format!("http://{addr}"),
            files,
            requests,
            stop,
            addr,
            thread: Some(thread),
        }
    }

    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_owned(), bytes);
    }

    pub fn take_requests(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
