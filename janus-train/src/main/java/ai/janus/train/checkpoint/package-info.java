/**
 * Training checkpoints on disk (docs/spec/reliability.md, "Checkpoint, resume"): each save is a directory
 * written as {@code step-N.tmp/}, its files forced to disk, a manifest of their sizes and SHA-256
 * written last, then renamed to {@code step-N/} before {@code latest} points at it. A directory
 * without a valid manifest does not exist as far as resume is concerned, so killing the process
 * at any moment of a save never loses the previous checkpoint.
 */
package ai.janus.train.checkpoint;
