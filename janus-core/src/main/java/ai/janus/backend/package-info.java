/**
 * The op set the model is written against ({@link ai.janus.backend.Backend}) and the values that
 * parameterise it. Implementations: {@link ai.janus.backend.cpu.CpuBackend} (the executable
 * specification) and the CUDA backend in janus-kernels.
 *
 * <p>Forward ops overwrite their outputs unless a method says it accumulates.
 */
package ai.janus.backend;
