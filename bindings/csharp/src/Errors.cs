// Turns the C API's failure signals into SoftPromptException. The status and message are read
// right after the failing call, on the same thread: Mono runs a P/Invoke on the calling OS thread
// and nothing else calls the library in between, so sp_last_status()/sp_last_error() (thread-local)
// describe exactly that call.
using SoftPrompt.Interop;

namespace SoftPrompt
{
    internal static class Errors
    {
        /// <summary>Throws for every status but Ok.</summary>
        internal static void Check(Status status)
        {
            if (status != Status.Ok)
                throw new SoftPromptException(status, Native.sp_last_error());
        }

        /// <summary>The exception for a call that signalled failure by its result (NULL, -1, struct_size 0).</summary>
        internal static SoftPromptException Last(string call)
        {
            Status status = Native.sp_last_status();
            string message = Native.sp_last_error();
            if (status == Status.Ok) // cannot happen if the C layer keeps its contract; never report success as an error
                return new SoftPromptException(Status.Internal, call + " failed without reporting a status");
            return new SoftPromptException(status, message);
        }

        /// <summary>Returns a handle from an spb_*_create call, or throws why it is NULL.</summary>
        internal static T CheckHandle<T>(T handle, string call) where T : NativeHandle
        {
            if (handle == null || handle.IsInvalid)
            {
                if (handle != null)
                    handle.Dispose(); // nothing to free: marks it closed so its finalizer does nothing
                throw Last(call);
            }
            return handle;
        }
    }
}
