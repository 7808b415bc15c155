//! A de-duplicating work queue (client-go util/workqueue in miniature): keys marked
//! dirty while a worker is busy are processed once more afterwards, never lost.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};

use crate::context::Context;
use crate::store::WatchEvent;

pub struct Queue<K> {
    dirty: Mutex<BTreeSet<K>>,
    notify: Notify,
}

impl<K: Ord + Clone + Send + 'static> Queue<K> {
    pub fn new() -> Arc<Queue<K>> {
        Arc::new(Queue {
            dirty: Mutex::new(BTreeSet::new()),
            notify: Notify::new(),
        })
    }

    pub fn add(&self, key: K) {
        self.dirty.lock().unwrap().insert(key);
        self.notify.notify_one();
    }

    /// Add the key again after `delay` (workqueue's AddAfter).
    pub fn add_after(self: &Arc<Self>, key: K, delay: Duration) {
        let q = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            q.add(key);
        });
    }

    /// Wait for and take every dirty key.
    pub async fn next_batch(&self) -> Vec<K> {
        loop {
            {
                let mut d = self.dirty.lock().unwrap();
                if !d.is_empty() {
                    return std::mem::take(&mut *d).into_iter().collect();
                }
            }
            self.notify.notified().await;
        }
    }
}

/// Run a controller: `map` turns each store event into queue keys, `resync` enqueues
/// everything (at start and whenever the event stream lagged), `sync` reconciles one key.
pub fn run<K, M, R, S>(ctx: Arc<Context>, queue: Arc<Queue<K>>, map: M, resync: R, sync: S)
where
    K: Ord + Clone + Send + Sync + 'static,
    M: Fn(&Context, &Queue<K>, &WatchEvent) + Send + 'static,
    R: Fn(&Context, &Queue<K>) + Send + 'static,
    S: Fn(&Arc<Context>, &Arc<Queue<K>>, &K) + Send + 'static,
{
    // Subscribe before the initial resync so nothing falls between the two.
    let mut rx = ctx.store.subscribe();
    resync(&ctx, &queue);
    let (c, q) = (ctx.clone(), queue.clone());
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => map(&c, &q, &ev),
                Err(broadcast::error::RecvError::Lagged(_)) => resync(&c, &q),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    tokio::spawn(async move {
        loop {
            for key in queue.next_batch().await {
                sync(&ctx, &queue, &key);
            }
            // Let the event dispatcher and the other controllers run between batches.
            tokio::task::yield_now().await;
        }
    });
}
