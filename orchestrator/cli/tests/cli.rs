//! The `interarec` binary as a user runs it: `serve` from a config file and env, then
//! `tools register|list|describe|invoke|remove` against it, with the admin token from the env.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_interarec");

fn plugin_path(name: &str) -> PathBuf {
    let dir = std::env::var("INTERAREC_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
            target.join("wasm32-wasip2/plugin")
        });
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing; build the plugins first with `just plugins`",
        path.display()
    );
    path
}

/// A `serve` process, killed on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(config_file: &std::path::Path, token: &str) -> Serve {
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config_file)
        .env("INTERAREC_ADMIN_TOKEN", token)
        .env("INTERAREC_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .expect("interarec serve starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in stderr.lines() {});
    Serve { child, url }
}

/// Writes `DIR/interarec.toml`: a free loopback port and `DIR/data`; returns its path.
fn local_config(dir: &std::path::Path) -> PathBuf {
    let config = dir.join("interarec.toml");
    let text = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n",
        dir.join("data").display()
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// Runs `interarec SUBCOMMAND --server URL ARGS…` with the given admin token (or none).
fn interarec(subcommand: &str, url: &str, token: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(BIN);
    command
        .arg(subcommand)
        .args(["--server", url])
        .args(args)
        .env_remove("INTERAREC_ADMIN_TOKEN");
    if let Some(token) = token {
        command.env("INTERAREC_ADMIN_TOKEN", token);
    }
    let output = command.output().expect("interarec runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs each case `(admin token, arguments, should succeed, text expected in stdout on success
/// or stderr on failure)` as `interarec SUBCOMMAND`.
fn check_cases(subcommand: &str, url: &str, cases: Vec<(Option<&str>, Vec<&str>, bool, &str)>) {
    for (token, args, success, fragment) in cases {
        let (ok, stdout, stderr) = interarec(subcommand, url, token, &args);
        assert_eq!(ok, success, "{args:?}\nstdout: {stdout}\nstderr: {stderr}");
        let text = if success { &stdout } else { &stderr };
        assert!(text.contains(fragment), "{args:?}: expected {fragment:?} in {text:?}");
    }
}

fn tools(url: &str, token: Option<&str>, args: &[&str]) -> (bool, String, String) {
    interarec("tools", url, token, args)
}

#[test]
fn serve_and_manage_tools_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("interarec.toml");
    let data_dir = dir.path().join("data");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n[limits]\ndefault_timeout_ms = 2000\n",
            data_dir.display()
        ),
    )
    .unwrap();
    let server = serve(&config, "t0ken-for-the-cli-tests");
    let echo = plugin_path("echo");
    let echo = echo.to_str().unwrap();
    let (ok, _, stderr) = interarec("session", &server.url, None, &["create", "s"]);
    assert!(ok, "{stderr}");

    let before_crash: Vec<(Option<&str>, Vec<&str>, bool, &str)> = vec![
        (None, vec!["list"], true, "no tools registered"),
        (
            None,
            vec!["register", echo, "--grant", "kv"],
            false,
            "registering a tool needs the admin token",
        ),
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["register", echo, "--grant", "bogus"],
            false,
            "unknown capability `bogus`",
        ),
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["register", echo, "--grant", "kv", "--memory-mib", "32"],
            true,
            "echo 0.1.0 registered",
        ),
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["register", echo, "--grant", "kv", "--memory-mib", "32"],
            true,
            "already registered, unchanged",
        ),
        (None, vec!["list"], true, "echo"),
        (
            None,
            vec!["describe", "echo"],
            true,
            "limits:       timeout 2000 ms, memory 32 MiB",
        ),
        // A tool invoked for a session keeps its kv state there; naming a session needs its
        // credential or the admin token.
        (
            None,
            vec!["invoke", "echo", r#"{"message":"cli","count":true}"#, "--session", "s"],
            false,
            "session `s` needs its credential",
        ),
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["invoke", "echo", r#"{"message":"cli","count":true}"#, "--session", "s"],
            true,
            "\"calls\": 1",
        ),
    ];
    // Acknowledged registrations and kv writes survive a crash (SIGKILL, no clean shutdown).
    let after_crash: Vec<(Option<&str>, Vec<&str>, bool, &str)> = vec![
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["invoke", "echo", r#"{"message":"cli","count":true}"#, "--session", "s"],
            true,
            "\"calls\": 2",
        ),
        (
            None,
            vec!["invoke", "echo", "{}"],
            false,
            "invalid argument: tool `echo`@0.1.0: arguments do not match",
        ),
        (
            None,
            vec!["invoke", "nope"],
            false,
            "not found: no tool named `nope` is registered",
        ),
        (
            None,
            vec!["remove", "echo"],
            false,
            "removing a tool needs the admin token",
        ),
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["remove", "echo"],
            true,
            "echo 0.1.0 removed",
        ),
    ];
    check_cases("tools", &server.url, before_crash);
    drop(server); // SIGKILL
    let server = serve(&config, "t0ken-for-the-cli-tests");
    check_cases("tools", &server.url, after_crash);

    let (ok, _, stderr) = tools("http://127.0.0.1:1", None, &["list"]);
    assert!(!ok);
    assert!(
        stderr.contains("cannot reach the InteraRec server at http://127.0.0.1:1"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_bad_configuration_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &[(&str, &str)], &str)] = &[
        (
            &["--listen", "0.0.0.0:0"],
            &[],
            "refusing to listen on 0.0.0.0:0 without an admin token",
        ),
        (&["--listen", "nowhere"], &[], "listen address `nowhere` is invalid"),
        (
            &["--config", "/nonexistent.toml"],
            &[],
            "cannot read config file /nonexistent.toml",
        ),
        (&["--tls-cert", "/c.pem"], &[], "TLS needs both a certificate and a key"),
    ];
    for (args, env, fragment) in cases {
        let output = Command::new(BIN)
            .arg("serve")
            .args(*args)
            .args(["--data-dir", dir.path().to_str().unwrap()])
            .envs(env.iter().copied())
            .env_remove("INTERAREC_ADMIN_TOKEN")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(fragment), "{args:?}: expected {fragment:?} in {stderr}");
    }
}

#[test]
fn catalogs_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(dir.path());
    let homes = dir.path().join("homes.csv");
    std::fs::write(
        &homes,
        "id,title,price,city,bedrooms\nh1,House,1350000,Pacifica,3\nh2,Flat,799888,San Jose,2\nh3,Bad,,San Jose,2\n",
    )
    .unwrap();
    let homes = homes.to_str().unwrap();
    let server = serve(&config, "t0ken-for-the-cli-tests");
    let cases: Vec<(Option<&str>, Vec<&str>, bool, &str)> = vec![
        (None, vec!["list"], true, "no catalogs"),
        (
            None,
            vec!["import", homes, "--id", "homes"],
            false,
            "importing a catalog needs the admin token",
        ),
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["import", homes, "--id", "homes"],
            true,
            "homes imported: 2 items imported, 1 rows refused\n  line 4: item `h3`: missing price",
        ),
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["import", homes, "--id", "homes", "--format", "xml"],
            false,
            "possible values: csv, jsonl",
        ),
        (
            None,
            vec!["show", "homes"],
            true,
            "city             text    2 items: Pacifica, San Jose",
        ),
        (
            Some("t0ken-for-the-cli-tests"),
            vec!["remove", "homes"],
            true,
            "homes removed (2 items)",
        ),
        (None, vec!["show", "homes"], false, "not found: no catalog `homes`"),
    ];
    check_cases("catalog", &server.url, cases);
}

#[test]
fn choice_models_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(dir.path());
    let catalog = dir.path().join("shop.csv");
    std::fs::write(
        &catalog,
        "id,title,price,colour\na,Apple green,10,green\nb,Berry red,12,red\nc,Cactus green,15,green\n",
    )
    .unwrap();
    // Three items offered together at varying prices, each chosen sometimes.
    let visits = dir.path().join("visits.csv");
    let mut csv = String::from("choice_set,item_id,price,quantity\n");
    let sets = [
        ([10, 12, 15], 0),
        ([11, 12, 14], 1),
        ([10, 13, 15], 2),
        ([12, 11, 16], 0),
        ([10, 12, 13], 0),
        ([11, 10, 15], 1),
        ([12, 12, 12], 2),
        ([9, 14, 15], 0),
    ];
    for (set, (prices, chosen)) in sets.iter().enumerate() {
        for (item, price) in ["a", "b", "c"].iter().zip(prices) {
            csv.push_str(&format!(
                "s{set},{item},{price},{}\n",
                u8::from(*item == ["a", "b", "c"][*chosen])
            ));
        }
    }
    std::fs::write(&visits, csv).unwrap();
    let (catalog, visits) = (catalog.to_str().unwrap(), visits.to_str().unwrap());
    let server = serve(&config, "t0ken-for-the-cli-tests");
    let (ok, _, stderr) = interarec(
        "catalog",
        &server.url,
        Some("t0ken-for-the-cli-tests"),
        &["import", catalog, "--id", "shop"],
    );
    assert!(ok, "{stderr}");

    let (ok, stdout, stderr) = interarec(
        "fit",
        &server.url,
        Some("t0ken-for-the-cli-tests"),
        &[visits, "--id", "shop-mnl", "--catalog", "shop"],
    );
    assert!(ok, "{stderr}");
    // Progress goes to stderr (one line per step when it is not a terminal), the model to stdout.
    for step in [
        "uploading",
        "received",
        "read 24 lines: 24 usable, 0 skipped",
        "fitting segment `all` (1/1)",
        "segment `all`: log-likelihood",
    ] {
        assert!(stderr.contains(step), "{step:?} missing from {stderr}");
    }
    assert!(stdout.contains("choice sets:  as recorded"), "{stdout}");
    assert!(stdout.contains("all                 3"), "{stdout}");

    check_cases(
        "fit",
        &server.url,
        vec![
            (
                None,
                vec![visits, "--id", "other"],
                false,
                "fitting a choice model needs the admin token",
            ),
            (
                Some("t0ken-for-the-cli-tests"),
                vec![visits, "--id", "shop-mnl"],
                false,
                "already exists; pass replace (`--replace`)",
            ),
            (
                Some("t0ken-for-the-cli-tests"),
                vec![visits, "--id", "x", "--format", "xml"],
                false,
                "possible values: ta-feng, csv",
            ),
            (
                Some("t0ken-for-the-cli-tests"),
                vec![visits, "--id", "x", "--segment-by", "age"],
                false,
                "there is no column `age` to segment by",
            ),
            (
                Some("t0ken-for-the-cli-tests"),
                vec![catalog, "--id", "x"],
                false,
                "lacks `item_id` or `price`",
            ),
        ],
    );
    check_cases(
        "model",
        &server.url,
        vec![
            (None, vec!["list"], true, "shop-mnl"),
            (
                None,
                vec!["show", "shop-mnl"],
                true,
                "outside:      not observed in purchase logs: assumed no-purchase share 0.5",
            ),
            (None, vec!["show", "shop-mnl", "--parameters"], true, "\"intercept\":"),
            (
                None,
                vec!["show", "nope"],
                false,
                "no choice model `nope`; `interarec model list` shows the models",
            ),
        ],
    );
    check_cases(
        "optimize",
        &server.url,
        vec![
            (
                None,
                vec![
                    "--catalog",
                    "shop",
                    "--model",
                    "shop-mnl",
                    "--constraints",
                    r#"{"capacity": 2}"#,
                ],
                true,
                "optimal: h(R) =",
            ),
            (
                None,
                vec![
                    "--catalog",
                    "shop",
                    "--model",
                    "shop-mnl",
                    "--constraints",
                    r#"{"filters": [{"attribute": "colour", "equals": "red"}]}"#,
                ],
                true,
                "1    b",
            ),
            (
                None,
                vec!["--catalog", "shop", "--model", "shop-mnl", "--json"],
                true,
                "\"certificate\":{",
            ),
            (
                None,
                vec![
                    "--catalog",
                    "shop",
                    "--model",
                    "shop-mnl",
                    "--constraints",
                    r#"{"lowest_price": 100}"#,
                ],
                true,
                "no assortment: no item left after the price range 100–any",
            ),
            (
                None,
                vec![
                    "--catalog",
                    "shop",
                    "--model",
                    "shop-mnl",
                    "--constraints",
                    r#"{"size": 1}"#,
                ],
                false,
                "unknown field `size`",
            ),
            (
                None,
                vec!["--catalog", "nope", "--model", "shop-mnl"],
                false,
                "no catalog `nope`",
            ),
        ],
    );
    check_cases(
        "model",
        &server.url,
        vec![
            (
                None,
                vec!["remove", "shop-mnl"],
                false,
                "removing a choice model needs the admin token",
            ),
            (
                Some("t0ken-for-the-cli-tests"),
                vec!["remove", "shop-mnl"],
                true,
                "shop-mnl removed (1 segments)",
            ),
            (None, vec!["list"], true, "no choice models"),
        ],
    );
}

#[test]
fn sessions_replay_from_a_recorded_folder_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(dir.path());
    let recorded = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sessions/fashion-green-dresses");
    let recorded = recorded.to_str().unwrap();
    let server = serve(&config, "t0ken-for-the-cli-tests");
    let (ok, stdout, stderr) = interarec(
        "session",
        &server.url,
        None,
        &["replay", recorded, "--session", "green", "--speed", "0", "--end"],
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("creating session `green`"), "{stderr}");
    assert!(
        stderr.contains("frame 1 acknowledged (1280x800 image/jpeg)"),
        "{stderr}"
    );
    assert!(stdout.contains("acknowledged, 0 rejected"), "{stdout}");
    assert!(stdout.contains("session:   green (ended)"), "{stdout}");
    check_cases(
        "session",
        &server.url,
        vec![
            // The session's own calls need its credential or the admin token; listing, the admin.
            (None, vec!["list"], false, "listing every session needs the admin token"),
            (
                None,
                vec!["show", "green"],
                false,
                "session `green` needs its credential",
            ),
            (Some("t0ken-for-the-cli-tests"), vec!["list"], true, "green"),
            (
                Some("t0ken-for-the-cli-tests"),
                vec!["show", "green"],
                true,
                "batching:  10 frames or 20000 ms",
            ),
            (
                Some("t0ken-for-the-cli-tests"),
                vec!["show", "green"],
                true,
                "batches:   2; events: 3",
            ),
            // Thirteen frames: a batch of ten, then the other three when --end ended the session.
            (
                Some("t0ken-for-the-cli-tests"),
                vec!["show", "nobody"],
                false,
                "no session `nobody`",
            ),
            (
                None,
                vec!["replay", "/nonexistent"],
                false,
                "cannot read /nonexistent/manifest.json",
            ),
            (
                Some("t0ken-for-the-cli-tests"),
                vec!["replay", recorded, "--session", "green"],
                false,
                "session `green` has ended",
            ),
            (
                None,
                vec!["replay", recorded, "--session", "green"],
                false,
                "session `green` exists, and streaming into it needs its credential",
            ),
            // Everything CreateSession takes, from the command line.
            (
                None,
                vec![
                    "create",
                    "homes-1",
                    "--catalog",
                    "homes",
                    "--model",
                    "homes-mnl",
                    "--capacity",
                    "4",
                    "--batch-size",
                    "5",
                    "--batch-interval-ms",
                    "9000",
                    "--planner",
                    "offline",
                    "--vision",
                    "offline",
                    "--validate-tool",
                    "real-estate",
                    "--planner-tool",
                    "mortgage",
                    "--planner-tool",
                    "schools",
                ],
                true,
                "batching:  5 frames or 9000 ms",
            ),
            (
                Some("t0ken-for-the-cli-tests"),
                vec!["show", "homes-1"],
                true,
                "planning:  offline planner, validated by real-estate; 0 turn(s), 0 finished by the offline fallback; tools offered: mortgage, schools",
            ),
            (None, vec!["create", "homes-1"], false, "already exists"),
            (
                None,
                vec!["create", "x-1", "--planner", "gpt"],
                false,
                "possible values: offline, openai",
            ),
            (
                None,
                vec!["create", "x-2", "--planner", "openai"],
                false,
                "--openai-base-url",
            ),
            (
                None,
                vec!["create", "x-3", "--planner-tool", "Not A Tool"],
                false,
                "`Not A Tool` is not a tool name",
            ),
            (
                None,
                vec!["create", "x-4", "--batch-size", "100000"],
                false,
                "batch_size",
            ),
        ],
    );
    check_cases(
        "capture",
        &server.url,
        vec![(None, vec![recorded], false, "say where the frames go: --out DIR")],
    );
    // The log, over the API while the server runs, and from the data dir once it has stopped.
    let (ok, watched, stderr) = interarec(
        "session",
        &server.url,
        Some("t0ken-for-the-cli-tests"),
        &["watch", "green", "--json"],
    );
    assert!(ok, "{stderr}");
    let kinds: Vec<String> = watched
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["batch", "batch", "session-ended"], "{watched}");
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    check_cases(
        "session",
        &server.url,
        vec![(
            None,
            vec!["replay", "--from-store", "green", "--data-dir", data],
            false,
            "use `interarec session watch green` instead",
        )],
    );
    drop(server);
    check_cases(
        "session",
        "http://127.0.0.1:9",
        vec![
            (
                None,
                vec!["replay", "--from-store", "green", "--data-dir", data],
                true,
                "-- batch: frames [1,2,3,4,5,6,7,8,9,10]",
            ),
            (
                None,
                vec!["replay", "--from-store", "green", "--data-dir", data],
                true,
                "session `green` (ended): catalog ``",
            ),
            (
                None,
                vec!["replay", "--from-store", "green", "--data-dir", data, "--json"],
                true,
                "\"kind\":\"session-ended\"",
            ),
            (
                None,
                vec!["replay", "--from-store", "nobody", "--data-dir", data],
                false,
                "no session `nobody`",
            ),
            (
                None,
                vec!["replay", "--from-store", "green", "--data-dir", "/nonexistent"],
                false,
                "/nonexistent holds no InteraRec database",
            ),
            (None, vec!["replay"], false, "--from-store"),
        ],
    );
}

/// Runs `interarec ARGS…` with exactly the given `INTERAREC_*` secrets in its environment.
fn interarec_with(args: &[&str], secrets: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("INTERAREC_ADMIN_TOKEN")
        .env_remove("INTERAREC_API_KEY")
        .env_remove("INTERAREC_SESSION_CREDENTIAL")
        .envs(secrets.iter().copied())
        .output()
        .expect("interarec runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn api_keys_and_session_credentials_from_the_command_line() {
    const ADMIN: &str = "t0ken-for-the-cli-tests";
    // A key made by the CLI: printed once, with the config entry that holds only its hash.
    let (ok, key, entry) = interarec_with(&["api-key", "new", "storefront", "--scope", "sessions"], &[]);
    assert!(ok, "{entry}");
    let key = key.trim().to_owned();
    assert!(key.starts_with("irk-"), "{key}");
    let entry = entry
        .lines()
        .skip_while(|line| *line != "[[api_keys]]")
        .collect::<Vec<_>>()
        .join("\n");
    assert!(entry.contains("scopes = [\"sessions\"]"), "{entry}");
    assert!(!entry.contains(&key), "the config entry must not hold the key itself");
    let (ok, _, stderr) = interarec_with(&["api-key", "new", "x", "--scope", "admin"], &[]);
    assert!(!ok && stderr.contains("`admin` is not a scope"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("interarec.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{entry}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let server = serve(&config, ADMIN);
    let url = server.url.as_str();

    let (ok, _, stderr) = interarec_with(&["session", "create", "--server", url], &[]);
    assert!(
        !ok && stderr.contains("needs an API key with the `sessions` scope"),
        "{stderr}"
    );
    let (ok, created, stderr) = interarec_with(
        &["session", "create", "shop-visit", "--server", url],
        &[("INTERAREC_API_KEY", &key)],
    );
    assert!(ok, "{stderr}");
    let credential = created
        .lines()
        .find_map(|line| line.strip_prefix("credential: "))
        .unwrap_or_else(|| panic!("no credential in {created}"))
        .to_owned();

    let show = ["session", "show", "shop-visit", "--server", url];
    let cases: &[(&[(&str, &str)], bool, &str)] = &[
        (&[], false, "session `shop-visit` needs its credential for reading it"),
        (&[("INTERAREC_API_KEY", &key)], false, "needs its credential"),
        (
            &[("INTERAREC_SESSION_CREDENTIAL", "isc-wrong")],
            false,
            "is not session `shop-visit`'s",
        ),
        (
            &[("INTERAREC_SESSION_CREDENTIAL", &credential)],
            true,
            "session:   shop-visit",
        ),
        (&[("INTERAREC_ADMIN_TOKEN", ADMIN)], true, "session:   shop-visit"),
    ];
    for (secrets, success, fragment) in cases {
        let (ok, stdout, stderr) = interarec_with(&show, secrets);
        assert_eq!(ok, *success, "{secrets:?}: {stderr}");
        let text = if *success { stdout } else { stderr };
        assert!(text.contains(fragment), "{secrets:?}: expected {fragment:?} in {text}");
    }
    let (ok, _, stderr) = interarec_with(&["session", "list", "--server", url], &[("INTERAREC_API_KEY", &key)]);
    assert!(
        !ok && stderr.contains("listing every session needs the admin token"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = interarec_with(
        &["session", "list", "--server", url],
        &[("INTERAREC_ADMIN_TOKEN", ADMIN)],
    );
    assert!(ok && stdout.contains("shop-visit"), "{stderr}");
}

#[test]
fn a_large_demo_catalog_is_exported_imported_fitted_and_optimized() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(dir.path());
    let export = dir.path().join("export");
    let output = Command::new(BIN)
        .args(["demo-shop", "--export"])
        .arg(&export)
        .args(["--shop", "fashion", "--items", "5000", "--purchases", "3000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("fashion.csv: 5000 products"), "{stdout}");
    assert!(
        stdout.contains("fashion-transactions.csv: 3000 simulated purchases"),
        "{stdout}"
    );
    let catalog = std::fs::read_to_string(export.join("fashion.csv")).unwrap();
    assert_eq!(catalog.lines().count(), 5_001);
    assert!(!export.join("homes.csv").exists(), "only the shop asked for");
    // The large catalog starts with the shop's own products, as the default export writes them.
    let small = dir.path().join("small");
    assert!(
        Command::new(BIN)
            .args(["demo-shop", "--export"])
            .arg(&small)
            .status()
            .unwrap()
            .success()
    );
    let shop = std::fs::read_to_string(small.join("fashion.csv")).unwrap();
    assert!(catalog.starts_with(&shop), "the shop's products come first");

    let server = serve(&config, "t0ken-for-the-cli-tests");
    let token = Some("t0ken-for-the-cli-tests");
    let (catalog, transactions) = (export.join("fashion.csv"), export.join("fashion-transactions.csv"));
    let (ok, stdout, stderr) = interarec(
        "catalog",
        &server.url,
        token,
        &["import", catalog.to_str().unwrap(), "--id", "fashion"],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("fashion imported: 5000 items imported, 0 rows refused"),
        "{stdout}"
    );
    for step in ["sent ", "the server is checking and storing the rows", "done in"] {
        assert!(stderr.contains(step), "{step:?} missing from {stderr}");
    }
    let (ok, _, stderr) = interarec(
        "fit",
        &server.url,
        token,
        &[
            transactions.to_str().unwrap(),
            "--id",
            "fashion-mnl",
            "--catalog",
            "fashion",
        ],
    );
    assert!(ok, "{stderr}");
    check_cases(
        "optimize",
        &server.url,
        vec![
            (
                None,
                vec![
                    "--catalog",
                    "fashion",
                    "--model",
                    "fashion-mnl",
                    "--constraints",
                    r#"{"capacity": 5, "filters": [{"attribute": "colour", "one_of": ["green"]}]}"#,
                ],
                true,
                "optimal: h(R) =",
            ),
            (
                None,
                vec![
                    "--catalog",
                    "fashion",
                    "--model",
                    "fashion-mnl",
                    "--constraints",
                    r#"{"capacity": 5, "lowest_price": 100000}"#,
                ],
                true,
                "no assortment: no item left after the price range 100000–any",
            ),
        ],
    );
    let refused: [(&[&str], &str); 2] = [
        (&["--export", "x", "--items", "0"], "--items 0 is out of range"),
        (&["--export", "x", "--shop", "toys"], "there is no demo shop `toys`"),
    ];
    for (args, fragment) in refused {
        let output = Command::new(BIN)
            .arg("demo-shop")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(fragment), "{fragment:?} missing from {stderr}");
    }
}

#[test]
fn new_plugin_scaffolds_a_standalone_crate_and_refuses_what_it_cannot_make() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep.txt"), "mine").unwrap();
    let sdk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sdk/plugin");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    // (arguments after `new-plugin`, succeeds, what the output says)
    let cases: Vec<(Vec<String>, bool, &str)> = vec![
        (
            vec![path("greeter")],
            true,
            "cargo build --target wasm32-wasip2 --release",
        ),
        (
            vec![path("guard"), "--kind".into(), "validating".into(), "--sdk-git".into()],
            true,
            "--grant catalog",
        ),
        (
            vec![path("local"), "--sdk-path".into(), sdk.to_string_lossy().into_owned()],
            true,
            "cargo test",
        ),
        (vec![path("Bad_Name")], false, "tool name `Bad_Name` is invalid"),
        (vec![path("taken")], false, "already exists and is not empty"),
        (
            vec![path("x"), "--sdk-path".into(), path("nowhere")],
            false,
            "does not exist",
        ),
        (
            vec![path("y"), "--kind".into(), "widget".into()],
            false,
            "possible values: tool, validating",
        ),
    ];
    for (arguments, succeeds, says) in cases {
        let mut all = vec!["new-plugin"];
        all.extend(arguments.iter().map(String::as_str));
        let (ok, stdout, stderr) = interarec_with(&all, &[]);
        assert_eq!(ok, succeeds, "{arguments:?}: {stdout}{stderr}");
        assert!(
            stdout.contains(says) || stderr.contains(says),
            "{arguments:?}: {stdout}{stderr}"
        );
    }
    // What was made: a workspace of its own, the SDK from where it was asked for.
    let manifest = |name: &str| std::fs::read_to_string(dir.path().join(name).join("Cargo.toml")).unwrap();
    assert!(manifest("greeter").contains("[workspace]"));
    assert!(manifest("greeter").contains(&format!("path = {:?}", std::fs::canonicalize(&sdk).unwrap())));
    assert!(manifest("guard").contains(r#"git = "https://github.com/interarec/interarec", tag = "v0.1.0""#));
    let guard = std::fs::read_to_string(dir.path().join("guard/src/lib.rs")).unwrap();
    assert!(guard.contains("type Arguments = ValidatingInput;"));
    // Nothing written into the directory that was not empty, nothing left by a refusal.
    assert_eq!(std::fs::read_dir(&taken).unwrap().count(), 1);
    assert!(!dir.path().join("Bad_Name").exists() && !dir.path().join("x").exists());
}

/// Runs `interarec ARGS…` with `stdin` on its standard input; returns (exit code, stdout, stderr).
fn interarec_status(args: &[&str], token: Option<&str>, stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("INTERAREC_ADMIN_TOKEN")
        .env_remove("INTERAREC_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(token) = token {
        command.env("INTERAREC_ADMIN_TOKEN", token);
    }
    let mut child = command.spawn().expect("interarec runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn json_output_arguments_from_files_exit_codes_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let token = "cli-json-admin-token-0123456789";
    let server = serve(&local_config(dir.path()), token);
    let url = server.url.as_str();
    let echo = plugin_path("echo");
    let arguments = dir.path().join("arguments.json");
    std::fs::write(&arguments, r#"{"message": "from a file"}"#).unwrap();
    let at_file = format!("@{}", arguments.display());
    let register = [
        "tools",
        "--server",
        url,
        "register",
        echo.to_str().unwrap(),
        "--grant",
        "kv",
    ];
    // (arguments, admin token, stdin, exit code, text expected in stdout (success) or stderr)
    let cases: Vec<(Vec<&str>, Option<&str>, &str, i32, &str)> = vec![
        (register.to_vec(), None, "", 4, "admin token"),
        (register.to_vec(), Some(token), "", 0, "echo 0.1.0 registered"),
        (
            vec!["tools", "--server", url, "invoke", "echo", &at_file],
            Some(token),
            "",
            0,
            "from a file",
        ),
        (
            vec!["tools", "--server", url, "invoke", "echo", "-"],
            Some(token),
            r#"{"message": "piped"}"#,
            0,
            "piped",
        ),
        (
            vec!["tools", "--server", url, "invoke", "echo", "@/no/such/file"],
            Some(token),
            "",
            1,
            "cannot read the arguments",
        ),
        (
            vec!["tools", "--server", url, "describe", "nope"],
            Some(token),
            "",
            3,
            "no tool named `nope`",
        ),
        (
            vec!["tools", "--server", "http://127.0.0.1:1", "list"],
            None,
            "",
            5,
            "cannot reach",
        ),
        (
            vec!["tools", "--server", url, "frobnicate"],
            None,
            "",
            2,
            "unrecognized subcommand",
        ),
        (vec!["completions", "bash"], None, "", 0, "_interarec()"),
    ];
    for (args, token, stdin, code, fragment) in cases {
        let (status, stdout, stderr) = interarec_status(&args, token, stdin);
        assert_eq!(status, code, "{args:?}\nstdout: {stdout}\nstderr: {stderr}");
        let text = if code == 0 { &stdout } else { &stderr };
        assert!(text.contains(fragment), "{args:?}: expected {fragment:?} in {text:?}");
    }
    // Every list and show command speaks JSON with --json.
    let json = |args: &[&str]| -> serde_json::Value {
        let (status, stdout, stderr) = interarec_status(args, Some(token), "");
        assert_eq!(status, 0, "{args:?}: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
    };
    let listed = json(&["tools", "--server", url, "list", "--json"]);
    assert_eq!(listed[0]["name"], "echo", "{listed:#}");
    let described = json(&["tools", "--server", url, "describe", "echo", "--json"]);
    assert_eq!(
        described["requested_capabilities"],
        serde_json::json!(["kv"]),
        "{described:#}"
    );
    assert_eq!(described["grants"][0]["capability"], "kv");
    assert!(described["limits"]["timeout_ms"].as_f64().unwrap() > 0.0);
    assert!(
        described["registered_at"].as_str().unwrap().ends_with('Z'),
        "{described:#}"
    );
    for args in [
        &["catalog", "--server", url, "list", "--json"][..],
        &["model", "--server", url, "list", "--json"][..],
        &["session", "--server", url, "list", "--json"][..],
    ] {
        assert_eq!(json(args), serde_json::json!([]), "{args:?}");
    }
}
