//! How long a room's sockets live: a socket opened with an API key that has an `expires_at`
//! is closed when it is reached (the room sets an alarm for the earliest expiry among its
//! sockets, and checks the sender on each message), and every socket of a `doc:{id}` room is
//! closed once its document's deletion has been announced. The rules are `edge_core::rooms`.

use super::{attachment, Room};
use edge_core::rooms;
use worker::Result;

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

impl Room {
    /// Makes sure the room wakes up by `at_ms` (an alarm already set earlier is kept).
    pub(super) async fn wake_by(&self, at_ms: i64) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_some_and(|t| t <= at_ms) {
            return Ok(());
        }
        storage.set_alarm((at_ms - now_ms()).max(0)).await
    }

    /// Closes (4002) the sockets whose credential has expired, then schedules the next expiry.
    pub(super) async fn close_expired(&self) -> Result<usize> {
        let now = now_ms();
        let mut closed = 0;
        for (ws, id) in self.live(None) {
            if rooms::expired(&id, now) {
                let _ = ws.close(
                    Some(rooms::CLOSE_CREDENTIAL_EXPIRED),
                    Some("credential expired"),
                );
                self.depart(&ws, id).await;
                closed += 1;
            }
        }
        let live = self.live(None);
        if let Some(next) = rooms::next_expiry(live.iter().map(|(_, i)| i)) {
            self.wake_by(next).await?;
        }
        Ok(closed)
    }

    /// Closes every live socket of the room with `code`, each counted as a departure.
    pub(super) async fn close_all(&self, code: u16, reason: &str) -> usize {
        let mut closed = 0;
        for ws in self.state.get_websockets() {
            if let Some(id) = attachment(&ws).filter(|i| !i.gone) {
                let _ = ws.close(Some(code), Some(reason));
                self.depart(&ws, id).await;
                closed += 1;
            }
        }
        closed
    }

    /// Whether the sender's credential has expired (then its socket is closed now).
    pub(super) async fn sender_expired(
        &self,
        ws: &worker::WebSocket,
        me: &rooms::Identity,
    ) -> bool {
        if !rooms::expired(me, now_ms()) {
            return false;
        }
        let _ = ws.close(
            Some(rooms::CLOSE_CREDENTIAL_EXPIRED),
            Some("credential expired"),
        );
        self.depart(ws, me.clone()).await;
        true
    }
}
