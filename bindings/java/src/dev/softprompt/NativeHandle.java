package dev.softprompt;

import java.lang.ref.Cleaner;
import java.util.function.Consumer;

/**
 * One native object (a generated sp_model / sp_adapter / sp_trainer proxy) and who is using it.
 *
 * <p>Every call on the object runs between {@link #acquire()} and {@link #release()}. Closing
 * marks the handle closed at once (later acquires throw IllegalStateException), but the native
 * free waits until calls already running on other threads have returned, so a close racing with
 * a call never frees memory under it. Closing twice does nothing.
 *
 * <p>The owning Java object registers the handle with a {@link Cleaner}: an object that was never
 * closed is freed after it becomes unreachable (a safety net; call close()). The handle must not
 * refer back to its owner, or the owner would never become unreachable.
 */
final class NativeHandle<P> implements Runnable {
  private static final Cleaner CLEANER = Cleaner.create();

  private final String kind;
  private final Consumer<P> free;
  private P pointer;
  private int calls;
  private boolean closed;
  private Cleaner.Cleanable cleanable;

  private NativeHandle(String kind, P pointer, Consumer<P> free) {
    this.kind = kind;
    this.pointer = pointer;
    this.free = free;
  }

  /** A handle for pointer, freed by free when owner is closed or unreachable. */
  static <P> NativeHandle<P> register(Object owner, String kind, P pointer, Consumer<P> free) {
    NativeHandle<P> handle = new NativeHandle<>(kind, pointer, free);
    handle.cleanable = CLEANER.register(owner, handle);
    return handle;
  }

  /** The pointer, for one call; pair with release() in a finally block. */
  synchronized P acquire() {
    if (closed) {
      throw new IllegalStateException("softprompt: this " + kind + " is closed");
    }
    ++calls;
    return pointer;
  }

  void release() {
    P toFree;
    synchronized (this) {
      if (--calls > 0 || !closed) {
        return;
      }
      toFree = pointer;
      pointer = null;
    }
    free.accept(toFree);
  }

  /** Closes through the Cleaner, so that the Cleaner does not run it a second time. */
  void close() {
    cleanable.clean();
  }

  synchronized boolean isClosed() {
    return closed;
  }

  /** The close action (run once, by close() or by the Cleaner). */
  @Override
  public void run() {
    P toFree;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (calls > 0) {
        return; // the last release() frees it
      }
      toFree = pointer;
      pointer = null;
    }
    free.accept(toFree);
  }
}
