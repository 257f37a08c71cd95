package ai.janus.tensor;

import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A block of off-heap host memory: either allocated here (calloc, zeroed) or borrowed from a
 * direct {@link ByteBuffer}, typically a memory-mapped region of a safetensors file.
 *
 * <p>Lifetime: allocated storage is freed by {@link #close()}, or by a {@link Cleaner} when the
 * storage becomes unreachable without being closed, so a forgotten close leaks nothing. Borrowed
 * storage keeps its buffer reachable; a mapped region is unmapped by the JDK once the buffer is
 * collected. After close, every accessor throws {@link IllegalStateException}; buffers handed out
 * before close must not be used after it (they would read freed memory).
 */
public final class Storage implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    /** Bytes of allocated (not borrowed) storage alive now, and the most alive at once since the last reset. */
    private static final java.util.concurrent.atomic.AtomicLong LIVE = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong PEAK = new java.util.concurrent.atomic.AtomicLong();

    private final Pointer base;
    private final long byteSize;
    private final ByteBuffer borrowed;
    private final Cleaner.Cleanable freeOnce;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Storage(Pointer base, long byteSize, ByteBuffer borrowed, boolean owned) {
        this.base = base;
        this.byteSize = byteSize;
        this.borrowed = borrowed;
        if (owned) {
            PEAK.accumulateAndGet(LIVE.addAndGet(byteSize), Math::max);
            this.freeOnce = CLEANER.register(this, freer(base, byteSize));
        } else {
            this.freeOnce = null;
        }
    }

    /** The cleanup action: built in a static context so that it cannot reach the storage object. */
    private static Runnable freer(Pointer memory, long byteSize) {
        Pointer copy = new Pointer(memory);
        return () -> {
            Pointer.free(copy);
            LIVE.addAndGet(-byteSize);
        };
    }

    /** Bytes of off-heap memory janus has allocated and not yet freed (mapped files not counted). */
    public static long liveBytes() {
        return LIVE.get();
    }

    /** The largest {@link #liveBytes()} since the last {@link #resetPeakBytes()}. */
    public static long peakBytes() {
        return PEAK.get();
    }

    /** Starts a new peak measurement at the current live bytes. */
    public static void resetPeakBytes() {
        PEAK.set(LIVE.get());
    }

    /** Allocates {@code byteSize} zeroed bytes. */
    public static Storage allocate(long byteSize) {
        if (byteSize < 0) {
            throw new IllegalArgumentException("storage size must be >= 0, got " + byteSize);
        }
        Pointer memory = Pointer.calloc(Math.max(1, byteSize), 1);
        if (memory == null || memory.isNull()) {
            throw new OutOfMemoryError("cannot allocate " + byteSize + " bytes of off-heap memory");
        }
        return new Storage(memory, byteSize, null, true);
    }

    /** Borrows a direct buffer (for example a mapped file region); the buffer stays reachable. */
    public static Storage wrap(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("storage can only wrap a direct ByteBuffer");
        }
        ByteBuffer whole = direct.duplicate().clear();
        return new Storage(new BytePointer(whole), whole.capacity(), whole, false);
    }

    public long byteSize() {
        return byteSize;
    }

    /** True once {@link #close()} ran. */
    public boolean isClosed() {
        return closed.get();
    }

    /** A little-endian view of {@code [offset, offset + length)}; at most 2^31 - 1 bytes. */
    public ByteBuffer bytes(long offset, long length) {
        checkRange(offset, length);
        if (length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a single tensor view is limited to " + Integer.MAX_VALUE
                    + " bytes on the Java side, asked for " + length);
        }
        if (length == 0) {
            return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN); // JavaCPP would hand out one byte
        }
        if (borrowed != null) {
            return borrowed.duplicate().position((int) offset).limit((int) (offset + length)).slice()
                    .order(ByteOrder.LITTLE_ENDIAN);
        }
        BytePointer at = base.getPointer(BytePointer.class, offset);
        at.capacity(length);
        return at.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A native pointer to byte {@code offset}, for memcpy and memset. */
    public BytePointer pointer(long offset) {
        checkRange(offset, 0);
        return base.getPointer(BytePointer.class, offset);
    }

    /** A native float pointer at {@code offset} for BLAS calls. */
    public FloatPointer floatPointer(long offset) {
        checkRange(offset, 0);
        return new FloatPointer(base.getPointer(BytePointer.class, offset));
    }

    /** The native address of byte {@code offset}. */
    public long address(long offset) {
        checkRange(offset, 0);
        return base.address() + offset;
    }

    private void checkRange(long offset, long length) {
        if (closed.get()) {
            throw new IllegalStateException("storage was closed");
        }
        if (offset < 0 || length < 0 || offset + length > byteSize) {
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length)
                    + ") outside storage of " + byteSize + " bytes");
        }
    }

    /** Frees allocated memory now; a no-op for borrowed buffers. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true) && freeOnce != null) {
            freeOnce.clean();
        }
    }
}
