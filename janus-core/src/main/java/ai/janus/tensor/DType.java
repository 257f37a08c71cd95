package ai.janus.tensor;

/** Element types janus stores. Names are the safetensors dtype strings. */
public enum DType {
    F32(4),
    BF16(2),
    F16(2),
    I32(4),
    U8(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the floating types (F32, BF16, F16). */
    public boolean isFloating() {
        return this == F32 || this == BF16 || this == F16;
    }

    /** The safetensors name of this dtype ("F32", "BF16", ...). */
    public String safetensorsName() {
        return name();
    }

    /**
     * Parses a safetensors dtype name.
     *
     * @return the dtype, or {@code null} when janus does not store that dtype
     */
    public static DType fromSafetensorsName(String name) {
        for (DType d : values()) {
            if (d.safetensorsName().equals(name)) {
                return d;
            }
        }
        return null;
    }
}
