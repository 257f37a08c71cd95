/**
 * The end-to-end demo ({@code janus demo}): the Janus recipe reproduced in miniature on a CPU.
 * A seeded generator of Multifaceted-style tasks ({@link ai.janus.demo.TaskGenerator}: instructions
 * from a small grammar, system messages composed of one preference per dimension and rendered
 * through paraphrase templates), a deterministic gold writer ({@link ai.janus.demo.GoldWriter}),
 * a rubric checker scoring adherence per dimension 1–5 ({@link ai.janus.demo.AdherenceChecker}),
 * and the pipeline ({@link ai.janus.demo.DemoPipeline}): base → SFT → DPO, ORPO from base, reward
 * model from SFT → best-of-N, evaluated on held-out system messages and written up as a Markdown
 * table and a self-contained HTML report ({@link ai.janus.demo.Report}).
 */
package ai.janus.demo;
