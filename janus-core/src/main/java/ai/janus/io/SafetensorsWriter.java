package ai.janus.io;

import ai.janus.tensor.DType;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes one safetensors file (layout in {@link SafetensorsFile}): tensors in the given order,
 * contiguous, the header padded with spaces to a multiple of 8 bytes as the reference writer
 * does. F32 tensors may be stored as BF16 or F16 (round to nearest even). The file is written
 * through {@link AtomicFiles}, so the final name only ever holds a whole file.
 */
public final class SafetensorsWriter {
    private static final int CONVERT_CHUNK = 1 << 20;

    /** One tensor to write, stored as {@code storeAs}. */
    public record Item(String name, Tensor tensor, DType storeAs) {
        public Item {
            if (storeAs != tensor.dtype() && !(tensor.dtype() == DType.F32 && storeAs.isFloating())) {
                throw new IllegalArgumentException("tensor '" + name + "' is " + tensor.dtype()
                        + " and cannot be stored as " + storeAs);
            }
        }

        long storedBytes() {
            return tensor.numel() * storeAs.byteSize();
        }
    }

    private SafetensorsWriter() {}

    /** Writes {@code items} with {@code metadata} to {@code path}, atomically. */
    public static void write(Path path, List<Item> items, Map<String, String> metadata) throws IOException {
        Set<String> names = new HashSet<>();
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Item item : items) {
            if (item.name().equals("__metadata__") || !names.add(item.name())) {
                throw new IllegalArgumentException("duplicate or reserved tensor name '" + item.name() + "'");
            }
            long end = offset + item.storedBytes();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", item.storeAs().safetensorsName());
            entry.put("shape", item.tensor().shape());
            entry.put("data_offsets", new long[] {offset, end});
            header.put(item.name(), entry);
            offset = end;
        }
        byte[] json = Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        AtomicFiles.write(path, out -> {
            AtomicFiles.writeFully(out, head);
            for (Item item : items) {
                writeData(out, item);
            }
        });
    }

    private static void writeData(FileChannel out, Item item) throws IOException {
        Tensor t = item.tensor();
        if (item.storeAs() == t.dtype()) {
            AtomicFiles.writeFully(out, t.bytes());
            return;
        }
        FloatBuffer in = t.floats();
        ByteBuffer chunk = ByteBuffer.allocateDirect(CONVERT_CHUNK * 2).order(ByteOrder.LITTLE_ENDIAN);
        boolean bf16 = item.storeAs() == DType.BF16;
        for (int start = 0, n = in.capacity(); start < n; start += CONVERT_CHUNK) {
            chunk.clear();
            for (int i = start, end = Math.min(n, start + CONVERT_CHUNK); i < end; i++) {
                float v = in.get(i);
                chunk.putShort(bf16 ? HalfFloats.floatToBf16(v) : HalfFloats.floatToF16(v));
            }
            chunk.flip();
            AtomicFiles.writeFully(out, chunk);
        }
    }
}
