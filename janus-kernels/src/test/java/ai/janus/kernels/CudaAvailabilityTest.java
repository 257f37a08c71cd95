package ai.janus.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.tensor.Storage;
import ai.janus.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Without a GPU the backend says why in one line and nothing else changes; and the Java side's
 * copy of the kernel ABI (names, constants) agrees with native/ — both checkable with no GPU.
 */
class CudaAvailabilityTest {
    @Test
    void withoutCudaTheReasonIsOneLineAndOpenFailsWithIt() {
        Optional<String> why = CudaBackend.unavailableReason();
        assumeTrue(why.isPresent(), "CUDA is available here");
        System.out.println("CUDA backend unavailable: " + why.get());
        assertFalse(why.get().isBlank());
        assertFalse(why.get().contains("\n"), "one line");
        IllegalStateException e = assertThrows(IllegalStateException.class, CudaBackend::open);
        assertTrue(e.getMessage().contains(why.get()), e.getMessage());
        // nothing was installed: the CPU path works as before
        assertSame(Storage.HOST, Storage.allocator());
        try (CpuBackend cpu = new CpuBackend(1); Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
             Tensor w = Tensor.of(new float[] {1, 0, 0, 1}, 2, 2); Tensor out = Tensor.allocate(ai.janus.tensor.DType.F32, 2, 2)) {
            cpu.matmul(out, x, w, false);
            assertEquals(4f, out.floats().get(3));
        }
    }

    @Test
    void noDriverOnThisMachineClassIsNamed() {
        boolean driverPresent = Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libcuda.so.1"))
                || System.getenv("JANUS_EXPECT_GPU") != null;
        assumeTrue(!driverPresent, "a CUDA driver is installed here");
        assertTrue(CudaBackend.unavailableReason().orElseThrow().contains("libcuda.so.1"),
                CudaBackend.unavailableReason().orElseThrow());
    }

    @Test
    void sizeClassesCoverTheRequestAndStayFew() {
        assertEquals(512, ManagedMemory.sizeClass(1));
        assertEquals(512, ManagedMemory.sizeClass(512));
        assertEquals(1024, ManagedMemory.sizeClass(513));
        assertEquals(1L << 20, ManagedMemory.sizeClass((1L << 20) - 5));
        assertEquals(2L << 20, ManagedMemory.sizeClass((1L << 20) + 1));
        assertEquals(6L << 20, ManagedMemory.sizeClass((4L << 20) + 1));
        for (long b = 1; b < (64L << 20); b = b * 3 + 7) {
            long c = ManagedMemory.sizeClass(b);
            assertTrue(c >= b && (c <= 2 * b + 512 || c - b < ManagedMemory.LARGE_GRANULE), b + " -> " + c);
        }
    }

    /** native/ as seen from janus-kernels (the tests run in the module directory). */
    private static Path nativeDir() {
        return Path.of("..", "native");
    }

    @Test
    void constantsMirrorJanusCommon() throws Exception {
        Path common = nativeDir().resolve("janus_common.cuh");
        assumeTrue(Files.exists(common), "native/janus_common.cuh not present");
        String text = Files.readString(common);
        assertEquals(CudaKernels.THREADS, define(text, "JANUS_THREADS"));
        assertEquals(CudaKernels.FA_BLOCK_M, define(text, "FA_BLOCK_M"));
        assertEquals(CudaKernels.FA_BLOCK_N, define(text, "FA_BLOCK_N"));
        assertEquals(CudaKernels.FA_THREADS, define(text, "FA_THREADS"));
        assertEquals(CudaKernels.FA_MAX_D, define(text, "FA_MAX_D"));
        assertEquals(CudaKernels.ADAMW8_BLOCK, define(text, "ADAMW8_BLOCK"));
        // the shared-memory sizes are macros: KERNELS.md's constants table states their values
        String abi = Files.readString(nativeDir().resolve("KERNELS.md"));
        assertEquals(CudaKernels.FA_FWD_SMEM_BYTES, tableValue(abi, "FA_FWD_SMEM_BYTES"));
        assertEquals(CudaKernels.FA_DKDV_SMEM_BYTES, tableValue(abi, "FA_DKDV_SMEM_BYTES"));
        assertEquals(CudaKernels.FA_DQ_SMEM_BYTES, tableValue(abi, "FA_DQ_SMEM_BYTES"));
        int stride = define(text, "FA_MAX_D") + 8, tile = stride * 2;
        assertEquals(3 * 64 * tile, CudaKernels.FA_FWD_SMEM_BYTES, "3 tiles of FA_BLOCK_M rows");
        assertEquals(2 * 64 * tile + 2 * 64 * tile, CudaKernels.FA_DQ_SMEM_BYTES);
        assertEquals(2 * 64 * tile + 2 * define(text, "FA_DKDV_BLOCK_M") * tile + 2 * define(text, "FA_DKDV_BLOCK_M") * 4,
                CudaKernels.FA_DKDV_SMEM_BYTES);
    }

    @Test
    void everyBoundKernelIsDefinedInNative() throws Exception {
        assumeTrue(Files.isDirectory(nativeDir()), "native/ not present");
        StringBuilder all = new StringBuilder();
        try (var files = Files.list(nativeDir())) {
            for (Path p : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".cu"))::iterator) {
                all.append(Files.readString(p)).append('\n');
            }
        }
        String src = all.toString().replaceAll("\\s+", " ");
        for (CudaKernels.Kernel k : CudaKernels.Kernel.values()) {
            assertTrue(Pattern.compile("extern \"C\" __global__ (void )?(__launch_bounds__\\([^)]*\\) )?(void )?"
                    + k.symbol + "\\(").matcher(src).find(), k.symbol + " is not an extern \"C\" __global__ in native/*.cu");
        }
    }

    private static int define(String text, String name) {
        Matcher m = Pattern.compile("#define " + name + " +\\(?(-?\\d+)\\)?").matcher(text);
        assertTrue(m.find(), name + " not #defined");
        return Integer.parseInt(m.group(1));
    }

    private static int tableValue(String text, String name) {
        Matcher m = Pattern.compile("\\| `" + name + "` \\| (\\d+) \\|").matcher(text);
        assertTrue(m.find(), name + " not in KERNELS.md's constants table");
        return Integer.parseInt(m.group(1));
    }
}
