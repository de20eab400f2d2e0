package softprompt

// Status is the result code of a softprompt call. The values are the C library's sp_status
// values, which are stable.
type Status int32

// The statuses, as documented in softprompt.h.
const (
	StatusOK              Status = 0  // success
	StatusInvalidArgument Status = 1  // a missing value, a value out of range, inconsistent sizes
	StatusInvalidHandle   Status = 2  // an object used after Close (or not a live C object)
	StatusNotFound        Status = 3  // a missing file, folder or named tensor
	StatusIO              Status = 4  // reading or writing a file failed
	StatusFormat          Status = 5  // a file exists but is malformed
	StatusUnsupported     Status = 6  // valid but not implemented
	StatusShapeMismatch   Status = 7  // sizes that do not fit
	StatusOutOfRange      Status = 8  // a token id outside the vocabulary, too many positions
	StatusBufferTooSmall  Status = 9  // an output buffer smaller than the result
	StatusDevice          Status = 10 // the requested device is not available
	StatusBackend         Status = 11 // the tensor library reported an error
	StatusOutOfMemory     Status = 12 // an allocation failed
	StatusInternal        Status = 13 // a bug in softprompt
	StatusModelMismatch   Status = 14 // an adapter file trained on another base model
)

// String returns the C library's name of the status, e.g. "SP_ERR_NOT_FOUND".
func (s Status) String() string {
	return Sp_status_string(Enum_SS_sp_status(s))
}

// Error is the error type of every failure in this package: the C library's status and message,
// or a status and message for a problem detected before calling it (an argument that cannot be
// passed to C, an object used after Close).
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	return "softprompt: " + e.Status.String() + ": " + e.Message
}

// newError builds an *Error for a problem found on the Go side.
func newError(status Status, message string) *Error {
	return &Error{Status: status, Message: message}
}
