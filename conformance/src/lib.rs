//! The metakv conformance suite: the contract (`docs/CONTRACT.md`) made executable.
//!
//! Every behaviour is a `pub async fn` in [`behaviours`] taking a [`TestContext`], named as a
//! sentence. [`suite!`] expands to the `main` of a test binary with one test per behaviour
//! (on `libtest-mimic`), so a driver's whole conformance test is:
//!
//! ```ignore
//! // kv-foo/tests/conformance.rs, declared in Cargo.toml with `harness = false`
//! kv_conformance::suite!(kv_foo::testing::fixture);
//! ```
//!
//! where `fixture` is an `async fn() -> Option<Arc<dyn Fixture>>` that returns `None` (after
//! [`endpoint`] printed why) when the backend is not there: every behaviour is then reported
//! ignored, never passed. With `KV_TEST_MODE=required` a missing or unreachable backend fails
//! the tests instead (CI sets it).
//!
//! # Contract
//!
//! The behaviours cover the whole of `docs/CONTRACT.md`: limits at and one byte over each bound;
//! binary round trips; every condition against every state of a key; versions (fresh on every
//! write, equal between write and read); scan order, bounds, limits, reverse and page tokens;
//! partition isolation; atomic batches; `delete_partition` and export; concurrency
//! (read-modify-write, create races, scans under writes, two independently opened stores);
//! a model-based property test; `close` and cancellation.
#![warn(missing_docs)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kv_core::{KvStore, Partition};

pub mod behaviours;
#[cfg(feature = "harness")]
pub mod containers;
mod harness;

#[cfg(feature = "harness")]
pub use containers::{COSMOS, DYNAMODB, POSTGRES, Service};
#[cfg(feature = "harness")]
pub use harness::service_endpoint;
pub use harness::{Containers, Selection, TestMode, endpoint, select};

/// Opens stores on one database. Each test gets its own fixture; `open` may be called more than
/// once, and every store it returns must see the same data (they act as independent clients of
/// one database).
#[async_trait]
pub trait Fixture: Send + Sync + 'static {
    /// A short name of the backend, for messages.
    fn name(&self) -> &str;

    /// Opens a store on the fixture's database.
    async fn open(&self) -> kv_core::Result<Arc<dyn KvStore>>;

    /// Closes `store` and opens the database again as a restarted process would: the same
    /// data, nothing carried over in memory. `None` when the backend cannot (the in-memory
    /// store: nothing survives its close). By default: close, then [`Fixture::open`].
    async fn reopen(&self, store: Arc<dyn KvStore>) -> Option<kv_core::Result<Arc<dyn KvStore>>> {
        let _ = store.close().await;
        Some(self.open().await)
    }
}

/// What a behaviour gets: a store, fresh random partitions, and a way to open a second store.
pub struct TestContext {
    fixture: Arc<dyn Fixture>,
    store: Arc<dyn KvStore>,
    run: String,
    partitions: Mutex<Vec<Partition>>,
    load: Load,
}

/// How hard the concurrency behaviours push: the suite's defaults in tests, or what
/// `metakv check --concurrency --operations` asks of a live backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Most tasks a behaviour runs at once (at least 2): the contenders for one key in
    /// `concurrent_absent_creates_have_exactly_one_winner`, twice the incrementers of
    /// `concurrent_version_increments_lose_no_update`. Default 16.
    pub concurrency: usize,
    /// Successful conditional increments in `concurrent_version_increments_lose_no_update`,
    /// shared among its tasks (each retries on `ConditionFailed`). Default 160.
    pub operations: usize,
}

impl Default for Load {
    fn default() -> Self {
        Self {
            concurrency: 16,
            operations: 160,
        }
    }
}

impl Load {
    /// Concurrent incrementers (half the concurrency, at least 2).
    pub fn incrementers(&self) -> usize {
        (self.concurrency / 2).max(2)
    }

    /// Increments per incrementer (at least 1).
    pub fn increments_each(&self) -> usize {
        (self.operations / self.incrementers()).max(1)
    }

    /// Contenders for one key (at least 2).
    pub fn contenders(&self) -> usize {
        self.concurrency.max(2)
    }
}

impl std::fmt::Debug for TestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestContext")
            .field("backend", &self.fixture.name())
            .field("run", &self.run)
            .finish()
    }
}

impl TestContext {
    /// Opens the fixture's store; `None` when the backend is unreachable and the test mode
    /// allows skipping (it panics under `KV_TEST_MODE=required`).
    pub async fn new(fixture: Arc<dyn Fixture>) -> Option<Self> {
        let store = match fixture.open().await {
            Ok(store) => store,
            Err(e) => {
                harness::unreachable(fixture.name(), &e);
                return None;
            }
        };
        let run = format!("kvt-{:012x}-", rand::random::<u64>() & 0xffff_ffff_ffff);
        Some(Self {
            fixture,
            store,
            run,
            partitions: Mutex::new(Vec::new()),
            load: Load::default(),
        })
    }

    /// The same context with another load for the concurrency behaviours.
    pub fn with_load(mut self, load: Load) -> Self {
        self.load = load;
        self
    }

    /// The load of the concurrency behaviours.
    pub fn load(&self) -> Load {
        self.load
    }

    /// The store under test.
    pub fn store(&self) -> &Arc<dyn KvStore> {
        &self.store
    }

    /// A partition unique to this test run: a random prefix, then `suffix` (any bytes). Two
    /// suffixes where one is a byte-prefix of the other give partitions with that relation.
    pub fn partition(&self, suffix: impl AsRef<[u8]>) -> Partition {
        let mut name = self.run.as_bytes().to_vec();
        name.extend_from_slice(suffix.as_ref());
        let partition = Partition::new(name).expect("test partition names are short");
        self.partitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(partition.clone());
        partition
    }

    /// The random prefix of every partition of this run.
    pub fn run_prefix(&self) -> &[u8] {
        self.run.as_bytes()
    }

    /// The partitions this run has created so far.
    pub fn partitions(&self) -> Vec<Partition> {
        self.partitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A second store on the same database, opened independently of [`Self::store`].
    pub async fn open_another(&self) -> Arc<dyn KvStore> {
        self.fixture
            .open()
            .await
            .expect("a second store opens on the same database")
    }

    /// Closes [`Self::store`] and opens the database again (see [`Fixture::reopen`]); `None`
    /// when the backend cannot be reopened. Afterwards only the returned store may be used.
    pub async fn reopen(&self) -> Option<Arc<dyn KvStore>> {
        let reopened = self.fixture.reopen(Arc::clone(&self.store)).await?;
        Some(reopened.expect("the store opens again on the same database"))
    }

    /// Removes the partitions this run created (best effort: a closed store is fine).
    pub async fn cleanup(self) {
        let partitions =
            std::mem::take(&mut *self.partitions.lock().unwrap_or_else(|e| e.into_inner()));
        for partition in partitions {
            let _ = self.store.delete_partition(&partition).await;
        }
        let _ = self.store.close().await;
    }
}

/// A fixture over an [`kv_core::InMemoryStore`]: every `open` is a handle on the same data.
#[derive(Debug, Default)]
pub struct MemoryFixture(kv_core::InMemoryStore);

#[async_trait]
impl Fixture for MemoryFixture {
    fn name(&self) -> &str {
        "memory"
    }

    async fn open(&self) -> kv_core::Result<Arc<dyn KvStore>> {
        Ok(Arc::new(self.0.clone()))
    }

    async fn reopen(&self, _: Arc<dyn KvStore>) -> Option<kv_core::Result<Arc<dyn KvStore>>> {
        None
    }
}

/// The setup function for the in-memory store: `suite!(kv_conformance::memory_fixture)`.
pub async fn memory_fixture() -> Option<Arc<dyn Fixture>> {
    Some(Arc::new(MemoryFixture::default()))
}

/// Runs one behaviour against a fixture; what each test of [`suite!`] does.
pub async fn run<F>(setup: Option<Arc<dyn Fixture>>, behaviour: impl FnOnce(Arc<TestContext>) -> F)
where
    F: Future<Output = ()>,
{
    let Some(fixture) = setup else { return };
    let Some(ctx) = TestContext::new(fixture).await else {
        return;
    };
    let ctx = Arc::new(ctx);
    behaviour(Arc::clone(&ctx)).await;
    if let Ok(ctx) = Arc::try_unwrap(ctx) {
        ctx.cleanup().await;
    }
}

/// A behaviour by name, to run outside `#[test]` (`metakv check`).
#[derive(Clone, Copy)]
pub struct Behaviour {
    /// Its name, a sentence in snake case.
    pub name: &'static str,
    /// Runs it; a failed expectation panics.
    pub run: fn(Arc<TestContext>) -> futures::future::LocalBoxFuture<'static, ()>,
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

#[doc(hidden)]
#[macro_export]
macro_rules! __behaviour_list {
    (; $($name:ident),* $(,)?) => {
        /// Every behaviour of the suite, in its order.
        pub fn all_behaviours() -> Vec<Behaviour> {
            vec![$(Behaviour {
                name: stringify!($name),
                run: |ctx| Box::pin(async move { behaviours::$name(&ctx).await }),
            }),*]
        }
    };
}

for_each_behaviour!({ __behaviour_list }());

/// Calls the macro named in braces with the given arguments, then `;` and the name of every
/// behaviour: the one list the suite is made from.
/// `for_each_behaviour!({ my_macro } (args))` expands to `my_macro!(args; name, name, ...)`.
#[macro_export]
macro_rules! for_each_behaviour {
    ({ $($callback:tt)+ } ( $($args:tt)* )) => {
        $($callback)+!(
            $($args)*;
            // limits and validation
            entries_at_every_limit_round_trip,
            oversized_inputs_are_rejected_before_any_io,
            bad_scan_options_are_rejected,
            // basic operations
            get_of_a_missing_key_is_none,
            binary_data_round_trips,
            empty_value_is_a_real_value,
            written_version_equals_read_version,
            identical_writes_get_distinct_versions,
            recreated_key_gets_a_new_version,
            delete_reports_whether_an_entry_was_removed,
            // the condition table, one cell each
            put_none_creates_an_absent_key,
            put_none_overwrites_a_present_key,
            put_none_overwrites_a_recreated_key,
            put_absent_creates_an_absent_key,
            put_absent_fails_on_a_present_key,
            put_absent_fails_on_a_recreated_key,
            put_absent_creates_a_deleted_key,
            put_exists_fails_on_an_absent_key,
            put_exists_overwrites_a_present_key,
            put_exists_overwrites_a_recreated_key,
            put_exists_fails_on_a_deleted_key,
            put_version_fails_on_an_absent_key,
            put_version_overwrites_the_matching_version,
            put_version_fails_on_a_recreated_key,
            put_version_fails_on_a_deleted_key,
            put_version_fails_on_a_stale_version,
            versions_from_another_partition_never_match,
            delete_none_on_an_absent_key_removes_nothing,
            delete_none_removes_a_present_key,
            delete_none_removes_a_recreated_key,
            delete_exists_fails_on_an_absent_key,
            delete_exists_removes_a_present_key,
            delete_exists_removes_a_recreated_key,
            delete_version_fails_on_an_absent_key,
            delete_version_removes_the_matching_version,
            delete_version_fails_on_a_recreated_key,
            delete_version_fails_on_a_deleted_key,
            // scans
            scan_returns_keys_in_unsigned_byte_order,
            scan_in_reverse_returns_decreasing_order,
            scan_with_prefix_returns_only_matching_keys,
            scan_bounds_are_start_inclusive_after_exclusive_end_exclusive,
            scan_limit_caps_the_total_across_pages,
            scan_of_an_empty_range_yields_nothing,
            scan_of_a_missing_partition_yields_nothing,
            scan_pages_concatenate_to_the_full_scan,
            scan_resumes_exactly_after_the_page_token,
            scan_rejects_a_malformed_page_token,
            a_page_token_resumes_only_its_own_scan,
            partitions_are_isolated,
            the_page_that_reaches_the_limit_carries_no_token,
            scan_bounds_of_the_largest_key_size_work,
            // multi-gets, keys-only scans, counts
            get_many_answers_in_the_order_asked_with_none_for_absent_keys,
            keys_only_scans_return_keys_and_versions_without_values,
            count_is_the_length_of_the_scan_of_the_same_bounds,
            // batches
            batch_applies_every_operation_and_returns_versions,
            batch_is_all_or_nothing_when_an_operation_fails,
            batch_checks_each_condition,
            batch_names_the_first_failing_operation,
            // administration
            delete_partition_empties_only_that_partition_and_is_idempotent,
            export_streams_every_entry_of_every_partition,
            // concurrency
            concurrent_version_increments_lose_no_update,
            concurrent_absent_creates_have_exactly_one_winner,
            scans_during_writes_keep_order_and_stable_entries,
            writes_through_one_store_are_read_through_another,
            // model
            random_operations_match_a_btreemap_model,
            // lifecycle
            closed_store_refuses_every_operation,
            dropped_operation_leaves_the_store_usable,
            a_reopened_store_keeps_every_entry_and_never_reuses_a_version,
        );
    };
}

/// Expands to the `main` of a conformance test binary (`harness = false` in Cargo.toml): one
/// test per behaviour against the fixture `setup` returns. When `setup` finds no backend
/// (`KV_TEST_MODE` allowed and no endpoint), every behaviour is reported **ignored**, with the
/// reason printed once, so that an absent backend never looks like a passing one; under
/// `KV_TEST_MODE=required` they fail.
#[macro_export]
macro_rules! suite {
    ($setup:path) => {
        fn main() -> ::std::process::ExitCode {
            $crate::run_suite(|| ::std::boxed::Box::pin($setup()))
        }
    };
}

/// What `run_suite`'s setup gives.
pub type SetupFuture = futures::future::BoxFuture<'static, Option<Arc<dyn Fixture>>>;

#[cfg(feature = "harness")]
fn suite_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// The message of a panic's payload (`panic!` with a string or a format), if it has one: what a
/// failed expectation of a behaviour says.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
}

/// The body of [`suite!`]: probes `setup` once, then runs every behaviour as a test of its own
/// (a fresh runtime and fixture each), or reports them all ignored when there is no backend.
#[cfg(feature = "harness")]
pub fn run_suite(setup: fn() -> SetupFuture) -> std::process::ExitCode {
    use libtest_mimic::{Arguments, Failed, Trial};
    let args = Arguments::from_args();
    let probe =
        std::panic::catch_unwind(|| suite_runtime().block_on(async { setup().await.is_some() }));
    let (available, setup_failure) = match probe {
        Ok(available) => (available, None),
        Err(payload) => (
            true,
            Some(panic_message(&*payload).unwrap_or_else(|| "the setup panicked".into())),
        ),
    };
    if !available {
        eprintln!(
            "no backend for this suite: its {} behaviours are reported as ignored, not passed (see the message above; KV_TEST_MODE=required makes this a failure)",
            all_behaviours().len()
        );
    }
    let trials = all_behaviours()
        .into_iter()
        .map(|behaviour| {
            let failure = setup_failure.clone();
            Trial::test(behaviour.name, move || {
                if let Some(message) = failure {
                    return Err(Failed::from(message));
                }
                suite_runtime().block_on(async {
                    let Some(fixture) = setup().await else {
                        return Err(Failed::from("no backend (see the message above)"));
                    };
                    run(Some(fixture), |ctx| (behaviour.run)(ctx)).await;
                    Ok(())
                })
            })
            .with_ignored_flag(!available)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
