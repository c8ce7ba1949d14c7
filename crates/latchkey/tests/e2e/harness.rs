//! Starting, stopping and killing real server processes.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_store::testing::TestDb;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const ADMIN_SECRET: &str = "lks_test_admin_secret_0123456789abcdefghijklmnop";
pub const ADMIN_PASSWORD: &str = "test-admin-password-123";
/// One master key for every node of a test (base64 of 32 bytes).
pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Where a server keeps its data; shared by the nodes of one installation.
pub struct Install {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub _db: Option<TestDb>,
}

impl Install {
    /// A fresh installation on the backend of this test run.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new().await;
        let database_url = db.url.clone();
        Self { dir, database_url, _db: Some(db) }
    }

    /// A fresh installation on PostgreSQL, whatever the run's backend.
    pub async fn postgres() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = latchkey_store::testing::fresh_pg_database().await;
        Self { dir, database_url, _db: None }
    }
}

/// Options of one server process.
#[derive(Clone, Default)]
pub struct Opts {
    /// Do not pass bootstrap secrets: let the server generate and print them.
    pub generated_secrets: bool,
    /// Override the master key (`None`: the shared test key; `Some("")`:
    /// none, so the server uses its `master.key` file).
    pub master_key: Option<String>,
    /// `LATCHKEY_PUBLIC_URL`: the issuer shared by the nodes behind one
    /// load balancer. `None`: each node's own address.
    pub public_url: Option<String>,
    /// Further environment variables (configuration keys).
    pub env: Vec<(String, String)>,
}

pub struct Server {
    child: Child,
    pub base: String,
    pub issuer: String,
    stdout: tokio::task::JoinHandle<String>,
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn command(install: &Install, opts: &Opts) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.arg("serve")
        .current_dir(install.dir.path())
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_DATA_DIR", install.dir.path().join("data"))
        .env("LATCHKEY_DATABASE_URL", &install.database_url)
        .env("LATCHKEY_LOG_FORMAT", "json")
        .env("LATCHKEY_LOG_LEVEL", "info")
        .env("LATCHKEY_PASSWORD_HASH_MEMORY_KIB", "1024")
        .env("LATCHKEY_PASSWORD_HASH_ITERATIONS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    match &opts.public_url {
        Some(u) => cmd.env("LATCHKEY_PUBLIC_URL", u),
        None => cmd.env_remove("LATCHKEY_PUBLIC_URL"),
    };
    match opts.master_key.as_deref() {
        Some("") => cmd.env_remove("LATCHKEY_MASTER_KEY"),
        Some(k) => cmd.env("LATCHKEY_MASTER_KEY", k),
        None => cmd.env("LATCHKEY_MASTER_KEY", MASTER_KEY),
    };
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    if opts.generated_secrets {
        cmd.env_remove("LATCHKEY_BOOTSTRAP_ADMIN_SECRET").env_remove("LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD");
    } else {
        cmd.env("LATCHKEY_BOOTSTRAP_ADMIN_SECRET", ADMIN_SECRET)
            .env("LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
    }
    cmd
}

/// How a start ended when the server did not come up.
pub struct Failed {
    pub status: std::process::ExitStatus,
    pub stderr: String,
}

impl Server {
    pub async fn start(install: &Install) -> Self {
        Self::start_with(install, &Opts::default()).await
    }

    pub async fn start_with(install: &Install, opts: &Opts) -> Self {
        match Self::try_start(install, opts).await {
            Ok(s) => s,
            Err(f) => panic!("server did not start ({}):\n{}", f.status, f.stderr),
        }
    }

    /// Starts a server and waits for its "serving" log event (bounded), or
    /// for it to exit.
    pub async fn try_start(install: &Install, opts: &Opts) -> Result<Self, Failed> {
        let mut child = command(install, opts).spawn().expect("spawn latchkey");
        let stderr = child.stderr.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(stderr).lines();
        let wait = async {
            while let Ok(Some(line)) = lines.next_line().await {
                logs.lock().unwrap().push(line.clone());
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["fields"]["message"] == "latchkey is serving"
                {
                    return Some(v["fields"]["addr"].as_str().unwrap().to_owned());
                }
            }
            None
        };
        let addr = tokio::time::timeout(Duration::from_secs(60), wait).await.expect("server start timed out");
        let Some(addr) = addr else {
            let status = child.wait().await.unwrap();
            let stderr = logs.lock().unwrap().join("\n");
            return Err(Failed { status, stderr });
        };
        // Keep draining stderr so the pipe never blocks the server.
        let sink = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        let stdout = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut BufReader::new(stdout), &mut buf).await;
            String::from_utf8_lossy(&buf).into_owned()
        });
        let base = format!("http://{addr}");
        let issuer = opts.public_url.clone().unwrap_or_else(|| base.clone());
        Ok(Self { child, base, issuer, stdout, logs })
    }

    /// SIGKILL, and wait until the process is gone.
    pub async fn kill9(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// Stops the server (SIGKILL) and returns everything it printed on
    /// stdout and stderr.
    pub async fn stop(mut self) -> (String, String) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        let out = (&mut self.stdout).await.unwrap();
        (out, self.logs())
    }

    /// SIGTERM, and wait (bounded) until the process is gone: its exit
    /// status and everything it logged.
    pub async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.pid().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the server exits after SIGTERM")
            .unwrap();
        // The log reader ends with the process's stderr.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !self.logs().contains("\"stopped\"") && tokio::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        (status, self.logs())
    }

    /// The process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// Waits (bounded) until a log line contains `needle`.
    pub async fn wait_for_log(&self, needle: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !self.logs().contains(needle) {
            assert!(tokio::time::Instant::now() < deadline, "no log line with {needle:?}:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn http() -> reqwest::Client {
    latchkey_app::remote::http::install_tls_provider();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// POSTs a form with Basic authentication; returns status and JSON body.
pub async fn post_basic(url: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http().post(url).basic_auth(id, Some(secret)).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// An access token for `latchkey-admin` with `scope`.
pub async fn admin_token(s: &Server, scope: &str) -> String {
    let (status, body) = post_basic(
        &s.url("/oauth2/token"),
        "latchkey-admin",
        ADMIN_SECRET,
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Creates a client through the admin API; returns the 201 body.
pub async fn create_client(s: &Server, body: Value) -> Value {
    let token = admin_token(s, "admin").await;
    let r = http().post(s.url("/api/v1/clients")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let json: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{json}");
    json
}

/// Creates a scope through the admin API.
pub async fn create_scope(s: &Server, name: &str) {
    let token = admin_token(s, "admin").await;
    let r = http()
        .post(s.url("/api/v1/scopes"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": name, "description": "test scope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

pub async fn introspect(s: &Server, id: &str, secret: &str, token: &str) -> Value {
    let (status, body) = post_basic(&s.url("/oauth2/introspect"), id, secret, &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn revoke(s: &Server, id: &str, secret: &str, token: &str) -> u16 {
    http()
        .post(s.url("/oauth2/revoke"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The value of a counter or gauge on a node's `/metrics` (`name` ends with
/// the space before the value).
pub async fn metric(s: &Server, name: &str) -> u64 {
    let text = http().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// Waits (bounded) until exactly `n` requests hold one of the node's
/// in-flight slots. `/metrics` never takes a slot, so watching it cannot
/// race the requests it watches (a probe that took a slot could make a
/// stalled request arrive to a full node and be refused itself).
pub async fn wait_in_flight(s: &Server, n: u64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = metric(s, "latchkey_http_requests_in_flight ").await;
        if now == n {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{now} requests in flight, never {n}; logs:\n{}", s.logs());
        tokio::task::yield_now().await;
    }
}

/// GETs `url` with a bearer token; returns the JSON body.
pub async fn get_json(url: impl reqwest::IntoUrl, token: impl std::fmt::Display) -> Value {
    http().get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}
