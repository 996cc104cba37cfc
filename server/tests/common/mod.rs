//! What several of the server's test binaries share: a `metakv serve` child on a free port,
//! and the Cosmos DB emulator's key.
//! (Each test binary compiles this module and uses part of it.)
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key the Cosmos DB emulators use (public; the emulator accepts any key).
pub const EMULATOR_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

/// The bearer token every `Server` accepts.
pub const TOKEN: &str = "e2e-secret-token";

/// A running `metakv serve`, stopped by its PID when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Server {
    pub fn start(envs: &[(&str, String)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_metakv"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("METAKV_CONFIG")
            .env("METAKV_SERVER__AUTH__TOKENS", format!("[{TOKEN}]"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("metakv starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("metakv prints its address");
        let base = line
            .trim()
            .strip_prefix("metakv listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, base }
    }

    /// SIGTERM, then wait (bounded) for a clean exit. Async, so that this test's runtime keeps
    /// serving its clients' connections (which must see the server's goodbye) meanwhile.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "metakv did not stop after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
