//! The conformance suite as a role that has exactly the rights of
//! `docs/least-privilege/postgres.sql` (and owns nothing): the documented grants are enough
//! for every behaviour.
kv_conformance::suite!(fixture);

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{KvStore, Result};
use kv_postgres::{PostgresConfig, PostgresStore};
use tokio::sync::OnceCell;

const TABLE: &str = "metakv_least_privilege";
const ROLE: &str = "metakv_least_privilege_app";
const PASSWORD: &str = "least-privilege-password";

struct LeastPrivilege(PostgresConfig);

#[kv_core::async_trait]
impl Fixture for LeastPrivilege {
    fn name(&self) -> &str {
        "postgres (least privilege)"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(PostgresStore::open(self.0.clone()).await?))
    }
}

/// The shipped grants with psql's `:"name"` variables filled in.
fn grants() -> String {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/least-privilege/postgres.sql"
    );
    let mut sql = std::fs::read_to_string(file).expect("the grants file exists");
    for (name, value) in [
        ("role", ROLE.to_string()),
        ("schema", "public".to_string()),
        ("table", TABLE.to_string()),
        ("sequence", format!("{TABLE}_version")),
        ("migrations", format!("{TABLE}_migrations")),
    ] {
        sql = sql.replace(&format!(":\"{name}\""), &format!("\"{value}\""));
    }
    assert!(!sql.contains(":\""), "every variable is filled in:\n{sql}");
    sql
}

/// As the owner: provisions the table, and makes the role afresh with only the grants.
async fn set_up(owner_url: &str) {
    PostgresStore::provision(&PostgresConfig {
        table: TABLE.into(),
        ..PostgresConfig::with_url(owner_url)
    })
    .await
    .expect("provisioning as the owner");
    let (client, connection) = tokio_postgres::connect(owner_url, tokio_postgres::NoTls)
        .await
        .expect("connecting as the owner");
    tokio::spawn(connection);
    // A role left by an earlier run loses its grants and goes (DROP OWNED revokes them).
    client
        .batch_execute(&format!(
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN \
             EXECUTE 'DROP OWNED BY {ROLE}'; END IF; END $$; \
             DROP ROLE IF EXISTS {ROLE}; \
             CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}';"
        ))
        .await
        .expect("creating the role");
    client
        .batch_execute(&grants())
        .await
        .expect("the documented grants apply");
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    static SET_UP: OnceCell<()> = OnceCell::const_new();
    let owner_url = kv_conformance::service_endpoint(&kv_conformance::POSTGRES)?;
    SET_UP.get_or_init(|| set_up(&owner_url)).await;
    // The same server and database, as the role.
    let rest = &owner_url[owner_url.find('@').expect("a URL with a user") + 1..];
    Some(Arc::new(LeastPrivilege(PostgresConfig {
        table: TABLE.into(),
        pool_size: 8,
        ..PostgresConfig::with_url(format!("postgres://{ROLE}:{PASSWORD}@{rest}"))
    })))
}
