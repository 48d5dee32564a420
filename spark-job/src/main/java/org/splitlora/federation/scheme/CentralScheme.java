package org.splitlora.federation.scheme;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.federation.ClientSeeds;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.train.AdamW;
import org.splitlora.train.CentralTrainer;
import org.splitlora.train.LocalSteps;
import org.splitlora.train.TrainOptions;

/**
 * CenLoRA in the driver: the whole model on all clients' data, trained as client 0 (its dropout
 * masks), so that a one-client federated run and it see the same batches and masks. A step's batch
 * is the global batch of a federated round: {@code union} draws batch size × clients per round
 * examples from all the data; {@code per-client} pools batch size examples from each client's
 * shard, drawn as that client draws them, so a federated run with every client in every round sees
 * the same examples at every step. No split server, no Spark tasks.
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
        private final int examples;
        private final int totalSteps;
        private final LoraAdapters lora;
        private final CentralTrainer trainer;

        CentralRounds(SchemeContext ctx) {
            SortedMap<Integer, List<TokenizedExample>> byClient = ctx.examplesByClient().get();
            this.examples = byClient.values().stream().mapToInt(List::size).sum();
            this.totalSteps = ctx.totalSteps();
            NDManager parent = ctx.wholeModel().manager();
            this.lora = LoraAdapters.fromFloats(parent, model, cfg.lora(), 0, model.numLayers(), ctx.global());
            long batchesDone = (long) ctx.firstRound() * cfg.train().localSteps();
            long seed = ClientSeeds.of(cfg.seed(), 0);
            LocalSteps walk;
            int batch;
            if (cfg.train().centralBatches() == TrainConfig.CentralBatches.PER_CLIENT) {
                List<LocalSteps.Shard> shards = new ArrayList<>();
                byClient.forEach((client, data) -> shards.add(new LocalSteps.Shard(data, ClientSeeds.of(cfg.seed(), client))));
                walk = new LocalSteps(shards, cfg.train().batchSize(), batchesDone);
                batch = cfg.train().batchSize() * shards.size();
            } else {
                List<TokenizedExample> all = new ArrayList<>(examples);
                byClient.values().forEach(all::addAll);
                batch = cfg.train().batchSize() * ctx.clientsPerRound();
                walk = new LocalSteps(all, seed, batch, batchesDone);
            }
            TrainOptions options = new TrainOptions(batch, cfg.train().microBatchSize(), cfg.optimizer(),
                    cfg.train().labelSmoothing(), seed, cfg.train().gradientCheckpointing());
            this.trainer = new CentralTrainer(ctx.wholeModel(), lora, options, walk);
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
                    examples, steps, r.sum().loss(), r.sum().tokens(), seconds, r.timings(), 0, 0, 0);
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
