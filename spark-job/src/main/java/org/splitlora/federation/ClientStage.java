package org.splitlora.federation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntFunction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.SparkSession;
import org.splitlora.aggregation.Aggregator;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.split.ServerSegment;
import org.splitlora.split.SplitServer;
import org.splitlora.train.AdamW;
import org.splitlora.train.SimulatedSpeed;
import org.splitlora.util.Seeds;
import scala.Tuple2;

/**
 * Clients trained as one barrier stage of Spark tasks, a task per client (all at once, so the split
 * server, when there is one, can serve them in lock-step): each client, and each server unit, starts
 * from the aggregate at its ranks; afterwards every block is aggregated over its holders. Keeps
 * each client's optimizer state and the batches it has consumed from stage to stage.
 */
public final class ClientStage {

    private final SparkSession spark;
    private final TrainConfig cfg;
    private final ModelConfig config;
    private final ClientShards shards;
    private final String runId;
    private final Aggregator aggregator;
    /** Null when the clients train the whole model. */
    private final SplitServer server;
    private final SplitEndpoint endpoint;
    private final RoundFailures failures;
    private final int totalSteps;
    private final Map<Integer, AdamW.State> optimizerStates = new TreeMap<>();
    private final Map<Integer, Long> batchesDone = new TreeMap<>();

    ClientStage(SparkSession spark, TrainConfig cfg, ModelConfig config, ClientShards shards, String runId, Aggregator aggregator,
                SplitServer server, SplitEndpoint endpoint, RoundFailures failures, int totalSteps) {
        this.spark = spark;
        this.cfg = cfg;
        this.config = config;
        this.shards = shards;
        this.runId = runId;
        this.aggregator = aggregator;
        this.server = server;
        this.endpoint = endpoint;
        this.failures = failures;
        this.totalSteps = totalSteps;
    }

    /**
     * What a stage did: the aggregate, the clients' updates (by client id), the split server's state
     * after it (null without one), and the largest relative truncation errors of re-factoring adapters
     * to fewer ranks (starting holders, aggregating).
     */
    public record Result(Map<String, float[]> global, List<ClientUpdate> updates, ServerSegment.Snapshot server,
                         double startTruncation, double aggregateTruncation) {

        /** Adapter bytes each way: a client gets its start adapters and returns ones of the same shapes. */
        public long adapterBytes() {
            long bytes = 0;
            for (ClientUpdate u : updates) {
                for (float[] t : u.lora().values()) {
                    bytes += 4L * t.length;
                }
            }
            return bytes;
        }
    }

    /**
     * One stage of round {@code round} for global steps [firstStep, firstStep + train.localSteps).
     *
     * @param layers per client, the blocks [0, layers) it trains
     * @param specAt the adapters' ranks of a client segment of that many layers
     * @param global the whole model's adapters the holders start from
     */
    public Result run(int round, int firstStep, Map<Integer, Integer> layers, IntFunction<LoraSpec> specAt,
                      Map<String, float[]> global) {
        long seed = Seeds.derive(cfg.seed(), 0x72616e6bL, round, firstStep);
        double[] startTruncation = {0};
        Map<Integer, RoundPlan.SegmentStart> starts = new TreeMap<>();
        for (int k : new TreeSet<>(layers.values())) {
            LoraSpec spec = specAt.apply(k);
            Aggregator.Result client = aggregator.start(global, spec, 0, k, config, seed);
            starts.put(k, new RoundPlan.SegmentStart(spec, client.adapters()));
            startTruncation[0] = Math.max(startTruncation[0], client.truncationError());
        }
        if (server != null) {
            server.beginRound(round, firstStep, cfg.train().localSteps(), layers, (spec, from, to) -> {
                Aggregator.Result s = aggregator.start(global, spec, from, to, config, seed);
                startTruncation[0] = Math.max(startTruncation[0], s.truncationError());
                return s.adapters();
            });
        }
        List<ClientUpdate> updates = runStage(clientStarts(layers), plan(round, firstStep, starts));
        ServerSegment.Snapshot serverState = null;
        Map<Integer, Double> weights = new TreeMap<>();
        List<Aggregator.Holder> holders = new ArrayList<>();
        for (ClientUpdate u : updates) {
            weights.put(u.clientId(), FedAvg.weight(u, cfg.federation().weighting()));
            holders.add(new Aggregator.Holder("client " + u.clientId(), weights.get(u.clientId()), u.lora(), Aggregator.Role.CLIENT));
        }
        if (server != null) {
            server.endRound();
            serverState = server.snapshot();
            serverState.units().forEach((name, unit) -> {
                // a server unit stands for the clients whose rows it ran
                double w = unit.clients().stream().mapToDouble(c -> weights.getOrDefault(c, 0.0)).sum();
                if (w > 0) {
                    holders.add(new Aggregator.Holder("server " + name + " " + unit.clients(), w, unit.lora(),
                            aggregator.aggregatesServerUnits() ? Aggregator.Role.CLIENT : Aggregator.Role.SERVER));
                }
            });
        }
        Aggregator.Result agg = aggregator.aggregate(holders, global,
                new Aggregator.Round(config, seed, firstStep, totalSteps));
        remember(updates);
        return new Result(agg.adapters(), updates, serverState, startTruncation[0], agg.truncationError());
    }

    /** A client starts its next stage with a fresh optimizer (its cut moved). */
    public void restartOptimizer(int client) {
        optimizerStates.remove(client);
    }

    /** Each client's optimizer state as checkpointed (those that keep one). */
    Map<Integer, AdamW.State> optimizerStates() {
        return Map.copyOf(optimizerStates);
    }

    /** Batches each client has consumed, as checkpointed. */
    Map<Integer, Long> batchesDone() {
        return Map.copyOf(batchesDone);
    }

    void restore(RunState state) {
        optimizerStates.putAll(state.clientOptimizers());
        batchesDone.putAll(state.batchesDone());
    }

    RoundPlan plan(int round, int firstStep, Map<Integer, RoundPlan.SegmentStart> starts) {
        return new RoundPlan(runId, cfg.model(), cfg.devices().client(), starts, cfg.optimizer(), cfg.federation().clientOptimizer(),
                cfg.train().batchSize(), cfg.train().microBatchSize(), cfg.train().labelSmoothing(),
                cfg.train().gradientCheckpointing(), cfg.seed(), round, firstStep, cfg.train().localSteps(), totalSteps, endpoint);
    }

    /** Each client's own start, in client id order (the order of the round's partitions). */
    List<ClientStart> clientStarts(Map<Integer, Integer> layers) {
        List<ClientStart> out = new ArrayList<>();
        for (Map.Entry<Integer, Integer> e : new TreeMap<>(layers).entrySet()) {
            int c = e.getKey();
            out.add(new ClientStart(c, e.getValue(), new SimulatedSpeed(cfg.clientSpeed(c)), optimizerStates.get(c),
                    batchesDone.getOrDefault(c, 0L)));
        }
        return out;
    }

    /**
     * One barrier stage with a task per client, each given its client's rows and its own start;
     * checks that exactly those clients answered, once each.
     */
    private List<ClientUpdate> runStage(List<ClientStart> starts, RoundPlan plan) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Integer> clients = starts.stream().map(ClientStart::clientId).toList();
        Broadcast<RoundPlan> b = jsc.broadcast(plan);
        try {
            JavaRDD<Tuple2<Integer, TokenizedExample>> data = shards.forClients(clients).toJavaRDD();
            // one start per partition: parallelize slices n elements into n partitions, in order
            JavaRDD<ClientStart> own = jsc.parallelize(starts, starts.size());
            RDD<ClientInput> inputs = data.zipPartitions(own, ClientInput::of).rdd();
            RDD<ClientUpdate> out = inputs.barrier().mapPartitions(new ClientTask(b), false, ClientShards.tag(ClientUpdate.class));
            // the shuffle makes the barrier stage a map stage, which Spark retries as a whole when a
            // client task fails (a failed barrier result stage is not retried)
            List<ClientUpdate> updates = new ArrayList<>(failures.run(plan.round(), plan.firstStep(),
                    () -> JavaRDD.fromRDD(out, ClientShards.tag(ClientUpdate.class)).repartition(1).collect()));
            Set<Integer> got = new TreeSet<>();
            for (ClientUpdate u : updates) {
                if (!got.add(u.clientId())) {
                    throw new IllegalStateException("round " + (plan.round() + 1) + ": two updates from client " + u.clientId());
                }
            }
            if (!got.equals(new TreeSet<>(clients))) {
                throw new IllegalStateException("round " + (plan.round() + 1) + ": updates from " + got + ", expected " + clients);
            }
            updates.sort((x, y) -> Integer.compare(x.clientId(), y.clientId()));
            return updates;
        } finally {
            b.destroy();
        }
    }

    private void remember(List<ClientUpdate> updates) {
        for (ClientUpdate u : updates) {
            if (cfg.federation().optimizerState() == TrainConfig.OptimizerState.KEEP) {
                optimizerStates.put(u.clientId(), u.optimizer());
            }
            batchesDone.merge(u.clientId(), (long) u.steps(), Long::sum);
        }
    }
}
