/**
 * The CUDA backend: {@link ai.janus.kernels.CudaBackend} implements {@link ai.janus.backend.Backend}
 * over the kernels built from {@code native/} (ABI: {@code native/KERNELS.md}) and cuBLASLt,
 * through the JavaCPP CUDA presets (driver API for modules and launches, cuBLASLt for products);
 * {@link ai.janus.kernels.CudaOptimizerKernels} holds the GPU AdamW, 8-bit AdamW and gradient-norm
 * steps (the optimizers' {@link ai.janus.optim.StepKernels} on the GPU); {@link ai.janus.kernels.CudaProbe} and {@code CudaBackend.unavailableReason()} say why
 * CUDA cannot be used when it cannot (no libcuda.so.1, no device, kernels not built).
 *
 * <p><b>Memory design.</b> Host tensors stay what they are ({@link ai.janus.tensor.Tensor} over
 * {@link ai.janus.tensor.Storage}); the caller of {@code CudaBackend.open()} installs the backend's
 * caching allocator over CUDA <em>managed</em> memory, {@code CudaBackend.allocator()}, as
 * Storage's allocator ({@code Storage.useAllocator}; {@code ManagedMemory}: size-classed free lists,
 * blocks prefetched to the GPU with {@code cuMemPrefetchAsync} and zeroed there). Every tensor the
 * model, the parameter and gradient sets and the optimizers allocate is then addressable by kernels
 * and readable by Java after the op's stream synchronisation, so Mistral and the trainers run
 * unchanged. The cost is page migration: a page Java touches moves to the host and back on the next
 * kernel that touches it (the model's host traffic is small: ids, positions, RoPE tables,
 * cu_seqlens, per-step scalars); a tensor from elsewhere (a memory-mapped F32 checkpoint) is staged
 * through a managed block per op.
 *
 * <p><b>Precision.</b> Matrix products and attention take bf16 inputs cast from the fp32 tensors
 * into cached scratch, and accumulate in fp32; the other ops are fp32 as on the CPU.
 *
 * <p><b>Synchronisation.</b> Each op synchronises its stream before returning: simple and correct
 * with managed memory, and the first thing to optimise (events, fewer syncs, bf16 weight caches).
 *
 * <p>Accumulation rules are the Backend's: parameter gradients accumulate, input gradients are
 * overwritten unless the method says otherwise.
 */
package ai.janus.kernels;
