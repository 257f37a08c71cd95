/**
 * Tensors: a shape, a dtype and a view into off-heap {@link ai.janus.tensor.Storage}.
 *
 * <p>Storage is off-heap so that safetensors files can be memory-mapped and OpenBLAS (later
 * cuBLAS) can read and write it without copies. Every tensor is contiguous and row-major; a view
 * is a byte offset into its storage plus a shape. Sizes and offsets are {@code long}; a single
 * tensor's Java-side view is limited to {@link java.lang.Integer#MAX_VALUE} bytes by
 * {@link java.nio.ByteBuffer}, which is checked with a clear message.
 *
 * <p>Shapes in javadoc use one dimension legend for all of janus (B batch, T time, N packed
 * tokens, S sequences, P pairs, C channels, F ffn, V vocab, H heads, KV kv heads, D head dim,
 * L layers), defined with the naming rules in docs/architecture.md ("Names").
 */
package ai.janus.tensor;
