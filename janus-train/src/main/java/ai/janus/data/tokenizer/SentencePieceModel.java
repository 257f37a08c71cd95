package ai.janus.data.tokenizer;

import ai.janus.io.InvalidFileException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The parts of a SentencePiece {@code .model} file janus needs: every piece with its type, the
 * special ids and the two normalizer flags that decoding depends on. The file is a protocol buffer
 * ({@code sentencepiece_model.proto}, proto2); only these fields are read, every other one is
 * skipped by its wire type:
 *
 * <pre>
 * ModelProto      1 pieces (repeated SentencePiece)   2 trainer_spec   3 normalizer_spec
 * SentencePiece   1 piece (string)   2 score (float)   3 type (enum, default NORMAL)
 * TrainerSpec     40 unk_id (default 0)   41 bos_id (1)   42 eos_id (2)   43 pad_id (−1)
 *                 44 unk_surface (default " ⁇ ")
 * NormalizerSpec  3 add_dummy_prefix (default true)
 * </pre>
 *
 * Type values: NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6. Byte pieces are
 * spelled {@code <0xNN>}.
 */
public final class SentencePieceModel {
    /** How a piece decodes. */
    public enum PieceType {
        NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE;

        static PieceType of(long code) {
            return switch ((int) code) {
                case 1 -> NORMAL;
                case 2 -> UNKNOWN;
                case 3 -> CONTROL;
                case 4 -> USER_DEFINED;
                case 5 -> UNUSED;
                case 6 -> BYTE;
                default -> null;
            };
        }
    }

    private final String[] pieces;
    private final PieceType[] types;
    private final Map<String, Integer> ids;
    private final int unkId, bosId, eosId, padId;
    private final String unkSurface;
    private final boolean addDummyPrefix;

    private SentencePieceModel(String[] pieces, PieceType[] types, int unkId, int bosId, int eosId, int padId,
                               String unkSurface, boolean addDummyPrefix) {
        this.pieces = pieces;
        this.types = types;
        this.unkId = unkId;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.unkSurface = unkSurface;
        this.addDummyPrefix = addDummyPrefix;
        this.ids = new HashMap<>(pieces.length * 2);
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(pieces[i], i);
        }
    }

    /** Parses the bytes of {@code file}; anything janus cannot use is a one-line {@link InvalidFileException}. */
    public static SentencePieceModel parse(Path file, byte[] bytes) throws InvalidFileException {
        try {
            return parse(new Reader(bytes, 0, bytes.length));
        } catch (Malformed e) {
            throw new InvalidFileException(file, "not a SentencePiece model: " + e.getMessage());
        }
    }

    private static SentencePieceModel parse(Reader model) throws Malformed {
        List<String> pieces = new ArrayList<>();
        List<PieceType> types = new ArrayList<>();
        long unkId = 0, bosId = 1, eosId = 2, padId = -1;
        String unkSurface = " \u2047 ";
        boolean addDummyPrefix = true;
        while (model.more()) {
            long tag = model.varint();
            int field = (int) (tag >>> 3), wire = (int) (tag & 7);
            if (field == 1 && wire == 2) {
                Reader piece = model.message();
                String text = null;
                PieceType type = PieceType.NORMAL;
                while (piece.more()) {
                    long t = piece.varint();
                    if (t >>> 3 == 1 && (t & 7) == 2) {
                        text = piece.string();
                    } else if (t >>> 3 == 3 && (t & 7) == 0) {
                        long code = piece.varint();
                        type = PieceType.of(code);
                        if (type == null) {
                            throw new Malformed("piece " + pieces.size() + " has unknown type " + code);
                        }
                    } else {
                        piece.skip((int) (t & 7));
                    }
                }
                if (text == null) {
                    throw new Malformed("piece " + pieces.size() + " has no text");
                }
                pieces.add(text);
                types.add(type);
            } else if (field == 2 && wire == 2) {
                Reader trainer = model.message();
                while (trainer.more()) {
                    long t = trainer.varint();
                    int f = (int) (t >>> 3), w = (int) (t & 7);
                    if (f >= 40 && f <= 43 && w == 0) {
                        long v = (int) trainer.varint();   // int32: negative values arrive sign-extended to 64 bits
                        switch (f) {
                            case 40 -> unkId = v;
                            case 41 -> bosId = v;
                            case 42 -> eosId = v;
                            default -> padId = v;
                        }
                    } else if (f == 44 && w == 2) {
                        unkSurface = trainer.string();
                    } else {
                        trainer.skip(w);
                    }
                }
            } else if (field == 3 && wire == 2) {
                Reader normalizer = model.message();
                while (normalizer.more()) {
                    long t = normalizer.varint();
                    if (t >>> 3 == 3 && (t & 7) == 0) {
                        addDummyPrefix = normalizer.varint() != 0;
                    } else {
                        normalizer.skip((int) (t & 7));
                    }
                }
            } else {
                model.skip(wire);
            }
        }
        int v = pieces.size();
        if (v == 0) {
            throw new Malformed("no pieces");
        }
        PieceType[] typeArray = types.toArray(new PieceType[0]);
        requireSpecial("unk_id", unkId, v, typeArray, PieceType.UNKNOWN);
        requireSpecial("bos_id", bosId, v, typeArray, PieceType.CONTROL);
        requireSpecial("eos_id", eosId, v, typeArray, PieceType.CONTROL);
        for (int i = 0; i < v; i++) {
            if (typeArray[i] == PieceType.BYTE && byteValue(pieces.get(i)) < 0) {
                throw new Malformed("byte piece " + i + " is spelled '" + pieces.get(i) + "', expected <0xNN>");
            }
        }
        return new SentencePieceModel(pieces.toArray(new String[0]), typeArray, (int) unkId, (int) bosId,
                (int) eosId, (int) padId, unkSurface, addDummyPrefix);
    }

    private static void requireSpecial(String name, long id, int v, PieceType[] types, PieceType expected)
            throws Malformed {
        if (id < 0 || id >= v) {
            throw new Malformed(name + " is " + id + ", outside the " + v + " pieces (janus needs BOS, EOS and UNK)");
        }
        if (types[(int) id] != expected) {
            throw new Malformed(name + " " + id + " is a " + types[(int) id] + " piece, expected " + expected);
        }
    }

    /** The byte of a piece spelled {@code <0xNN>}, or −1. */
    static int byteValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int hi = Character.digit(piece.charAt(3), 16), lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    public int size() {
        return pieces.length;
    }

    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    public PieceType type(int id) {
        checkId(id);
        return types[id];
    }

    public OptionalInt id(String piece) {
        Integer id = ids.get(piece);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public int unkId() {
        return unkId;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    /** The pad id, −1 when the model defines none (Mistral's does not; trainers pad with EOS). */
    public int padId() {
        return padId;
    }

    /** What an unknown piece decodes to (" ⁇ " unless the model says otherwise). */
    public String unkSurface() {
        return unkSurface;
    }

    /** Whether encoding prefixes the text with "▁", so that decoding drops the first piece's leading "▁". */
    public boolean addDummyPrefix() {
        return addDummyPrefix;
    }

    void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + pieces.length + ")");
        }
    }

    /** A protocol buffer field stream over bytes[from, to). */
    private static final class Reader {
        private final byte[] bytes;
        private int at;
        private final int end;

        Reader(byte[] bytes, int from, int to) {
            this.bytes = bytes;
            this.at = from;
            this.end = to;
        }

        boolean more() {
            return at < end;
        }

        long varint() throws Malformed {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (at >= end) {
                    throw new Malformed("truncated varint at byte " + at);
                }
                byte b = bytes[at++];
                value |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return value;
                }
            }
            throw new Malformed("varint longer than 10 bytes at byte " + at);
        }

        Reader message() throws Malformed {
            int length = length();
            Reader inner = new Reader(bytes, at, at + length);
            at += length;
            return inner;
        }

        String string() throws Malformed {
            int length = length();
            try {
                String s = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes, at, length)).toString();
                at += length;
                return s;
            } catch (CharacterCodingException e) {
                throw new Malformed("invalid UTF-8 in a string at byte " + at);
            }
        }

        private int length() throws Malformed {
            long length = varint();
            if (length < 0 || length > end - at) {
                throw new Malformed("field of " + length + " bytes at byte " + at + " runs past its end (" + end + ")");
            }
            return (int) length;
        }

        void skip(int wire) throws Malformed {
            switch (wire) {
                case 0 -> varint();
                case 1 -> advance(8);
                case 2 -> advance(length());
                case 5 -> advance(4);
                default -> throw new Malformed("unsupported wire type " + wire + " at byte " + at);
            }
        }

        private void advance(int n) throws Malformed {
            if (n > end - at) {
                throw new Malformed("field of " + n + " bytes at byte " + at + " runs past its end (" + end + ")");
            }
            at += n;
        }
    }

    /** A parse failure; becomes an {@link InvalidFileException} naming the file. */
    private static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }
}
