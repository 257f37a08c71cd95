/**
 * Tokenizers: text ↔ token ids behind the {@link ai.janus.data.tokenizer.Tokenizer} interface.
 *
 * <p>{@link ai.janus.data.tokenizer.SentencePieceTokenizer} reads a SentencePiece {@code .model}
 * file (the Mistral v0.1/v0.2 tokenizer: BPE, 32000 pieces, byte fallback, dummy prefix "▁").
 * Encoding runs in the SentencePiece C++ library through the DJL JNI binding; the vocabulary, the
 * special ids, piece lookup and decoding come from the model file itself, read by
 * {@link ai.janus.data.tokenizer.SentencePieceModel}, because the JNI has no size call, returns
 * strings through modified UTF-8 (it corrupts emoji and stops at NUL) and aborts the JVM on an id
 * outside the vocabulary. A Hugging Face {@code tokenizer.json} backend can implement the same
 * interface later.
 */
package ai.janus.data.tokenizer;
