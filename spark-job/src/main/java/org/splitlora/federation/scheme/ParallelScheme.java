package org.splitlora.federation.scheme;

import java.util.List;
import java.util.Map;
import org.splitlora.config.TrainConfig;
import org.splitlora.federation.ClientStage;
import org.splitlora.splitft.CutDecision;

/**
 * FedLoRA (whole-model clients), SplitLoRA and SplitFT (split clients): all of a round's clients in
 * one barrier stage, each from the same aggregate for the round's local steps; then the segments'
 * cuts may move (SplitFT).
 */
final class ParallelScheme implements TrainingScheme {

    private final int localSteps;
    private final ClientSegments segments;

    ParallelScheme(TrainConfig cfg, ClientSegments segments) {
        this.localSteps = cfg.train().localSteps();
        this.segments = segments;
    }

    @Override
    public boolean usesSplitServer() {
        return segments.split();
    }

    @Override
    public int taskSlots(int clientsPerRound) {
        return clientsPerRound;
    }

    @Override
    public int stepsPerRound(int clientsPerRound) {
        return localSteps;
    }

    @Override
    public Rounds start(SchemeContext ctx) {
        if (ctx.restored() != null) {
            segments.restore(ctx.restored().cuts());
        }
        ClientStage stage = ctx.stage();
        return new Rounds() {
            @Override
            public SchemeRound train(int round, List<Integer> clients, Map<String, float[]> global) {
                Map<Integer, Integer> cuts = segments.cuts(clients);
                ClientStage.Result r = stage.run(round, round * localSteps, segments.layers(clients), segments::spec, global);
                List<CutDecision> decisions = segments.afterRound(round, r.updates(), stage);
                return new SchemeRound(r.global(), r.updates(), r.server(), cuts, decisions, r.startTruncation(),
                        r.aggregateTruncation(), r.adapterBytes());
            }

            @Override
            public Map<Integer, Integer> cuts() {
                return segments.checkpoint();
            }
        };
    }
}
