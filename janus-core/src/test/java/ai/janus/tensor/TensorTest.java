package ai.janus.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TensorTest {
    @Test
    void rowsAndReshapeAreViewsOfTheSameStorage() {
        try (Tensor t = Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 3, 2)) {
            Tensor middle = t.rows(1, 1);
            middle.floats().put(0, 42);
            assertArrayEquals(new float[] {0, 1, 42, 3, 4, 5}, t.toFloatArray());
            assertArrayEquals(new long[] {2, 3}, t.reshape(2, 3).shape());
            middle.close(); // a view's close frees nothing
            assertEquals(42f, t.floats().get(2));
        }
    }

    @Test
    void closedStorageIsAnErrorNotACrash() {
        Tensor t = Tensor.allocate(DType.F32, 4);
        Tensor view = t.rows(0, 2);
        t.close();
        assertThrows(IllegalStateException.class, t::floats);
        assertThrows(IllegalStateException.class, view::toFloatArray);
        t.close(); // idempotent
    }

    @Test
    void zeroSizedTensorsHaveEmptyViews() {
        try (Tensor t = Tensor.allocate(DType.F32, 4)) {
            assertEquals(0, t.rows(4, 0).bytes().remaining());
            assertEquals(0, Tensor.allocate(DType.BF16, 0, 3).bytes().remaining());
        }
    }

    @Test
    void badShapesAndRangesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(DType.F32, 2, -1));
        assertThrows(ArithmeticException.class, () -> Tensor.allocate(DType.F32, Long.MAX_VALUE, 2));
        try (Tensor t = Tensor.allocate(DType.I32, 3, 2)) {
            assertThrows(IndexOutOfBoundsException.class, () -> t.rows(2, 2));
            assertThrows(IllegalArgumentException.class, () -> t.reshape(5));
            assertThrows(IllegalStateException.class, t::floats, "I32 tensor has no float view");
        }
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[3], 2, 2));
    }
}
