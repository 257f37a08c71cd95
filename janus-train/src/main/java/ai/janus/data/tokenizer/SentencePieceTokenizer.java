package ai.janus.data.tokenizer;

import ai.djl.sentencepiece.SpProcessor;
import ai.djl.sentencepiece.SpTokenizer;
import ai.janus.io.InvalidFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.OptionalInt;

/**
 * A SentencePiece tokenizer. {@link #encode} runs the SentencePiece C++ library through the DJL JNI
 * binding (the native library ships inside its jar), so the ids are the reference library's ids.
 * Everything else is answered from the model file ({@link SentencePieceModel}): the JNI has no
 * vocabulary-size call, returns strings through JNI's modified UTF-8 (an emoji piece comes back
 * as mojibake and a decoded NUL ends the string) and aborts the whole JVM on an id outside the
 * vocabulary.
 *
 * <p>Decoding follows SentencePiece's rules: control pieces are invisible; an unknown piece reads
 * as the model's unk surface (" ⁇ "); consecutive byte pieces are joined and read as UTF-8 with one
 * U+FFFD per invalid byte (any other piece, a control one too, ends the run); "▁" reads as a
 * space; and the first visible piece loses its leading "▁" when the model adds a dummy prefix.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    private static final char WORD_START = '\u2581';   // "▁", SentencePiece's whitespace symbol

    private final SentencePieceModel model;
    private final SpTokenizer jni;
    private final SpProcessor processor;
    private final String fingerprint;

    private SentencePieceTokenizer(SentencePieceModel model, SpTokenizer jni, String fingerprint) {
        this.model = model;
        this.jni = jni;
        this.processor = jni.getProcessor();
        this.fingerprint = fingerprint;
    }

    /** The largest tokenizer model read (real ones are a few MiB). */
    public static final int MAX_MODEL_BYTES = 256 << 20;

    /** Loads a {@code .model} file; a missing, unreadable or malformed one is a one-line {@link InvalidFileException}. */
    public static SentencePieceTokenizer load(Path file) throws InvalidFileException {
        byte[] bytes;
        if (Files.isDirectory(file)) {
            throw new InvalidFileException(file, "is a directory, not a tokenizer model");
        }
        // Read at most MAX_MODEL_BYTES + 1: /dev/zero or a huge file is refused, not an OutOfMemoryError.
        try (java.io.InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_MODEL_BYTES + 1);
            if (bytes.length > MAX_MODEL_BYTES) {
                throw new InvalidFileException(file, "larger than " + (MAX_MODEL_BYTES >> 20)
                        + " MiB; not a SentencePiece tokenizer model");
            }
        } catch (InvalidFileException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new InvalidFileException(file, "tokenizer model not found");
        } catch (IOException e) {
            throw new InvalidFileException(file, "cannot read the tokenizer model: " + e.getMessage(), e);
        }
        SentencePieceModel model = SentencePieceModel.parse(file, bytes);   // validated before native code sees it
        SpTokenizer jni;
        try {
            jni = new SpTokenizer(bytes);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            throw new InvalidFileException(file, "the SentencePiece library refused the model: " + e.getMessage(), e);
        }
        return new SentencePieceTokenizer(model, jni, "sha256:" + sha256(bytes));
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM provides SHA-256", e);
        }
    }

    /** The parsed model file. */
    public SentencePieceModel model() {
        return model;
    }

    @Override
    public int[] encode(String text) {
        int bad = Utf16.firstUnpairedSurrogate(text);
        if (bad >= 0) {
            // The JNI converts through String.getBytes, which would silently turn it into '?'.
            throw new IllegalArgumentException("text holds an unpaired surrogate U+"
                    + Integer.toHexString(text.charAt(bad)).toUpperCase() + " at character " + bad);
        }
        return text.isEmpty() ? new int[0] : processor.encode(text);
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder out = new StringBuilder();
        byte[] pending = new byte[16];   // a run of byte pieces, read as UTF-8 together
        int pendingLength = 0;
        boolean first = true;            // no visible piece yet: a leading "▁" is the dummy prefix
        for (int id : ids) {
            SentencePieceModel.PieceType type = model.type(id);
            if (type == SentencePieceModel.PieceType.BYTE) {
                if (pendingLength == pending.length) {
                    pending = Arrays.copyOf(pending, pending.length * 2);
                }
                pending[pendingLength++] = (byte) SentencePieceModel.byteValue(model.piece(id));
                first = false;
                continue;
            }
            Utf16.appendUtf8Replacing(out, pending, pendingLength);   // any other piece ends a byte run
            pendingLength = 0;
            if (type == SentencePieceModel.PieceType.CONTROL) {
                continue;
            }
            if (type == SentencePieceModel.PieceType.UNKNOWN) {
                out.append(model.unkSurface());
            } else {
                String piece = model.piece(id);
                int from = first && model.addDummyPrefix() && !piece.isEmpty() && piece.charAt(0) == WORD_START ? 1 : 0;
                for (int i = from; i < piece.length(); i++) {
                    char c = piece.charAt(i);
                    out.append(c == WORD_START ? ' ' : c);
                }
            }
            first = false;
        }
        Utf16.appendUtf8Replacing(out, pending, pendingLength);
        return out.toString();
    }

    @Override
    public String piece(int id) {
        return model.piece(id);
    }

    @Override
    public OptionalInt pieceId(String piece) {
        return model.id(piece);
    }

    @Override
    public int vocabSize() {
        return model.size();
    }

    @Override
    public int bosId() {
        return model.bosId();
    }

    @Override
    public int eosId() {
        return model.eosId();
    }

    @Override
    public int unkId() {
        return model.unkId();
    }

    @Override
    public String fingerprint() {
        return fingerprint;
    }

    @Override
    public void close() {
        jni.close();
    }
}
