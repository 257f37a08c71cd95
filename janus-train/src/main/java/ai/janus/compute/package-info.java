/**
 * Where a job's math runs ({@link ai.janus.compute.Compute}): the one place in janus-train that
 * chooses between the CPU and the CUDA backend, opens the thread pool and the optimizer's step
 * kernels, and installs the device allocator. It is the only code in janus-train that imports
 * {@code ai.janus.kernels}; trainers, generation, scoring and the demo ask it for a backend.
 */
package ai.janus.compute;
