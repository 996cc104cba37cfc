//! Every SQL text the driver runs: the only place that knows the table layout.
//!
//! Layout: `partition bytea, key bytea, value bytea, version bigint, inserted boolean`, primary key
//! `(partition, key)`. `bytea` compares as unsigned bytes (shorter first on a common prefix), so
//! the primary key's B-tree gives scans the contract's order. Versions come from a sequence: a
//! `nextval` in the same statement as the write, never reused, not even after a rollback.

use std::ops::Bound;

use crate::PostgresConfig;

/// Names of the objects of one configured table.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    table: String,
    sequence: String,
    migrations: String,
}

impl Names {
    pub(crate) fn new(config: &PostgresConfig) -> Self {
        Self {
            table: config.qualified_table(),
            sequence: format!("\"{}\".\"{}_version\"", config.schema, config.table),
            migrations: format!("\"{}\".\"{}_migrations\"", config.schema, config.table),
        }
    }

    /// `to_regclass` argument for the table.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn migrations(&self) -> &str {
        &self.migrations
    }

    /// The query of the schema's version: the last migration applied (0 before any).
    pub(crate) fn schema_version(&self) -> String {
        format!("SELECT coalesce(max(version), 0) FROM {}", self.migrations)
    }
}

/// The schema migrations, in order. Each runs once, under an advisory lock, recorded in the
/// `<table>_migrations` table. Never edit one that has shipped; append a new one. Each is its
/// version, what it does (for `metakv provision --dry-run`) and its SQL.
pub(crate) fn migrations(names: &Names, config: &PostgresConfig) -> Vec<(i32, String, String)> {
    let t = &names.table;
    let create_table = if config.table_partitions > 1 {
        let mut sql = format!(
            "CREATE TABLE {t} (partition bytea NOT NULL, key bytea NOT NULL, value bytea NOT NULL, \
             version bigint NOT NULL, inserted boolean NOT NULL DEFAULT true, \
             PRIMARY KEY (partition, key)) PARTITION BY HASH (partition);"
        );
        for i in 0..config.table_partitions {
            sql.push_str(&format!(
                "CREATE TABLE \"{}\".\"{}_p{i}\" PARTITION OF {t} FOR VALUES WITH (MODULUS {}, REMAINDER {i});",
                config.schema, config.table, config.table_partitions
            ));
        }
        sql
    } else {
        format!(
            "CREATE TABLE {t} (partition bytea NOT NULL, key bytea NOT NULL, value bytea NOT NULL, \
             version bigint NOT NULL, inserted boolean NOT NULL DEFAULT true, PRIMARY KEY (partition, key));"
        )
    };
    let layout = if config.table_partitions > 1 {
        format!("{} hash partitions", config.table_partitions)
    } else {
        "not partitioned".to_string()
    };
    vec![(
        1,
        format!(
            "create table {t} ({layout}) and sequence {seq}",
            seq = names.sequence
        ),
        format!(
            "{create_table} CREATE SEQUENCE {seq};",
            seq = names.sequence
        ),
    )]
}

/// The statements of the single-key operations; each is one round trip.
pub(crate) struct Statements {
    pub(crate) get: String,
    pub(crate) get_many: String,
    pub(crate) upsert: String,
    pub(crate) create: String,
    pub(crate) update: String,
    pub(crate) update_version: String,
    pub(crate) delete: String,
    pub(crate) delete_version: String,
    pub(crate) delete_partition: String,
    pub(crate) export_first: String,
    pub(crate) export_after: String,
}

impl Statements {
    pub(crate) fn new(names: &Names) -> Self {
        let t = &names.table;
        let seq = &names.sequence;
        Self {
            get: format!("SELECT value, version FROM {t} WHERE partition = $1 AND key = $2"),
            get_many: format!(
                "SELECT key, value, version FROM {t} WHERE partition = $1 AND key = ANY($2)"
            ),
            // `inserted` is true on a row the last write created and false on one it replaced;
            // every write sets it, so RETURNING tells created from replaced atomically (the
            // `xmax = 0` trick does not work on partitioned tables).
            upsert: format!(
                "INSERT INTO {t} (partition, key, value, version) VALUES ($1, $2, $3, nextval('{seq}')) \
                 ON CONFLICT (partition, key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, \
                 inserted = false RETURNING version, inserted"
            ),
            create: format!(
                "INSERT INTO {t} (partition, key, value, version) VALUES ($1, $2, $3, nextval('{seq}')) \
                 ON CONFLICT (partition, key) DO NOTHING RETURNING version"
            ),
            update: format!(
                "UPDATE {t} SET value = $3, version = nextval('{seq}'), inserted = false \
                 WHERE partition = $1 AND key = $2 RETURNING version"
            ),
            update_version: format!(
                "UPDATE {t} SET value = $3, version = nextval('{seq}'), inserted = false \
                 WHERE partition = $1 AND key = $2 AND version = $4 RETURNING version"
            ),
            delete: format!("DELETE FROM {t} WHERE partition = $1 AND key = $2"),
            delete_version: format!(
                "DELETE FROM {t} WHERE partition = $1 AND key = $2 AND version = $3"
            ),
            delete_partition: format!("DELETE FROM {t} WHERE partition = $1"),
            export_first: format!(
                "SELECT partition, key, value, version FROM {t} ORDER BY partition, key LIMIT $1"
            ),
            export_after: format!(
                "SELECT partition, key, value, version FROM {t} WHERE (partition, key) > ($1, $2) \
                 ORDER BY partition, key LIMIT $3"
            ),
        }
    }
}

/// What a scan statement selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Select {
    /// `key, value, version`.
    Entries,
    /// `key, '', version`: the same columns without reading values.
    Keys,
    /// `count(*)`, with no order and no limit.
    Count,
}

/// A keyset scan: `$1` is the partition, then one parameter per bound, then the limit (none
/// for a count). The text depends only on what is selected, the kinds of bounds and the
/// direction (36 variants, all cacheable).
pub(crate) fn scan(
    names: &Names,
    select: Select,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
    reverse: bool,
) -> String {
    let columns = match select {
        Select::Entries => "key, value, version",
        Select::Keys => "key, ''::bytea, version",
        Select::Count => "count(*)",
    };
    let mut sql = format!("SELECT {columns} FROM {} WHERE partition = $1", names.table);
    let mut n = 1;
    let mut bound = |op: &str| {
        n += 1;
        sql.push_str(&format!(" AND key {op} ${n}"));
    };
    match lower {
        Bound::Included(_) => bound(">="),
        Bound::Excluded(_) => bound(">"),
        Bound::Unbounded => {}
    }
    match upper {
        Bound::Included(_) => bound("<="),
        Bound::Excluded(_) => bound("<"),
        Bound::Unbounded => {}
    }
    if select == Select::Count {
        return sql;
    }
    let order = if reverse { "DESC" } else { "ASC" };
    format!("{sql} ORDER BY key {order} LIMIT ${}", n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_statements_number_their_parameters() {
        let names = Names::new(&PostgresConfig::default());
        let sql = scan(
            &names,
            Select::Entries,
            &Bound::Excluded(vec![1]),
            &Bound::Excluded(vec![2]),
            true,
        );
        assert!(
            sql.ends_with("AND key > $2 AND key < $3 ORDER BY key DESC LIMIT $4"),
            "{sql}"
        );
        let sql = scan(
            &names,
            Select::Entries,
            &Bound::Unbounded,
            &Bound::Unbounded,
            false,
        );
        assert!(
            sql.ends_with("WHERE partition = $1 ORDER BY key ASC LIMIT $2"),
            "{sql}"
        );
        let sql = scan(
            &names,
            Select::Count,
            &Bound::Included(vec![1]),
            &Bound::Unbounded,
            false,
        );
        assert!(sql.starts_with("SELECT count(*) FROM"), "{sql}");
        assert!(sql.ends_with("WHERE partition = $1 AND key >= $2"), "{sql}");
    }
}
