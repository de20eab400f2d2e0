using System;
using System.Collections.Generic;
using System.Threading;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// Where text comes out (sp_context): a model with an optional adapter's soft prompt, and a
    /// key/value cache allocated once, when the context is created. Generates (greedy or sampled,
    /// streamed token by token), scores continuations, and offers Prefill/Decode for custom decoding.
    /// </summary>
    /// <remarks>
    /// Prompts are <c>int[][]</c>: one array of ids per row, of any lengths (no padding); each row
    /// gets the tokens it would get alone. The string overloads encode with the model's tokenizer as
    /// <c>tokenizers</c> does by default (special tokens added). The adapter's soft prompt is taken
    /// when the context is created (training it later does not change this context); the context
    /// keeps its model and adapter alive, so they may be disposed first. Calls on one context are
    /// serialised, one generation at a time: use one context per thread for parallel work, any
    /// number on one model. Dispose it when done (the cache can be large); calls after Dispose throw
    /// ObjectDisposedException.
    /// <para>Encoder-decoder models (ModelInfo.IsEncoderDecoder, T5; the base model or a TaskType.Seq2SeqLm
    /// adapter): a prompt is the encoder's input, and the tokens generated are the decoder's, starting
    /// after ModelInfo.DecoderStartTokenId (which is not returned). Prefill returns the decoder's
    /// first-step logits. Score is refused (Unsupported): the loss of a continuation is Adapter.EvalLoss
    /// with it as the decoder's labels.</para>
    /// </remarks>
    public sealed class Context : IDisposable
    {
        // First guess for one event's text in bytes; a longer one costs a second call.
        private const int TextBytesGuess = 64;

        private readonly ContextHandle handle;
        private readonly long vocabSize;
        private readonly Tokenizer tokenizer; // null: the model folder has none (tokenizerFailure says why)
        private readonly SoftPromptException tokenizerFailure;

        // Guarded by sync: which generation the native context runs (an enumeration holds its
        // number, so one ended by a later call cannot read the next one's events), whether it still
        // runs, and the buffers of the latest event.
        private readonly object sync = new object();
        private long generation;
        private bool generating;
        private readonly int[] eventFields = new int[3];
        private byte[] textBuffer = new byte[TextBytesGuess];

        private Context(ContextHandle handle, Model model, Adapter adapter)
        {
            this.handle = handle;
            Model = model;
            Adapter = adapter;
            vocabSize = model.VocabSize;
            try
            {
                tokenizer = model.GetTokenizer();
            }
            catch (SoftPromptException e)
            {
                tokenizerFailure = e;
            }
        }

        /// <summary>
        /// A context on <paramref name="model"/> with <paramref name="adapter"/>'s soft prompt (null:
        /// the base model alone); the adapter must belong to the model.
        /// </summary>
        /// <exception cref="SoftPromptException">InvalidArgument (an adapter of another model, sizes out
        /// of range), OutOfRange (MaxLength beyond a model's learned positions), OutOfMemory.</exception>
        public static Context Create(Model model, Adapter adapter = null, ContextOptions options = null)
        {
            if (model == null)
                throw new ArgumentNullException("model");
            NativeContextParams native = (options ?? new ContextOptions()).ToNative();
            // No adapter: an invalid (zero) handle, which the call AddRef's like any other and passes as NULL.
            AdapterHandle none = adapter == null ? new AdapterHandle() : null;
            try
            {
                ContextHandle created = Native.spb_context_create(model.Handle, adapter == null ? none : adapter.Handle,
                                                                  ref native);
                return new Context(Errors.CheckHandle(created, "Context.Create"), model, adapter);
            }
            finally
            {
                if (none != null)
                    none.Dispose();
            }
        }

        /// <summary>The model this context runs.</summary>
        public Model Model { get; private set; }

        /// <summary>The adapter whose soft prompt the context took when it was created, or null.</summary>
        public Adapter Adapter { get; private set; }

        // ---- Generation ------------------------------------------------------------------------

        /// <summary>
        /// Generates after each prompt, passing each token to <paramref name="onToken"/> (may be null)
        /// as it comes; returning false stops every row (the rows still running end with
        /// StopReason.Callback). Cancellation is checked before each token: it stops the generation
        /// and throws OperationCanceledException. An exception from the callback stops it too.
        /// </summary>
        /// <param name="taskIds">One task per prompt for multitask prompt tuning adapters, else null.</param>
        /// <param name="adapters">One adapter per prompt, replacing the context's adapter for that row (a null
        /// entry: the base model), any mix of methods and virtual-token counts in one batch; null = the
        /// context's adapter for every row. Each row gets the tokens it would get alone on a context of its
        /// adapter. Each adapter must belong to the context's model (InvalidArgument otherwise).</param>
        /// <exception cref="SoftPromptException">InvalidArgument (an empty prompt, options out of range,
        /// stop strings without a tokenizer, an adapter of another model), ShapeMismatch (taskIds or adapters
        /// not one per prompt), OutOfRange (ids outside the vocabulary, more prompts than MaxBatchSize, a
        /// prompt plus MaxNewTokens longer than MaxLength), Unsupported.</exception>
        public Generation Generate(int[][] prompts, GenerateOptions options = null, Func<TokenEvent, bool> onToken = null,
                                   int[] taskIds = null, CancellationToken cancellationToken = default(CancellationToken),
                                   Adapter[] adapters = null)
        {
            Request request = new Request(Prompts.Of(prompts, taskIds, adapters), options);
            cancellationToken.ThrowIfCancellationRequested();
            long number = Begin(request);
            var rows = new GenerationRows(request.Prompts.Count);
            bool finished = false;
            try
            {
                while (true)
                {
                    if (cancellationToken.IsCancellationRequested)
                        break; // the finally stops the generation, then the token throws
                    TokenEvent e = NextEvent(number);
                    if (e == null)
                    {
                        finished = true;
                        return rows.ToGeneration();
                    }
                    rows.Record(e);
                    if (onToken != null && !onToken(e))
                        break;
                }
                StopGeneration(number);
                finished = true;
                cancellationToken.ThrowIfCancellationRequested();
                rows.Stopped();
                return rows.ToGeneration();
            }
            finally
            {
                if (!finished)
                    StopGeneration(number);
            }
        }

        /// <summary>Generates after each text prompt (encoded by the model's tokenizer, special tokens added).</summary>
        public Generation Generate(string[] prompts, GenerateOptions options = null, Func<TokenEvent, bool> onToken = null,
                                   CancellationToken cancellationToken = default(CancellationToken))
        {
            return Generate(Encode(prompts, true), options, onToken, null, cancellationToken);
        }

        /// <summary>
        /// The token events of a generation, computed one at a time as the enumeration asks for them.
        /// Each enumeration begins the generation anew (so errors are thrown by the first MoveNext);
        /// ending it early (break, Take, Dispose) stops the generation. Cancellation is checked before
        /// each token: it stops the generation and throws OperationCanceledException. A later
        /// generation, Prefill, Decode or Reset on this context ends an enumeration in progress: its
        /// next MoveNext throws InvalidOperationException. <paramref name="adapters"/>: as in Generate.
        /// </summary>
        public IEnumerable<TokenEvent> Stream(int[][] prompts, GenerateOptions options = null, int[] taskIds = null,
                                              CancellationToken cancellationToken = default(CancellationToken),
                                              Adapter[] adapters = null)
        {
            return Events(new Request(Prompts.Of(prompts, taskIds, adapters), options), cancellationToken);
        }

        /// <summary>The events of one text prompt's generation (encoded by the model's tokenizer, special tokens added).</summary>
        public IEnumerable<TokenEvent> Stream(string prompt, GenerateOptions options = null,
                                              CancellationToken cancellationToken = default(CancellationToken))
        {
            if (prompt == null)
                throw new ArgumentNullException("prompt");
            return Stream(Encode(new[] { prompt }, true), options, null, cancellationToken);
        }

        /// <summary>The text pieces of one text prompt's generation (TokenEvent.Text, empty pieces left out).</summary>
        public IEnumerable<string> StreamText(string prompt, GenerateOptions options = null,
                                              CancellationToken cancellationToken = default(CancellationToken))
        {
            foreach (TokenEvent e in Stream(prompt, options, cancellationToken))
                if (e.Text.Length > 0)
                    yield return e.Text;
        }

        private IEnumerable<TokenEvent> Events(Request request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long number = Begin(request);
            bool finished = false;
            try
            {
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested(); // the finally stops the generation
                    TokenEvent e = NextEvent(number);
                    if (e == null)
                    {
                        finished = true;
                        yield break;
                    }
                    yield return e;
                }
            }
            finally
            {
                if (!finished)
                    StopGeneration(number);
            }
        }

        /// <summary>Begins a generation; its number.</summary>
        private long Begin(Request request)
        {
            NativeGenerateParams native = request.Params;
            lock (sync)
            {
                ++generation; // whatever ran before is over, even if this one fails to begin
                generating = false;
                using (HeldHandles held = Adapter.Hold(request.Prompts.Adapters))
                    Errors.Check(Native.spb_context_generate_begin(Handle, request.Prompts.Ids, request.Prompts.Lengths,
                                                                   request.Prompts.TaskIds, held.Pointers, ref native,
                                                                   request.StopIds, request.StopStrings));
                generating = true;
                return generation;
            }
        }

        /// <summary>The next event of generation <paramref name="number"/>, or null when every row has stopped.</summary>
        private TokenEvent NextEvent(long number)
        {
            lock (sync)
            {
                ContextHandle live = Handle;
                if (number != generation)
                    throw new InvalidOperationException(
                        "a later call on this Context (Generate, Stream, Prefill, Decode, Reset) ended this generation");
                if (!generating)
                    return null;
                int has = Native.spb_context_generate_next(live, eventFields);
                if (has < 0)
                    throw Errors.Last("Context.Stream");
                if (has == 0)
                {
                    generating = false;
                    return null;
                }
                // Without a tokenizer every event's text is empty (the C API's rule): no second call.
                string text = tokenizer == null ? "" : EventText(live);
                return new TokenEvent(eventFields[0], eventFields[1], text, (StopReason)eventFields[2]);
            }
        }

        /// <summary>The latest event's text (whole UTF-8 characters, the library's promise).</summary>
        private string EventText(ContextHandle live)
        {
            long size;
            while ((size = Native.spb_context_event_text(live, textBuffer)) >= textBuffer.Length)
                textBuffer = new byte[checked((int)(size + 1))];
            if (size < 0)
                throw Errors.Last("Context.Stream");
            return Utf8.DecodeText(textBuffer, (int)size);
        }

        /// <summary>Stops generation <paramref name="number"/> if it still runs; never throws.</summary>
        private void StopGeneration(long number)
        {
            lock (sync)
            {
                if (number != generation || !generating)
                    return;
                generating = false;
                if (handle.IsClosed)
                    return; // the native context is gone, and its generation with it
                Native.spb_context_generate_stop(handle); // fails only for an invalid handle
            }
        }

        // ---- Scoring ---------------------------------------------------------------------------

        /// <summary>
        /// The log-likelihood of each continuation after its prompt, in nats: the sum over the
        /// continuation's tokens of log p(token | prompt, earlier tokens, soft prompt). Each pair is
        /// computed as if alone. Leaves a generation in progress and the cache as they were.
        /// </summary>
        /// <exception cref="SoftPromptException">As Generate (each prompt plus its continuation must fit
        /// MaxLength), ShapeMismatch (not one continuation per prompt), Unsupported (an encoder-decoder
        /// model).</exception>
        /// <param name="adapters">One adapter per prompt (a null entry: the base model), or null: as in Generate.</param>
        public float[] Score(int[][] prompts, int[][] continuations, int[] taskIds = null, Adapter[] adapters = null)
        {
            Prompts batch = Prompts.Of(prompts, taskIds, adapters);
            Prompts after = Prompts.Of(continuations, null, null, "continuations");
            var output = new float[batch.Count];
            lock (sync)
                using (HeldHandles held = Adapter.Hold(batch.Adapters))
                    Errors.Check(Native.spb_context_score(Handle, batch.Ids, batch.Lengths, batch.TaskIds,
                                                          held.Pointers, after.Ids, after.Lengths, output));
            return output;
        }

        /// <summary>
        /// Scores text: prompts are encoded with the special tokens (as tokenizers does by default),
        /// continuations without them (they follow the prompt). Encoding the two apart may split a
        /// word differently than encoding their concatenation.
        /// </summary>
        public float[] Score(string[] prompts, string[] continuations)
        {
            return Score(Encode(prompts, true), Encode(continuations, false));
        }

        // ---- Low level -------------------------------------------------------------------------

        /// <summary>
        /// Runs the prompts into the cache (replacing its contents, and ending any generation) and
        /// returns each row's next-token logits: prompts.Length * vocabulary size floats, row-major.
        /// <paramref name="adapters"/>: one adapter per prompt (a null entry: the base model), or null: as
        /// in Generate.
        /// </summary>
        public float[] Prefill(int[][] prompts, int[] taskIds = null, Adapter[] adapters = null)
        {
            Prompts batch = Prompts.Of(prompts, taskIds, adapters);
            var logits = new float[checked(batch.Count * (int)vocabSize)];
            lock (sync)
            {
                ContextHandle live = Handle;
                ++generation;
                generating = false;
                using (HeldHandles held = Adapter.Hold(batch.Adapters))
                    Errors.Check(Native.spb_context_prefill(live, batch.Ids, batch.Lengths, batch.TaskIds,
                                                            held.Pointers, logits));
            }
            return logits;
        }

        /// <summary>
        /// Appends one token per row of the latest Prefill and returns the next-token logits,
        /// ids.Length * vocabulary size floats.
        /// </summary>
        /// <exception cref="SoftPromptException">InvalidArgument (no Prefill since creation or Reset, a
        /// count other than its rows), OutOfRange (ids, or a row that would pass MaxLength).</exception>
        public float[] Decode(int[] ids)
        {
            if (ids == null)
                throw new ArgumentNullException("ids");
            var logits = new float[checked(ids.Length * (int)vocabSize)];
            lock (sync)
            {
                ContextHandle live = Handle;
                ++generation;
                generating = false;
                Errors.Check(Native.spb_context_decode(live, ids, logits));
            }
            return logits;
        }

        /// <summary>Forgets the cache's contents and ends any generation (the cache stays allocated).</summary>
        public void Reset()
        {
            lock (sync)
            {
                ContextHandle live = Handle;
                ++generation;
                generating = false;
                Errors.Check(Native.sp_context_reset(live));
            }
        }

        /// <summary>True once Dispose has run.</summary>
        public bool IsDisposed
        {
            get { return handle.IsClosed; }
        }

        /// <summary>Releases the native context and its cache (after any call running on another thread). Idempotent.</summary>
        public void Dispose()
        {
            handle.Dispose();
            if (tokenizer != null)
                tokenizer.Dispose();
        }

        /// <summary>The live handle; ObjectDisposedException after Dispose.</summary>
        private ContextHandle Handle
        {
            get { return NativeHandle.Live(handle, typeof(Context)); }
        }

        /// <summary>Texts encoded by the model's tokenizer, or its absence thrown as the error it gave.</summary>
        private int[][] Encode(string[] texts, bool addSpecialTokens)
        {
            if (texts == null)
                throw new ArgumentNullException("texts");
            NativeHandle.Live(handle, typeof(Context)); // a disposed context fails as every other call does
            if (tokenizer == null)
                throw new SoftPromptException(tokenizerFailure.Status, tokenizerFailure.NativeMessage);
            var ids = new int[texts.Length][];
            for (int i = 0; i < texts.Length; ++i)
            {
                if (texts[i] == null)
                    throw new ArgumentNullException("texts", "a text is null");
                ids[i] = tokenizer.Encode(texts[i], addSpecialTokens);
            }
            return ids;
        }

        /// <summary>What a generation is begun with, taken when it is asked for (options may change later).</summary>
        private sealed class Request
        {
            internal Request(Prompts prompts, GenerateOptions options)
            {
                options = options ?? new GenerateOptions();
                Prompts = prompts;
                Params = options.ToNative();
                StopIds = options.StopIds == null ? null : (int[])options.StopIds.Clone();
                StopStrings = options.StopStringBytes();
            }

            internal Prompts Prompts { get; private set; }
            internal NativeGenerateParams Params { get; private set; }
            internal int[] StopIds { get; private set; }
            internal byte[] StopStrings { get; private set; }
        }
    }

    /// <summary>
    /// Prompts of different lengths as the binding layer takes them (sp_prompts): every prompt's ids
    /// one after another, their lengths, and optional task ids. C# checks only nulls; the library
    /// checks the rest (an empty prompt, ids outside the vocabulary).
    /// </summary>
    internal sealed class Prompts
    {
        private Prompts(int[] ids, int[] lengths, int[] taskIds, Adapter[] adapters)
        {
            Ids = ids;
            Lengths = lengths;
            TaskIds = taskIds;
            Adapters = adapters;
        }

        internal int[] Ids { get; private set; }
        internal int[] Lengths { get; private set; }
        internal int[] TaskIds { get; private set; } // null: not given
        internal Adapter[] Adapters { get; private set; } // null: the context's adapter for every row

        internal int Count
        {
            get { return Lengths.Length; }
        }

        internal static Prompts Of(int[][] prompts, int[] taskIds, Adapter[] adapters = null, string name = "prompts")
        {
            if (prompts == null)
                throw new ArgumentNullException(name);
            long total = 0;
            foreach (int[] prompt in prompts)
            {
                if (prompt == null)
                    throw new ArgumentNullException(name, "a prompt is null");
                total += prompt.Length;
            }
            var ids = new int[checked((int)total)];
            var lengths = new int[prompts.Length];
            int at = 0;
            for (int i = 0; i < prompts.Length; ++i)
            {
                Array.Copy(prompts[i], 0, ids, at, prompts[i].Length);
                at += prompts[i].Length;
                lengths[i] = prompts[i].Length;
            }
            return new Prompts(ids, lengths, taskIds == null ? null : (int[])taskIds.Clone(),
                               adapters == null ? null : (Adapter[])adapters.Clone());
        }
    }
}
