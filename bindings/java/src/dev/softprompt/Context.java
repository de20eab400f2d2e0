package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_adapter;
import dev.softprompt.internal.sp_context;
import dev.softprompt.internal.sp_context_params;
import dev.softprompt.internal.sp_generate_params;
import dev.softprompt.internal.sp_model;
import java.util.ConcurrentModificationException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Where text comes out (sp_context): a model with an optional adapter's soft prompt, and a
 * key/value cache allocated once, when the context is created. Generates (greedy or sampled,
 * streamed token by token), scores continuations, and offers prefill/decode for custom decoding.
 *
 * <p>Prompts are {@code int[][]}: one array of ids per row, of any lengths (no padding); each row
 * gets the tokens it would get alone. The String overloads encode with the model's tokenizer as
 * {@code tokenizers} does by default (special tokens added).
 *
 * <p>Encoder-decoder models ({@link ModelInfo#isEncoderDecoder}, T5; the base model or a
 * {@link TaskType#SEQ_2_SEQ_LM} adapter): a prompt is the encoder's input, and the tokens generated
 * are the decoder's, starting after {@link ModelInfo#decoderStartTokenId} (which is not returned).
 * prefill returns the decoder's first-step logits. Scoring is refused (UNSUPPORTED): the loss of a
 * continuation is {@link Adapter#evalLoss} with it as the decoder's labels.
 *
 * <p>The adapter's soft prompt is taken when the context is created: training the adapter later
 * does not change this context. The context keeps its model and adapter alive, so they may be
 * closed first. Calls on one context are serialised (one generation at a time); use one context
 * per thread for parallel work, any number of them on one model. Close it when done (the cache can
 * be large); calls after close() throw IllegalStateException.
 */
public final class Context implements AutoCloseable {
  /** First guess for one event's text in bytes; a longer one costs a second call. */
  private static final int TEXT_BYTES_GUESS = 64;

  private final NativeHandle<sp_context> handle;
  private final Model model;
  private final Adapter adapter;
  private final long vocabSize;
  private final Tokenizer tokenizer; // null: the model folder has none (tokenizerFailure says why)
  private final SoftPromptException tokenizerFailure;

  // Guarded by lock: which generation the native context runs now (iterators hold its number, so
  // that one ended by a later call cannot read the next one's events), whether it still runs, and
  // the buffers of the latest event.
  private final Object lock = new Object();
  private long generation;
  private boolean generating;
  private final int[] eventFields = new int[3];
  private byte[] textBuffer = new byte[TEXT_BYTES_GUESS];

  private Context(sp_context pointer, Model model, Adapter adapter) {
    this.handle = NativeHandle.register(this, "Context", pointer, SoftPromptNative::sp_context_free);
    this.model = model;
    this.adapter = adapter;
    this.vocabSize = model.vocabSize();
    Tokenizer found = null;
    SoftPromptException failure = null;
    try {
      found = model.tokenizer();
    } catch (SoftPromptException e) {
      failure = e;
    }
    this.tokenizer = found;
    this.tokenizerFailure = failure;
  }

  /** A context on the base model alone, with the default options. */
  public static Context create(Model model) {
    return create(model, null, new ContextOptions());
  }

  /** A context with adapter's soft prompt (null: the base model alone), with the default options. */
  public static Context create(Model model, Adapter adapter) {
    return create(model, adapter, new ContextOptions());
  }

  /**
   * A context on model with adapter's soft prompt (null: the base model alone); the adapter must
   * belong to the model.
   *
   * @throws SoftPromptException INVALID_ARGUMENT (an adapter of another model, sizes out of range),
   *     OUT_OF_RANGE (maxLength beyond a model's learned positions), OUT_OF_MEMORY
   */
  public static Context create(Model model, Adapter adapter, ContextOptions options) {
    Checks.notNull(model, "model");
    sp_context_params params = Checks.notNull(options, "options").toNative();
    try {
      sp_model nativeModel = model.acquire();
      try {
        sp_adapter nativeAdapter = adapter == null ? null : adapter.acquire();
        try {
          sp_context pointer = SoftPromptNative.spb_context_create(nativeModel, nativeAdapter, params);
          if (pointer == null) {
            throw Errors.last();
          }
          return new Context(pointer, model, adapter);
        } finally {
          if (adapter != null) {
            adapter.release();
          }
        }
      } finally {
        model.release();
      }
    } finally {
      params.delete();
    }
  }

  /** The model this context runs. */
  public Model model() {
    return model;
  }

  /** The adapter whose soft prompt this context took when it was created, or null. */
  public Adapter adapter() {
    return adapter;
  }

  // ---- Generation ------------------------------------------------------------------------------

  /** Generates after each prompt and returns every row's tokens. */
  public Generation generate(int[][] prompts, GenerateOptions options) {
    return generate(prompts, null, options, null);
  }

  /** As {@link #generate(int[][], int[], GenerateOptions, TokenCallback)} without task ids. */
  public Generation generate(int[][] prompts, GenerateOptions options, TokenCallback callback) {
    return generate(prompts, null, options, callback);
  }

  /** As {@link #generate(int[][], int[], Adapter[], GenerateOptions, TokenCallback)} with the context's adapter. */
  public Generation generate(int[][] prompts, int[] taskIds, GenerateOptions options, TokenCallback callback) {
    return generate(prompts, taskIds, null, options, callback);
  }

  /**
   * Generates after each prompt, passing each token to callback (may be null) as it comes; a
   * callback returning false stops every row (the rows still running end with {@link
   * StopReason#CALLBACK}). A callback that throws stops the generation too, and its exception
   * propagates.
   *
   * @param taskIds one task per prompt for multitask prompt tuning adapters, else null
   * @param adapters one adapter per prompt, replacing the context's adapter for that row (a null entry:
   *     the base model), any mix of methods and virtual-token counts in one batch; null = the context's
   *     adapter for every row. Each row gets the tokens it would get alone on a context of its adapter.
   *     A closed adapter throws IllegalStateException.
   * @throws SoftPromptException INVALID_ARGUMENT (an empty prompt, options out of range, stop
   *     strings without a tokenizer, an adapter of another model), SHAPE_MISMATCH (taskIds or adapters
   *     not one per prompt), OUT_OF_RANGE (ids outside the vocabulary, more prompts than maxBatchSize, a
   *     prompt plus maxNewTokens longer than maxLength), UNSUPPORTED
   */
  public Generation generate(int[][] prompts, int[] taskIds, Adapter[] adapters, GenerateOptions options,
      TokenCallback callback) {
    TokenIterator events = iterator(prompts, taskIds, adapters, options);
    try {
      while (events.hasNext()) {
        TokenEvent event = events.next();
        if (callback != null && !callback.onToken(event)) {
          events.close(); // before generation(): the rows still running end with CALLBACK
          break;
        }
      }
      return events.generation();
    } finally {
      events.close(); // a callback that threw: stop the generation
    }
  }

  /** Generates after each text prompt (encoded by the model's tokenizer, special tokens added). */
  public Generation generate(String[] prompts, GenerateOptions options) {
    return generate(encode(prompts, true), null, options, null);
  }

  /** As above, streaming each token to callback. */
  public Generation generate(String[] prompts, GenerateOptions options, TokenCallback callback) {
    return generate(encode(prompts, true), null, options, callback);
  }

  /** The token events of a generation, pulled one at a time; see {@link TokenIterator}. */
  public TokenIterator iterator(int[][] prompts, GenerateOptions options) {
    return iterator(prompts, null, options);
  }

  /**
   * Begins a generation (everything is checked and the prompts are run here, so errors are thrown
   * by this call) and returns its events, pulled one at a time; see {@link TokenIterator}.
   *
   * @throws SoftPromptException as {@link #generate(int[][], int[], GenerateOptions, TokenCallback)}
   */
  public TokenIterator iterator(int[][] prompts, int[] taskIds, GenerateOptions options) {
    return iterator(prompts, taskIds, null, options);
  }

  /**
   * As {@link #iterator(int[][], int[], GenerateOptions)}, each prompt with its own adapter (see
   * {@link #generate(int[][], int[], Adapter[], GenerateOptions, TokenCallback)}).
   */
  public TokenIterator iterator(int[][] prompts, int[] taskIds, Adapter[] adapters, GenerateOptions options) {
    Prompts batch = Prompts.of(prompts, taskIds, adapters);
    Checks.notNull(options, "options");
    int[] stopIds = options.stopIds();
    byte[] stopStrings = options.stopStringBytes();
    sp_generate_params params = options.toNative();
    try {
      synchronized (lock) {
        try (AdapterHandles adapterHandles = AdapterHandles.acquire(batch.adapters)) {
          sp_context context = handle.acquire();
          try {
            ++generation; // whatever ran before is over, even if this one fails to begin
            generating = false;
            Errors.check(SoftPromptNative.spb_context_generate_begin(context, batch.ids, batch.lengths, batch.taskIds,
                adapterHandles.pointers(), params, stopIds, stopStrings));
            generating = true;
            return new TokenIterator(this, generation, batch.count());
          } finally {
            handle.release();
          }
        }
      }
    } finally {
      params.delete();
    }
  }

  /** The events of one text prompt's generation (encoded by the model's tokenizer, special tokens added). */
  public TokenIterator iterator(String prompt, GenerateOptions options) {
    return iterator(encode(new String[] {Checks.notNull(prompt, "prompt")}, true), null, options);
  }

  /**
   * The token events of a generation as a sequential Stream. Closing the stream (try-with-resources)
   * ends the generation if it still runs; a short-circuiting operation (limit, findFirst) alone
   * does not, but nothing more is computed after it. Errors are thrown by this call, as by {@link
   * #iterator(int[][], int[], GenerateOptions)}.
   */
  public Stream<TokenEvent> stream(int[][] prompts, int[] taskIds, GenerateOptions options) {
    return stream(prompts, taskIds, null, options);
  }

  /**
   * As {@link #stream(int[][], int[], GenerateOptions)}, each prompt with its own adapter (see
   * {@link #generate(int[][], int[], Adapter[], GenerateOptions, TokenCallback)}).
   */
  public Stream<TokenEvent> stream(int[][] prompts, int[] taskIds, Adapter[] adapters, GenerateOptions options) {
    TokenIterator events = iterator(prompts, taskIds, adapters, options);
    return StreamSupport.stream(
        Spliterators.spliteratorUnknownSize(events, Spliterator.ORDERED | Spliterator.NONNULL), false)
        .onClose(events::close);
  }

  public Stream<TokenEvent> stream(int[][] prompts, GenerateOptions options) {
    return stream(prompts, null, options);
  }

  /** The events of one text prompt's generation as a Stream (see above). */
  public Stream<TokenEvent> stream(String prompt, GenerateOptions options) {
    return stream(encode(new String[] {Checks.notNull(prompt, "prompt")}, true), null, options);
  }

  /** The next event of generation number, or null when every row has stopped (for TokenIterator). */
  TokenEvent nextEvent(long number) {
    synchronized (lock) {
      sp_context context = handle.acquire();
      try {
        if (number != generation) {
          throw new ConcurrentModificationException("softprompt: a later call on this Context (generate, "
              + "iterator, stream, prefill, decode, reset) ended this generation");
        }
        if (!generating) {
          return null;
        }
        int has = SoftPromptNative.spb_context_generate_next(context, eventFields);
        if (has < 0) {
          throw Errors.last();
        }
        if (has == 0) {
          generating = false;
          return null;
        }
        // Without a tokenizer every event's text is empty (the C API's rule): no second call.
        String text = tokenizer == null ? "" : eventText(context);
        return new TokenEvent(eventFields[0], eventFields[1], text, StopReason.ofCode(eventFields[2]));
      } finally {
        handle.release();
      }
    }
  }

  /** The latest event's text (its bytes are whole UTF-8 characters, the library's promise). */
  private String eventText(sp_context context) {
    long size;
    while ((size = SoftPromptNative.spb_context_event_text(context, textBuffer)) >= textBuffer.length) {
      textBuffer = new byte[Checks.arrayLength(size + 1, "a token's text", "bytes")];
    }
    if (size < 0) {
      throw Errors.last();
    }
    return Utf8.decode(textBuffer, (int) size);
  }

  /** Stops generation number if it still runs (for TokenIterator.close); never throws. */
  void stopGeneration(long number) {
    synchronized (lock) {
      if (number != generation || !generating) {
        return;
      }
      generating = false;
      sp_context context;
      try {
        context = handle.acquire();
      } catch (IllegalStateException closed) {
        return; // the native context is gone, and its generation with it
      }
      try {
        SoftPromptNative.spb_context_generate_stop(context); // fails only for an invalid handle
      } finally {
        handle.release();
      }
    }
  }

  // ---- Scoring ---------------------------------------------------------------------------------

  /** As {@link #score(int[][], int[], int[][])} without task ids. */
  public float[] score(int[][] prompts, int[][] continuations) {
    return score(prompts, null, continuations);
  }

  /**
   * The log-likelihood of each continuation after its prompt, in nats: the sum over the
   * continuation's tokens of log p(token | prompt, earlier tokens, soft prompt). Each pair is
   * computed as if alone. Leaves a generation in progress and the cache as they were.
   *
   * @param taskIds the prompts' tasks (multitask prompt tuning), else null
   * @throws SoftPromptException as generate (each prompt plus its continuation must fit maxLength),
   *     SHAPE_MISMATCH (not one continuation per prompt), UNSUPPORTED (an encoder-decoder model)
   */
  public float[] score(int[][] prompts, int[] taskIds, int[][] continuations) {
    return score(prompts, taskIds, null, continuations);
  }

  /**
   * As {@link #score(int[][], int[], int[][])}, each prompt with its own adapter (a null entry: the
   * base model; null: the context's adapter for every row), as that prompt alone would score on a
   * context of its adapter.
   */
  public float[] score(int[][] prompts, int[] taskIds, Adapter[] adapters, int[][] continuations) {
    Prompts batch = Prompts.of(prompts, taskIds, adapters);
    Prompts after = Prompts.of(continuations, null);
    float[] out = new float[batch.count()];
    synchronized (lock) {
      try (AdapterHandles adapterHandles = AdapterHandles.acquire(batch.adapters)) {
        sp_context context = handle.acquire();
        try {
          Errors.check(SoftPromptNative.spb_context_score(context, batch.ids, batch.lengths, batch.taskIds,
              adapterHandles.pointers(), after.ids, after.lengths, out));
        } finally {
          handle.release();
        }
      }
    }
    return out;
  }

  /**
   * Scores text: prompts are encoded with the special tokens (as tokenizers does by default),
   * continuations without them (they follow the prompt). Encoding the two apart may split a word
   * differently than encoding their concatenation; start continuations with a space where the
   * vocabulary expects one.
   */
  public float[] score(String[] prompts, String[] continuations) {
    return score(encode(prompts, true), null, encode(continuations, false));
  }

  // ---- Low level -------------------------------------------------------------------------------

  /** As {@link #prefill(int[][], int[])} without task ids. */
  public float[] prefill(int[][] prompts) {
    return prefill(prompts, null);
  }

  /**
   * Runs the prompts into the cache (replacing its contents, and ending any generation) and returns
   * each row's next-token logits: prompts.length * vocabSize floats, row-major. For custom decoding
   * with {@link #decode(int[])}.
   */
  public float[] prefill(int[][] prompts, int[] taskIds) {
    return prefill(prompts, taskIds, null);
  }

  /**
   * As {@link #prefill(int[][], int[])}, each prompt with its own adapter (a null entry: the base
   * model; null: the context's adapter for every row): each row's logits are those of the prompt alone
   * on a context of its adapter.
   */
  public float[] prefill(int[][] prompts, int[] taskIds, Adapter[] adapters) {
    Prompts batch = Prompts.of(prompts, taskIds, adapters);
    float[] logits = new float[Checks.arrayLength(batch.count() * vocabSize, "the logits")];
    synchronized (lock) {
      try (AdapterHandles adapterHandles = AdapterHandles.acquire(batch.adapters)) {
        sp_context context = handle.acquire();
        try {
          ++generation;
          generating = false;
          Errors.check(SoftPromptNative.spb_context_prefill(context, batch.ids, batch.lengths, batch.taskIds,
              adapterHandles.pointers(), logits));
        } finally {
          handle.release();
        }
      }
    }
    return logits;
  }

  /**
   * Appends one token per row of the latest prefill and returns the next-token logits,
   * ids.length * vocabSize floats.
   *
   * @throws SoftPromptException INVALID_ARGUMENT (no prefill since creation or reset, a count other
   *     than its rows), OUT_OF_RANGE (ids, or a row that would pass maxLength)
   */
  public float[] decode(int[] ids) {
    Checks.notNull(ids, "ids");
    float[] logits = new float[Checks.arrayLength(ids.length * vocabSize, "the logits")];
    synchronized (lock) {
      sp_context context = handle.acquire();
      try {
        ++generation;
        generating = false;
        Errors.check(SoftPromptNative.spb_context_decode(context, ids, logits));
      } finally {
        handle.release();
      }
    }
    return logits;
  }

  /** Forgets the cache's contents and ends any generation (the cache stays allocated). */
  public void reset() {
    synchronized (lock) {
      sp_context context = handle.acquire();
      try {
        ++generation;
        generating = false;
        Errors.check(SoftPromptNative.sp_context_reset(context));
      } finally {
        handle.release();
      }
    }
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  /** Releases the native context and its cache (after any call running on another thread). Idempotent. */
  @Override
  public void close() {
    handle.close();
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  /** texts encoded by the model's tokenizer, or its absence thrown as the error it gave. */
  private int[][] encode(String[] texts, boolean addSpecialTokens) {
    handle.acquire(); // a closed context fails as every other call does
    handle.release();
    if (tokenizer == null) {
      throw new SoftPromptException(tokenizerFailure.status(), tokenizerFailure.nativeMessage());
    }
    return Prompts.encode(tokenizer, texts, addSpecialTokens);
  }
}
