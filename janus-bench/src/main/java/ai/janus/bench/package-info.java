/**
 * JMH benchmarks, each timing janus and libtorch on the same weights and inputs in the same JVM,
 * so that BENCHMARKS.md can report ratios rather than machine-dependent absolute times.
 *
 * <p>Run with libtorch's OpenMP threads passive, or they spin after every parallel region and
 * steal cores from OpenBLAS and the janus pool:
 * {@code OMP_WAIT_POLICY=PASSIVE java -jar janus-bench/target/benchmarks.jar}.
 */
package ai.janus.bench;
