//! Streams without `unsafe` and without a macro: the [`Stream`] trait, a boxed form of it, and
//! [`generate`], which turns an async producer into a stream.
//!
//! Policy:
//! - **A stream is the producer future, polled by the consumer.** [`generate`] hands the
//!   producer a [`Yielder`]; each [`Yielder::give`] parks one item in a slot and suspends the
//!   producer, and the stream's `poll_next` takes the item out. The producer never runs on its
//!   own: it advances only while the consumer polls, so it is at most one item ahead, and a
//!   producer may borrow whatever it holds (a connection, a lock guard) across its awaits,
//!   which a hand-written `poll_next` could not without a self-referential struct.
//! - **Dropping the stream drops the producer** where it stands, with everything it holds.
//! - The same shape as the `async-stream` crate, with an `Arc<Mutex<..>>` slot instead of a
//!   thread-local, so it needs no `unsafe` and no macro.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

pub use futures_core::Stream;

/// A boxed, `Send` stream.
pub type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

/// The producer's side of a [`generate`]d stream.
pub struct Yielder<T> {
    slot: Arc<Mutex<Option<T>>>,
}

impl<T> std::fmt::Debug for Yielder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Yielder").finish_non_exhaustive()
    }
}

impl<T> Yielder<T> {
    /// Hands `item` to the consumer and waits until it asks for the next one. Await it only
    /// in the producer of the stream it belongs to: it suspends the producer until the stream
    /// is polled again, and wakes nobody.
    pub async fn give(&self, item: T) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(item);
        Suspend(false).await;
    }
}

/// Pending once (without waking anyone: the stream returns the item in that same poll, so
/// its consumer polls again when it wants more), then ready.
struct Suspend(bool);

impl Future for Suspend {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

/// A stream whose items a producer future gives (see [`generate`]).
#[must_use = "streams do nothing unless polled"]
pub struct Generated<'a, T> {
    slot: Arc<Mutex<Option<T>>>,
    producer: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
}

impl<T> std::fmt::Debug for Generated<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("done", &self.producer.is_none())
            .finish_non_exhaustive()
    }
}

/// A stream of the items `producer` gives to its [`Yielder`]; it ends when the producer's
/// future ends. Nothing runs until the stream is first polled.
///
/// ```
/// use coherent_core::stream::{generate, next};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut numbers = generate(|y| async move {
///     for n in 1..=3 {
///         y.give(n * 10).await;
///     }
/// });
/// let mut seen = Vec::new();
/// while let Some(n) = next(&mut numbers).await {
///     seen.push(n);
/// }
/// assert_eq!(seen, [10, 20, 30]);
/// # });
/// ```
pub fn generate<'a, T, F, Fut>(producer: F) -> Generated<'a, T>
where
    T: Send + 'a,
    F: FnOnce(Yielder<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'a,
{
    let slot = Arc::new(Mutex::new(None));
    let yielder = Yielder {
        slot: Arc::clone(&slot),
    };
    Generated {
        slot,
        producer: Some(Box::pin(producer(yielder))),
    }
}

impl<T> Generated<'_, T> {
    fn take(&self) -> Option<T> {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl<T> Stream for Generated<'_, T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Some(producer) = self.producer.as_mut() else {
            return Poll::Ready(None);
        };
        match producer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.producer = None;
                Poll::Ready(self.take())
            }
            // Suspended by `give` (the item is in the slot), or waiting for something that
            // wakes this task (the slot is empty).
            Poll::Pending => match self.take() {
                Some(item) => Poll::Ready(Some(item)),
                None => Poll::Pending,
            },
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.producer {
            Some(_) => (0, None),
            None => (0, Some(0)),
        }
    }
}

/// The next item of `stream` (what `futures::StreamExt::next` does), for code that does not
/// depend on `futures-util`.
///
/// ```
/// use coherent_core::stream::{generate, next};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut one = generate(|y| async move { y.give("only").await });
/// assert_eq!(next(&mut one).await, Some("only"));
/// assert_eq!(next(&mut one).await, None);
/// # });
/// ```
pub async fn next<S: Stream + Unpin + ?Sized>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_producer_runs_only_while_polled_and_stops_when_dropped() {
        let progress = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&progress);
        block_on(async move {
            let mut s = generate(move |y| async move {
                for i in 0..10 {
                    seen.lock().unwrap().push(i);
                    y.give(i).await;
                }
            });
            assert!(progress.lock().unwrap().is_empty(), "lazy");
            assert_eq!(next(&mut s).await, Some(0));
            assert_eq!(next(&mut s).await, Some(1));
            // One item ahead at most: the producer stands at its second `give`.
            assert_eq!(*progress.lock().unwrap(), [0, 1]);
            drop(s);
            assert_eq!(*progress.lock().unwrap(), [0, 1]);
        });
    }

    #[test]
    fn a_producer_may_wait_for_other_futures_between_items() {
        block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
            let feeder = tokio::spawn(async move {
                for i in 0..5 {
                    tx.send(i).await.unwrap();
                }
            });
            let mut s = generate(|y| async move {
                while let Some(i) = rx.recv().await {
                    y.give(i * 2).await;
                }
            });
            let mut all = Vec::new();
            while let Some(i) = next(&mut s).await {
                all.push(i);
            }
            assert_eq!(all, [0, 2, 4, 6, 8]);
            assert_eq!(s.size_hint(), (0, Some(0)));
            feeder.await.unwrap();
        });
    }
}
