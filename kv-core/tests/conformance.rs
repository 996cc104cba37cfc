//! The conformance suite against the reference in-memory store.
kv_conformance::suite!(kv_conformance::memory_fixture);
