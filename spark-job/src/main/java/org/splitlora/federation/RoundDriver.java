package org.splitlora.federation;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.aggregation.Aggregator;
import org.splitlora.config.RunMode;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelPart;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.nn.Torch;
import org.splitlora.split.ServerSegment;
import org.splitlora.split.ServerSettings;
import org.splitlora.split.SplitAddress;
import org.splitlora.split.SplitServer;
import org.splitlora.splitft.ClientRound;
import org.splitlora.splitft.CutDecision;
import org.splitlora.splitft.CutPolicy;
import org.splitlora.train.AdamW;
import org.splitlora.train.BatchStep;
import org.splitlora.train.Evaluator;
import org.splitlora.train.LocalBatchStep;
import org.splitlora.train.LocalSteps;
import org.splitlora.train.SimulatedSpeed;
import org.splitlora.util.Seeds;
import scala.Tuple2;

/**
 * Runs a training job round by round on Spark: picks the round's clients, broadcasts the plan,
 * runs one barrier stage with a task per client (all clients of a round at once, so the split
 * server can serve them in lock-step), collects their updates, aggregates, evaluates when due and
 * tells the listeners. The split server and the evaluation model live in the driver.
 */
public final class RoundDriver implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RoundDriver.class);
    /**
     * Split-server streams a round's client may hold at once: one per stage attempt (4 in
     * conf/spark-defaults.conf), as a lost executor's stream lingers until keepalive closes it.
     */
    private static final int STREAMS_PER_CLIENT = 4;

    private final SparkSession spark;
    private final TrainConfig cfg;
    private final ClientShards shards;
    private final RoundListener listener;
    private final ModelSource source;
    private final ModelConfig config;
    private final NDManager root = NDManager.newBaseManager();
    private NDManager serverRoot;
    private final DecoderModel wholeModel;
    private final ClientSampler sampler;
    private final int rounds;
    private final int totalSteps;
    private final String runId = UUID.randomUUID().toString();
    private final SplitServer server;
    private final SplitEndpoint endpoint;

    private final CutPolicy policy;
    private final ClusterEvents events = new ClusterEvents();
    private final RoundFailures failures;
    private final Aggregator aggregator;
    /** The whole model's adapters after the last aggregation (per-block ranks may differ by aggregator). */
    private Map<String, float[]> global;
    /** Each client's cut in the split modes. */
    private final Map<Integer, Integer> cuts = new TreeMap<>();
    private int startRound;
    private AdamW.State centralOptimizer;
    private final Map<Integer, AdamW.State> optimizerStates = new TreeMap<>();
    private final Map<Integer, Long> batchesDone = new TreeMap<>();

    public RoundDriver(SparkSession spark, TrainConfig cfg, ClientShards shards, RoundListener listener) {
        this.spark = spark;
        this.cfg = cfg;
        this.shards = shards;
        this.listener = listener;
        this.source = ModelSource.of(cfg.model());
        this.config = source.config();
        List<Integer> clients = shards.clientIds();
        this.sampler = new ClientSampler(clients, ClientSampler.perRound(clients.size(),
                cfg.federation().clientsPerRound(), cfg.federation().clientFraction()), cfg.seed());
        this.rounds = rounds(cfg, shards);
        int stepsPerRound = cfg.train().localSteps() * (cfg.mode() == RunMode.SL ? sampler.perRound() : 1);
        this.totalSteps = rounds * stepsPerRound;
        if (cfg.mode() != RunMode.CENTRAL) {
            checkSlots(spark, sampler.perRound());
        }
        this.wholeModel = source.loadWhole(root);
        try (LoraAdapters fresh = LoraAdapters.init(root, config, cfg.lora(), 0, config.numLayers(), cfg.seed())) {
            this.global = fresh.toFloats();
        }
        this.policy = CutPolicy.of(cfg.splitft());
        this.aggregator = cfg.federation().newAggregator();
        if (cfg.mode().split()) {
            for (int c : clients) {
                cuts.put(c, cfg.split().cut());
            }
            serverRoot = NDManager.newBaseManager(serverDevice(cfg.split().serverDevice()));
            ServerSegment segment = new ServerSegment(source.load(ModelPart.server(config, cfg.splitft().minCut()), serverRoot),
                    cfg.split().serverVersion(), cfg.lora(), cfg::loraAtCut, cfg.optimizer(), totalSteps, cfg.train().labelSmoothing());
            TrainConfig.Split s = cfg.split();
            String secret = newSecret();
            SplitAddress address = SplitAddress.of(s.bind(), s.advertiseHost(), spark.sparkContext().isLocal(),
                    spark.sparkContext().getConf().get("spark.driver.host", SplitAddress.LOOPBACK));
            this.server = SplitServer.start(segment, new ServerSettings(address.bind(), s.port(), runId, secret, s.stepTimeout(),
                    s.maxMessageBytes(), STREAMS_PER_CLIENT * sampler.perRound(),
                    s.tls() ? new ServerSettings.Tls(s.tlsCertChain(), s.tlsPrivateKey()) : null));
            LOG.info("split server listens on {}:{}{}; executors dial {}", address.bind(), server.port(),
                    address.allInterfaces() ? " (all interfaces)" : "", address.dial());
            this.endpoint = new SplitEndpoint(address.dial(), server.port(), secret, s.tls() ? readCert(s) : null, s.maxMessageBytes(),
                    s.stepTimeout(), s.wireDtype(), cfg.privacy());
        } else {
            this.server = null;
            this.endpoint = null;
        }
        this.failures = new RoundFailures(spark.sparkContext(), server);
        spark.sparkContext().addSparkListener(events);
        spark.sparkContext().addSparkListener(failures);
    }

    /** Clients sampled per round (task slots a round's barrier stage holds at once). */
    public int clientsPerRound() {
        return sampler.perRound();
    }

    public int rounds() {
        return rounds;
    }

    /** Rounds to run: train.rounds, or enough for train.epochs passes over the largest client shard. */
    static int rounds(TrainConfig cfg, ClientShards shards) {
        if (cfg.train().rounds() > 0) {
            return cfg.train().rounds();
        }
        long largest = shards.clientIds().stream().mapToLong(shards::examples).max().orElse(1);
        long stepsPerEpoch = (largest + cfg.train().batchSize() - 1) / cfg.train().batchSize();
        return (int) Math.max(1, (cfg.train().epochs() * stepsPerEpoch + cfg.train().localSteps() - 1) / cfg.train().localSteps());
    }

    /** Continues from a checkpoint: the next round run is {@code state.completedRounds()}. */
    public void restore(RunState state) {
        if (state.completedRounds() >= rounds) {
            throw new IllegalArgumentException("the run already finished all " + rounds + " rounds");
        }
        startRound = state.completedRounds();
        global = new TreeMap<>(state.global());
        cuts.putAll(state.cuts());
        optimizerStates.putAll(state.clientOptimizers());
        batchesDone.putAll(state.batchesDone());
        centralOptimizer = state.centralOptimizer();
        aggregator.restore(state.aggregator());
        if (server != null) {
            server.restore(state.server());
        }
    }

    /** Trains the remaining rounds; returns the adapters of the whole model after the last. */
    public Map<String, float[]> run() {
        long start = System.nanoTime();
        List<TokenizedExample> all = cfg.mode() == RunMode.CENTRAL ? shards.collectAll() : null;
        try (CentralState central = cfg.mode() == RunMode.CENTRAL ? new CentralState(all) : null) {
            for (int round = startRound; round < rounds; round++) {
                long t0 = System.nanoTime();
                List<Integer> clients = sampler.select(round);
                Map<Integer, Integer> roundCuts = cfg.mode().split() ? cutsOf(clients) : Map.of();
                Aggregate agg = switch (cfg.mode()) {
                    case CENTRAL -> central.round(round);
                    case FL, SFL, SPLITFT -> train(round, round * cfg.train().localSteps(), clients);
                    case SL -> sequentialRound(round, clients);
                };
                List<CutDecision> decisions = moveCuts(round, agg.updates());
                double trainSeconds = (System.nanoTime() - t0) / 1e9;
                boolean evalDue = round + 1 == rounds || (cfg.train().evalEvery() > 0 && (round + 1) % cfg.train().evalEvery() == 0);
                boolean evaluated = evalDue && !shards.valid().isEmpty();
                double val = evaluated ? evaluate(global) : Double.NaN;
                double seconds = (System.nanoTime() - t0) / 1e9;
                RunState state = new RunState(round + 1, Map.copyOf(global), agg.server(), Map.copyOf(optimizerStates),
                        Map.copyOf(batchesDone), central == null ? null : central.optimizerState(), Map.copyOf(cuts),
                        aggregator.state());
                listener.onRound(result(round, clients, agg, roundCuts, decisions, val, evaluated, trainSeconds, seconds,
                        (System.nanoTime() - start) / 1e9, state));
                FaultInjection.afterRound(round);
            }
            return global;
        }
    }

    /**
     * A round's updates, the split server's state after it, and the largest relative truncation
     * errors of re-factoring adapters to fewer ranks (starting holders, aggregating).
     */
    private record Aggregate(List<ClientUpdate> updates, ServerSegment.Snapshot server, double startTruncation,
                             double aggregateTruncation) {}

    private Map<Integer, Integer> cutsOf(List<Integer> clients) {
        Map<Integer, Integer> out = new TreeMap<>();
        for (int c : clients) {
            out.put(c, cuts.get(c));
        }
        return out;
    }

    /** Vanilla split learning: clients in a seeded order, each continuing from the previous one's adapters. */
    private Aggregate sequentialRound(int round, List<Integer> clients) {
        List<Integer> order = new ArrayList<>(clients);
        Collections.shuffle(order, new Random(Seeds.derive(cfg.seed(), 0x7475726eL, round)));
        List<ClientUpdate> updates = new ArrayList<>();
        Aggregate last = null;
        double start = 0;
        double aggregate = 0;
        for (int turn = 0; turn < order.size(); turn++) {
            int first = (round * order.size() + turn) * cfg.train().localSteps();
            last = train(round, first, List.of(order.get(turn)));
            updates.addAll(last.updates());
            start = Math.max(start, last.startTruncation());
            aggregate = Math.max(aggregate, last.aggregateTruncation());
        }
        return new Aggregate(updates, last.server(), start, aggregate);
    }

    /**
     * One stage of {@code clients} for global steps [first, first + localSteps): each client and
     * server unit starts from the aggregate at its ranks; afterwards every block is aggregated over
     * its holders.
     */
    private Aggregate train(int round, int first, List<Integer> clients) {
        long seed = Seeds.derive(cfg.seed(), 0x72616e6bL, round, first);
        Map<Integer, Integer> layers = new TreeMap<>();
        for (int c : clients) {
            layers.put(c, cfg.mode().split() ? cuts.get(c) : config.numLayers());
        }
        double[] startTruncation = {0};
        Map<Integer, RoundPlan.SegmentStart> starts = new TreeMap<>();
        for (int k : new TreeSet<>(layers.values())) {
            LoraSpec spec = cfg.mode().split() ? cfg.loraAtCut(k) : cfg.lora();
            Aggregator.Result client = aggregator.start(global, spec, 0, k, config, seed);
            starts.put(k, new RoundPlan.SegmentStart(spec, client.adapters()));
            startTruncation[0] = Math.max(startTruncation[0], client.truncationError());
        }
        if (server != null) {
            server.beginRound(round, first, cfg.train().localSteps(), layers, (spec, from, to) -> {
                Aggregator.Result s = aggregator.start(global, spec, from, to, config, seed);
                startTruncation[0] = Math.max(startTruncation[0], s.truncationError());
                return s.adapters();
            });
        }
        List<ClientUpdate> updates = runStage(clients, plan(round, first, layers, starts));
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
                    holders.add(new Aggregator.Holder("server " + name + " " + unit.clients(), w, unit.lora(), Aggregator.Role.SERVER));
                }
            });
        }
        Aggregator.Result agg = aggregator.aggregate(holders, global,
                new Aggregator.Round(config, seed, first, cfg.train().localSteps(), totalSteps));
        global = agg.adapters();
        remember(updates);
        return new Aggregate(updates, serverState, startTruncation[0], agg.truncationError());
    }

    /** After a split round, the cut policy moves cuts; a client whose cut moved restarts its optimizer. */
    private List<CutDecision> moveCuts(int round, List<ClientUpdate> updates) {
        if (cfg.mode() != RunMode.SPLITFT) {
            return List.of();
        }
        List<ClientRound> seen = new ArrayList<>();
        for (ClientUpdate u : updates) {
            seen.add(new ClientRound(u.clientId(), u.layers(), u.computeSecondsPerStep(), u.tokens() / (double) Math.max(1, u.steps()),
                    u.meanLoss()));
        }
        List<CutDecision> decisions = policy.decide(seen);
        for (CutDecision d : decisions) {
            if (d.to() != d.from()) {
                cuts.put(d.client(), d.to());
                optimizerStates.remove(d.client());
            }
            LOG.info("round {}: client {} cut {} -> {}: {}", round + 1, d.client(), d.from(), d.to(), d.reason());
        }
        return decisions;
    }

    private RoundPlan plan(int round, int firstStep, Map<Integer, Integer> layers, Map<Integer, RoundPlan.SegmentStart> starts) {
        Map<Integer, SimulatedSpeed> speeds = new TreeMap<>();
        for (int c : layers.keySet()) {
            speeds.put(c, new SimulatedSpeed(cfg.clientSpeed(c)));
        }
        return new RoundPlan(runId, cfg.mode(), cfg.model(), layers, starts, speeds, cfg.optimizer(), cfg.federation().clientOptimizer(),
                cfg.train().batchSize(),
                cfg.train().microBatchSize(), cfg.train().labelSmoothing(), cfg.seed(), round, firstStep,
                cfg.train().localSteps(), totalSteps, Map.copyOf(optimizerStates), Map.copyOf(batchesDone), endpoint);
    }

    /** One barrier stage with a task per client; checks that exactly those clients answered, once each. */
    private List<ClientUpdate> runStage(List<Integer> clients, RoundPlan plan) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<RoundPlan> b = jsc.broadcast(plan);
        try {
            RDD<Tuple2<Integer, TokenizedExample>> data = shards.forClients(clients);
            RDD<ClientUpdate> out = data.barrier().mapPartitions(new ClientTask(b), false, ClientShards.tag(ClientUpdate.class));
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

    private double evaluate(Map<String, float[]> adapters) {
        try (LoraAdapters lora = LoraAdapters.fromFloats(root, config, LoraAdapters.specOf(cfg.lora(), config, adapters), 0,
                config.numLayers(), adapters)) {
            return Evaluator.evaluate(wholeModel, lora, shards.valid(), cfg.train().microBatchSize()).loss();
        }
    }

    private RoundResult result(int round, List<Integer> clients, Aggregate agg, Map<Integer, Integer> roundCuts,
                               List<CutDecision> decisions, double val, boolean evaluated, double trainSeconds, double seconds, double elapsed,
                               RunState state) {
        double loss = 0;
        long tokens = 0;
        long up = 0;
        long down = 0;
        long loraBytes = 0;
        for (ClientUpdate u : agg.updates()) {
            loss += u.meanLoss();
            tokens += u.tokens();
            up += u.bytesUp();
            down += u.bytesDown();
            if (cfg.mode() != RunMode.CENTRAL) {
                // a client gets its start adapters and returns ones of the same shapes
                for (float[] t : u.lora().values()) {
                    loraBytes += 4L * t.length;
                }
            }
        }
        return new RoundResult(round, rounds, cfg.mode(), clients, loss / agg.updates().size(), val, evaluated, tokens, trainSeconds,
                seconds, elapsed, up, down, loraBytes, loraBytes, agg.updates(), roundCuts, decisions, agg.startTruncation(),
                agg.aggregateTruncation(), global, LoraAdapters.specOf(cfg.lora(), config, global), state);
    }

    /**
     * CenLoRA in the driver: the whole model on all clients' data, trained as client 0 with the
     * global batch of a federated round (batch size × clients per round).
     */
    private final class CentralState implements AutoCloseable {
        private final int examples;
        private final LoraAdapters lora;
        private final AdamW opt;
        private final LocalSteps steps;
        private final long seed = ClientSeeds.of(cfg.seed(), 0);

        CentralState(List<TokenizedExample> data) {
            this.examples = data.size();
            this.lora = LoraAdapters.fromFloats(root, config, cfg.lora(), 0, config.numLayers(), global);
            this.opt = new AdamW(lora.parameters(), cfg.optimizer(), lora.manager());
            if (centralOptimizer != null) {
                opt.restore(centralOptimizer);
            }
            this.steps = new LocalSteps(data, seed, cfg.train().batchSize() * sampler.perRound(),
                    (long) startRound * cfg.train().localSteps());
        }

        Aggregate round(int round) {
            long t0 = System.nanoTime();
            BatchStep step = new LocalBatchStep(wholeModel, lora, cfg.train().microBatchSize(), cfg.train().labelSmoothing(), seed);
            BatchStep.StepLoss sum = steps.run(step, opt, round * cfg.train().localSteps(),
                    cfg.train().localSteps(), totalSteps, s -> { });
            global = lora.toFloats();
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new Aggregate(List.of(new ClientUpdate(0, config.numLayers(), cfg.lora().rank(config.numLayers() - 1), global, null, examples, cfg.train().localSteps(),
                    sum.loss(), sum.tokens(), seconds, step.timings(), 0, 0, 0)), null, 0, 0);
        }

        AdamW.State optimizerState() {
            return opt.state();
        }

        @Override
        public void close() {
            opt.close();
            lora.close();
        }
    }

    /**
     * A barrier stage needs a slot per client at once; Spark would otherwise wait and retry for
     * minutes. Exact in local mode; on a cluster executors may still be registering, so only warn.
     */
    private static void checkSlots(SparkSession spark, int perRound) {
        int slots = spark.sparkContext().defaultParallelism();
        if (slots >= perRound) {
            return;
        }
        String problem = "a round runs " + perRound + " clients at once but the Spark application has " + slots
                + " task slots";
        if (spark.sparkContext().isLocal()) {
            throw new IllegalArgumentException(problem + ": lower federation.clientsPerRound or give spark.master more cores"
                    + " (e.g. local[" + perRound + "])");
        }
        LOG.warn("{} so far; the barrier stage waits until there are enough", problem);
    }

    /** The device for split.serverDevice; gpu without a visible GPU is an error. */
    static Device serverDevice(TrainConfig.ServerDevice wanted) {
        int gpus = Torch.engine().getGpuCount();
        if (wanted == TrainConfig.ServerDevice.GPU && gpus == 0) {
            throw new IllegalArgumentException("split.serverDevice = gpu, but PyTorch sees no GPU (this build uses "
                    + "pytorch-native-cpu; use auto or cpu)");
        }
        return wanted != TrainConfig.ServerDevice.CPU && gpus > 0 ? Device.gpu() : Device.cpu();
    }

    private static String newSecret() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static byte[] readCert(TrainConfig.Split s) {
        try {
            return Files.readAllBytes(s.tlsCertChain());
        } catch (IOException e) {
            throw new UncheckedIOException("split.tls.certChain: " + e.getMessage(), e);
        }
    }

    public String runId() {
        return runId;
    }

    @Override
    public void close() {
        spark.sparkContext().removeSparkListener(events);
        spark.sparkContext().removeSparkListener(failures);
        if (server != null) {
            server.close();
        }
        wholeModel.close();
        root.close();
        if (serverRoot != null) {
            serverRoot.close();
        }
    }
}
