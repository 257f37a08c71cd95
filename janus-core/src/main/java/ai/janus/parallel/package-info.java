/**
 * The thread pool every CPU-side loop runs on ({@link ai.janus.parallel.Parallel}): the CPU
 * backend's ops, the optimizers' per-tensor updates and the strategies' reductions. It lives
 * apart from the backend so that code which only needs threads (the optimizer) does not depend
 * on the CPU backend.
 */
package ai.janus.parallel;
