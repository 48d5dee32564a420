package org.splitlora.federation.scheme;

import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.federation.ClientSeeds;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.train.AdamW;
import org.splitlora.train.CentralTrainer;
import org.splitlora.train.TrainOptions;

/**
 * CenLoRA in the driver: the whole model on all clients' data, trained as client 0 with the global
 * batch of a federated round (batch size × clients per round), so that a one-client federated run
 * and it see the same batches and dropout masks. No split server, no Spark tasks.
 */
final class CentralScheme implements TrainingScheme {

    private final TrainConfig cfg;
    private final ModelConfig model;

    CentralScheme(TrainConfig cfg, ModelConfig model) {
        this.cfg = cfg;
        this.model = model;
    }

    @Override
    public boolean usesSplitServer() {
        return false;
    }

    @Override
    public int taskSlots(int clientsPerRound) {
        return 0;
    }

    @Override
    public int stepsPerRound(int clientsPerRound) {
        return cfg.train().localSteps();
    }

    @Override
    public Rounds start(SchemeContext ctx) {
        return new CentralRounds(ctx);
    }

    /** One set of adapters and one optimizer for all rounds: after each round they are the global adapters. */
    private final class CentralRounds implements Rounds {
        private final List<TokenizedExample> data;
        private final int totalSteps;
        private final LoraAdapters lora;
        private final CentralTrainer trainer;

        CentralRounds(SchemeContext ctx) {
            this.data = ctx.allExamples().get();
            this.totalSteps = ctx.totalSteps();
            NDManager parent = ctx.wholeModel().manager();
            this.lora = LoraAdapters.fromFloats(parent, model, cfg.lora(), 0, model.numLayers(), ctx.global());
            TrainOptions options = new TrainOptions(cfg.train().batchSize() * ctx.clientsPerRound(), cfg.train().microBatchSize(),
                    cfg.optimizer(), cfg.train().labelSmoothing(), ClientSeeds.of(cfg.seed(), 0));
            this.trainer = new CentralTrainer(ctx.wholeModel(), lora, options, data,
                    (long) ctx.firstRound() * cfg.train().localSteps());
            if (ctx.restored() != null && ctx.restored().centralOptimizer() != null) {
                trainer.restore(ctx.restored().centralOptimizer());
            }
        }

        @Override
        public SchemeRound train(int round, List<Integer> clients, Map<String, float[]> global) {
            long t0 = System.nanoTime();
            int steps = cfg.train().localSteps();
            CentralTrainer.Result r = trainer.run(round * steps, steps, totalSteps);
            Map<String, float[]> trained = lora.toFloats();
            double seconds = (System.nanoTime() - t0) / 1e9;
            ClientUpdate update = new ClientUpdate(0, model.numLayers(), cfg.lora().rank(model.numLayers() - 1), trained, null,
                    data.size(), steps, r.sum().loss(), r.sum().tokens(), seconds, r.timings(), 0, 0, 0);
            return new SchemeRound(trained, List.of(update), null, Map.of(), List.of(), 0, 0, 0);
        }

        @Override
        public AdamW.State centralOptimizer() {
            return trainer.optimizerState();
        }

        @Override
        public void close() {
            trainer.close();
            lora.close();
        }
    }
}
