/**
 * Scale-out: the collectives of data-parallel and ZeRO-sharded training, and how the ranks of a
 * job find each other. No collective is implemented here; janus drives the engines clusters
 * already run.
 *
 * <ul>
 *   <li>{@link ai.janus.dist.Communicator}: all-reduce, reduce-scatter, all-gather, broadcast and
 *       barrier over janus {@link ai.janus.tensor.Tensor}s, each returning a {@link ai.janus.dist.Work}
 *       handle. Every rank must issue the same collectives in the same order (c10d's rule).
 *       Implementations: {@link ai.janus.dist.LocalCommunicator} (world size 1, the default),
 *       {@link ai.janus.dist.GlooCommunicator} (CPU, c10d's ProcessGroupGloo from the Bytedeco
 *       libtorch presets, zero-copy over janus' off-heap buffers) and, in janus-kernels, the NCCL
 *       one for GPUs.</li>
 *   <li>{@link ai.janus.dist.Rendezvous}: rank, world size, local rank and the store's address,
 *       read from what torchrun, Slurm, Open MPI or Kubernetes put in the environment.</li>
 *   <li>{@link ai.janus.dist.KeyValueStore}: the c10d TCPStore or FileStore the ranks exchange
 *       small values through (Gloo's addresses, NCCL's unique id, heartbeats). It has no
 *       authentication: it must only listen on a trusted network.</li>
 *   <li>{@link ai.janus.dist.Heartbeats}: which rank died or stalled when a collective fails, so
 *       that the error names it.</li>
 * </ul>
 *
 * libtorch (org.bytedeco:pytorch) is an optional dependency: only {@link ai.janus.dist.C10dStore}
 * and {@link ai.janus.dist.GlooCommunicator} touch it, and {@link ai.janus.dist.Communicators}
 * turns its absence into a one-line error naming what to add.
 */
package ai.janus.dist;
