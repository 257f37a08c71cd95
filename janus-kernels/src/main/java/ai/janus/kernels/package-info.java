/**
 * The CUDA backend over the JavaCPP CUDA presets (cudart, cuBLASLt, NCCL) and the kernels built
 * from {@code native/}. For now it holds {@link ai.janus.kernels.CudaProbe}, which tells whether a
 * GPU is usable and, when it is not, why; the backend itself follows the CUDA issue.
 */
package ai.janus.kernels;
