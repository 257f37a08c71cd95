/**
 * The CPU backend: OpenBLAS sgemm for every projection, multi-threaded Java for the rest, and a
 * FlashAttention-2-style tiled attention that never holds a T x T score matrix.
 *
 * <p>Heavy loops run on the backend's own {@link ai.janus.parallel.Parallel} pool (never the
 * common ForkJoin pool), copy rows into heap scratch arrays and compute there, so that C2 can
 * vectorise the inner loops.
 */
package ai.janus.backend.cpu;
