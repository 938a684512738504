//! The GitHub Action, run locally: `action.yml`'s steps executed in order by a stand-in for the
//! runner (`tests/action_runner`), in a simulated job (`GITHUB_WORKSPACE`, `GITHUB_ACTION_PATH`,
//! `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `RUNNER_TEMP`, `RUNNER_OS`/`RUNNER_ARCH`, a `PATH`
//! without tighten), on the shop scenario of `examples/shop`. The release is served from
//! 127.0.0.1: the archive that `.github/scripts/package.sh` makes of the test's own binary, and
//! its `checksums.txt`. Steps that call other actions (cache, upload-sarif) are checked as
//! recorded, with the inputs they would get.

mod action_runner;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use action_runner::{FileServer, Job, Run, copy_dir};
use serde_json::Value;

const SHOP: &str = "examples/shop";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The runner's names for this machine, and the release target plan.sh maps them to.
fn platform() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("X64", "x86_64-unknown-linux-musl"),
        "aarch64" => ("ARM64", "aarch64-unknown-linux-musl"),
        other => panic!("no release target for {other}"),
    }
}

/// The release of this version: the archive of the test's binary and its checksums.txt.
struct Release {
    archive: &'static [u8],
    sha: &'static str,
    checksums: String,
    server: FileServer,
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// The test binary, stripped (30 MB instead of 690), packed once per test process by the
/// release's own script; and its SHA-256.
fn archive() -> &'static (Vec<u8>, String) {
    static ARCHIVE: std::sync::OnceLock<(Vec<u8>, String)> = std::sync::OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (_, target) = platform();
        let bin = dir.path().join("tighten");
        let strip = Command::new("strip")
            .arg("-o")
            .arg(&bin)
            .arg(env!("CARGO_BIN_EXE_tighten"))
            .status()
            .expect("strip (binutils)");
        assert!(strip.success());
        let out = Command::new("bash")
            .arg(root().join(".github/scripts/package.sh"))
            .arg(&bin)
            .arg(target)
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = dir.path().join(format!("tighten-{target}.tar.gz"));
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            path.to_str().unwrap()
        );
        (std::fs::read(&path).unwrap(), sha256(&path))
    })
}

impl Release {
    fn serve() -> Self {
        let (archive, sha) = archive();
        let (_, target) = platform();
        // Another target's line first: the install must pick its own.
        let checksums = format!(
            "{}  tighten-aarch64-apple-darwin.tar.gz\n{sha}  tighten-{target}.tar.gz\n",
            "0".repeat(64)
        );
        let release = Release {
            archive,
            sha,
            checksums,
            server: FileServer::start(),
        };
        release.publish(&release.checksums);
        release
    }

    fn publish(&self, checksums: &str) {
        let (_, target) = platform();
        let base = format!("/releases/download/v{}", version());
        self.server.put(
            &format!("{base}/tighten-{target}.tar.gz"),
            self.archive.to_vec(),
        );
        self.server.put(
            &format!("{base}/checksums.txt"),
            checksums.as_bytes().to_vec(),
        );
    }
}

/// A job on a copy of the shop: infra/ (Terraform and state), logs/flow-logs, logs/aws-config.
struct Sim {
    dir: tempfile::TempDir,
    tool_cache: PathBuf,
}

impl Sim {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("workspace");
        copy_dir(&root().join(SHOP).join("terraform"), &ws.join("infra"));
        copy_dir(
            &root().join(SHOP).join("flow-logs"),
            &ws.join("logs/flow-logs"),
        );
        copy_dir(
            &root().join(SHOP).join("aws-config"),
            &ws.join("logs/aws-config"),
        );
        let tool_cache = dir.path().join("toolcache");
        Sim { dir, tool_cache }
    }

    fn workspace(&self) -> PathBuf {
        self.dir.path().join("workspace")
    }

    /// A job with a new `RUNNER_TEMP` (the tool cache persists between jobs, as a cache would).
    fn job(&self, release: &Release, name: &str, inputs: &[(&str, &str)]) -> Job {
        let (arch, _) = platform();
        let temp = self.dir.path().join(format!("temp-{name}"));
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&temp).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let env: BTreeMap<String, String> = [
            // The system's tools only: tighten comes from the install step or not at all.
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("HOME", home.to_str().unwrap()),
            ("LANG", "C.UTF-8"),
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/infra"),
            ("GITHUB_RUN_ID", "42"),
            ("RUNNER_OS", "Linux"),
            ("RUNNER_ARCH", arch),
            ("RUNNER_TOOL_CACHE", self.tool_cache.to_str().unwrap()),
            (
                "TIGHTEN_RELEASES_URL",
                &format!("{}/releases", release.server.url),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Job {
            action_dir: root(),
            workspace: self.workspace(),
            runner_temp: temp,
            env,
            inputs: inputs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            github: [
                ("action_ref", format!("v{}", version())),
                ("action_repository", "tighten-dev/tighten".to_owned()),
                ("workspace", self.workspace().display().to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }
    }
}

fn explain(run: &Run) -> String {
    let mut out = String::new();
    for s in &run.steps {
        let _ = write!(
            out,
            "--- {} ({}) ran={} exit={:?} {:.2}s\n{}{}",
            s.name, s.kind, s.ran, s.exit, s.secs, s.stdout, s.stderr
        );
    }
    out
}

const LINT_INPUTS: &[(&str, &str)] = &[
    ("working-directory", "infra"),
    ("flow-logs", "logs/flow-logs\n"),
    (
        "aws-config",
        "  logs/aws-config  \n# Config history, both years\n",
    ),
    ("db", "store/evidence.db"),
    ("fail-on", "error"),
];

#[test]
fn lint_mode_downloads_verifies_ingests_annotates_and_fails_on_errors() {
    let release = Release::serve();
    let sim = Sim::new();
    let job = sim.job(&release, "first", LINT_INPUTS);
    let run = job.run();
    let why = explain(&run);
    let (_, target) = platform();

    // Plan: the release of the action's own version, for this runner.
    let plan = &run.step("plan").outputs;
    assert_eq!(plan["method"], "download", "{why}");
    assert_eq!(plan["version"], version());
    assert_eq!(plan["target"], target);
    assert_eq!(plan["fallback"], "source");
    let key = format!("tighten-{}-{target}", version());
    assert_eq!(plan["cache-key"], key);
    let install_dir = sim
        .tool_cache
        .join(format!("tighten/{}-{target}", version()));
    assert_eq!(plan["install-dir"], install_dir.to_str().unwrap());

    // The cache steps would get that key and path; the restore found nothing, so save runs.
    let restore = run.step("cache");
    assert!(restore.ran);
    assert_eq!(
        restore.kind,
        "actions/cache/restore@5a3ec84eff668545956fd18022155c47e93e2684"
    );
    assert_eq!(restore.with["key"], key);
    assert_eq!(restore.with["path"], plan["install-dir"]);
    assert!(run.step("Save the tighten binary").ran);

    // Install: checksums first, then the archive; verified; on PATH.
    assert_eq!(
        release.server.take_requests(),
        [
            format!("/releases/download/v{}/checksums.txt", version()),
            format!("/releases/download/v{}/tighten-{target}.tar.gz", version()),
        ]
    );
    let install = run.step("install");
    assert_eq!(install.exit, Some(0), "{why}");
    assert!(
        install
            .stdout
            .contains(&format!("(SHA-256 {})", release.sha)),
        "{why}"
    );
    assert_eq!(
        install.outputs["path"],
        install_dir.join("bin/tighten").to_str().unwrap()
    );
    assert_eq!(
        install.outputs["tighten-version"],
        format!("tighten {}", version())
    );

    // Ingest into the store named by the input (relative to the workspace).
    assert_eq!(run.step("ingest").exit, Some(0), "{why}");
    assert_eq!(run.step("ingest").outputs["db"], "store/evidence.db");
    assert!(sim.workspace().join("store/evidence.db").is_file());

    // Lint: annotations with paths relative to the repository root, evidence findings included.
    let lint = run.step("lint");
    assert_eq!(lint.exit, Some(0), "{why}");
    assert!(
        lint.stdout.lines().any(|l| l.starts_with(
            "::error file=infra/main.tf,line=21,endLine=21,col=20,endColumn=31,\
             title=SG001 public-admin-port::remote-administration port 22 (SSH) open to \
             0.0.0.0/0 (aws_security_group.web)%0A"
        )),
        "{why}"
    );
    assert!(
        lint.stdout
            .lines()
            .any(|l| l.starts_with("::warning file=infra/main.tf,")
                && l.contains("title=SG102 wildcard-few-sources::")),
        "{why}"
    );
    let annotations = lint.stdout.lines().filter(|l| l.starts_with("::")).count();
    assert_eq!(lint.outputs["findings"], annotations.to_string());
    assert_eq!(lint.outputs["findings"], "17");
    assert_eq!(lint.outputs["exit-code"], "1");

    // SARIF, for the upload step that would run with it.
    let sarif_path = job.runner_temp.join("tighten/tighten.sarif");
    assert_eq!(lint.outputs["sarif-file"], sarif_path.to_str().unwrap());
    let upload = run.step("Upload SARIF to code scanning");
    assert!(upload.ran);
    assert_eq!(upload.with["sarif_file"], sarif_path.to_str().unwrap());
    assert_eq!(upload.with["category"], "tighten/infra");
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 17);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "infra/main.tf"
    );

    // The report in the step summary; fix mode did nothing.
    assert!(
        run.summary.starts_with("## tighten lint\n"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("17 finding(s): 1 error(s), 11 warning(s), 5 note(s)")
    );
    assert!(
        run.summary
            .contains("evidence: window 2026-10-01..2026-10-20")
    );
    assert_eq!(run.step("fix").exit, Some(0));
    assert!(run.step("fix").outputs.is_empty());

    // The evidence report: written outside the workspace, uploaded as an artifact, linked from
    // the step summary (upload-artifact's URL is not known here: the run's artifacts list).
    let report = job.runner_temp.join("tighten/tighten-report.html");
    assert_eq!(
        run.step("report").outputs["report-file"],
        report.to_str().unwrap(),
        "{why}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg ") && html.contains("infra/main.tf"));
    let upload = run.step("upload-report");
    assert!(upload.ran);
    assert_eq!(
        upload.kind,
        "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"
    );
    assert_eq!(upload.with["name"], "tighten-report");
    assert_eq!(upload.with["path"], report.to_str().unwrap());
    let url = "https://github.com/acme/infra/actions/runs/42#artifacts";
    assert!(
        run.summary
            .contains(&format!("**Evidence report:** [tighten-report]({url})")),
        "{}",
        run.summary
    );
    assert_eq!(run.outputs["report-url"], url);
    assert_eq!(run.outputs["report-file"], report.to_str().unwrap());

    // fail-on error and one error: the last step fails the job, after everything else ran.
    let finish = run.steps.last().unwrap();
    assert_eq!(finish.exit, Some(1), "{why}");
    assert!(run.failed);
    assert_eq!(run.outputs["findings"], "17");
    assert_eq!(run.outputs["sarif-file"], sarif_path.to_str().unwrap());
    assert_eq!(run.outputs["changed"], "");

    // A second job finds the binary where the cache would restore it: no download; the store's
    // ledger knows every file already.
    let again = sim.job(&release, "second", LINT_INPUTS).run();
    assert!(release.server.take_requests().is_empty());
    assert!(
        again.step("install").stdout.contains("(cached)"),
        "{}",
        explain(&again)
    );
    assert_eq!(again.step("lint").outputs["findings"], "17");
}

#[test]
fn a_wrong_checksum_fails_the_install_and_nothing_is_installed() {
    let release = Release::serve();
    let (_, target) = platform();
    let wrong = format!("{}  tighten-{target}.tar.gz\n", "ab".repeat(32));
    release.publish(&wrong);
    let sim = Sim::new();
    let run = sim.job(&release, "bad", LINT_INPUTS).run();
    let install = run.step("install");
    assert_eq!(install.exit, Some(2), "{}", explain(&run));
    assert!(
        install.stdout.contains(&format!(
            "::error title=tighten::SHA-256 mismatch for tighten-{target}.tar.gz: checksums.txt \
             says {}, the download is ",
            "ab".repeat(32)
        )),
        "{}",
        explain(&run)
    );
    assert!(
        !sim.tool_cache
            .join(format!("tighten/{}-{target}/bin/tighten", version()))
            .exists()
    );
    // Nothing after it ran (no `if: always()` in the action).
    assert!(run.failed);
    for later in ["ingest", "lint", "fix"] {
        assert!(!run.step(later).ran, "{later} ran");
    }
    assert!(!run.step("Save the tighten binary").ran);

    // A checksums.txt without the archive fails as well.
    release.publish(&format!("{}  tighten-other.tar.gz\n", "cd".repeat(32)));
    let run = sim.job(&release, "missing", LINT_INPUTS).run();
    assert!(
        run.step("install").stdout.contains(&format!(
            "checksums.txt of v{} has no single SHA-256 for tighten-{target}.tar.gz",
            version()
        )),
        "{}",
        explain(&run)
    );
}

#[test]
fn static_lint_without_sarif_passes_with_fail_on_never() {
    let release = Release::serve();
    let sim = Sim::new();
    let run = sim
        .job(
            &release,
            "static",
            &[
                ("working-directory", "infra"),
                ("sarif", "false"),
                ("fail-on", "never"),
                // A store that is not there yet (a cache miss): a warning, static checks only.
                ("db", "missing/evidence.db"),
            ],
        )
        .run();
    let why = explain(&run);
    assert!(!run.failed, "{why}");
    assert!(
        run.step("ingest")
            .stdout
            .contains("::warning title=tighten::evidence store missing/evidence.db not found")
    );
    assert_eq!(run.step("ingest").outputs["db"], "");
    assert_eq!(run.outputs["findings"], "1");
    assert_eq!(run.outputs["sarif-file"], "");
    assert!(!run.step("Upload SARIF to code scanning").ran);
    // No evidence, no report.
    assert_eq!(run.outputs["report-file"], "");
    assert!(!run.step("upload-report").ran);
    assert!(!run.step("report-link").ran);
    assert!(
        run.step("lint")
            .stdout
            .contains("tighten: evidence checks (SG100-SG107) not run"),
        "{why}"
    );
    assert!(
        run.summary.contains("1 finding(s): 1 error(s)"),
        "{}",
        run.summary
    );
}

#[test]
fn an_explicit_version_without_a_release_is_an_error_not_a_build() {
    let release = Release::serve();
    let sim = Sim::new();
    let run = sim.job(&release, "nine", &[("version", "v9.9.9")]).run();
    let install = run.step("install");
    assert_eq!(install.exit, Some(2), "{}", explain(&run));
    assert!(install.stdout.contains(&format!(
        "no release v9.9.9 at {}/releases/download/v9.9.9 (HTTP 404)",
        release.server.url
    )));
    let run = sim.job(&release, "junk", &[("version", "main")]).run();
    assert!(
        run.step("plan")
            .stdout
            .contains("input version: expected X.Y.Z, vX.Y.Z, latest or source, got 'main'")
    );
}

#[test]
fn inputs_reach_the_scripts_as_data_never_as_code() {
    let release = Release::serve();
    let sim = Sim::new();
    let canary = sim.dir.path().join("pwned");
    let c = canary.display();
    let dir = format!("infra\"; touch {c}; echo \"$(touch {c})");
    let run = sim
        .job(&release, "dir", &[("working-directory", &dir)])
        .run();
    let lint = run.step("lint");
    assert_eq!(lint.exit, Some(2), "{}", explain(&run));
    assert!(
        lint.stderr.contains(&format!("{dir} does not exist")),
        "{}",
        explain(&run)
    );

    let args = format!("$(touch {c}) `touch {c}` ;touch {c}");
    let run = sim
        .job(
            &release,
            "args",
            &[("working-directory", "infra"), ("args", &args)],
        )
        .run();
    let lint = run.step("lint");
    assert_eq!(lint.exit, Some(2), "{}", explain(&run));
    assert!(
        lint.stderr.contains("unexpected argument '$(touch'"),
        "{}",
        explain(&run)
    );

    let run = sim
        .job(&release, "logs", &[("flow-logs", &format!("$(touch {c})"))])
        .run();
    assert_eq!(run.step("ingest").exit, Some(2), "{}", explain(&run));
    assert!(
        run.step("ingest").stderr.contains(&format!("$(touch {c})")),
        "{}",
        explain(&run)
    );

    assert!(!canary.exists(), "an input was run as shell code");

    let run = sim.job(&release, "mode", &[("mode", "deploy")]).run();
    assert!(
        run.step("lint")
            .stdout
            .contains("::error title=tighten::input mode: expected one of lint fix, got 'deploy'")
    );
}

/// Fix mode: the verified fixes written, the patch and the PR body as outputs, idempotent.
#[test]
fn fix_mode_writes_the_fixes_the_patch_and_the_body() {
    let release = Release::serve();
    let sim = Sim::new();
    let before = std::fs::read_to_string(sim.workspace().join("infra/main.tf")).unwrap();
    let run = sim
        .job(
            &release,
            "fix",
            &[
                ("mode", "fix"),
                ("working-directory", "infra"),
                ("flow-logs", "logs/flow-logs"),
                ("aws-config", "logs/aws-config"),
                ("unsafe-fixes", "true"),
            ],
        )
        .run();
    let why = explain(&run);
    assert!(!run.failed, "{why}");
    assert!(!run.step("Upload SARIF to code scanning").ran);
    assert_eq!(run.outputs["changed"], "true", "{why}");
    let patch = PathBuf::from(&run.outputs["patch-file"]);
    let body = PathBuf::from(&run.outputs["body-file"]);
    let after = std::fs::read_to_string(sim.workspace().join("infra/main.tf")).unwrap();
    assert_ne!(before, after);
    // The patch is what was written: it applies in reverse to the edited tree.
    let check = Command::new("git")
        .args(["apply", "--check", "-R"])
        .arg(&patch)
        .current_dir(sim.workspace())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let body = std::fs::read_to_string(body).unwrap();
    assert!(body.contains("0.0.0.0/0"), "{body}");
    // The pull request links the evidence report, written before the fixes were.
    let (text, link) = body
        .rsplit_once("\n**Evidence report:** ")
        .unwrap_or_else(|| panic!("no link to the report: {body}"));
    assert!(
        link.starts_with(
            "[tighten-report](https://github.com/acme/infra/actions/runs/42#artifacts)"
        )
    );
    assert!(run.summary.contains(text.trim_end()));
    let report = std::fs::read_to_string(&run.outputs["report-file"]).unwrap();
    assert!(
        report.contains("Verified diff of"),
        "the report shows the fixes"
    );
    // Nothing to fix the second time.
    let again = sim
        .job(
            &release,
            "fix-again",
            &[
                ("mode", "fix"),
                ("working-directory", "infra"),
                ("flow-logs", "logs/flow-logs"),
                ("aws-config", "logs/aws-config"),
                ("unsafe-fixes", "true"),
            ],
        )
        .run();
    assert_eq!(again.outputs["changed"], "false", "{}", explain(&again));
    assert_eq!(again.outputs["patch-file"], "");
}
