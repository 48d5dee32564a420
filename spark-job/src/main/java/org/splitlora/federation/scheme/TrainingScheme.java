package org.splitlora.federation.scheme;

import java.util.List;
import java.util.Map;
import org.splitlora.config.TrainConfig;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.splitft.CutPolicy;
import org.splitlora.train.AdamW;

/**
 * How a run trains its rounds: CenLoRA in the driver, or federated clients as Spark tasks, all of a
 * round's at once or one after another. A scheme says first what it needs of the run (a split
 * server, task slots, the steps of the schedule), then, started, trains round after round and holds
 * what lives across rounds (the clients' cuts, CenLoRA's optimizer). The round driver keeps the
 * round loop, evaluation, listeners and the checkpoint.
 */
public interface TrainingScheme {

    /** The scheme of {@code cfg.mode()}: the one place training looks at the run's mode. */
    static TrainingScheme of(TrainConfig cfg, ModelConfig model, List<Integer> clients) {
        return switch (cfg.mode()) {
            case CENTRAL -> new CentralScheme(cfg, model);
            case FL -> new ParallelScheme(cfg, new WholeModelSegments(cfg.lora(), model.numLayers()));
            case SFL -> new ParallelScheme(cfg, new CutSegments(cfg, clients, CutSegments.STAY));
            case SPLITFT -> new ParallelScheme(cfg, new CutSegments(cfg, clients, CutPolicy.of(cfg.splitft())));
            case SL -> new SequentialScheme(cfg, new CutSegments(cfg, clients, CutSegments.STAY));
        };
    }

    /** Whether its clients train against the driver's split server. */
    boolean usesSplitServer();

    /** Spark task slots a round holds at once with {@code clientsPerRound} sampled clients; 0 when it trains in the driver. */
    int taskSlots(int clientsPerRound);

    /** Optimizer steps of the learning-rate schedule one round takes. */
    int stepsPerRound(int clientsPerRound);

    /** Starts training at round {@code ctx.firstRound()}. */
    Rounds start(SchemeContext ctx);

    /** A started scheme: trains rounds in order; closing frees what it holds. */
    interface Rounds extends AutoCloseable {

        /** Trains {@code round} with the sampled {@code clients}, starting from the whole model's adapters {@code global}. */
        SchemeRound train(int round, List<Integer> clients, Map<String, float[]> global);

        /** Every client's cut after the rounds so far, as checkpointed; empty when clients hold the whole model. */
        default Map<Integer, Integer> cuts() {
            return Map.of();
        }

        /** CenLoRA's optimizer after the rounds so far, as checkpointed; null when the clients keep their own. */
        default AdamW.State centralOptimizer() {
            return null;
        }

        @Override
        default void close() {}
    }
}
