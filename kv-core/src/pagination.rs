//! The one pagination helper: turns page primitives into owned streams.

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};

use crate::limits::DEFAULT_PAGE_SIZE;
use crate::store::scan_page;
use crate::{Entry, Error, ExportEntry, KvStore, Partition, Result, ScanOptions};

enum State {
    Next(Option<String>),
    Done,
}

/// Pages through `fetch` until it returns no token. A token equal to the previous one would
/// loop forever, so it ends the stream with an error rather than silently truncating it.
fn paginate<T, F, Fut>(first_token: Option<String>, mut fetch: F) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, Option<String>)>> + Send + 'static,
{
    stream::unfold(State::Next(first_token), move |state| {
        let token = match state {
            State::Next(token) => token,
            State::Done => return futures::future::Either::Left(futures::future::ready(None)),
        };
        let fut = fetch(token.clone());
        futures::future::Either::Right(async move {
            match fut.await {
                Err(e) => Some((vec![Err(e)], State::Done)),
                Ok((items, next)) => {
                    let items: Vec<Result<T>> = items.into_iter().map(Ok).collect();
                    match next {
                        None => Some((items, State::Done)),
                        Some(next) if token.as_ref() == Some(&next) => {
                            let mut items = items;
                            items.push(Err(Error::Backend {
                                message: "the database repeated a page token; stopping the scan"
                                    .into(),
                                source: None,
                            }));
                            Some((items, State::Done))
                        }
                        Some(next) => Some((items, State::Next(Some(next)))),
                    }
                }
            }
        })
    })
    .flat_map(stream::iter)
    .boxed()
}

pub(crate) fn scan<S: KvStore + ?Sized>(
    store: Arc<S>,
    partition: Partition,
    options: ScanOptions,
) -> BoxStream<'static, Result<Entry>> {
    paginate(options.page_token.clone(), move |token| {
        let store = Arc::clone(&store);
        let partition = partition.clone();
        let mut options = options.clone();
        options.page_token = token;
        async move {
            let page = scan_page(&*store, &partition, &options).await?;
            Ok((page.entries, page.next_page_token))
        }
    })
}

pub(crate) fn export<S: KvStore + ?Sized>(
    store: Arc<S>,
) -> BoxStream<'static, Result<ExportEntry>> {
    paginate(None, move |token| {
        let store = Arc::clone(&store);
        async move {
            let page = store
                .export_page(token.as_deref(), DEFAULT_PAGE_SIZE)
                .await?;
            Ok((page.entries, page.next_page_token))
        }
    })
}
