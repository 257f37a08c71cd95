package ai.janus.kernels;

import static ai.janus.kernels.Cuda.check;
import static org.bytedeco.cuda.global.cudart.CUDA_ERROR_OUT_OF_MEMORY;
import static org.bytedeco.cuda.global.cudart.CUDA_SUCCESS;
import static org.bytedeco.cuda.global.cudart.CU_MEM_ATTACH_GLOBAL;
import static org.bytedeco.cuda.global.cudart.CU_MEM_LOCATION_TYPE_DEVICE;
import static org.bytedeco.cuda.global.cudart.cuMemAllocManaged;
import static org.bytedeco.cuda.global.cudart.cuMemFree;
import static org.bytedeco.cuda.global.cudart.cuMemPrefetchAsync;
import static org.bytedeco.cuda.global.cudart.cuMemsetD8Async;

import ai.janus.tensor.Storage;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.cuda.cudart.CUmemLocation_v1;
import org.bytedeco.javacpp.Pointer;

/**
 * A caching allocator over CUDA managed memory ({@code cuMemAllocManaged}, attached globally):
 * every block is addressable by kernels and by Java at the same virtual address, so the tensors
 * that Mistral, the parameter sets and the optimizers allocate through {@link Storage} need no
 * copies in either direction.
 *
 * <p>Blocks come in size classes — powers of two from 512 bytes up to 1 MiB, multiples of 2 MiB
 * above — and a freed block goes to its class's free list instead of back to the driver
 * ({@code cuMemFree} synchronises the whole device). A request is served from its class's list
 * first; when the driver is out of memory, every cached block is released and the request tried
 * once more. New and reused blocks are prefetched to the device (when the device supports
 * concurrent managed access) and zeroed there with {@code cuMemsetD8Async}, then the stream is
 * synchronised: the block is zero, on the GPU, and safe for Java to touch.
 *
 * <p>Cost: a page that Java reads or writes migrates to the host on the first touch and back to
 * the GPU on the next kernel that touches it (page faults, 4 KiB–2 MiB at a time). The model's
 * host-side writes are small (token ids, positions, RoPE tables, cu_seqlens) and its reads are
 * the per-step scalars, so almost every byte stays on the GPU; a Java loop over a whole weight
 * tensor (a checkpoint save) migrates it and is slow the first time the GPU touches it again.
 *
 * <p>Thread-safe: {@link #free} runs on the cleaner thread. One per device, living as long as the
 * process (see {@link CudaDevice}).
 */
final class ManagedMemory implements Storage.Allocator {
    /** Smallest block: the alignment cuBLASLt and the vectorised kernels like. */
    static final long MIN_BLOCK = 512;
    /** Up to here sizes round to a power of two; above, to a multiple of {@link #LARGE_GRANULE}. */
    static final long SMALL_LIMIT = 1L << 20;
    static final long LARGE_GRANULE = 2L << 20;

    private final CudaDevice device;
    private final TreeMap<Long, ArrayDeque<Long>> cache = new TreeMap<>();
    /** Block address → its class size, for every block handed out and not yet freed. */
    private final Map<Long, Long> live = new HashMap<>();
    /** Block addresses in order, for {@link #owns}. */
    private final TreeMap<Long, Long> liveByAddress = new TreeMap<>();
    private long reservedBytes;
    private long cachedBytes;

    ManagedMemory(CudaDevice device) {
        this.device = device;
    }

    /** The size class of a request of {@code bytes}. */
    static long sizeClass(long bytes) {
        if (bytes <= MIN_BLOCK) {
            return MIN_BLOCK;
        }
        if (bytes <= SMALL_LIMIT) {
            return Long.highestOneBit(bytes - 1) << 1;
        }
        return Math.addExact(bytes, LARGE_GRANULE - 1) / LARGE_GRANULE * LARGE_GRANULE;
    }

    @Override
    public Pointer allocate(long byteSize) {
        long address = acquire(byteSize, true);
        return Cuda.at(address, byteSize);
    }

    @Override
    public void free(Pointer memory, long byteSize) {
        release(memory.address());
    }

    @Override
    public String name() {
        return "cuda-managed(" + device.ordinal() + ")";
    }

    /**
     * A block of at least {@code bytes}, prefetched to the device; zeroed (and the stream
     * synchronised) when {@code zero}, else with stale contents (scratch the next kernel
     * overwrites). Returns its address.
     */
    synchronized long acquire(long bytes, boolean zero) {
        long size = sizeClass(bytes);
        Long address = take(size);
        device.enter();
        if (address == null) {
            address = allocateNew(size);
        }
        live.put(address, size);
        liveByAddress.put(address, size);
        if (device.concurrentManagedAccess()) {
            try (CUmemLocation_v1 where = new CUmemLocation_v1()) {
                where.type(CU_MEM_LOCATION_TYPE_DEVICE).id(device.ordinal());
                check(cuMemPrefetchAsync(address, size, where, 0, device.stream()), "cuMemPrefetchAsync");
            }
        }
        if (zero) {
            check(cuMemsetD8Async(address, (byte) 0, bytes, device.stream()), "cuMemsetD8Async");
            device.sync();
        }
        return address;
    }

    /** Returns a block from {@link #acquire} to its size class's free list. */
    synchronized void release(long address) {
        Long size = live.remove(address);
        if (size == null) {
            throw new IllegalStateException("address 0x" + Long.toHexString(address) + " is not a live block of "
                    + name());
        }
        liveByAddress.remove(address);
        cache.computeIfAbsent(size, s -> new ArrayDeque<>()).push(address);
        cachedBytes += size;
    }

    /** True when {@code [address, address + bytes)} lies inside one live block of this allocator. */
    synchronized boolean owns(long address, long bytes) {
        Map.Entry<Long, Long> e = liveByAddress.floorEntry(address);
        return e != null && address + bytes <= e.getKey() + e.getValue();
    }

    /** Gives every cached (free) block back to the driver. */
    synchronized void trim() {
        device.enter();
        for (ArrayDeque<Long> blocks : cache.values()) {
            for (long address : blocks) {
                check(cuMemFree(address), "cuMemFree");
            }
        }
        reservedBytes -= cachedBytes;
        cachedBytes = 0;
        cache.clear();
    }

    /** Bytes obtained from the driver and not given back (live plus cached). */
    synchronized long reservedBytes() {
        return reservedBytes;
    }

    /** Bytes in free lists, ready for reuse. */
    synchronized long cachedBytes() {
        return cachedBytes;
    }

    private Long take(long size) {
        ArrayDeque<Long> blocks = cache.get(size);
        if (blocks == null || blocks.isEmpty()) {
            return null;
        }
        cachedBytes -= size;
        return blocks.pop();
    }

    private long allocateNew(long size) {
        long[] out = new long[1];
        int status = cuMemAllocManaged(out, size, CU_MEM_ATTACH_GLOBAL);
        if (status == CUDA_ERROR_OUT_OF_MEMORY && cachedBytes > 0) {
            trim();
            status = cuMemAllocManaged(out, size, CU_MEM_ATTACH_GLOBAL);
        }
        if (status == CUDA_ERROR_OUT_OF_MEMORY) {
            throw new OutOfMemoryError("CUDA managed memory: cannot allocate " + size + " bytes ("
                    + reservedBytes + " bytes held by janus on " + device.name() + ")");
        }
        check(status, "cuMemAllocManaged(" + size + ")");
        reservedBytes += size;
        return out[0];
    }
}
