package dev.softprompt;

import dev.softprompt.internal.sp_adapter;

/**
 * The native handles of an array of adapters (a batch's row adapters, prompts' adapters), each held
 * ({@link NativeHandle#acquire}) for one call, as a call holds its own object: try-with-resources
 * releases them. A null entry stays null (NULL: no soft prompt, or the base model, for that row); a
 * null array stays null (not given).
 */
final class AdapterHandles implements AutoCloseable {
  private static final AdapterHandles NONE = new AdapterHandles(null);

  private final Adapter[] held; // the adapters acquired, by position (null where none was)
  private final sp_adapter[] pointers;

  private AdapterHandles(Adapter[] adapters) {
    held = adapters == null ? null : new Adapter[adapters.length];
    pointers = adapters == null ? null : new sp_adapter[adapters.length];
  }

  /**
   * Acquires every adapter of adapters (null: none).
   *
   * @throws IllegalStateException for a closed adapter (after releasing the ones before it)
   */
  static AdapterHandles acquire(Adapter[] adapters) {
    if (adapters == null) {
      return NONE;
    }
    AdapterHandles handles = new AdapterHandles(adapters);
    try {
      for (int i = 0; i < adapters.length; ++i) {
        if (adapters[i] != null) {
          handles.pointers[i] = adapters[i].acquire();
          handles.held[i] = adapters[i];
        }
      }
    } catch (RuntimeException e) {
      handles.close();
      throw e;
    }
    return handles;
  }

  /** The handles, one per adapter (null entries: NULL), or null when no array was given. */
  sp_adapter[] pointers() {
    return pointers;
  }

  @Override
  public void close() {
    if (held == null) {
      return;
    }
    for (int i = 0; i < held.length; ++i) {
      if (held[i] != null) {
        held[i].release();
        held[i] = null;
      }
    }
  }
}
