// Guards the hand-written struct twins (NativeStructs.cs) against drifting from softprompt.h.
using System;
using System.Runtime.InteropServices;

namespace SoftPrompt.Interop
{
    internal static class StructLayouts
    {
        /// <summary>
        /// Throws unless the C side's struct_size (sizeof in C code built from the same header)
        /// equals the C# twin's marshalled size: a mismatch means the twin misses or adds a field.
        /// </summary>
        internal static void Verify<T>(UIntPtr nativeSize) where T : struct
        {
            if (nativeSize.ToUInt64() != (ulong)SizeOf<T>.Value)
                throw new InvalidOperationException(string.Format(
                    "SoftPrompt binding out of date: the C struct behind {0} has {1} bytes, the C# twin {2}; " +
                    "rebuild SoftPrompt.dll and its native wrapper from the softprompt.h of the native library",
                    typeof(T).Name, nativeSize, SizeOf<T>.Value));
        }

        /// <summary>Marshal.SizeOf, computed once per type (Verify runs on every info call).</summary>
        private static class SizeOf<T> where T : struct
        {
            internal static readonly int Value = Marshal.SizeOf<T>();
        }
    }
}
