//! `metakv check`: the conformance suite's own behaviours (`kv-conformance`) against the
//! configured, live backend.
//!
//! Every behaviour works inside scratch partitions named with a random prefix
//! (`kvt-<12 hex>-`), which are deleted after each behaviour — when it passes, when it fails,
//! and when the run is interrupted with Ctrl-C. One behaviour is left out because it reads
//! every partition: `export_streams_every_entry_of_every_partition` (export has no partition
//! filter). The concurrency behaviours run their fixed, small load (at most 16 concurrent
//! writers and a few hundred writes, on scratch partitions), one behaviour at a time.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use kv_conformance::{Behaviour, Fixture, TestContext};
use kv_core::{KvStore, Result};
use serde::Serialize;

use crate::Config;

/// Behaviours that cannot run on a live database, with the reason.
pub const LEFT_OUT: &[(&str, &str)] = &[(
    "export_streams_every_entry_of_every_partition",
    "export reads every partition of the database",
)];

/// Opens stores on the configured backend. The embedded store is one process's file, so there
/// every `open` is a handle on the first store; elsewhere each is an independent client.
struct ConfigFixture {
    config: Config,
    shared: bool,
    first: tokio::sync::OnceCell<Arc<dyn KvStore>>,
}

#[async_trait::async_trait]
impl Fixture for ConfigFixture {
    fn name(&self) -> &str {
        self.config.database.kind.as_str()
    }

    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        if self.shared {
            self.first
                .get_or_try_init(|| crate::open_store(&self.config))
                .await
                .cloned()
        } else {
            crate::open_store(&self.config).await
        }
    }
}

/// The outcome of one behaviour.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The behaviour.
    pub name: &'static str,
    /// `pass`, `fail` or `left_out`.
    pub result: &'static str,
    /// How long it took.
    pub ms: u128,
    /// Why it failed or was left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The whole report (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The backend checked.
    pub backend: String,
    /// Behaviours that passed.
    pub passed: usize,
    /// Behaviours that failed.
    pub failed: usize,
    /// Every behaviour, in the suite's order.
    pub behaviours: Vec<Outcome>,
    /// Whether Ctrl-C stopped the run.
    pub interrupted: bool,
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the behaviour panicked".into())
}

/// Deletes the scratch partitions of `ctx` with a store of its own, from a fresh fixture:
/// the behaviour may have closed its store, and the embedded store must be closed before it
/// can be opened again.
async fn remove_scratch(
    fixture: Arc<dyn Fixture>,
    ctx: Arc<TestContext>,
    open_fixture: &impl Fn() -> Arc<dyn Fixture>,
) {
    let partitions = ctx.partitions();
    let _ = ctx.store().close().await;
    drop(ctx);
    drop(fixture);
    let Ok(store) = open_fixture().open().await else {
        return;
    };
    for p in partitions {
        let _ = store.delete_partition(&p).await;
    }
    // Closing lets the next behaviour open the embedded store again.
    let _ = store.close().await;
}

/// Runs `behaviours` one at a time against stores from `open_fixture` (a fresh fixture per
/// behaviour); `progress` sees each outcome as it is known.
pub async fn run(
    backend: &str,
    behaviours: &[Behaviour],
    open_fixture: impl Fn() -> Arc<dyn Fixture>,
    mut progress: impl FnMut(&Outcome),
) -> Report {
    let mut report = Report {
        backend: backend.into(),
        passed: 0,
        failed: 0,
        behaviours: Vec::new(),
        interrupted: false,
    };
    // Failed expectations panic; their messages go into the report, not onto the terminal.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    for behaviour in behaviours {
        let started = Instant::now();
        let outcome = |result, message| Outcome {
            name: behaviour.name,
            result,
            ms: started.elapsed().as_millis(),
            message,
        };
        if let Some((_, why)) = LEFT_OUT.iter().find(|(name, _)| *name == behaviour.name) {
            let o = outcome("left_out", Some((*why).to_string()));
            progress(&o);
            report.behaviours.push(o);
            continue;
        }
        let fixture = open_fixture();
        // Opened here first, so that the reason of a failure is reported (and the suite's
        // own skip-or-fail rule, for tests, does not apply).
        let opened = fixture.open().await;
        let ctx = match opened {
            Ok(_) => TestContext::new(Arc::clone(&fixture)).await.map(Arc::new),
            Err(e) => {
                let o = outcome("fail", Some(format!("the backend did not open: {e}")));
                report.failed += 1;
                progress(&o);
                report.behaviours.push(o);
                continue;
            }
        };
        let Some(ctx) = ctx else {
            let o = outcome(
                "fail",
                Some("the backend did not open a second time".into()),
            );
            report.failed += 1;
            progress(&o);
            report.behaviours.push(o);
            continue;
        };
        let running = AssertUnwindSafe((behaviour.run)(Arc::clone(&ctx))).catch_unwind();
        let result = tokio::select! {
            r = running => Some(r),
            _ = &mut ctrl_c => None,
        };
        remove_scratch(fixture, ctx, &open_fixture).await;
        let o = match result {
            None => {
                report.interrupted = true;
                break;
            }
            Some(Ok(())) => {
                report.passed += 1;
                outcome("pass", None)
            }
            Some(Err(payload)) => {
                report.failed += 1;
                outcome("fail", Some(panic_message(payload)))
            }
        };
        progress(&o);
        report.behaviours.push(o);
    }
    std::panic::set_hook(hook);
    report
}

/// `metakv check` on `config`.
pub async fn check(config: &Config, only: &[String], progress: impl FnMut(&Outcome)) -> Report {
    let all = kv_conformance::all_behaviours();
    let behaviours: Vec<_> = all
        .into_iter()
        .filter(|b| only.is_empty() || only.iter().any(|o| o == b.name))
        .collect();
    let shared = matches!(config.database.kind.as_str(), "local" | "memory");
    let config = config.clone();
    run(
        config.database.kind.as_str(),
        &behaviours,
        || {
            Arc::new(ConfigFixture {
                config: config.clone(),
                shared,
                first: tokio::sync::OnceCell::new(),
            }) as Arc<dyn Fixture>
        },
        progress,
    )
    .await
}
