// UTF-8 in both directions. Mono's default string marshalling is not UTF-8 on every platform,
// so strings never cross the boundary as `string`: arguments go as NUL-terminated UTF-8 bytes
// and results come back as pointers decoded here.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace SoftPrompt.Interop
{
    internal static class Utf8
    {
        // Strict: a lone surrogate in a path is a caller bug, better reported than replaced by '?'.
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        // For text to tokenize: a lone surrogate becomes U+FFFD (EF BF BD), spelled out here rather
        // than left to an encoding's default fallback (which is '?' for some encodings).
        private static readonly Encoding Replacing = Encoding.GetEncoding(
            "utf-8", new EncoderReplacementFallback("\uFFFD"), new DecoderReplacementFallback("\uFFFD"));

        /// <summary>
        /// The UTF-8 bytes of <paramref name="text"/> (no NUL added; U+0000 stays a 0 byte), each
        /// lone surrogate replaced by U+FFFD.
        /// </summary>
        internal static byte[] EncodeText(string text)
        {
            return Replacing.GetBytes(text);
        }

        /// <summary>The first <paramref name="size"/> bytes of <paramref name="bytes"/> as text (the library writes valid UTF-8).</summary>
        internal static string DecodeText(byte[] bytes, int size)
        {
            return Replacing.GetString(bytes, 0, size);
        }

        /// <summary>NUL-terminated UTF-8 bytes of <paramref name="text"/>; null stays null (C NULL).</summary>
        internal static byte[] Encode(string text)
        {
            if (text == null)
                return null;
            if (text.IndexOf('\0') >= 0)
                throw new ArgumentException("a string passed to softprompt contains a NUL character, which C would cut it at: \"" +
                                            text.Replace("\0", "\\0") + "\"");
            int length = Strict.GetByteCount(text);
            byte[] bytes = new byte[length + 1]; // the last byte stays 0
            Strict.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        /// <summary>Copies a NUL-terminated UTF-8 string owned by the library; NULL gives null.</summary>
        internal static string Decode(IntPtr text)
        {
            return Marshal.PtrToStringUTF8(text);
        }

        /// <summary>A NUL-terminated UTF-8 string in a fixed-size C char array; stops at the array's end if the NUL is missing.</summary>
        internal static unsafe string Decode(byte* chars, int capacity)
        {
            int length = 0;
            while (length < capacity && chars[length] != 0)
                ++length;
            return Strict.GetString(chars, length);
        }
    }
}
