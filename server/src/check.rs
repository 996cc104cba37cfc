//! `metakv check`: the conformance suite's own behaviours (`kv-conformance`) against the
//! configured, live backend.
//!
//! Every behaviour works inside scratch partitions named with a random prefix
//! (`kvt-<12 hex>-`), which are deleted after each behaviour — when it passes, when it fails,
//! and when the run is interrupted with Ctrl-C. One behaviour is left out because it reads
//! every partition: `export_streams_every_entry_of_every_partition` (export has no partition
//! filter). Behaviours run one at a time; the concurrency behaviours run a bounded load
//! ([`Load`]: by default at most 16 concurrent tasks and 160 conditional increments, on scratch
//! partitions; `--concurrency` and `--operations` change it).
//!
//! Before the behaviours, the backend's own settings are inspected ([`crate::inspect`]): the
//! risks it can see (weak consistency, no point-in-time recovery, no TLS, ...) are reported
//! with the results; they fail the run only with `--fail-on-risk`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
pub use kv_conformance::Load;
use kv_conformance::{Behaviour, Fixture, TestContext};
use kv_core::{Finding, KvStore, Result};
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

    async fn reopen(&self, store: Arc<dyn KvStore>) -> Option<Result<Arc<dyn KvStore>>> {
        if self.config.database.kind.as_str() == "memory" {
            return None;
        }
        // Closing the handle closes the embedded store's file; a fresh open takes it again.
        let _ = store.close().await;
        Some(crate::open_store(&self.config).await)
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
    /// The load of the concurrency behaviours.
    pub load: LoadReport,
    /// Every behaviour, in the suite's order.
    pub behaviours: Vec<Outcome>,
    /// What the inspection of the backend's settings found (risks first).
    pub findings: Vec<Finding>,
    /// Whether Ctrl-C stopped the run.
    pub interrupted: bool,
}

/// [`Load`] in the report.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadReport {
    /// Most concurrent tasks of a behaviour.
    pub concurrency: usize,
    /// Conditional increments of the increment behaviour.
    pub operations: usize,
}

impl From<Load> for LoadReport {
    fn from(l: Load) -> Self {
        Self {
            concurrency: l.concurrency,
            operations: l.incrementers() * l.increments_each(),
        }
    }
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

/// Runs `behaviours` one at a time with `load` against stores from `open_fixture` (a fresh
/// fixture per behaviour); `progress` sees each outcome as it is known.
pub async fn run(
    backend: &str,
    behaviours: &[Behaviour],
    load: Load,
    open_fixture: impl Fn() -> Arc<dyn Fixture>,
    mut progress: impl FnMut(&Outcome),
) -> Report {
    let mut report = Report {
        backend: backend.into(),
        passed: 0,
        failed: 0,
        load: load.into(),
        behaviours: Vec::new(),
        findings: Vec::new(),
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
            Ok(_) => TestContext::new(Arc::clone(&fixture))
                .await
                .map(|ctx| Arc::new(ctx.with_load(load))),
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
                let message = kv_conformance::panic_message(&*payload)
                    .unwrap_or_else(|| "the behaviour panicked".into());
                outcome("fail", Some(message))
            }
        };
        progress(&o);
        report.behaviours.push(o);
    }
    std::panic::set_hook(hook);
    report
}

/// `metakv check` on `config`: the inspection of its settings (shown to `findings` first), then
/// the behaviours (all, or those named in `only`) with `load`.
pub async fn check(
    config: &Config,
    only: &[String],
    load: Load,
    show_findings: impl FnOnce(&[Finding]),
    progress: impl FnMut(&Outcome),
) -> Report {
    // Opened once first, so that `auto_create` has created what the inspection looks at (a
    // failure to open is reported by the first behaviour).
    if let Ok(store) = crate::open_store(config).await {
        let _ = store.close().await;
    }
    let findings = match crate::inspect(config).await {
        Ok(mut f) => {
            f.sort_by_key(|f| f.level == kv_core::Level::Ok);
            f
        }
        Err(e) => vec![Finding::unknown(
            "settings",
            format!("could not be inspected: {e}"),
        )],
    };
    show_findings(&findings);
    let all = kv_conformance::all_behaviours();
    let behaviours: Vec<_> = all
        .into_iter()
        .filter(|b| only.is_empty() || only.iter().any(|o| o == b.name))
        .collect();
    let shared = matches!(config.database.kind.as_str(), "local" | "memory");
    let config = config.clone();
    let mut report = run(
        config.database.kind.as_str(),
        &behaviours,
        load,
        || {
            Arc::new(ConfigFixture {
                config: config.clone(),
                shared,
                first: tokio::sync::OnceCell::new(),
            }) as Arc<dyn Fixture>
        },
        progress,
    )
    .await;
    report.findings = findings;
    report
}
