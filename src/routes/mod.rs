//! One module per domain; `dispatch` maps each [`Route`] of the table to its handler.

mod health;
mod testing;

use crate::http::ApiResult;
use crate::pipeline::Ctx;
use edge_core::router::Route;
use worker::Request;

pub async fn dispatch(route: Route, req: Request, cx: Ctx) -> ApiResult {
    match route {
        Route::Health => health::live(),
        Route::HealthReady => health::ready(&cx).await,
        Route::TestPanic => testing::panic(),
        Route::TestEcho => testing::echo(req).await,
        Route::TestJobCreate => testing::create_job(req, &cx).await,
        Route::TestJobGet => testing::get_job(&cx).await,
    }
}
