//! Test support for the live-AWS tests: a real `moto_server` on 127.0.0.1, a stub HTTP server for
//! faults moto cannot produce, and scenarios that run in a child process whose environment (AWS
//! credentials, region, config files) the test controls completely.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A secret no message may ever contain: the scenarios run with it as the secret key.
pub const FAKE_SECRET: &str = "tightenFAKEsecretNEVERprint0123456789abcd";
pub const FAKE_SESSION_TOKEN: &str = "tightenFAKEsessionTOKENneverPRINT";
pub const REGION: &str = "us-east-1";

const CHILD_VAR: &str = "TIGHTEN_TEST_SCENARIO";
const ENDPOINT_VAR: &str = "TIGHTEN_TEST_ENDPOINT";

/// A `moto_server` process, killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// Holds moto's log and recording; removed on drop.
    dir: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Self {
        let program = moto_program();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("log");
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .current_dir(dir.path())
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
            .env_remove("MOTO_ENABLE_RECORDING")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut moto = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if matches!(http(port, "GET", "/moto-api/data.json"), Ok((200, _))) {
                break;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                let log =
                    std::fs::read_to_string(moto.dir.path().join("moto.log")).unwrap_or_default();
                panic!("moto_server exited ({status}) before answering:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server` from the repository's `.venv` (what `.ci/setup-python.sh` installs), else from
/// `$PATH`. Missing, the test fails: these tests must run, never skip.
fn moto_program() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    if venv.is_file() {
        return venv;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("moto_server");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "moto_server not found (neither in .venv/bin nor on PATH): run `bash .ci/run`, or `bash .ci/setup-python.sh` once, then `cargo test` again"
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A plain HTTP/1.1 request to 127.0.0.1:`port` (for moto's own API): (status, body).
pub fn http(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// How a scenario's child process is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// A fresh moto server; dummy credentials in the environment.
    Moto,
    /// No server (the scenario brings its own stub); dummy credentials.
    NoServer,
    /// No server, and neither credentials nor a region anywhere.
    NoCredentials,
}

/// What a scenario's body gets.
pub struct Scenario {
    /// moto's URL for [`Setup::Moto`].
    pub endpoint: Option<String>,
}

/// Runs `body` in a child process (this test binary, filtered to `name`) with a controlled
/// environment: `env_clear`, a temporary HOME (no ~/.aws), the instance metadata service
/// disabled, and the credentials of `setup`. The parent owns the moto server and kills it when
/// the child is done. `name` must be the test function's name.
pub fn scenario(name: &str, setup: Setup, body: impl FnOnce(&Scenario)) {
    if std::env::var(CHILD_VAR).as_deref() == Ok(name) {
        let endpoint = std::env::var(ENDPOINT_VAR).ok();
        body(&Scenario { endpoint });
        return;
    }
    let moto = (setup == Setup::Moto).then(Moto::start);
    let home = tempfile::tempdir().expect("home");
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(CHILD_VAR, name);
    if setup != Setup::NoCredentials {
        command
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
            .env("AWS_SESSION_TOKEN", FAKE_SESSION_TOKEN);
    }
    if let Some(moto) = &moto {
        command.env(ENDPOINT_VAR, moto.url());
    }
    let output = command.output().expect("run the scenario's child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scenario {name} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // The child ran exactly this one test (and did not filter it away).
    assert!(
        stdout.contains("1 passed"),
        "scenario {name} did not run:\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains(FAKE_SECRET) && !stderr.contains(FAKE_SECRET));
    drop(moto);
}

/// One request as the stub server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub request_line: String,
    /// (name in lower case, value), in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// How the stub answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A full HTTP response (status line, headers, body); `Content-Length` and
    /// `Connection: close` are added.
    Respond {
        status: &'static str,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Accept, read the request, and never answer (until the stub is dropped).
    Silence,
}

/// A tiny HTTP server on 127.0.0.1 that answers every request with the next of its canned
/// answers (the last one repeats) and records what it was sent.
pub struct Stub {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Stub {
    pub fn start(answers: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (seen2, stop2, held2) = (seen.clone(), stop.clone(), held.clone());
        std::thread::spawn(move || {
            let mut next = 0usize;
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).expect("blocking");
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
                let answer = answers[next.min(answers.len() - 1)].clone();
                next += 1;
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let Some(request) = read_request(&mut reader) else {
                    continue;
                };
                seen2.lock().expect("lock").push(request);
                match answer {
                    Answer::Silence => held2.lock().expect("lock").push(stream),
                    Answer::Respond {
                        status,
                        headers,
                        body,
                    } => {
                        let mut stream = stream;
                        let mut response = format!("HTTP/1.1 {status}\r\n");
                        for (name, value) in headers {
                            let _ = write!(response, "{name}: {value}\r\n");
                        }
                        let _ = write!(
                            response,
                            "Content-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(response.as_bytes());
                        let _ = stream.write_all(body.as_bytes());
                        let _ = stream.shutdown(Shutdown::Write);
                    }
                }
            }
        });
        Self {
            port,
            seen,
            stop,
            held,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.held.lock().expect("lock").clear();
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0usize;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A port on which nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    free_port()
}

/// A tokio runtime for the test's own set-up calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The SDK configuration of the test's own set-up clients (credentials from the environment).
pub fn setup_config(rt: &tokio::runtime::Runtime, endpoint: &str) -> aws_config::SdkConfig {
    rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new(REGION))
            .load(),
    )
}

/// Standard base64 (moto's recording encodes request bodies with it).
pub fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET.iter().position(|&a| a == byte).expect("base64") as u32;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Sends one EC2 Query action to moto (set-up only: tighten itself cannot send mutating
/// actions) and returns the answer's body. moto reads the region from the credential scope and
/// does not check the signature.
pub fn ec2_action(endpoint: &str, region: &str, action: &str, params: &[(&str, &str)]) -> String {
    let port: u16 = endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("moto port");
    let encode = |text: &str| {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let mut body = format!("Action={action}&Version=2016-11-15");
    for (key, value) in params {
        let _ = write!(body, "&{}={}", encode(key), encode(value));
    }
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIDSETUP/20240101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send to moto");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("moto answer");
    let (head, answer) = response.split_once("\r\n\r\n").expect("HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{action}: {response}");
    answer.to_owned()
}

/// The text of the first `<tag>` in `xml` (set-up answers: ids of what was created).
pub fn xml_value(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = xml[start..].find('<').expect("closing tag") + start;
    xml[start..end].to_owned()
}
