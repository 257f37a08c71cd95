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
 * <p>Where allocated storage comes from is pluggable: an {@link Allocator} hands out zeroed
 * blocks and takes them back. The default, {@link #HOST}, is calloc/free. A GPU backend installs
 * its own with {@link #useAllocator} (janus-kernels' CUDA backend: a caching allocator over
 * managed memory, so that every tensor is addressable by kernels and readable by Java), and every
 * tensor the model, the parameter sets and the optimizers allocate from then on lives there.
 * Each storage remembers the allocator that made it and returns its block to that one, so
 * switching allocators never frees a block with the wrong function.
 *
 * <p>Lifetime: allocated storage is freed by {@link #close()}, or by a {@link Cleaner} when the
 * storage becomes unreachable without being closed, so a forgotten close leaks nothing. Borrowed
 * storage keeps its buffer reachable; a mapped region is unmapped by the JDK once the buffer is
 * collected. After close, every accessor throws {@link IllegalStateException}; buffers handed out
 * before close must not be used after it (they would read freed memory).
 */
public final class Storage implements AutoCloseable {
    /**
     * A source of off-heap blocks. Implementations must be thread-safe: {@link #free} may run on
     * the cleaner thread while another thread allocates.
     */
    public interface Allocator {
        /**
         * A block of at least {@code byteSize} (&gt;= 1) bytes, every one 0, addressable from Java
         * (a host virtual address). Throws {@link OutOfMemoryError} when none can be had.
         */
        Pointer allocate(long byteSize);

        /** Returns a block from {@link #allocate} of that size; called exactly once per block. */
        void free(Pointer memory, long byteSize);

        /** A short name for logs ("host", "cuda-managed"). */
        String name();
    }

    /** The default allocator: {@code calloc} and {@code free}. */
    public static final Allocator HOST = new Allocator() {
        @Override
        public Pointer allocate(long byteSize) {
            Pointer memory = Pointer.calloc(byteSize, 1);
            if (memory == null || memory.isNull()) {
                throw new OutOfMemoryError("cannot allocate " + byteSize + " bytes of off-heap memory");
            }
            return memory;
        }

        @Override
        public void free(Pointer memory, long byteSize) {
            Pointer.free(memory);
        }

        @Override
        public String name() {
            return "host";
        }
    };

    private static final Cleaner CLEANER = Cleaner.create();
    private static volatile Allocator allocator = HOST;
    /** Bytes of allocated (not borrowed) storage alive now, and the most alive at once since the last reset. */
    private static final java.util.concurrent.atomic.AtomicLong LIVE = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong PEAK = new java.util.concurrent.atomic.AtomicLong();

    private final Pointer base;
    private final long byteSize;
    private final ByteBuffer borrowed;
    private final Cleaner.Cleanable freeOnce;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Storage(Pointer base, long byteSize, ByteBuffer borrowed, Allocator owner) {
        this.base = base;
        this.byteSize = byteSize;
        this.borrowed = borrowed;
        if (owner != null) {
            PEAK.accumulateAndGet(LIVE.addAndGet(byteSize), Math::max);
            this.freeOnce = CLEANER.register(this, freer(owner, base, Math.max(1, byteSize), byteSize));
        } else {
            this.freeOnce = null;
        }
    }

    /** The cleanup action: built in a static context so that it cannot reach the storage object. */
    private static Runnable freer(Allocator owner, Pointer memory, long blockSize, long byteSize) {
        Pointer copy = new Pointer(memory);
        return () -> {
            owner.free(copy, blockSize);
            LIVE.addAndGet(-byteSize);
        };
    }

    /**
     * Makes {@code next} the allocator of every later {@link #allocate} and returns the one it
     * replaces (restore it when done). Storage allocated before keeps its own allocator.
     */
    public static Allocator useAllocator(Allocator next) {
        if (next == null) {
            throw new IllegalArgumentException("allocator must not be null (Storage.HOST is the default)");
        }
        synchronized (Storage.class) {
            Allocator previous = allocator;
            allocator = next;
            return previous;
        }
    }

    /** The allocator {@link #allocate} uses now. */
    public static Allocator allocator() {
        return allocator;
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

    /** Allocates {@code byteSize} zeroed bytes from the current {@link #allocator()}. */
    public static Storage allocate(long byteSize) {
        if (byteSize < 0) {
            throw new IllegalArgumentException("storage size must be >= 0, got " + byteSize);
        }
        Allocator from = allocator;
        Pointer memory = from.allocate(Math.max(1, byteSize));
        if (memory == null || memory.isNull()) {
            throw new OutOfMemoryError(from.name() + " allocator returned no memory for " + byteSize + " bytes");
        }
        return new Storage(memory, byteSize, null, from);
    }

    /** Borrows a direct buffer (for example a mapped file region); the buffer stays reachable. */
    public static Storage wrap(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("storage can only wrap a direct ByteBuffer");
        }
        ByteBuffer whole = direct.duplicate().clear();
        return new Storage(new BytePointer(whole), whole.capacity(), whole, null);
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

    /** True for borrowed storage ({@link #wrap}): its memory did not come from an allocator. */
    public boolean isBorrowed() {
        return borrowed != null;
    }

    /** Frees allocated memory now; a no-op for borrowed buffers. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true) && freeOnce != null) {
            freeOnce.clean();
        }
    }
}
