package ai.janus.data;

import ai.janus.data.tokenizer.Tokenizer;

/**
 * The one place the chat template is rendered (docs/spec/objectives.md, "Chat template and tokenization"):
 * Mistral Instruct v0.2 with the system message folded into the user turn.
 *
 * <pre>
 * prompt part     BOS + encode("[INST] {system}\n{prompt} [/INST]")      ("[INST] {prompt} [/INST]" when system is "")
 * training        prompt part + encode(answer) + EOS                       labels on encode(answer) + EOS
 * generation      prompt part                                              (no trailing space; stop at EOS)
 * reward input    prompt part + encode(response + " ") + EOS               "… [/INST] {response} &lt;/s&gt;"
 * </pre>
 *
 * The answer is encoded in its own call, so its first piece carries the word-start "▁" that the
 * space after "[/INST]" stands for. "[INST]" and "[/INST]" are plain text. There is exactly one BOS
 * (the tokenizer adds none) and one EOS; text that spells "&lt;s&gt;" or "&lt;/s&gt;" encodes as
 * ordinary pieces. The reward input keeps the space before EOS that the published format (and
 * OpenRLHF, which joins {@code response + " " + eos_token}) has: it encodes as a final "▁" piece.
 */
public final class ChatTemplate {
    /** Stored with checkpoints and caches beside the tokenizer fingerprint; change it whenever the rendering changes. */
    public static final String NAME = "mistral-inst-system-in-user/1";

    private final Tokenizer tokenizer;

    public ChatTemplate(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The text of the user turn: "[INST] {system}\n{prompt} [/INST]", or "[INST] {prompt} [/INST]" without a system message. */
    public static String promptText(String system, String prompt) {
        return system.isEmpty() ? "[INST] " + prompt + " [/INST]" : "[INST] " + system + "\n" + prompt + " [/INST]";
    }

    /** BOS + the encoded user turn: the generation prompt, and the prompt part of every sequence below. */
    public int[] prompt(String system, String prompt) {
        int[] text = tokenizer.encode(promptText(system, prompt));
        int[] ids = new int[text.length + 1];
        ids[0] = tokenizer.bosId();
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    /** A training sequence: {@code prompt} (from {@link #prompt}) + encode(answer) + EOS. */
    public TemplatedSequence training(int[] prompt, String answer) {
        return withAnswer(prompt, tokenizer.encode(answer));
    }

    public TemplatedSequence training(String system, String prompt, String answer) {
        return training(prompt(system, prompt), answer);
    }

    /** A reward-model input: {@code prompt} + encode(response + " ") + EOS; the reward is read at the EOS. */
    public TemplatedSequence rewardInput(int[] prompt, String response) {
        return withAnswer(prompt, tokenizer.encode(response + " "));
    }

    public TemplatedSequence rewardInput(String system, String prompt, String response) {
        return rewardInput(prompt(system, prompt), response);
    }

    private TemplatedSequence withAnswer(int[] prompt, int[] answer) {
        int[] ids = new int[prompt.length + answer.length + 1];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(answer, 0, ids, prompt.length, answer.length);
        ids[ids.length - 1] = tokenizer.eosId();
        return new TemplatedSequence(ids, prompt.length);
    }
}
