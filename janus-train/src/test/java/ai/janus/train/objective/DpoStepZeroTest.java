package ai.janus.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.ChatTemplate;
import ai.janus.data.Datasets;
import ai.janus.data.PairExample;
import ai.janus.data.TestData;
import ai.janus.data.ValidationRules;
import ai.janus.data.Validator;
import ai.janus.data.batch.PairBatch;
import ai.janus.data.batch.TrainingBatch;
import ai.janus.loss.DpoLoss;
import ai.janus.loss.ModelLosses;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DPO's built-in check (docs/spec/objectives.md): with the reference log-probs cached from the starting
 * policy, the first optimizer step sees exactly ln 2 for every pair, the gradient that follows is
 * dL/dS_π(c) = −β/(2P) and dL/dS_π(r) = +β/(2P), and a small step against it lowers the step's
 * loss below ln 2 (the chosen answers gain on the rejected ones).
 */
class DpoStepZeroTest {
    private static final double LN2 = 0.6931471805599453;

    @TempDir
    Path dir;

    @Test
    void stepZeroIsExactlyLn2PerPairAndTheGradientLowersIt() throws Exception {
        MistralConfig config = Fixtures.tinyConfig();
        ValidationRules rules = ValidationRules.defaults(512);
        Path data = Fixtures.writePairs(dir.resolve("pairs.jsonl"), 6);
        List<PairExample> pairs = Datasets.preferencePairs(new ChatTemplate(TestData.mistral()), new Validator(data, rules));
        int perBatch = 3;
        DpoLoss loss = DpoLoss.janus();
        try (CpuBackend cpu = new CpuBackend(); ParameterSet policy = Fixtures.tinyModel(5, 1f);
             ParameterSet grads = policy.zerosLike()) {
            Mistral model = new Mistral(config, MistralWeights.of(config, policy), cpu);
            ReferenceKey key = ReferenceKey.of(config, policy, TestData.mistral(), ChatTemplate.NAME, rules, data);
            Path cache = dir.resolve("reference.json");
            ReferenceLogProbs.loadOrCompute(cache, key, pairs, () -> ReferenceLogProbs.compute(model, pairs, perBatch, key));
            ReferenceLogProbs ref = ReferenceLogProbs.load(cache, key, pairs); // from disk, as a later run reads it

            // step 0: the policy is the reference; the step holds both micro-batches of 3 pairs
            double stepLoss = 0;
            for (int from = 0; from < pairs.size(); from += perBatch) {
                TrainingBatch b = PairBatch.packed(pairs.subList(from, from + perBatch));
                DpoLoss.Result r = ModelLosses.dpo(model, b.tokens(), b.labels(), ref.chosen(from, from + perBatch),
                        ref.rejected(from, from + perBatch), loss, pairs.size(), grads, true);
                for (int i = 0; i < perBatch; i++) {
                    assertEquals(LN2, r.pairLoss()[i], "pair " + (from + i)); // exactly: S_π = S_ref bit for bit
                    assertEquals(-0.1 / 2 / 6, r.dChosen()[i]);
                    assertEquals(0.1 / 2 / 6, r.dRejected()[i]);
                }
                DpoLoss.Metrics m = r.metrics();
                assertEquals(new DpoLoss.Metrics(3, 0, 0, 0, 0), new DpoLoss.Metrics(m.pairs(), m.chosenReward(),
                        m.rejectedReward(), m.margin(), m.accuracy()));
                assertTrue(m.chosenTokens() > 0 && m.nll() > 0, "the chosen answers' NLL is measured: " + m);
                stepLoss += r.loss();
            }
            assertEquals(LN2, stepLoss, 1e-15);

            // one small plain gradient step: the step's loss drops below ln 2, the mean margin turns positive
            FloatBuffer p = policy.flat().floats(), g = grads.flat().floats();
            for (int i = 0; i < p.capacity(); i++) {
                p.put(i, p.get(i) - 0.05f * g.get(i));
            }
            cpu.zero(grads.flat());
            double after = 0;
            DpoLoss.Metrics metrics = null;
            for (int from = 0; from < pairs.size(); from += perBatch) {
                TrainingBatch b = PairBatch.packed(pairs.subList(from, from + perBatch));
                DpoLoss.Result r = ModelLosses.dpo(model, b.tokens(), b.labels(), ref.chosen(from, from + perBatch),
                        ref.rejected(from, from + perBatch), loss, pairs.size(), grads, true);
                after += r.loss();
                metrics = metrics == null ? r.metrics() : metrics.plus(r.metrics());
            }
            System.out.printf("dpo: step 0 loss ln 2 exactly; after one step %.6f, margin %.2e, accuracy %.2f%n", after,
                    metrics.margin(), metrics.accuracy());
            assertTrue(after < LN2, "loss after one step " + after);
            assertTrue(metrics.margin() > 0, "margin " + metrics.margin());
        }
    }
}
