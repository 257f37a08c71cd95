/**
 * Training and evaluation data: the Multifaceted Collection JSONL formats, the chat template, and
 * validation while streaming.
 *
 * <p>Reading order: {@link ai.janus.data.JsonlReader} (lines → JSON objects or problems) →
 * {@link ai.janus.data.RowFormat} and its rows ({@link ai.janus.data.SftRow},
 * {@link ai.janus.data.PreferencePair}, {@link ai.janus.data.RewardPair},
 * {@link ai.janus.data.BenchRow}) → {@link ai.janus.data.RowReader} → {@link ai.janus.data.ChatTemplate}
 * (the one place the template is rendered) → {@link ai.janus.data.Validator} (per-reason
 * {@link ai.janus.data.Action}s, the drop threshold, the {@link ai.janus.data.ValidationSummary}) →
 * {@link ai.janus.data.Datasets} (whole-file loads). {@link ai.janus.data.PairBuilder} makes DPO
 * pairs from SFT rows that share a prompt.
 *
 * <p>Bad input never crashes a load: every problem is a {@link ai.janus.data.RowProblem} of one line
 * and ends as a one-line {@link ai.janus.data.DataException} {@code file:line[:column]: problem — excerpt}
 * or as a counted drop. Line numbers and counts are {@code long}; token counts of one sequence are
 * {@code int} (they index arrays).
 */
package ai.janus.data;
