package ai.janus.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.janus.tensor.DType;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad safetensors files are refused by {@link SafetensorsFile#open} with one line naming the file
 * and the problem (docs/spec/reliability.md, "Bad input"); good files written by
 * {@link SafetensorsWriter} read back exactly (F32) or as the round-to-nearest-even narrowing
 * (BF16, F16).
 *
 * <p>Bad files are written byte by byte here, in the layout of docs/spec/model.md:
 * u64 little-endian header length N, N bytes of JSON, then the data section.
 */
class SafetensorsFileTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ helpers

    /** Writes {@code headerLength} (LE u64), then {@code header}, then {@code data}; returns the path. */
    private Path raw(String fileName, long headerLength, byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(header).put(data);
        Path p = dir.resolve(fileName);
        Files.write(p, b.array());
        return p;
    }

    /** A well-formed frame: the header length is the JSON's byte length. */
    private Path raw(String fileName, String json, int dataBytes) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        return raw(fileName, header.length, header, new byte[dataBytes]);
    }

    /** Opens {@code p}, expects a refusal, and checks the message: one line, the path, every fragment. */
    private static InvalidFileException refused(Path p, String... fragments) {
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                fail("opened a bad file: " + f.entries());
            }
        });
        assertOneLineNaming(e, p, fragments);
        return e;
    }

    static void assertOneLineNaming(InvalidFileException e, Path p, String... fragments) {
        String m = e.getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), "message must be one line: " + m);
        assertTrue(m.startsWith(p.toString()), "message must start with the file path " + p + ": " + m);
        assertEquals(p, e.file(), "file()");
        for (String f : fragments) {
            assertTrue(m.contains(f), "message must contain '" + f + "': " + m);
        }
    }

    private static float[] randomFloats(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * Math.scalb(1.0, r.nextInt(-20, 20)));
        }
        return v;
    }

    /** Values that stress conversions: signed zeros, infinities, NaN, subnormals, the f16 limits. */
    private static final float[] SPECIALS = {0f, -0f, 1f, -1f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
        Float.NaN, Float.MIN_VALUE, -Float.MIN_NORMAL, Float.MAX_VALUE, 65504f, 65520f, 0x1p-24f, 0x1p-25f,
        1.00390625f /* bf16 tie */, 1.0004883f /* f16 tie */, 3.1415927f, -2.7182817f};

    private static float[] readBack(SafetensorsFile f, String name) throws IOException {
        SafetensorsFile.Entry e = f.entry(name);
        try (Tensor dst = Tensor.allocate(DType.F32, e.shape())) {
            f.readFloats(name, dst);
            return dst.toFloatArray();
        }
    }

    private static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + "[" + i + "]: expected " + expected[i] + " (0x"
                        + Integer.toHexString(Float.floatToRawIntBits(expected[i])) + ") but was " + actual[i]
                        + " (0x" + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ")");
            }
        }
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    // ------------------------------------------------------------------ bad files

    @Test
    void missingFile() {
        refused(dir.resolve("nope.safetensors"), "file not found");
    }

    @Test
    void emptyFile() throws IOException {
        Path p = dir.resolve("empty.safetensors");
        Files.write(p, new byte[0]);
        refused(p, "truncated", "0 bytes");
    }

    @Test
    void shorterThanTheHeaderLength() throws IOException {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[] {16, 0, 0, 0, 0});
        refused(p, "truncated", "5 bytes", "8-byte header length");
    }

    @Test
    void cutInTheMiddleOfTheData() throws IOException {
        Path p = dir.resolve("cut.safetensors");
        try (Tensor a = Tensor.of(randomFloats(6, 1), 2, 3); Tensor b = Tensor.of(randomFloats(16, 2), 4, 4)) {
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("a", a, DType.F32),
                    new SafetensorsWriter.Item("b", b, DType.F32)), Map.of());
        }
        long size = Files.size(p);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(size - 10); // 'b' [24, 88) loses its last 10 bytes
        }
        refused(p, "tensor 'b'", "[24, 88]", "out of range", "78 bytes", "truncated");
    }

    @Test
    void headerLengthPastTheEndOfTheFile() throws IOException {
        byte[] json = "{}".getBytes(StandardCharsets.UTF_8);
        Path p = raw("long.safetensors", 1000, json, new byte[0]);
        refused(p, "header length 1000", "runs past the end of the file", "10 bytes");
    }

    @Test
    void headerLengthWithTheTopBitSetIsReadUnsigned() throws IOException {
        Path p = raw("huge.safetensors", -1L, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]);
        refused(p, "header length 18446744073709551615", "runs past the end");
    }

    @Test
    void invalidJsonNamesLineAndColumn() throws IOException {
        // The syntax error (an unquoted word) sits on line 3.
        String json = "{\n  \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},\n  \"b\": nope\n}";
        Path p = raw("syntax.safetensors", json, 4);
        InvalidFileException e = refused(p, "invalid JSON", "header", "line 3", "column");
        assertTrue(e.getMessage().matches(".*line 3 column [0-9]+.*"), e.getMessage());
    }

    @Test
    void truncatedJson() throws IOException {
        Path p = raw("cutjson.safetensors", "{\"a\": {\"dtype\": \"F3", 0);
        refused(p, "invalid JSON", "line 1", "column");
    }

    @Test
    void duplicateTensorNameInHeader() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        refused(raw("dup.safetensors", json, 8), "invalid JSON", "Duplicate field 'a'");
    }

    @Test
    void headerIsNotAnObject() throws IOException {
        refused(raw("array.safetensors", "[1, 2, 3]", 0), "header is not a JSON object");
    }

    @Test
    void entryIsNotAnObject() throws IOException {
        refused(raw("entry.safetensors", "{\"w\": 3}", 0), "tensor 'w'", "not an object");
    }

    @Test
    void dataOffsetsOutOfRange() throws IOException {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        refused(raw("range.safetensors", json, 8), "tensor 'w'", "[0, 16]", "out of range", "8 bytes");
    }

    @Test
    void overlappingDataOffsets() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        refused(raw("overlap.safetensors", json, 12), "'a' [0, 8)", "'b' [4, 12)", "overlap");
    }

    @Test
    void twoTensorsOnTheSameBytes() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        refused(raw("alias.safetensors", json, 8), "overlap");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}";
        refused(raw("gap.safetensors", json, 20), "bytes [8, 12)", "belong to no tensor", "'b'");
    }

    @Test
    void gapBeforeTheFirstTensor() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        refused(raw("lead.safetensors", json, 12), "bytes [0, 4)", "belong to no tensor");
    }

    @Test
    void trailingBytesAfterTheLastTensor() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        refused(raw("trail.safetensors", json, 12), "4 trailing bytes");
    }

    @Test
    void dataWithoutAnyTensor() throws IOException {
        refused(raw("nodata.safetensors", "{}", 3), "3 trailing bytes");
    }

    @Test
    void reversedDataOffsets() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}";
        refused(raw("reversed.safetensors", json, 8), "tensor 'a'", "[8, 0]", "reversed");
    }

    @Test
    void unknownDType() throws IOException {
        String json = "{\"q\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,2]}}";
        InvalidFileException e = refused(raw("q7.safetensors", json, 2), "tensor 'q'", "unknown dtype 'Q7'");
        assertFalse(e.getMessage().contains("not supported"), e.getMessage());
    }

    @Test
    void knownButUnsupportedDType() throws IOException {
        String json = "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}";
        InvalidFileException e = refused(raw("f64.safetensors", json, 16), "tensor 'd'", "F64", "not supported");
        assertFalse(e.getMessage().contains("unknown"), e.getMessage());
    }

    @Test
    void missingDType() throws IOException {
        String json = "{\"d\":{\"shape\":[2],\"data_offsets\":[0,8]}}";
        refused(raw("nodtype.safetensors", json, 8), "tensor 'd'", "\"dtype\"");
    }

    @Test
    void byteSizeDisagreesWithShape() throws IOException {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
        refused(raw("size.safetensors", json, 8), "tensor 'w'", "8 bytes of data", "shape [3]", "needs 12");
    }

    @Test
    void halfPrecisionByteSizeDisagreesWithShape() throws IOException {
        // 2 x 2 BF16 is 8 bytes, not the 16 an F32 reading would expect.
        String json = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
        refused(raw("bf16size.safetensors", json, 16), "tensor 'w'", "16 bytes of data", "needs 8");
    }

    static Stream<Arguments> badShapes() {
        return Stream.of(
                Arguments.of("[-2]", "-2"),
                Arguments.of("[2.5]", "2.5"),
                Arguments.of("[\"2\"]", "\"2\""),
                Arguments.of("[null]", "null"),
                Arguments.of("[99999999999999999999]", "99999999999999999999"),
                Arguments.of("2", "non-negative integers"),
                Arguments.of("{\"0\": 2}", "non-negative integers"));
    }

    @ParameterizedTest(name = "shape {0}")
    @MethodSource("badShapes")
    void badShapeEntries(String shape, String shown) throws IOException {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,8]}}";
        refused(raw("shape.safetensors", json, 8), "tensor 'w'", "\"shape\"", shown);
    }

    @Test
    void missingShape() throws IOException {
        String json = "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}";
        refused(raw("noshape.safetensors", json, 8), "tensor 'w'", "\"shape\" must be an array");
    }

    @Test
    void shapeWhoseElementCountOverflows() throws IOException {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}";
        refused(raw("overflow.safetensors", json, 8), "tensor 'w'", "overflows");
    }

    static Stream<Arguments> badOffsets() {
        return Stream.of(
                Arguments.of("[0]", "array of 2"),
                Arguments.of("[0, 4, 8]", "array of 2"),
                Arguments.of("[-4, 4]", "-4"),
                Arguments.of("[0, 8.0]", "8.0"),
                Arguments.of("null", "array of 2"));
    }

    @ParameterizedTest(name = "data_offsets {0}")
    @MethodSource("badOffsets")
    void badDataOffsets(String offsets, String shown) throws IOException {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + offsets + "}}";
        refused(raw("offsets.safetensors", json, 8), "tensor 'w'", "\"data_offsets\"", shown);
    }

    @Test
    void metadataMustBeAnObjectOfStrings() throws IOException {
        refused(raw("meta1.safetensors", "{\"__metadata__\": [1]}", 0), "__metadata__", "object");
        refused(raw("meta2.safetensors", "{\"__metadata__\": {\"format\": 1}}", 0), "'format'", "must be a string");
    }

    @Test
    void nonUtf8HeaderIsRefusedNotCrashed() throws IOException {
        byte[] header = {'{', '"', (byte) 0xff, (byte) 0xfe, '"', ':', '1', '}'};
        Path p = raw("latin.safetensors", header.length, header, new byte[0]);
        refused(p, "JSON");
    }

    // ------------------------------------------------------------------ good files

    @Test
    void handWrittenFileIsReadByOffsetsNotByHeaderOrder() throws IOException {
        // 'late' is listed first in the header but its bytes come second.
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"late\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"early\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}   ";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-7.25f);
        Path p = raw("hand.safetensors", header.length, header, data.array());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("late", "early"), new ArrayList<>(f.entries().keySet()), "header order kept");
            assertArrayEquals(new float[] {1.5f}, readBack(f, "early"));
            assertArrayEquals(new float[] {-7.25f}, readBack(f, "late"));
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(p, f.path());
        }
    }

    @Test
    void roundTripF32IsBitExact() throws IOException {
        Path p = dir.resolve("f32.safetensors");
        float[] values = concat(randomFloats(3 * 7 * 5 - SPECIALS.length, 3), SPECIALS);
        try (Tensor t = Tensor.of(values, 3, 7, 5)) {
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("w", t, DType.F32)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            SafetensorsFile.Entry e = f.entry("w");
            assertEquals(DType.F32, e.dtype());
            assertArrayEquals(new long[] {3, 7, 5}, e.shape());
            assertEquals(0, e.begin());
            assertEquals(3 * 7 * 5 * 4, e.end());
            assertBitsEqual(values, readBack(f, "w"), "w");
        }
    }

    @Test
    void roundTripBf16AndF16AreTheRoundToNearestEvenNarrowing() throws IOException {
        Path p = dir.resolve("half.safetensors");
        float[] values = concat(randomFloats(1000 - SPECIALS.length, 4), SPECIALS);
        try (Tensor t = Tensor.of(values, 10, 100)) {
            SafetensorsWriter.write(p, List.of(
                    new SafetensorsWriter.Item("as_bf16", t, DType.BF16),
                    new SafetensorsWriter.Item("as_f16", t, DType.F16),
                    new SafetensorsWriter.Item("as_f32", t, DType.F32)), Map.of());
        }
        float[] bf16 = new float[values.length];
        float[] f16 = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            bf16[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[i]));
            f16[i] = HalfFloats.f16ToFloat(HalfFloats.floatToF16(values[i]));
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(DType.BF16, f.entry("as_bf16").dtype());
            assertEquals(DType.F16, f.entry("as_f16").dtype());
            assertEquals(2000, f.entry("as_bf16").end() - f.entry("as_bf16").begin());
            assertEquals(2000, f.entry("as_f16").end() - f.entry("as_f16").begin());
            assertArrayEquals(new long[] {10, 100}, f.entry("as_f16").shape());
            float[] gotBf16 = readBack(f, "as_bf16");
            float[] gotF16 = readBack(f, "as_f16");
            assertBitsEqual(bf16, gotBf16, "as_bf16");
            assertBitsEqual(f16, gotF16, "as_f16");
            assertBitsEqual(values, readBack(f, "as_f32"), "as_f32");
            // The narrowing really happened (so the comparison above is not F32 against F32).
            assertFalse(Arrays.equals(values, gotBf16));
            assertFalse(Arrays.equals(values, gotF16));
            assertFalse(Arrays.equals(gotBf16, gotF16));
        }
        // And the stored bits are the narrowed bits, read straight from the file.
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        long n = all.getLong(0);
        for (int i = 0; i < values.length; i++) {
            assertEquals(HalfFloats.floatToBf16(values[i]), all.getShort((int) (8 + n + 2L * i)), "bf16 bits " + i);
            assertEquals(HalfFloats.floatToF16(values[i]), all.getShort((int) (8 + n + 2000 + 2L * i)), "f16 bits " + i);
        }
    }

    @Test
    void bf16AndF16TensorsAreWrittenAsTheyAre() throws IOException {
        Path p = dir.resolve("raw16.safetensors");
        try (Tensor b = Tensor.allocate(DType.BF16, 3); Tensor h = Tensor.allocate(DType.F16, 2)) {
            b.shorts().put(0, (short) 0x3f80).put(1, (short) 0xc040).put(2, (short) 0x7f80); // 1, -3, inf
            h.shorts().put(0, (short) 0x3c00).put(1, (short) 0x0001); // 1, 2^-24
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("b", b, DType.BF16),
                    new SafetensorsWriter.Item("h", h, DType.F16)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[] {1f, -3f, Float.POSITIVE_INFINITY}, readBack(f, "b"));
            assertArrayEquals(new float[] {1f, 0x1p-24f}, readBack(f, "h"));
        }
    }

    @Test
    void integerTensorsRoundTripAndAreNotReadAsFloats() throws IOException {
        Path p = dir.resolve("ints.safetensors");
        try (Tensor ids = Tensor.ofInts(new int[] {1, -2, Integer.MAX_VALUE})) {
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("ids", ids, DType.I32)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p); Tensor dst = Tensor.allocate(DType.F32, 3)) {
            assertEquals(DType.I32, f.entry("ids").dtype());
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> f.readFloats("ids", dst));
            assertOneLineNaming(e, p, "'ids'", "I32", "not a float type");
        }
    }

    @Test
    void metadataIsPreservedAndAbsentMetadataIsEmpty() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "multi\nline \"quoted\" ünïcode");
        Path with = dir.resolve("with.safetensors");
        Path without = dir.resolve("without.safetensors");
        try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
            SafetensorsWriter.write(with, List.of(new SafetensorsWriter.Item("t", t, DType.F32)), meta);
            SafetensorsWriter.write(without, List.of(new SafetensorsWriter.Item("t", t, DType.F32)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(with); SafetensorsFile g = SafetensorsFile.open(without)) {
            assertEquals(meta, f.metadata());
            assertEquals(Map.of(), g.metadata());
        }
        assertFalse(headerJson(without).has("__metadata__"), "no __metadata__ key when there is none");
        assertEquals("pt", headerJson(with).get("__metadata__").get("format").textValue());
    }

    private static long headerLength(Path p) throws IOException {
        byte[] all = Files.readAllBytes(p);
        return ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    private static JsonNode headerJson(Path p) throws IOException {
        byte[] all = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
    }

    @Test
    void headerLengthIsAMultipleOfEightPaddedWithSpaces() throws IOException {
        // Names of lengths 1..9 move the JSON length through every residue mod 8.
        for (int len = 1; len <= 9; len++) {
            String name = "abcdefghi".substring(0, len);
            Path p = dir.resolve("pad" + len + ".safetensors");
            try (Tensor t = Tensor.of(new float[] {len}, 1)) {
                SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item(name, t, DType.F32)), Map.of());
            }
            byte[] all = Files.readAllBytes(p);
            long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertEquals(0, n % 8, "header length " + n + " for name length " + len);
            assertEquals(8 + n + 4, all.length, "file = length + header + data");
            String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
            String trimmed = header.stripTrailing();
            assertTrue(trimmed.endsWith("}"), header);
            assertTrue(header.substring(trimmed.length()).chars().allMatch(c -> c == ' '), "padding is spaces");
            assertTrue(header.length() - trimmed.length() < 8, "at most 7 padding bytes");
            assertEquals(len, ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getFloat((int) (8 + n)));
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertArrayEquals(new float[] {len}, readBack(f, name));
            }
        }
    }

    @Test
    void entriesKeepTheWrittenOrderAndTileTheData() throws IOException {
        Path p = dir.resolve("order.safetensors");
        List<String> names = List.of("z", "a", "m.weight", "b");
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        List<Tensor> owned = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Tensor t = Tensor.of(randomFloats(i + 1, i), i + 1);
            owned.add(t);
            items.add(new SafetensorsWriter.Item(names.get(i), t, i % 2 == 0 ? DType.F32 : DType.BF16));
        }
        SafetensorsWriter.write(p, items, Map.of());
        owned.forEach(Tensor::close);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(names, new ArrayList<>(f.entries().keySet()));
            long expectBegin = 0;
            for (SafetensorsFile.Entry e : f.entries().values()) {
                assertEquals(expectBegin, e.begin(), e.toString());
                expectBegin = e.end();
            }
        }
        assertFalse(Files.exists(dir.resolve("order.safetensors.tmp")), "no temporary file left");
    }

    @Test
    void zeroSizeTensorConvertedToBf16RoundTrips() throws IOException {
        Path p = dir.resolve("zero16.safetensors");
        float[] after = {4f, 5f};
        try (Tensor empty = Tensor.allocate(DType.F32, 0, 3); Tensor t = Tensor.of(after, 2)) {
            SafetensorsWriter.write(p, List.of(
                    new SafetensorsWriter.Item("empty_bf16", empty, DType.BF16),
                    new SafetensorsWriter.Item("empty_f16", empty, DType.F16),
                    new SafetensorsWriter.Item("after", t, DType.F32)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            SafetensorsFile.Entry e = f.entry("empty_bf16");
            assertArrayEquals(new long[] {0, 3}, e.shape());
            assertEquals(DType.BF16, e.dtype());
            assertEquals(0, e.numel());
            assertEquals(e.begin(), e.end());
            assertEquals(0, readBack(f, "empty_bf16").length);
            assertEquals(0, readBack(f, "empty_f16").length);
            assertArrayEquals(after, readBack(f, "after"));
        }
    }

    @Test
    void zeroSizeTensorsRoundTrip() throws IOException {
        Path p = dir.resolve("zero.safetensors");
        float[] after = {4f, 5f};
        try (Tensor empty = Tensor.allocate(DType.F32, 0, 3); Tensor emptyHalf = Tensor.allocate(DType.F32, 0);
             Tensor t = Tensor.of(after, 2)) {
            SafetensorsWriter.write(p, List.of(
                    new SafetensorsWriter.Item("empty", empty, DType.F32),
                    new SafetensorsWriter.Item("empty_bf16", emptyHalf, DType.BF16),
                    new SafetensorsWriter.Item("after", t, DType.F32)), Map.of());
        }
        assertEquals(8 + headerLength(p) + 8, Files.size(p), "an empty tensor adds no bytes");
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            SafetensorsFile.Entry e = f.entry("empty");
            assertArrayEquals(new long[] {0, 3}, e.shape());
            assertEquals(0, e.numel());
            assertEquals(e.begin(), e.end());
            assertEquals(DType.BF16, f.entry("empty_bf16").dtype());
            assertEquals(0, readBack(f, "empty").length);
            assertEquals(0, readBack(f, "empty_bf16").length);
            assertArrayEquals(after, readBack(f, "after"));
        }
    }

    @Test
    void aZeroSizeTensorMayBeTheOnlyOne() throws IOException {
        String json = "{\"e\":{\"dtype\":\"BF16\",\"shape\":[4,0],\"data_offsets\":[0,0]}}";
        try (SafetensorsFile f = SafetensorsFile.open(raw("only.safetensors", json, 0))) {
            assertEquals(0, f.entry("e").numel());
            assertEquals(0, readBack(f, "e").length);
        }
    }

    @Test
    void scalarTensorHasOneElement() throws IOException {
        String json = "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        byte[] data = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(42f).array();
        try (SafetensorsFile f = SafetensorsFile.open(raw("scalar.safetensors", header.length, header, data))) {
            assertEquals(1, f.entry("s").numel());
            assertArrayEquals(new float[] {42f}, readBack(f, "s"));
        }
    }

    @Test
    void unknownTensorNameIsAnErrorNamingTheFile() throws IOException {
        Path p = dir.resolve("one.safetensors");
        try (Tensor t = Tensor.of(new float[] {1}, 1)) {
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("t", t, DType.F32)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> f.entry("u"));
            assertOneLineNaming(e, p, "no tensor named 'u'");
        }
    }

    @Test
    void readFloatsRefusesADestinationOfTheWrongSize() throws IOException {
        Path p = dir.resolve("dst.safetensors");
        try (Tensor t = Tensor.of(new float[] {1, 2, 3}, 3)) {
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("t", t, DType.F32)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p); Tensor small = Tensor.allocate(DType.F32, 2);
             Tensor ints = Tensor.allocate(DType.I32, 3)) {
            assertThrows(IllegalArgumentException.class, () -> f.readFloats("t", small));
            assertThrows(IllegalArgumentException.class, () -> f.readFloats("t", ints));
        }
    }

    @Test
    void mapGivesTheSameValuesAsReadFloats() throws IOException {
        Path p = dir.resolve("map.safetensors");
        float[] values = concat(randomFloats(64 - SPECIALS.length, 5), SPECIALS);
        try (Tensor t = Tensor.of(values, 8, 8)) {
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("f32", t, DType.F32),
                    new SafetensorsWriter.Item("bf16", t, DType.BF16),
                    new SafetensorsWriter.Item("f16", t, DType.F16)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (String name : List.of("f32", "bf16", "f16")) {
                Tensor mapped = f.map(name);
                assertEquals(f.entry(name).dtype(), mapped.dtype(), name);
                assertArrayEquals(new long[] {8, 8}, mapped.shape(), name);
                assertBitsEqual(readBack(f, name), mapped.toFloatArray(), "map(" + name + ")");
            }
            // Copy-on-write: writing into the mapping never reaches the file.
            Tensor mapped = f.map("f32");
            mapped.floats().put(0, 123f);
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertBitsEqual(values, readBack(f, "f32"), "file after writing into a private mapping");
        }
    }

    @Test
    void writerRefusesDuplicateAndReservedNames() throws IOException {
        try (Tensor t = Tensor.of(new float[] {1}, 1)) {
            Path p = dir.resolve("dupw.safetensors");
            assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(p, List.of(
                    new SafetensorsWriter.Item("a", t, DType.F32), new SafetensorsWriter.Item("a", t, DType.BF16)),
                    Map.of()));
            assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(p, List.of(
                    new SafetensorsWriter.Item("__metadata__", t, DType.F32)), Map.of()));
            assertFalse(Files.exists(p), "nothing written");
        }
    }

    @Test
    void itemRefusesConversionsOtherThanF32ToAFloatType() {
        try (Tensor f = Tensor.of(new float[] {1}, 1); Tensor i = Tensor.ofInts(new int[] {1});
             Tensor b = Tensor.allocate(DType.BF16, 1)) {
            assertThrows(IllegalArgumentException.class, () -> new SafetensorsWriter.Item("f", f, DType.I32));
            assertThrows(IllegalArgumentException.class, () -> new SafetensorsWriter.Item("i", i, DType.F32));
            assertThrows(IllegalArgumentException.class, () -> new SafetensorsWriter.Item("b", b, DType.F32));
            new SafetensorsWriter.Item("ok", f, DType.F16);
        }
    }

    @Test
    void rewritingAFileReplacesItWhole() throws IOException {
        Path p = dir.resolve("re.safetensors");
        try (Tensor big = Tensor.of(randomFloats(100, 6), 100); Tensor small = Tensor.of(new float[] {9}, 1)) {
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("big", big, DType.F32)), Map.of());
            SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Item("small", small, DType.F32)), Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("small"), new ArrayList<>(f.entries().keySet()));
            assertArrayEquals(new float[] {9}, readBack(f, "small"));
        }
    }
}
