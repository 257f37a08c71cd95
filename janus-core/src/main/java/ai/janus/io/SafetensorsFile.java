package ai.janus.io;

import ai.janus.tensor.DType;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Storage;
import ai.janus.tensor.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A validated, open safetensors file.
 *
 * <pre>
 * bytes [0, 8)          u64 little-endian N: header length
 * bytes [8, 8 + N)      UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}
 * bytes [8 + N, EOF)    data section; offsets are relative to its first byte, little-endian values
 * </pre>
 *
 * {@link #open} checks the whole header against the file size before anything is read: dtypes,
 * shapes, that each tensor's byte size matches its shape, that offsets lie inside the data
 * section, and that the tensors tile it without overlap or gaps (as the safetensors library
 * requires). Tensor data is then read through memory mappings of one tensor each, so a tensor of
 * any size in a file of any size can be read; each mapping is released when its buffer is
 * collected, and {@link #close()} closes the file.
 */
public final class SafetensorsFile implements java.io.Closeable {
    /** The safetensors library refuses headers above 100 MB; so do we. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final Set<String> OTHER_SAFETENSORS_DTYPES = Set.of(
            "BOOL", "I8", "I16", "I64", "U16", "U32", "U64", "F64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3",
            "F6_E3M2", "C64");

    /** One tensor's header entry. {@code begin}/{@code end} are relative to the data section. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        public long numel() {
            return Tensor.numel(shape);
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape);
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries,
                            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = Collections.unmodifiableMap(entries);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Opens and validates {@code path}; nothing is returned unless the whole header is sound. */
    public static SafetensorsFile open(Path path) throws InvalidFileException {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new InvalidFileException(path, "file not found");
        } catch (IOException e) {
            throw new InvalidFileException(path, "cannot open: " + e.getMessage(), e);
        }
        try {
            return readHeader(path, channel);
        } catch (InvalidFileException e) {
            closeQuietly(channel);
            throw e;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new InvalidFileException(path, "cannot read: " + e.getMessage(), e);
        }
    }

    private static SafetensorsFile readHeader(Path path, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < 8) {
            throw new InvalidFileException(path, "truncated: " + size + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, lengthBytes, 0);
        long headerLength = lengthBytes.getLong(0);
        if (headerLength < 0 || headerLength > size - 8) {
            throw new InvalidFileException(path, "header length " + Long.toUnsignedString(headerLength)
                    + " runs past the end of the file (" + size + " bytes): truncated or not a safetensors file");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw new InvalidFileException(path, "header length " + headerLength + " exceeds the "
                    + MAX_HEADER_BYTES + "-byte limit");
        }
        ByteBuffer header = ByteBuffer.allocate((int) headerLength);
        readFully(channel, header, 8);
        JsonNode root = Json.parse(path, header.array(), "header");
        if (!root.isObject()) {
            throw new InvalidFileException(path, "header is not a JSON object");
        }
        long dataLength = size - 8 - headerLength;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals("__metadata__")) {
                readMetadata(path, field.getValue(), metadata);
            } else {
                Entry e = readEntry(path, field.getKey(), field.getValue(), dataLength);
                entries.put(e.name(), e);
            }
        }
        checkTiling(path, entries, dataLength);
        return new SafetensorsFile(path, channel, 8 + headerLength, entries, metadata);
    }

    private static void readMetadata(Path path, JsonNode node, Map<String, String> into) throws InvalidFileException {
        if (!node.isObject()) {
            throw new InvalidFileException(path, "__metadata__ must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isTextual()) {
                throw new InvalidFileException(path, "__metadata__ value of '" + f.getKey() + "' must be a string");
            }
            into.put(f.getKey(), f.getValue().textValue());
        }
    }

    private static Entry readEntry(Path path, String name, JsonNode node, long dataLength)
            throws InvalidFileException {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw new InvalidFileException(path, where + ": header entry is not an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new InvalidFileException(path, where + ": missing or non-string \"dtype\"");
        }
        String dtypeName = dtypeNode.textValue();
        DType dtype = DType.fromSafetensorsName(dtypeName);
        if (dtype == null) {
            throw new InvalidFileException(path, where + (OTHER_SAFETENSORS_DTYPES.contains(dtypeName)
                    ? ": dtype " + dtypeName + " is not supported (janus reads F32, BF16, F16, I32, U8)"
                    : ": unknown dtype '" + dtypeName + "'"));
        }
        long[] shape = longArray(path, where, node.get("shape"), "shape", -1);
        long[] offsets = longArray(path, where, node.get("data_offsets"), "data_offsets", 2);
        long begin = offsets[0], end = offsets[1];
        if (begin > end) {
            throw new InvalidFileException(path, where + ": data_offsets [" + begin + ", " + end + "] are reversed");
        }
        if (end > dataLength) {
            throw new InvalidFileException(path, where + ": data_offsets [" + begin + ", " + end
                    + "] out of range: the data section has " + dataLength + " bytes (truncated file?)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(Tensor.numel(shape), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new InvalidFileException(path, where + ": shape " + Arrays.toString(shape) + " overflows");
        }
        if (end - begin != expected) {
            throw new InvalidFileException(path, where + ": " + (end - begin) + " bytes of data but shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + expected);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] longArray(Path path, String where, JsonNode node, String field, int length)
            throws InvalidFileException {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new InvalidFileException(path, where + ": \"" + field + "\" must be an array of "
                    + (length >= 0 ? length + " " : "") + "non-negative integers");
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new InvalidFileException(path, where + ": \"" + field + "\" holds " + v
                        + ", not a non-negative integer");
            }
            values[i] = v.longValue();
        }
        return values;
    }

    /** The tensors must cover the data section exactly: no overlap, no gap, no trailing bytes. */
    private static void checkTiling(Path path, Map<String, Entry> entries, long dataLength) throws InvalidFileException {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long covered = 0;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.begin() < covered) {
                throw new InvalidFileException(path, "tensors '" + previous.name() + "' [" + previous.begin() + ", "
                        + previous.end() + ") and '" + e.name() + "' [" + e.begin() + ", " + e.end() + ") overlap");
            }
            if (e.begin() > covered) {
                throw new InvalidFileException(path, "bytes [" + covered + ", " + e.begin()
                        + ") of the data section belong to no tensor (before '" + e.name() + "')");
            }
            covered = e.end();
            if (e.end() > e.begin()) {
                previous = e;
            }
        }
        if (covered != dataLength) {
            throw new InvalidFileException(path, (dataLength - covered) + " trailing bytes after the last tensor");
        }
    }

    public Path path() {
        return path;
    }

    /** Header entries in file order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The entry called {@code name}. */
    public Entry entry(String name) throws InvalidFileException {
        Entry e = entries.get(name);
        if (e == null) {
            throw new InvalidFileException(path, "no tensor named '" + name + "'");
        }
        return e;
    }

    /**
     * The tensor as stored, memory-mapped copy-on-write: no bytes are copied, writes stay
     * private to this process, and the mapping lives as long as the returned tensor. The JDK
     * only maps copy-on-write through a channel opened for writing; when the file cannot be opened
     * so (read-only file or file system), the tensor is copied into owned memory instead.
     */
    public Tensor map(String name) throws InvalidFileException {
        Entry e = entry(name);
        try (FileChannel writable = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return Tensor.view(Storage.wrap(mapRegion(writable, e, FileChannel.MapMode.PRIVATE)), 0, e.dtype(),
                    e.shape());
        } catch (IOException notWritable) {
            Tensor copy = Tensor.allocate(e.dtype(), e.shape());
            copy.bytes().put(mapRegion(channel, e, FileChannel.MapMode.READ_ONLY));
            return copy;
        }
    }

    /** Copies a floating tensor into {@code dst} (F32, same element count), widening BF16/F16. */
    public void readFloats(String name, Tensor dst) throws InvalidFileException {
        Entry e = entry(name);
        if (!e.dtype().isFloating()) {
            throw new InvalidFileException(path, "tensor '" + name + "' is " + e.dtype() + ", not a float type");
        }
        if (dst.dtype() != DType.F32 || dst.numel() != e.numel()) {
            throw new IllegalArgumentException("cannot read " + e + " into " + dst);
        }
        ByteBuffer src = mapRegion(channel, e, FileChannel.MapMode.READ_ONLY).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer out = dst.floats();
        switch (e.dtype()) {
            case F32 -> dst.bytes().put(src);
            case BF16 -> {
                ShortBuffer in = src.asShortBuffer();
                for (int i = 0, n = in.capacity(); i < n; i++) {
                    out.put(i, HalfFloats.bf16ToFloat(in.get(i)));
                }
            }
            case F16 -> {
                ShortBuffer in = src.asShortBuffer();
                for (int i = 0, n = in.capacity(); i < n; i++) {
                    out.put(i, HalfFloats.f16ToFloat(in.get(i)));
                }
            }
            default -> throw new IllegalStateException(e.dtype().name());
        }
    }

    private MappedByteBuffer mapRegion(FileChannel from, Entry e, FileChannel.MapMode mode) throws InvalidFileException {
        long length = e.end() - e.begin();
        if (length > Integer.MAX_VALUE) {
            throw new InvalidFileException(path, "tensor '" + e.name() + "' has " + length
                    + " bytes; janus maps at most " + Integer.MAX_VALUE + " bytes per tensor");
        }
        try {
            return from.map(mode, dataStart + e.begin(), length);
        } catch (IOException ex) {
            throw new InvalidFileException(path, "cannot map tensor '" + e.name() + "': " + ex.getMessage(), ex);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer into, long position) throws IOException {
        while (into.hasRemaining()) {
            int n = channel.read(into, position + into.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    /** Closes {@code c} on a path that is already failing; that failure is the one to report. */
    static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // the first error wins
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
