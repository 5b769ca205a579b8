//! Template limits bound memory, not only steps: a template that would build gigabytes of
//! text (a chain of `replace`, a repeated string, a loop that grows a variable) is
//! stopped before it allocates much. Measured with an allocator that keeps the peak of
//! what this test's thread holds (this file is its own test binary, one test).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    let _ = HELD.try_with(|held| {
        let now = held.get() + n;
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed straight to the system allocator; the counting beside it
// touches only this thread's counters and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most this thread held at once while `f` ran, beyond what it held before.
fn peak_while(f: impl FnOnce()) -> isize {
    let before = HELD.with(Cell::get);
    PEAK.with(|p| p.set(before));
    f();
    PEAK.with(Cell::get) - before
}

#[test]
fn template_limits_bound_memory() {
    use domain::flows::expressions::render;
    let context = serde_json::json!({ "trigger": { "text": "aaaaaaaaaa" } });
    let replace = "| replace('a', 'aaaaaaaaaa')".repeat(12);
    let hostile = [
        // 10 bytes, ten times longer twelve times over: 10^13 bytes.
        format!("{{{{ trigger.text {replace} }}}}"),
        // A repeated string just under the engine's own cap.
        "{{ 'abcdefghij' * 9999999 }}".to_string(),
        // A variable that doubles in a loop.
        "{% set s = namespace(v='aaaaaaaaaa') %}{% for i in range(60) %}{% set s.v = s.v ~ s.v %}{% endfor %}{{ s.v | length }}".to_string(),
        // Output that grows without any one big value.
        "{% for i in range(100000000) %}aaaaaaaaaa{% endfor %}".to_string(),
    ];
    for template in &hostile {
        let mut result = Ok(String::new());
        let peak = peak_while(|| result = render(template, &context));
        let error = result.expect_err(template);
        assert!(!error.is_empty(), "{template}");
        assert!(
            peak < 32 << 20,
            "{template}: held {} MB at its peak",
            peak >> 20
        );
    }
    // An ordinary template still renders.
    assert_eq!(
        render("{{ trigger.text | replace('a', 'b') }}", &context).unwrap(),
        "bbbbbbbbbb"
    );
}
