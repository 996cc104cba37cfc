//! PostgreSQL-specific guarantees: statement counts, schema management, error kinds.

use std::sync::Arc;

use kv_core::{Condition, DeleteCondition, ErrorKind, Key, KvStore, Partition, Value};
use kv_postgres::{PostgresConfig, PostgresStore};

fn url() -> Option<String> {
    kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(connection);
    client
}

/// Executions of statements on `table` since the last reset, from `pg_stat_statements`.
async fn executions(admin: &tokio_postgres::Client, table: &str) -> i64 {
    let pattern = format!("%{table}%");
    admin
        .query_one(
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements \
             WHERE query LIKE $1 AND query NOT LIKE '%pg_stat_statements%'",
            &[&pattern],
        )
        .await
        .expect("pg_stat_statements is loaded (the test script preloads it)")
        .get(0)
}

#[tokio::test]
async fn every_single_key_operation_is_one_statement() {
    let Some(url) = url() else { return };
    let table = unique("metakv_roundtrips");
    let config = PostgresConfig {
        auto_create: true,
        table: table.clone(),
        pool_size: 1,
        ..PostgresConfig::with_url(&url)
    };
    let store = PostgresStore::open(config).await.unwrap();
    let admin = admin(&url).await;
    let p = Partition::try_from("p").unwrap();
    let k = Key::try_from("k").unwrap();
    let v = Value::try_from("v").unwrap();

    type Op<'a> = Box<dyn Fn(&'a PostgresStore) -> futures::future::BoxFuture<'a, ()> + 'a>;
    let _ = (&p, &k, &v);
    let ops: Vec<(&str, Op)> = vec![
        (
            "get",
            Box::new(|s| {
                Box::pin(async {
                    s.get(&p, &k).await.unwrap();
                })
            }),
        ),
        (
            "put",
            Box::new(|s| {
                Box::pin(async {
                    s.put(&p, &k, &v, &Condition::None).await.unwrap();
                })
            }),
        ),
        (
            "put if exists",
            Box::new(|s| {
                Box::pin(async {
                    s.put(&p, &k, &v, &Condition::Exists).await.unwrap();
                })
            }),
        ),
        (
            "put if version",
            Box::new(|s| {
                Box::pin(async {
                    let current = s.get(&p, &k).await.unwrap().unwrap().version;
                    s.put(&p, &k, &v, &Condition::Version(current))
                        .await
                        .unwrap();
                })
            }),
        ),
        (
            "delete if exists",
            Box::new(|s| {
                Box::pin(async {
                    s.delete(&p, &k, &DeleteCondition::Exists).await.unwrap();
                })
            }),
        ),
        (
            "put if absent",
            Box::new(|s| {
                Box::pin(async {
                    s.put(&p, &k, &v, &Condition::Absent).await.unwrap();
                })
            }),
        ),
        (
            "failed put if absent",
            Box::new(|s| {
                Box::pin(async {
                    s.put(&p, &k, &v, &Condition::Absent).await.unwrap_err();
                })
            }),
        ),
        (
            "delete",
            Box::new(|s| {
                Box::pin(async {
                    s.delete(&p, &k, &DeleteCondition::None).await.unwrap();
                })
            }),
        ),
    ];
    // Warm up: prepare every statement once on the pool's single connection.
    for (_, op) in &ops {
        op(&store).await;
    }
    admin
        .execute("SELECT pg_stat_statements_reset()", &[])
        .await
        .unwrap();
    for (name, op) in &ops {
        let before = executions(&admin, &table).await;
        op(&store).await;
        let after = executions(&admin, &table).await;
        // "put if version" reads first (one get) and then writes: two statements in all.
        let expected = if *name == "put if version" { 2 } else { 1 };
        assert_eq!(
            after - before,
            expected,
            "{name} ran {} statements",
            after - before
        );
    }
    store.close().await.unwrap();
}

#[tokio::test]
async fn concurrent_startup_creates_the_schema_once() {
    let Some(url) = url() else { return };
    let schema = unique("mk_start");
    let config = PostgresConfig {
        auto_create: true,
        schema: schema.clone(),
        ..PostgresConfig::with_url(&url)
    };
    let opens: Vec<_> = (0..4)
        .map(|_| tokio::spawn(PostgresStore::open(config.clone())))
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.unwrap().expect("every concurrent open succeeds"));
    }
    let admin = admin(&url).await;
    let rows = admin
        .query(
            &format!("SELECT version FROM \"{schema}\".\"metakv_migrations\""),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "each migration is recorded once");
    let p = Partition::try_from("p").unwrap();
    stores[0]
        .put(
            &p,
            &Key::try_from("k").unwrap(),
            &Value::default(),
            &Condition::Absent,
        )
        .await
        .unwrap();
    assert!(
        stores[3]
            .get(&p, &Key::try_from("k").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    for s in stores {
        s.close().await.unwrap();
    }
    admin
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_missing_table_is_not_provisioned_until_provision_runs() {
    let Some(url) = url() else { return };
    let config = PostgresConfig {
        table: unique("metakv_absent"),
        ..PostgresConfig::with_url(&url)
    };
    let err = PostgresStore::open(config.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotProvisioned);
    assert!(err.to_string().contains("metakv provision"), "{err}");
    PostgresStore::provision(&config).await.unwrap();
    PostgresStore::provision(&config).await.unwrap();
    let store = PostgresStore::open(config.clone()).await.unwrap();
    store.ping().await.unwrap();
    store.close().await.unwrap();
    admin(&url)
        .await
        .batch_execute(&format!(
            "DROP TABLE {0}; DROP TABLE {0}_migrations; DROP SEQUENCE {0}_version",
            config.table
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_and_never_printed() {
    let Some(url) = url() else { return };
    let bad = match url.split_once('@') {
        Some((creds, rest)) => {
            let user = creds.rsplit_once(':').map_or(creds, |(u, _)| u);
            format!("{user}:wrong-password-123@{rest}")
        }
        None => return,
    };
    let err = PostgresStore::open(PostgresConfig::with_url(&bad))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err:?}");
    assert!(!format!("{err} {err:?}").contains("wrong-password-123"));
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = PostgresConfig {
        connect_timeout_ms: 2000,
        ..PostgresConfig::with_url(format!("postgres://metakv@127.0.0.1:{port}/metakv"))
    };
    let err = PostgresStore::open(config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn tls_is_verified_and_used_when_required() {
    let Some(url) = url() else { return };
    let Some(ca) = kv_conformance::endpoint("postgres TLS", "KV_TEST_POSTGRES_CA") else {
        return;
    };
    // Without the server's CA, `require` fails: certificates are always verified.
    let untrusted = PostgresConfig {
        ssl_mode: kv_postgres::SslMode::Require,
        ..PostgresConfig::with_url(&url)
    };
    let err = PostgresStore::open(untrusted).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Backend),
        "{err:?}"
    );
    let trusted = PostgresConfig {
        ssl_mode: kv_postgres::SslMode::Require,
        tls_ca_file: Some(ca.into()),
        auto_create: true,
        table: "metakv_conformance".into(),
        pool_size: 1,
        ..PostgresConfig::with_url(&url)
    };
    let store = PostgresStore::open(trusted)
        .await
        .expect("TLS with the test CA");
    store.ping().await.unwrap();
    // The pool's one connection is open: the server reports it as TLS, under a name set here.
    let admin = admin(&url).await;
    let tls_sessions: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE s.ssl AND a.application_name = 'metakv' AND a.backend_type = 'client backend'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(tls_sessions >= 1, "no TLS session from the driver");
    store.close().await.unwrap();
}

#[tokio::test]
async fn closed_pools_refuse_work() {
    let Some(url) = url() else { return };
    let config = PostgresConfig {
        auto_create: true,
        table: "metakv_conformance".into(),
        ..PostgresConfig::with_url(&url)
    };
    let store = Arc::new(PostgresStore::open(config).await.unwrap());
    store.close().await.unwrap();
    assert_eq!(store.ping().await.unwrap_err().kind(), ErrorKind::Closed);
}
