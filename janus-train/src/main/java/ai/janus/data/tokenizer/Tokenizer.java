package ai.janus.data.tokenizer;

import java.util.OptionalInt;

/**
 * Text ↔ token ids. Encoding follows SentencePiece semantics: no BOS or EOS is added (the chat
 * template adds exactly one of each), and a dummy-prefix tokenizer marks the start of every encoded
 * string as a word start. Implementations are safe to call from several threads at once.
 */
public interface Tokenizer extends AutoCloseable {

    /**
     * The ids of {@code text}, without BOS or EOS. Text with an unpaired UTF-16 surrogate is an
     * {@link IllegalArgumentException}.
     */
    int[] encode(String text);

    /**
     * The text of {@code ids}; control ids (BOS, EOS) are invisible. An id outside the vocabulary is
     * an {@link IllegalArgumentException}.
     */
    String decode(int[] ids);

    /** The piece of {@code id} as written in the vocabulary ("▁Hello", "&lt;0x0A&gt;", "&lt;s&gt;"). */
    String piece(int id);

    /** The id of a vocabulary piece, or empty when no piece is spelled exactly so. */
    OptionalInt pieceId(String piece);

    /** V, the number of ids. */
    int vocabSize();

    int bosId();

    int eosId();

    int unkId();

    /** The identity of the tokenizer ("sha256:" + hex of its model file), stored with checkpoints and caches. */
    String fingerprint();

    @Override
    void close();
}
