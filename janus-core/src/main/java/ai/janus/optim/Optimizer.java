package ai.janus.optim;

import ai.janus.model.ParameterSet;
import java.io.IOException;
import java.nio.file.Path;

/**
 * An optimizer bound to one set of parameters (given at construction) that updates them from
 * their gradients, one call per optimizer step.
 */
public interface Optimizer extends AutoCloseable {

    /**
     * Updates every parameter from its gradient with learning rate {@code lr}. The gradients
     * are F32 with the parameters' specs; they are read, not modified.
     */
    void step(ParameterSet gradients, double lr);

    /** Optimizer steps taken so far (the bias-correction step of the next call is this + 1). */
    long steps();

    /** Bytes of optimizer state held (moments, 8-bit codes and block scales, master weights). */
    long stateBytes();

    /**
     * Writes the whole state (step count, hyper-parameters, every moment, codes and scales,
     * master weights) to {@code file} as a versioned safetensors file, atomically.
     */
    void save(Path file) throws IOException;

    /**
     * Replaces the state with the one in {@code file}, written by {@link #save} of an optimizer
     * of the same type, hyper-parameters, parameter precision and parameter specs. A file that
     * does not match is an {@link ai.janus.io.InvalidFileException} naming the file and the
     * problem, and leaves this optimizer unchanged. With fp32 master weights the bf16
     * parameters are reset to the loaded master.
     */
    void load(Path file) throws IOException;

    /** Frees the optimizer state; the parameters belong to the caller. */
    @Override
    void close();
}
