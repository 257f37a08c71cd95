package ai.janus.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

class StorageAllocatorTest {
    /** Counts what passes through calloc/free. */
    static final class Counting implements Storage.Allocator {
        final AtomicLong allocated = new AtomicLong(), freed = new AtomicLong();

        @Override
        public Pointer allocate(long byteSize) {
            allocated.addAndGet(byteSize);
            return Storage.HOST.allocate(byteSize);
        }

        @Override
        public void free(Pointer memory, long byteSize) {
            freed.addAndGet(byteSize);
            Storage.HOST.free(memory, byteSize);
        }

        @Override
        public String name() {
            return "counting";
        }
    }

    @Test
    void tensorsComeFromTheInstalledAllocatorAndGoBackToTheOneThatMadeThem() {
        Counting counting = new Counting();
        Storage.Allocator previous = Storage.useAllocator(counting);
        Tensor t;
        try {
            assertSame(counting, Storage.allocator());
            t = Tensor.allocate(DType.F32, 3, 5);
            assertEquals(60, counting.allocated.get());
            assertEquals(0f, t.floats().get(14), "zeroed");
            try (Tensor empty = Tensor.allocate(DType.F32, 0)) {
                assertEquals(61, counting.allocated.get(), "a zero-size tensor still gets a 1-byte block");
            }
            assertEquals(1, counting.freed.get());
        } finally {
            assertSame(counting, Storage.useAllocator(previous));
        }
        // freed after the switch back: still through the allocator that made it
        long before = Storage.liveBytes();
        t.close();
        assertEquals(61, counting.freed.get());
        assertEquals(before - 60, Storage.liveBytes());
        try (Tensor host = Tensor.allocate(DType.F32, 4)) {
            assertEquals(61, counting.allocated.get(), "the previous allocator is back");
        }
    }

    @Test
    void nullAllocatorIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Storage.useAllocator(null));
    }
}
