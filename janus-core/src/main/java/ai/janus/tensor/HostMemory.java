package ai.janus.tensor;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * How much off-heap memory janus may count on, for checking a size arithmetically before
 * allocating it: {@code -XX:MaxDirectMemorySize} when set, else the physical memory the JVM
 * sees (the container's limit inside a container). A size beyond it is refused in one line
 * instead of ending in minutes of paging, an OutOfMemoryError or a killed process.
 */
public final class HostMemory {
    private HostMemory() {}

    /** The limit in bytes and what it is ("physical memory" or "-XX:MaxDirectMemorySize"). */
    public record Limit(long bytes, String source) {}

    /** The limit now; {@code Long.MAX_VALUE} with source "unknown" where the JVM reports neither. */
    public static Limit limit() {
        try {
            HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            long direct = hotspot == null ? 0 : Long.parseLong(hotspot.getVMOption("MaxDirectMemorySize").getValue());
            if (direct > 0) {
                return new Limit(direct, "-XX:MaxDirectMemorySize");
            }
        } catch (RuntimeException e) {
            // not a HotSpot JVM or no such option: fall through to physical memory
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os
                && os.getTotalMemorySize() > 0) {
            return new Limit(os.getTotalMemorySize(), "physical memory");
        }
        return new Limit(Long.MAX_VALUE, "unknown");
    }

    /**
     * Null when {@code bytes} fits {@link #limit()}, else the one-line reason:
     * "{what} needs 36.0 GiB; this machine has 23.4 GiB (physical memory)".
     */
    public static String refusal(String what, long bytes) {
        return refusal(what, bytes, limit());
    }

    /** {@link #refusal(String, long)} against a given limit. */
    public static String refusal(String what, long bytes, Limit limit) {
        if (bytes >= 0 && bytes <= limit.bytes()) {
            return null;
        }
        return what + " needs " + (bytes < 0 ? "more than 8 EiB" : gib(bytes)) + "; this machine has "
                + gib(limit.bytes()) + " (" + limit.source() + ")";
    }

    /** Throws {@link IllegalStateException} with {@link #refusal}'s line when {@code bytes} does not fit. */
    public static void require(String what, long bytes) {
        String why = refusal(what, bytes);
        if (why != null) {
            throw new IllegalStateException(why);
        }
    }

    /** Bytes as GiB with one decimal. */
    public static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    /** {@code a × b × …}, or -1 when the product overflows a long (every factor >= 0). */
    public static long product(long... factors) {
        long p = 1;
        for (long f : factors) {
            if (f < 0) {
                throw new IllegalArgumentException("negative size " + f);
            }
            if (f != 0 && p > Long.MAX_VALUE / f) {
                return -1;
            }
            p *= f;
        }
        return p;
    }
}
