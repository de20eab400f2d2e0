using System;

namespace SoftPrompt
{
    /// <summary>
    /// A softprompt call returned a status other than Ok. <see cref="Status"/> is the C status and
    /// <see cref="NativeMessage"/> the library's message (sp_last_error) for that call.
    /// </summary>
    public class SoftPromptException : Exception
    {
        public SoftPromptException(Status status, string nativeMessage)
            : base(Library.StatusName(status) + ": " + nativeMessage)
        {
            Status = status;
            NativeMessage = nativeMessage;
        }

        /// <summary>The status the C call returned.</summary>
        public Status Status { get; private set; }

        /// <summary>The C library's message, unchanged.</summary>
        public string NativeMessage { get; private set; }
    }
}
