package org.splitlora.federation.scheme;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.splitlora.config.TrainConfig;
import org.splitlora.federation.ClientStage;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.util.Seeds;

/**
 * Vanilla split learning: a round's clients take turns in a seeded order, each turn a stage of one
 * client for its local steps that continues from the previous turn's aggregate (the client
 * adapters relayed), so a round takes local steps × clients of the schedule.
 */
final class SequentialScheme implements TrainingScheme {

    private final long seed;
    private final int localSteps;
    private final ClientSegments segments;

    SequentialScheme(TrainConfig cfg, ClientSegments segments) {
        this.seed = cfg.seed();
        this.localSteps = cfg.train().localSteps();
        this.segments = segments;
    }

    @Override
    public boolean usesSplitServer() {
        return segments.split();
    }

    @Override
    public int taskSlots(int clientsPerRound) {
        return 1;
    }

    @Override
    public int stepsPerRound(int clientsPerRound) {
        return localSteps * clientsPerRound;
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
                List<Integer> order = new ArrayList<>(clients);
                Collections.shuffle(order, new Random(Seeds.derive(seed, 0x7475726eL, round)));
                List<ClientUpdate> updates = new ArrayList<>();
                Map<String, float[]> adapters = global;
                ClientStage.Result last = null;
                double start = 0;
                double aggregate = 0;
                long adapterBytes = 0;
                for (int turn = 0; turn < order.size(); turn++) {
                    int first = (round * order.size() + turn) * localSteps;
                    last = stage.run(round, first, segments.layers(List.of(order.get(turn))), segments::spec, adapters);
                    adapters = last.global();
                    updates.addAll(last.updates());
                    start = Math.max(start, last.startTruncation());
                    aggregate = Math.max(aggregate, last.aggregateTruncation());
                    adapterBytes += last.adapterBytes();
                }
                return new SchemeRound(adapters, updates, last.server(), cuts, segments.afterRound(round, updates, stage), start,
                        aggregate, adapterBytes);
            }

            @Override
            public Map<Integer, Integer> cuts() {
                return segments.checkpoint();
            }
        };
    }
}
