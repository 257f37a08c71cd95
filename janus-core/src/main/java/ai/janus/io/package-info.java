/**
 * Checkpoint file formats: safetensors (single and sharded) and their JSON pieces.
 *
 * <p>Every reader validates a whole file before it hands out a byte of it, and every problem is
 * an {@link ai.janus.io.InvalidFileException}: one line naming the file and the problem. Writers
 * write to a temporary sibling and rename, so a crash never leaves a half-written file under the
 * final name.
 */
package ai.janus.io;
