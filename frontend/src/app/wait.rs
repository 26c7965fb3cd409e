//! Waiting on the browser without holding the page: a timer, the next task, the next frame.

use leptos::prelude::window;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Resolves when the browser calls back the function `schedule` hands it, or at once when
/// `schedule` cannot (no timer or no frame: the page is going away), rather than never.
async fn called_back(schedule: impl FnOnce(&js_sys::Function) -> bool) {
    let mut schedule = Some(schedule);
    let called = js_sys::Promise::new(&mut |resolve, _| {
        if !schedule.take().is_some_and(|s| s(&resolve))
            && let Err(e) = resolve.call0(&JsValue::NULL)
        {
            leptos::logging::warn!("procviz: could not go on after a callback failed: {e:?}");
        }
    });
    if let Err(e) = JsFuture::from(called).await {
        leptos::logging::warn!("procviz: a callback failed: {e:?}");
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let ms = i32::try_from(ms).unwrap_or(i32::MAX);
    called_back(|f| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(f, ms)
            .is_ok()
    })
    .await;
}

/// Resolves in a task of its own (a zero-delay timeout), after the browser has had the
/// chance to draw a frame.
pub async fn next_task() {
    sleep(0).await;
}

/// Resolves in a task after the browser's next animation frame (the frame that draws what
/// the current task changed).
pub async fn after_next_paint() {
    called_back(|f| window().request_animation_frame(f).is_ok()).await;
    next_task().await;
}
