//! One device created or torn down at a time in the process. NVIDIA's Vulkan driver (Linux,
//! seen with driver 580 on an H200) crashes or hangs when instances and devices are created and
//! destroyed on several threads at once (wgpu issues #10010 and #10234 report the same): a test
//! binary that opened a Gpu per test, with the tests on parallel threads, segfaulted in 2 runs of
//! 6 and hung in 2. Opening a Gpu takes [`hold`]; a Gpu's teardown takes [`DriverLock::acquire`]
//! in `GpuInner`'s `Drop` and lets go in its last field's ([`Release`]), after the device.

use std::sync::{Condvar, Mutex};

pub(crate) struct DriverLock {
    busy: Mutex<bool>,
    free: Condvar,
}

pub(crate) static DRIVER: DriverLock = DriverLock {
    busy: Mutex::new(false),
    free: Condvar::new(),
};

impl DriverLock {
    /// Waits until no other thread creates or tears down a device, then takes the lock.
    pub(crate) fn acquire(&self) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while *busy {
            busy = self.free.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy = true;
    }

    fn release(&self) {
        *self.busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.free.notify_one();
    }
}

/// Holds the lock until dropped (also on an early return or a panic).
pub(crate) struct Held;

pub(crate) fn hold() -> Held {
    DRIVER.acquire();
    Held
}

impl Drop for Held {
    fn drop(&mut self) {
        DRIVER.release();
    }
}

/// Lets go of the lock when dropped, if `armed`: the last field of a struct whose `Drop` took
/// the lock, so that every field before it is dropped under the lock.
#[derive(Default)]
pub(crate) struct Release {
    pub armed: bool,
}

impl Drop for Release {
    fn drop(&mut self) {
        if self.armed {
            DRIVER.release();
        }
    }
}
