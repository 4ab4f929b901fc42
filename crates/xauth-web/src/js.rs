//! Small helpers over `Reflect` and `JSON`, so that no JSON parser or serializer is
//! compiled into the wasm: the browser already has one.

use crate::prelude::*;
use core::cell::{Ref, RefCell, RefMut};
use core::future::Future;
use core::pin::Pin;

use js_sys::{Function, JSON, Object, Promise, Reflect};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::{JsFuture, future_to_promise};

/// What every async method runs: one boxed future type, so the promise machinery of
/// `wasm-bindgen-futures` is compiled once rather than once per method.
pub(crate) type Task = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// A promise settled by `task`.
pub(crate) fn promise(task: Task) -> Promise {
    future_to_promise(task)
}

/// `value[key]`, or `undefined` when `value` is not an object or the getter throws.
pub(crate) fn get(value: &JsValue, key: &str) -> JsValue {
    if !value.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `value[key]` if it is a string.
pub(crate) fn get_string(value: &JsValue, key: &str) -> Option<String> {
    get(value, key).as_string()
}

/// `value[key]` if it is a finite number.
pub(crate) fn get_number(value: &JsValue, key: &str) -> Option<f64> {
    get(value, key).as_f64().filter(|n| n.is_finite())
}

/// `object[key] = value` (cannot fail on the plain objects made here).
pub(crate) fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// `object[key] = value` when there is a value.
pub(crate) fn set_opt_str(object: &Object, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        set(object, key, &JsValue::from_str(value));
    }
}

/// A plain object of string fields.
pub(crate) fn object(fields: &[(&str, &str)]) -> Object {
    let object = Object::new();
    for (key, value) in fields {
        set(&object, key, &JsValue::from_str(value));
    }
    object
}

/// `JSON.stringify(value)`.
pub(crate) fn to_json(value: &JsValue) -> Option<String> {
    JSON::stringify(value).ok()?.as_string()
}

/// `JSON.parse(text)`, `None` when it is not JSON.
pub(crate) fn from_json(text: &str) -> Option<JsValue> {
    JSON::parse(text).ok()
}

/// `navigator.locks` (the Web Locks API), where the browser has it.
pub(crate) fn lock_manager() -> Option<JsValue> {
    let locks = get(&get(&js_sys::global(), "navigator"), "locks");
    locks.is_object().then_some(locks)
}

/// Runs `task` holding the Web Lock `name` (exclusive, across the origin's tabs and
/// workers); settles as `task` does.
pub(crate) async fn with_lock(locks: &JsValue, name: &str, task: Task) -> Result<JsValue, JsValue> {
    let request: Function = get(locks, "request").dyn_into()?;
    let callback = Closure::once_into_js(move |_lock: JsValue| promise(task));
    let held = request.call2(locks, &JsValue::from_str(name), &callback)?;
    JsFuture::from(Promise::resolve(&held)).await
}

/// Resolves after `ms` milliseconds (at once where there is no window).
pub(crate) async fn sleep(ms: i32) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let timeout = Promise::new(&mut |resolve, _| {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(timeout).await;
}

/// Calls `function(argument)` and waits for what it returns, if that is a promise; `Err`
/// with what it threw or rejected with.
pub(crate) async fn call_awaited(function: &Function, argument: &JsValue) -> Result<(), JsValue> {
    let returned = function.call1(&JsValue::UNDEFINED, argument)?;
    JsFuture::from(Promise::resolve(&returned)).await.map(drop)
}

/// A `RefCell` whose misuse (borrowing what is mutably borrowed: a bug, never outside input)
/// stops the module as any panic does, without `RefCell`'s panic message and the
/// formatting code it brings into the wasm.
pub(crate) struct Shared<T>(RefCell<T>);

impl<T> Shared<T> {
    pub(crate) fn new(value: T) -> Shared<T> {
        Shared(RefCell::new(value))
    }

    pub(crate) fn borrow(&self) -> Ref<'_, T> {
        self.0.try_borrow().unwrap_or_else(|_| trap())
    }

    pub(crate) fn borrow_mut(&self) -> RefMut<'_, T> {
        self.0.try_borrow_mut().unwrap_or_else(|_| trap())
    }
}

/// Stops the module (a bug: see `Shared`).
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    #[allow(clippy::panic)]
    {
        panic!("a keeper borrow conflict")
    }
}
