//! `HttpStore`: a `KvStore` that talks to a metakv server over its HTTP API, for Rust services
//! that use a shared metakv server. It adds no semantics of its own: the conformance suite runs
//! through it.

use std::time::Duration;

use async_trait::async_trait;
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Entry, Error, ExportEntry, ExportPage, Key,
    KeyList, KeyRange, KvStore, Lifecycle, Partition, Result, ScanPage, ScanRequest, Secret, Value,
    Version, Versioned, Written,
};
use reqwest::{Method, RequestBuilder, StatusCode, header};
use std::ops::Bound;

use crate::api::ErrorBody;
use crate::api::{
    BatchOpJson, BatchRequest, BatchResponse, CountQuery, CountResponse, ExportQuery,
    ExportResponse, GetManyRequest, GetManyResponse, PutResponse, ScanQuery, ScanResponse, b64,
    unb64,
};
use crate::path::encode_segment;

/// A store behind a metakv server.
#[derive(Debug)]
pub struct HttpStore {
    base: String,
    http: reqwest::Client,
    token: Option<Secret>,
    lifecycle: Lifecycle,
}

impl HttpStore {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:7070`), sending `token` as
    /// a bearer token when given.
    pub fn new(base_url: &str, token: Option<Secret>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::backend("cannot build the HTTP client", e))?;
        Ok(Self::with_client(base_url, http, token))
    }

    /// A client of the server at `base_url` that sends requests through `http` (for a private
    /// CA, client certificates, proxies or other timeouts).
    pub fn with_client(base_url: &str, http: reqwest::Client, token: Option<Secret>) -> Self {
        Self {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            token,
            lifecycle: Lifecycle::default(),
        }
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        self.lifecycle.check()?;
        let builder = self.http.request(method, format!("{}{path}", self.base));
        Ok(match &self.token {
            Some(t) => builder.bearer_auth(t.expose()),
            None => builder,
        })
    }

    fn key_path(partition: &Partition, key: &Key) -> String {
        format!(
            "/v1/p/{}/k/{}",
            encode_segment(partition.as_bytes()),
            encode_segment(key.as_bytes())
        )
    }

    async fn send(&self, request: RequestBuilder) -> Result<reqwest::Response> {
        let response = request.send().await.map_err(transport_error)?;
        if response.status().is_success() || response.status() == StatusCode::NOT_FOUND {
            return Ok(response);
        }
        Err(status_error(response).await)
    }
}

/// A failure before an answer: refused connections certainly did not apply; anything after the
/// request may have been sent might have.
fn transport_error(e: reqwest::Error) -> Error {
    if e.is_connect() {
        Error::unavailable("cannot connect to the metakv server", e)
    } else {
        Error::OutcomeUnknown {
            message: "the metakv server did not answer".into(),
            source: Some(Box::new(e)),
        }
    }
}

/// Maps an error answer back to the error kind the server mapped from.
async fn status_error(response: reqwest::Response) -> Error {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: Option<ErrorBody> = response.json().await.ok();
    let (message, index, code) = body.map_or((status.to_string(), None, String::new()), |b| {
        (b.error.message, b.error.index, b.error.code)
    });
    match status {
        StatusCode::SERVICE_UNAVAILABLE if code == "not_provisioned" => Error::NotProvisioned {
            message,
            source: None,
        },
        StatusCode::BAD_REQUEST => Error::invalid(message),
        StatusCode::PAYLOAD_TOO_LARGE => Error::InvalidArgument {
            message,
            too_large: true,
        },
        StatusCode::PRECONDITION_FAILED => Error::ConditionFailed {
            index,
            source: None,
        },
        StatusCode::TOO_MANY_REQUESTS => Error::Throttled {
            retry_after,
            source: Some(message.into()),
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Unauthorized {
            message,
            source: None,
        },
        StatusCode::SERVICE_UNAVAILABLE => Error::Unavailable {
            message,
            source: None,
        },
        StatusCode::GATEWAY_TIMEOUT => Error::OutcomeUnknown {
            message,
            source: None,
        },
        _ => Error::Backend {
            message,
            source: None,
        },
    }
}

/// The server answered something the API does not allow.
fn protocol(message: impl Into<String>) -> Error {
    Error::Backend {
        message: message.into(),
        source: None,
    }
}

/// A resolved key range as the API's query bounds (base64).
struct Bounds {
    start: Option<String>,
    after: Option<String>,
    end: Option<String>,
}

impl Bounds {
    fn of(range: &KeyRange) -> Result<Self> {
        let mut bounds = Bounds {
            start: None,
            after: None,
            end: None,
        };
        match &range.lower {
            Bound::Included(k) => bounds.start = Some(b64(k)),
            Bound::Excluded(k) => bounds.after = Some(b64(k)),
            Bound::Unbounded => {}
        }
        match &range.upper {
            Bound::Excluded(k) => bounds.end = Some(b64(k)),
            Bound::Included(_) => {
                return Err(Error::invalid("inclusive upper bounds are not supported"));
            }
            Bound::Unbounded => {}
        }
        Ok(bounds)
    }
}

fn version_of(text: String) -> Result<Version> {
    Version::new(text).map_err(|e| Error::backend("the server sent an invalid version", e))
}

fn if_match(version: &Version) -> String {
    format!("\"{version}\"")
}

#[async_trait]
impl KvStore for HttpStore {
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>> {
        let response = self
            .send(self.request(Method::GET, &Self::key_path(partition, key))?)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_string())
            .ok_or_else(|| Error::Backend {
                message: "the server sent no ETag".into(),
                source: None,
            })?;
        let body = response.bytes().await.map_err(transport_error)?;
        Ok(Some(Versioned {
            value: Value::new(body.to_vec())?,
            version: version_of(etag)?,
        }))
    }

    async fn put(
        &self,
        partition: &Partition,
        key: &Key,
        value: &Value,
        condition: &Condition,
    ) -> Result<Written> {
        let mut request = self
            .request(Method::PUT, &Self::key_path(partition, key))?
            .body(value.as_bytes().to_vec());
        request = match condition {
            Condition::None => request,
            Condition::Absent => request.header(header::IF_NONE_MATCH, "*"),
            Condition::Exists => request.header(header::IF_MATCH, "*"),
            Condition::Version(v) => request.header(header::IF_MATCH, if_match(v)),
        };
        let response = self.send(request).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(Error::Backend {
                message: "the server answered 404 to a put".into(),
                source: None,
            });
        }
        let body: PutResponse = response.json().await.map_err(transport_error)?;
        Ok(Written {
            version: version_of(body.version)?,
            created: body.created,
        })
    }

    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool> {
        let mut request = self.request(Method::DELETE, &Self::key_path(partition, key))?;
        request = match condition {
            DeleteCondition::None => request,
            DeleteCondition::Exists => request.header(header::IF_MATCH, "*"),
            DeleteCondition::Version(v) => request.header(header::IF_MATCH, if_match(v)),
        };
        Ok(self.send(request).await?.status() != StatusCode::NOT_FOUND)
    }

    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage> {
        self.lifecycle.check()?;
        if request.is_empty() {
            return Ok(request.empty_page());
        }
        // The resolved range travels as bounds; the page token is made here, as for every driver.
        let range = request.range();
        let bounds = Bounds::of(range)?;
        let query = ScanQuery {
            start: bounds.start,
            after: bounds.after,
            end: bounds.end,
            reverse: Some(request.reverse()),
            // No `limit`: with one, the server's last page would carry no token even when the
            // range holds more, and this page could not tell.
            page_size: Some(request.page_limit()),
            keys_only: request.keys_only().then_some(true),
            ..ScanQuery::default()
        };
        let path = format!("/v1/p/{}/k", encode_segment(partition.as_bytes()));
        let response = self
            .send(self.request(Method::GET, &path)?.query(&query))
            .await?;
        let page: ScanResponse = response.json().await.map_err(transport_error)?;
        let entries = page
            .items
            .into_iter()
            .map(|item| {
                let value = match &item.value {
                    Some(v) => Value::new(unb64(v, "value")?)?,
                    None if request.keys_only() => Value::default(),
                    None => return Err(protocol("the server sent an item without a value")),
                };
                Ok(Entry {
                    key: Key::new(unb64(&item.key, "key")?)?,
                    value,
                    version: version_of(item.version)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // A token from the server means the range holds more after this page.
        request.page(entries, page.next_page_token.is_some())
    }

    async fn get_many(
        &self,
        partition: &Partition,
        keys: &KeyList,
    ) -> Result<Vec<Option<Versioned>>> {
        let path = format!("/v1/p/{}/get", encode_segment(partition.as_bytes()));
        let body = GetManyRequest {
            keys: keys.keys().iter().map(|k| b64(k.as_bytes())).collect(),
        };
        let response = self
            .send(self.request(Method::POST, &path)?.json(&body))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(protocol("the server has no multi-get (POST .../get)"));
        }
        let answer: GetManyResponse = response.json().await.map_err(transport_error)?;
        if answer.items.len() != keys.len() {
            return Err(protocol(format!(
                "the server answered {} items to a multi-get of {} keys",
                answer.items.len(),
                keys.len()
            )));
        }
        answer
            .items
            .into_iter()
            .map(|item| {
                item.map(|item| {
                    let value = item
                        .value
                        .as_deref()
                        .ok_or_else(|| protocol("the server sent an item without a value"))?;
                    Ok(Versioned {
                        value: Value::new(unb64(value, "value")?)?,
                        version: version_of(item.version)?,
                    })
                })
                .transpose()
            })
            .collect()
    }

    async fn count(&self, partition: &Partition, range: &KeyRange) -> Result<u64> {
        let bounds = Bounds::of(range)?;
        let query = CountQuery {
            prefix: None,
            start: bounds.start,
            after: bounds.after,
            end: bounds.end,
        };
        let path = format!("/v1/p/{}/count", encode_segment(partition.as_bytes()));
        let response = self
            .send(self.request(Method::GET, &path)?.query(&query))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(protocol("the server has no count (GET .../count)"));
        }
        let answer: CountResponse = response.json().await.map_err(transport_error)?;
        Ok(answer.count)
    }

    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>> {
        let ops = batch
            .ops()
            .iter()
            .map(|op| match op {
                BatchOp::Put {
                    key,
                    value,
                    condition,
                } => BatchOpJson {
                    op: "put".into(),
                    key: b64(key.as_bytes()),
                    value: Some(b64(value.as_bytes())),
                    if_match: match condition {
                        Condition::Exists => Some("*".into()),
                        Condition::Version(v) => Some(v.to_string()),
                        _ => None,
                    },
                    if_none_match: matches!(condition, Condition::Absent).then(|| "*".into()),
                },
                BatchOp::Delete { key, condition } => BatchOpJson {
                    op: "delete".into(),
                    key: b64(key.as_bytes()),
                    value: None,
                    if_match: match condition {
                        DeleteCondition::Exists => Some("*".into()),
                        DeleteCondition::Version(v) => Some(v.to_string()),
                        DeleteCondition::None => None,
                    },
                    if_none_match: None,
                },
            })
            .collect();
        let path = format!("/v1/p/{}/batch", encode_segment(partition.as_bytes()));
        let response = self
            .send(
                self.request(Method::POST, &path)?
                    .json(&BatchRequest { ops }),
            )
            .await?;
        let body: BatchResponse = response.json().await.map_err(transport_error)?;
        body.versions
            .into_iter()
            .map(|v| v.map(version_of).transpose())
            .collect()
    }

    async fn delete_partition(&self, partition: &Partition) -> Result<()> {
        let path = format!("/v1/p/{}", encode_segment(partition.as_bytes()));
        self.send(self.request(Method::DELETE, &path)?).await?;
        Ok(())
    }

    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage> {
        let query = ExportQuery {
            page_token: page_token.map(str::to_string),
            page_size: Some(page_size),
        };
        let response = self
            .send(self.request(Method::GET, "/v1/export")?.query(&query))
            .await?;
        let page: ExportResponse = response.json().await.map_err(transport_error)?;
        let entries = page
            .items
            .into_iter()
            .map(|item| {
                Ok(ExportEntry {
                    partition: Partition::new(unb64(&item.partition, "partition")?)?,
                    entry: Entry {
                        key: Key::new(unb64(&item.key, "key")?)?,
                        value: Value::new(unb64(&item.value, "value")?)?,
                        version: version_of(item.version)?,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ExportPage {
            entries,
            next_page_token: page.next_page_token,
        })
    }

    async fn ping(&self) -> Result<()> {
        let response = self.send(self.request(Method::GET, "/readyz")?).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(Error::unavailable("the server has no /readyz", "404"));
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.lifecycle.close();
        Ok(())
    }
}
