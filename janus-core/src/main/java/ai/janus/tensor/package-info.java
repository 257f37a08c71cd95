/**
 * Tensors: a shape, a dtype and a view into off-heap {@link ai.janus.tensor.Storage}.
 *
 * <p>Storage is off-heap so that safetensors files can be memory-mapped and OpenBLAS (later
 * cuBLAS) can read and write it without copies. Every tensor is contiguous and row-major; a view
 * is a byte offset into its storage plus a shape. Sizes and offsets are {@code long}; a single
 * tensor's Java-side view is limited to {@link java.lang.Integer#MAX_VALUE} bytes by
 * {@link java.nio.ByteBuffer}, which is checked with a clear message.
 *
 * <p>Dimension legend used throughout janus: B batch, T time, N packed tokens, C channels
 * (hidden), F ffn (intermediate), V vocab, H heads, KV kv heads, D head dim, L layers.
 */
package ai.janus.tensor;
