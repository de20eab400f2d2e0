using System;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// The size-first protocol of the spb_* calls that fill a byte buffer and return the full size
    /// (or -1 on failure): the call runs with a first buffer and, when that was too small, once more
    /// with one of the size it reported.
    /// </summary>
    internal static class SizedOutput
    {
        private const long LargestBuffer = int.MaxValue - 64;

        /// <summary>
        /// The bytes <paramref name="call"/> writes, first into a buffer of <paramref name="guess"/>
        /// bytes. With <paramref name="nulTerminated"/> the library writes a NUL after them, so they fit
        /// only when their size is below the buffer's length.
        /// </summary>
        internal static byte[] Read(long guess, bool nulTerminated, string what, Func<byte[], long> call)
        {
            int reserve = nulTerminated ? 1 : 0;
            var output = new byte[(int)Math.Min(Math.Max(guess, reserve), LargestBuffer)];
            long size;
            while ((size = call(output)) > output.Length - reserve)
                output = new byte[checked((int)(size + reserve))];
            if (size < 0)
                throw Errors.Last(what); // the call just made, on this thread
            if (size != output.Length)
                Array.Resize(ref output, (int)size);
            return output;
        }

        /// <summary>The UTF-8 text such a call writes (NUL-terminated by the library).</summary>
        internal static string ReadText(long guess, string what, Func<byte[], long> call)
        {
            byte[] bytes = Read(guess, true, what, call);
            return Utf8.DecodeText(bytes, bytes.Length);
        }
    }
}
