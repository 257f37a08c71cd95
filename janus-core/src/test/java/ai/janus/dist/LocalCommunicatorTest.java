package ai.janus.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** World size 1 and the missing-libtorch error. */
class LocalCommunicatorTest {
    @Test
    void everyCollectiveIsTheIdentity() {
        try (Communicator c = Communicators.connect(Rendezvous.local(), Duration.ofSeconds(1));
             Tensor a = Tensor.of(new float[] {1, 2, 3}, 3); Tensor b = Tensor.allocate(DType.F32, 3)) {
            assertInstanceOf(LocalCommunicator.class, c);
            c.allReduce(a).await();
            assertArrayEquals(new float[] {1, 2, 3}, a.toFloatArray());
            c.reduceScatter(b, a).await();
            assertArrayEquals(new float[] {1, 2, 3}, b.toFloatArray());
            b.fill(0);
            c.allGather(b, a).await();
            assertArrayEquals(new float[] {1, 2, 3}, b.toFloatArray());
            c.allGather(a, a).await();
            c.broadcast(a, 0).await();
            c.barrier().await();
            assertArrayEquals(new double[] {4.5}, c.allGather(new double[] {4.5}));
            assertThrows(IllegalArgumentException.class, () -> c.broadcast(a, 1));
            assertThrows(IllegalArgumentException.class, () -> c.reduceScatter(b, Tensor.allocate(DType.F32, 4)));
        }
    }

    /** janus-core's classes alone, without libtorch on the class path: the one-line error names the artifact. */
    @Test
    void withoutLibtorchGlooIsAOneLineErrorNamingIt() throws Exception {
        URL classes = Path.of(Communicators.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toUri()
                .toURL();
        try (URLClassLoader alone = new URLClassLoader(new URL[] {classes}, ClassLoader.getPlatformClassLoader())) {
            Class<?> c = alone.loadClass(Communicators.class.getName());
            InvocationTargetException e = assertThrows(InvocationTargetException.class,
                    () -> c.getMethod("requireLibtorch").invoke(null));
            String message = e.getCause().getMessage();
            assertEquals(DistributedException.class.getName(), e.getCause().getClass().getName());
            assertTrue(message.contains("add org.bytedeco:pytorch:2.10.0-1.5.13"), message);
            assertTrue(!message.contains("\n"), message);
        }
        Communicators.requireLibtorch(); // here it is present
    }
}
