//! The single writer thread and its group commit.
//!
//! Every write goes to one thread through a channel. The thread takes the first waiting request,
//! then every request already queued behind it (up to `group_commit_max_ops`, after an optional
//! bounded wait), applies them in order in one redb write transaction, commits once (one fsync),
//! and only then answers each caller. Writes that arrive during a commit form the next group, so
//! under concurrency the fsync cost is shared. Requests in a group are independent: a failed
//! condition fails only its own request.

use std::sync::Arc;
use std::time::Duration;

use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Error, ErrorKind, Key, Partition, Result, Value,
    Version, Written,
};
use redb::{Database, ReadableTable, Table};
use tokio::sync::{mpsc, oneshot};

use crate::encoding::{decode_value, encode_value, row_key, row_range, version_token};
use crate::error::{map_commit, map_redb};
use crate::store::{ENTRIES, META, VERSION_COUNTER};

/// One write, with the channel its answer goes to.
pub(crate) struct Request {
    pub(crate) op: WriteOp,
    pub(crate) reply: oneshot::Sender<Result<Reply>>,
}

pub(crate) enum WriteOp {
    Put {
        partition: Partition,
        key: Key,
        value: Value,
        condition: Condition,
    },
    Delete {
        partition: Partition,
        key: Key,
        condition: DeleteCondition,
    },
    Batch {
        partition: Partition,
        batch: Batch,
    },
    DeletePartition {
        partition: Partition,
    },
}

#[derive(Debug)]
pub(crate) enum Reply {
    Written(Written),
    Removed(bool),
    Versions(Vec<Option<Version>>),
    Done,
}

pub(crate) struct Grouping {
    pub(crate) enabled: bool,
    pub(crate) max_ops: usize,
    pub(crate) wait: Duration,
}

/// Runs until every sender is dropped (at `close`).
pub(crate) fn run(db: Arc<Database>, mut requests: mpsc::Receiver<Request>, grouping: Grouping) {
    while let Some(first) = requests.blocking_recv() {
        let mut group = vec![first];
        if grouping.enabled {
            drain(&mut requests, &mut group, grouping.max_ops);
            if !grouping.wait.is_zero() && group.len() < grouping.max_ops {
                std::thread::sleep(grouping.wait);
                drain(&mut requests, &mut group, grouping.max_ops);
            }
        }
        commit_group(&db, group);
    }
}

fn drain(requests: &mut mpsc::Receiver<Request>, group: &mut Vec<Request>, max: usize) {
    while group.len() < max {
        match requests.try_recv() {
            Ok(request) => group.push(request),
            Err(_) => break,
        }
    }
}

fn commit_group(db: &Database, group: Vec<Request>) {
    let mut results = Vec::with_capacity(group.len());
    let applied = (|| -> Result<()> {
        let txn = db
            .begin_write()
            .map_err(|e| map_redb("starting a write", e))?;
        {
            let mut entries = txn
                .open_table(ENTRIES)
                .map_err(|e| map_redb("opening entries", e))?;
            let mut meta = txn
                .open_table(META)
                .map_err(|e| map_redb("opening meta", e))?;
            let mut counter = meta
                .get(VERSION_COUNTER)
                .map_err(|e| map_redb("reading the version counter", e))?
                .map(|g| g.value())
                .unwrap_or(0);
            for request in &group {
                results.push(apply(&mut entries, &mut counter, &request.op)?);
            }
            meta.insert(VERSION_COUNTER, counter)
                .map_err(|e| map_redb("writing the version counter", e))?;
        }
        txn.commit().map_err(map_commit)
    })();
    match applied {
        Ok(()) => {
            for (request, result) in group.into_iter().zip(results) {
                // The caller may have gone (its future was dropped); the write stands.
                let _ = request.reply.send(result);
            }
        }
        Err(e) => {
            // The transaction did not commit (or its outcome is unknown): every request of the
            // group gets the same kind of error; none of them was applied for sure.
            for request in group {
                let _ = request.reply.send(Err(same_kind(&e)));
            }
        }
    }
}

fn same_kind(e: &Error) -> Error {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::Unavailable => Error::Unavailable {
            message,
            source: None,
        },
        ErrorKind::OutcomeUnknown => Error::OutcomeUnknown {
            message,
            source: None,
        },
        _ => Error::Backend {
            message,
            source: None,
        },
    }
}

type Entries<'t> = Table<'t, &'static [u8], &'static [u8]>;

fn current_version(entries: &Entries<'_>, row: &[u8]) -> Result<Option<Version>> {
    let found = entries
        .get(row)
        .map_err(|e| map_redb("reading an entry", e))?;
    found
        .map(|g| decode_value(g.value()).map(|(v, _)| version_token(v)))
        .transpose()
}

/// Applies one request inside the group's transaction. `Ok(Err(_))` is a failed condition of
/// this request alone; `Err(_)` aborts the whole group.
fn apply(entries: &mut Entries<'_>, counter: &mut u64, op: &WriteOp) -> Result<Result<Reply>> {
    let insert = |entries: &mut Entries<'_>,
                  counter: &mut u64,
                  row: &[u8],
                  value: &Value|
     -> Result<Version> {
        *counter += 1;
        entries
            .insert(row, encode_value(*counter, value.as_bytes()).as_slice())
            .map_err(|e| map_redb("writing an entry", e))?;
        Ok(version_token(*counter))
    };
    let remove = |entries: &mut Entries<'_>, row: &[u8]| -> Result<bool> {
        Ok(entries
            .remove(row)
            .map_err(|e| map_redb("removing an entry", e))?
            .is_some())
    };
    Ok(match op {
        WriteOp::Put {
            partition,
            key,
            value,
            condition,
        } => {
            let row = row_key(partition, key);
            let current = current_version(entries, &row)?;
            if condition.holds(current.as_ref()) {
                let version = insert(entries, counter, &row, value)?;
                Ok(Reply::Written(Written {
                    version,
                    created: current.is_none(),
                }))
            } else {
                Err(Error::condition_failed())
            }
        }
        WriteOp::Delete {
            partition,
            key,
            condition,
        } => {
            let row = row_key(partition, key);
            if condition.holds(current_version(entries, &row)?.as_ref()) {
                Ok(Reply::Removed(remove(entries, &row)?))
            } else {
                Err(Error::condition_failed())
            }
        }
        WriteOp::Batch { partition, batch } => {
            // Keys are unique within a batch, so every condition can be checked first.
            let rows: Vec<Vec<u8>> = batch
                .ops()
                .iter()
                .map(|op| row_key(partition, op.key()))
                .collect();
            for (index, (op, row)) in batch.ops().iter().zip(&rows).enumerate() {
                let current = current_version(entries, row)?;
                let holds = match op {
                    BatchOp::Put { condition, .. } => condition.holds(current.as_ref()),
                    BatchOp::Delete { condition, .. } => condition.holds(current.as_ref()),
                };
                if !holds {
                    return Ok(Err(Error::condition_failed_at(index)));
                }
            }
            let mut versions = Vec::with_capacity(rows.len());
            for (op, row) in batch.ops().iter().zip(&rows) {
                versions.push(match op {
                    BatchOp::Put { value, .. } => Some(insert(entries, counter, row, value)?),
                    BatchOp::Delete { .. } => {
                        remove(entries, row)?;
                        None
                    }
                });
            }
            Ok(Reply::Versions(versions))
        }
        WriteOp::DeletePartition { partition } => {
            let (lower, upper) = row_range(partition, &kv_core::KeyRange::full());
            let bounds = (
                lower.as_ref().map(Vec::as_slice),
                upper.as_ref().map(Vec::as_slice),
            );
            entries
                .retain_in::<&[u8], _>(bounds, |_, _| false)
                .map_err(|e| map_redb("deleting a partition", e))?;
            Ok(Reply::Done)
        }
    })
}
