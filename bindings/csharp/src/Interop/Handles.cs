// SafeHandles over the library's opaque objects. The P/Invoke marshaller creates them for the
// handles that spb_*_create returns (so a handle is owned from the instant it exists), and the
// csin typemap AddRef's them around every call (so Dispose on another thread waits for running
// calls, and a disposed handle raises ObjectDisposedException before reaching C). ReleaseHandle
// runs exactly once, from Dispose or from the finalizer, and drops the caller's C reference; the
// C side refcounts, so an adapter keeps its model (and a trainer its adapter) alive on its own.
using System;
using System.Runtime.InteropServices;

namespace SoftPrompt.Interop
{
    internal abstract class NativeHandle : SafeHandle
    {
        protected NativeHandle() : base(IntPtr.Zero, true)
        {
        }

        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        /// <summary>
        /// <paramref name="handle"/> for one more call by its owner, a public object of type
        /// <paramref name="owner"/>: ObjectDisposedException (naming the owner) once it was disposed.
        /// </summary>
        internal static T Live<T>(T handle, Type owner) where T : NativeHandle
        {
            if (handle.IsClosed)
                throw new ObjectDisposedException(owner.FullName, "the " + owner.Name.ToLowerInvariant() + " was disposed");
            return handle;
        }
    }

    /// <summary>
    /// The handles of an array argument (a batch's row adapters, prompts' adapters), each AddRef'd
    /// for one call as a single handle argument is (so Dispose on another thread waits for the call),
    /// with their pointers for the wrapper: Dispose releases them. A null entry is IntPtr.Zero (NULL).
    /// Taken before the wrapper call, which AddRef's its own handle argument only once it runs.
    /// </summary>
    internal sealed class HeldHandles : IDisposable
    {
        private static readonly HeldHandles None = new HeldHandles(null);

        private readonly NativeHandle[] held; // the entries AddRef'd (null where none was)

        private HeldHandles(NativeHandle[] handles)
        {
            held = handles == null ? null : new NativeHandle[handles.Length];
            Pointers = handles == null ? null : new IntPtr[handles.Length];
        }

        /// <summary>The handles' pointers (IntPtr.Zero for a null entry), or null when there are none.</summary>
        internal IntPtr[] Pointers { get; private set; }

        internal int Count
        {
            get { return Pointers == null ? 0 : Pointers.Length; }
        }

        /// <summary>
        /// AddRef's every handle of <paramref name="handles"/> (null: none). A disposed one throws
        /// ObjectDisposedException after the ones before it are released again.
        /// </summary>
        internal static HeldHandles Hold(NativeHandle[] handles)
        {
            if (handles == null || handles.Length == 0)
                return None;
            var result = new HeldHandles(handles);
            try
            {
                for (int i = 0; i < handles.Length; ++i)
                {
                    NativeHandle handle = handles[i];
                    if (handle == null)
                        continue;
                    bool added = false;
                    handle.DangerousAddRef(ref added);
                    if (added)
                        result.held[i] = handle;
                    result.Pointers[i] = handle.DangerousGetHandle();
                }
            }
            catch
            {
                result.Dispose();
                throw;
            }
            return result;
        }

        public void Dispose()
        {
            if (held == null)
                return;
            for (int i = 0; i < held.Length; ++i)
            {
                if (held[i] == null)
                    continue;
                held[i].DangerousRelease();
                held[i] = null;
            }
        }
    }

    internal sealed class ModelHandle : NativeHandle
    {
        // The marshaller needs a parameterless constructor to create returned handles.
        public ModelHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            // The raw IntPtr entry point: the handle is already closed, so it cannot be AddRef'd.
            NativePINVOKE.sp_model_free(handle);
            return true;
        }
    }

    internal sealed class AdapterHandle : NativeHandle
    {
        public AdapterHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            NativePINVOKE.sp_adapter_free(handle);
            return true;
        }
    }

    internal sealed class TrainerHandle : NativeHandle
    {
        public TrainerHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            NativePINVOKE.sp_trainer_free(handle);
            return true;
        }
    }

    internal sealed class TokenizerHandle : NativeHandle
    {
        public TokenizerHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            NativePINVOKE.sp_tokenizer_free(handle);
            return true;
        }
    }

    internal sealed class ContextHandle : NativeHandle
    {
        public ContextHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            NativePINVOKE.sp_context_free(handle);
            return true;
        }
    }
}
