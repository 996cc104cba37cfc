//! The API's handlers: thin translations between HTTP and `KvStore`, adding no semantics.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Error, Key, KeyList, Partition, Result,
    ScanOptions, Value, Version,
};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use super::path::decode_segment;
use crate::api::{
    BatchOpJson, BatchRequest, BatchResponse, CountQuery, CountResponse, ExportItem, ExportQuery,
    ExportResponse, GetManyRequest, GetManyResponse, Item, PutResponse, ScanQuery, ScanResponse,
    b64, unb64, unb64_query,
};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// What a `/v1/p/...` path names. The path is parsed here from the raw URI, because axum's own
/// path parameters are decoded to UTF-8 and would refuse binary partitions and keys.
enum Target {
    /// `/v1/p/{partition}`
    Partition(Partition),
    /// `/v1/p/{partition}/k`
    Keys(Partition),
    /// `/v1/p/{partition}/k/{key}`
    Key(Partition, Key),
    /// `/v1/p/{partition}/batch`
    Batch(Partition),
    /// `/v1/p/{partition}/get`
    GetMany(Partition),
    /// `/v1/p/{partition}/count`
    Count(Partition),
}

fn target(uri: &Uri) -> ApiResult<Target> {
    let rest = uri
        .path()
        .strip_prefix("/v1/p/")
        .ok_or_else(|| ApiError::not_found("no such route"))?;
    let segments: Vec<&str> = rest.split('/').collect();
    let partition =
        || -> Result<Partition> { Partition::new(decode_segment(segments[0], "partition")?) };
    Ok(match segments.as_slice() {
        [_] => Target::Partition(partition()?),
        [_, "k"] => Target::Keys(partition()?),
        [_, "k", key] => Target::Key(partition()?, Key::new(decode_segment(key, "key")?)?),
        [_, "batch"] => Target::Batch(partition()?),
        [_, "get"] => Target::GetMany(partition()?),
        [_, "count"] => Target::Count(partition()?),
        _ => {
            return Err(ApiError::not_found(
                "no such route (encode `/` in partitions and keys as %2F)",
            ));
        }
    })
}

fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_argument",
        "method not allowed on this path",
    )
}

/// `GET /v1/p/...`: a key, or a scan.
pub async fn on_get(
    state: State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    query: RawQuery,
) -> ApiResult<Response> {
    match target(&uri)? {
        Target::Key(p, k) => get_key(state, p, k, &headers).await,
        Target::Keys(p) => scan(state, p, query).await.map(IntoResponse::into_response),
        Target::Count(p) => count(state, p, query)
            .await
            .map(IntoResponse::into_response),
        _ => Err(method_not_allowed()),
    }
}

/// `PUT /v1/p/...`: a key.
pub async fn on_put(
    state: State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    match target(&uri)? {
        Target::Key(p, k) => put_key(state, p, k, headers, body).await,
        _ => Err(method_not_allowed()),
    }
}

/// `DELETE /v1/p/...`: a key, or a whole partition.
pub async fn on_delete(
    state: State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    match target(&uri)? {
        Target::Key(p, k) => delete_key(state, p, k, headers).await,
        Target::Partition(p) => delete_partition(state, p)
            .await
            .map(IntoResponse::into_response),
        _ => Err(method_not_allowed()),
    }
}

/// `POST /v1/p/...`: a batch.
pub async fn on_post(state: State<AppState>, uri: Uri, body: Bytes) -> ApiResult<Response> {
    match target(&uri)? {
        Target::Batch(p) => batch(state, p, body).await.map(IntoResponse::into_response),
        Target::GetMany(p) => get_many(state, p, body)
            .await
            .map(IntoResponse::into_response),
        _ => Err(method_not_allowed()),
    }
}

fn etag(version: &Version) -> HeaderValue {
    // Versions are visible ASCII without '"', so they are always a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).expect("versions are ETag-safe")
}

/// Parses an `If-Match` value: `*`, or one quoted (or bare) version.
fn parse_if_match(raw: &str) -> Result<Option<Version>> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(None);
    }
    if raw.starts_with("W/") || raw.contains(',') {
        return Err(Error::invalid("If-Match takes `*` or one strong ETag"));
    }
    let unquoted = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    Version::new(unquoted).map(Some)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&str>> {
    headers
        .get(&name)
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::invalid(format!("{name} is not ASCII")))
        })
        .transpose()
}

fn put_condition(if_match: Option<&str>, if_none_match: Option<&str>) -> Result<Condition> {
    match (if_match, if_none_match) {
        (Some(_), Some(_)) => Err(Error::invalid("give If-Match or If-None-Match, not both")),
        (None, Some(inm)) if inm.trim() == "*" => Ok(Condition::Absent),
        (None, Some(_)) => Err(Error::invalid("If-None-Match takes only `*`")),
        (Some(im), None) => Ok(match parse_if_match(im)? {
            None => Condition::Exists,
            Some(v) => Condition::Version(v),
        }),
        (None, None) => Ok(Condition::None),
    }
}

fn delete_condition(
    if_match: Option<&str>,
    if_none_match: Option<&str>,
) -> Result<DeleteCondition> {
    if if_none_match.is_some() {
        return Err(Error::invalid("If-None-Match does not apply to a delete"));
    }
    Ok(match if_match.map(parse_if_match).transpose()? {
        None => DeleteCondition::None,
        Some(None) => DeleteCondition::Exists,
        Some(Some(v)) => DeleteCondition::Version(v),
    })
}

fn query<T: DeserializeOwned + Default>(raw: Option<String>) -> Result<T> {
    match raw {
        None => Ok(T::default()),
        Some(q) => {
            serde_urlencoded::from_str(&q).map_err(|e| Error::invalid(format!("bad query: {e}")))
        }
    }
}

/// `GET /v1/p/{partition}/k/{key}`
async fn get_key(
    State(state): State<AppState>,
    p: Partition,
    k: Key,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    match state.store.get(&p, &k).await? {
        None => Err(ApiError::not_found("no such key")),
        // A conditional GET whose `If-None-Match` names the current version (or `*`): 304,
        // without the value, as HTTP caches expect.
        Some(found)
            if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.split(',').map(str::trim).any(|tag| {
                        tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag(&found.version)
                    })
                }) =>
        {
            Ok((
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, etag(&found.version))],
            )
                .into_response())
        }
        Some(found) => Ok((
            [
                (header::ETAG, etag(&found.version)),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
            ],
            found.value.into_bytes(),
        )
            .into_response()),
    }
}

/// `PUT /v1/p/{partition}/k/{key}`
async fn put_key(
    State(state): State<AppState>,
    p: Partition,
    k: Key,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let condition = put_condition(
        header_str(&headers, header::IF_MATCH)?,
        header_str(&headers, header::IF_NONE_MATCH)?,
    )?;
    let value = Value::new(body.to_vec())?;
    let written = state.store.put(&p, &k, &value, &condition).await?;
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = PutResponse {
        version: written.version.to_string(),
        created: written.created,
    };
    Ok((status, [(header::ETAG, etag(&written.version))], Json(body)).into_response())
}

/// `DELETE /v1/p/{partition}/k/{key}`
async fn delete_key(
    State(state): State<AppState>,
    p: Partition,
    k: Key,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let condition = delete_condition(
        header_str(&headers, header::IF_MATCH)?,
        header_str(&headers, header::IF_NONE_MATCH)?,
    )?;
    if state.store.delete(&p, &k, &condition).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("no such key; nothing was deleted"))
    }
}

/// `GET /v1/p/{partition}/k?prefix=&start=&after=&end=&reverse=&limit=&page_size=&page_token=`
async fn scan(
    State(state): State<AppState>,
    p: Partition,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<ScanResponse>> {
    let q: ScanQuery = query(raw)?;
    let options = ScanOptions {
        reverse: q.reverse.unwrap_or(false),
        limit: q.limit,
        page_size: q.page_size,
        page_token: q.page_token,
        keys_only: q.keys_only.unwrap_or(false),
        ..bounds([&q.prefix, &q.start, &q.after, &q.end])?
    };
    let page = kv_core::scan_page(&*state.store, &p, &options).await?;
    Ok(Json(ScanResponse {
        items: page
            .entries
            .into_iter()
            .map(|e| Item {
                key: b64(e.key.as_bytes()),
                value: (!options.keys_only).then(|| b64(e.value.as_bytes())),
                version: e.version.to_string(),
            })
            .collect(),
        next_page_token: page.next_page_token,
    }))
}

/// Scan options with the query's bounds `[prefix, start, after, end]` (base64) and nothing else.
fn bounds([prefix, start, after, end]: [&Option<String>; 4]) -> Result<ScanOptions> {
    let bound =
        |v: &Option<String>, name: &str| v.as_deref().map(|b| unb64_query(b, name)).transpose();
    Ok(ScanOptions {
        prefix: bound(prefix, "prefix")?,
        start: bound(start, "start")?,
        after: bound(after, "after")?,
        end: bound(end, "end")?,
        ..ScanOptions::default()
    })
}

/// `GET /v1/p/{partition}/count?prefix=&start=&after=&end=`
async fn count(
    State(state): State<AppState>,
    p: Partition,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<CountResponse>> {
    let q: CountQuery = query(raw)?;
    let options = bounds([&q.prefix, &q.start, &q.after, &q.end])?;
    let count = kv_core::count(&*state.store, &p, &options).await?;
    Ok(Json(CountResponse { count }))
}

/// `POST /v1/p/{partition}/get` with `{"keys":[...]}`
async fn get_many(
    State(state): State<AppState>,
    p: Partition,
    body: Bytes,
) -> ApiResult<Json<GetManyResponse>> {
    let request: GetManyRequest = serde_json::from_slice(&body)
        .map_err(|e| Error::invalid(format!("bad multi-get body: {e}")))?;
    let keys = request
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| Key::new(unb64(k, &format!("keys[{i}]"))?))
        .collect::<Result<Vec<_>>>()?;
    let found = state.store.get_many(&p, &KeyList::new(keys)?).await?;
    Ok(Json(GetManyResponse {
        items: request
            .keys
            .into_iter()
            .zip(found)
            .map(|(key, item)| {
                item.map(|v| Item {
                    key,
                    value: Some(b64(v.value.as_bytes())),
                    version: v.version.to_string(),
                })
            })
            .collect(),
    }))
}

fn batch_op(index: usize, op: BatchOpJson) -> Result<BatchOp> {
    let at = |field: &str| format!("ops[{index}].{field}");
    let key = Key::new(unb64(&op.key, &at("key"))?)?;
    match op.op.as_str() {
        "put" => {
            let value = op
                .value
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("{} is required for a put", at("value"))))?;
            Ok(BatchOp::Put {
                key,
                value: Value::new(unb64(value, &at("value"))?)?,
                condition: put_condition(op.if_match.as_deref(), op.if_none_match.as_deref())?,
            })
        }
        "delete" => {
            if op.value.is_some() {
                return Err(Error::invalid(format!(
                    "{} is not allowed on a delete",
                    at("value")
                )));
            }
            Ok(BatchOp::Delete {
                key,
                condition: delete_condition(op.if_match.as_deref(), op.if_none_match.as_deref())?,
            })
        }
        other => Err(Error::invalid(format!(
            "{} is {other:?}; expected \"put\" or \"delete\"",
            at("op")
        ))),
    }
}

/// `POST /v1/p/{partition}/batch`
async fn batch(
    State(state): State<AppState>,
    p: Partition,
    body: Bytes,
) -> ApiResult<Json<BatchResponse>> {
    let request: BatchRequest = serde_json::from_slice(&body)
        .map_err(|e| Error::invalid(format!("bad batch body: {e}")))?;
    let ops = request
        .ops
        .into_iter()
        .enumerate()
        .map(|(i, op)| batch_op(i, op))
        .collect::<Result<Vec<_>>>()?;
    let versions = state.store.batch(&p, &Batch::new(ops)?).await?;
    Ok(Json(BatchResponse {
        versions: versions
            .into_iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect(),
    }))
}

/// `DELETE /v1/p/{partition}`
async fn delete_partition(State(state): State<AppState>, p: Partition) -> ApiResult<StatusCode> {
    state.store.delete_partition(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/export?page_token=&page_size=`
pub async fn export(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<ExportResponse>> {
    let q: ExportQuery = query(raw)?;
    if q.page_size == Some(0) {
        return Err(kv_core::Error::invalid("page_size must be at least 1").into());
    }
    // As for scans: a hint, at most 1000.
    let page_size = q
        .page_size
        .unwrap_or(kv_core::limits::DEFAULT_PAGE_SIZE)
        .min(kv_core::limits::MAX_PAGE_SIZE);
    let page = state
        .store
        .export_page(q.page_token.as_deref(), page_size)
        .await?;
    Ok(Json(ExportResponse {
        items: page
            .entries
            .into_iter()
            .map(|e| ExportItem {
                partition: b64(e.partition.as_bytes()),
                key: b64(e.entry.key.as_bytes()),
                value: b64(e.entry.value.as_bytes()),
                version: e.entry.version.to_string(),
            })
            .collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the backend answers.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    match tokio::time::timeout(state.readiness_timeout, state.store.ping()).await {
        Ok(ping) => ping?,
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!(
                    "the backend did not answer a ping within {} ms (server.readiness_timeout_ms)",
                    state.readiness_timeout.as_millis()
                ),
            ));
        }
    }
    Ok("ready\n")
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            handle.render(),
        )
            .into_response(),
        None => ApiError::not_found("metrics are not enabled in this process").into_response(),
    }
}

/// `GET /openapi.json`
pub async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        include_str!("../../openapi.json"),
    )
        .into_response()
}

/// Anything else.
pub async fn fallback() -> ApiError {
    ApiError::not_found("no such route")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_headers_follow_http() {
        assert_eq!(put_condition(None, None).unwrap(), Condition::None);
        assert_eq!(put_condition(None, Some("*")).unwrap(), Condition::Absent);
        assert_eq!(put_condition(Some("*"), None).unwrap(), Condition::Exists);
        assert_eq!(
            put_condition(Some("\"abc\""), None).unwrap(),
            Condition::Version(Version::new("abc").unwrap())
        );
        assert!(put_condition(Some("*"), Some("*")).is_err());
        assert!(put_condition(None, Some("\"abc\"")).is_err());
        assert!(put_condition(Some("W/\"abc\""), None).is_err());
        assert!(put_condition(Some("\"a\", \"b\""), None).is_err());
        assert!(delete_condition(None, Some("*")).is_err());
        assert_eq!(
            delete_condition(Some("*"), None).unwrap(),
            DeleteCondition::Exists
        );
    }
}
