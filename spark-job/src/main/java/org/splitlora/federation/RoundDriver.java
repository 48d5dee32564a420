package org.splitlora.federation;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.aggregation.Aggregator;
import org.splitlora.config.TrainConfig;
import org.splitlora.federation.scheme.SchemeContext;
import org.splitlora.federation.scheme.SchemeRound;
import org.splitlora.federation.scheme.TrainingScheme;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelPart;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.split.ServerSegment;
import org.splitlora.split.ServerSettings;
import org.splitlora.split.SplitAddress;
import org.splitlora.split.SplitServer;
import org.splitlora.split.UnitStepping;
import org.splitlora.train.Evaluator;

/**
 * Runs a training job round by round on Spark: picks the round's clients, has the run's training
 * scheme (chosen from the mode) train the round, evaluates when due, and tells the listeners with
 * the state to resume from. The split server (when the scheme needs one) and the evaluation model
 * live in the driver.
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
    private final NDManager root;
    private NDManager serverRoot;
    private final DecoderModel wholeModel;
    private final ClientSampler sampler;
    private final int rounds;
    private final int totalSteps;
    private final String runId = UUID.randomUUID().toString();
    private final TrainingScheme scheme;
    private final SplitServer server;
    private final ClientStage stage;

    private final ClusterEvents events = new ClusterEvents();
    private final RoundFailures failures;
    private final Aggregator aggregator;
    /** The whole model's adapters after the last round (per-block ranks may differ by aggregator). */
    private Map<String, float[]> global;
    private int startRound;
    /** The checkpoint this run continues; null for a new run. */
    private RunState restored;

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
        this.scheme = TrainingScheme.of(cfg, config, clients);
        this.totalSteps = rounds * scheme.stepsPerRound(sampler.perRound());
        int slots = scheme.taskSlots(sampler.perRound());
        if (slots > 0) {
            checkSlots(spark, slots);
        }
        this.root = cfg.devices().eval().newManager("devices.eval");
        this.wholeModel = source.loadWhole(root);
        try (LoraAdapters fresh = LoraAdapters.init(root, config, cfg.lora(), 0, config.numLayers(), cfg.seed())) {
            this.global = fresh.toFloats();
        }
        this.aggregator = cfg.federation().newAggregator();
        SplitEndpoint endpoint = null;
        if (scheme.usesSplitServer()) {
            serverRoot = cfg.devices().server().newManager("devices.server");
            ServerSegment segment = new ServerSegment(source.load(ModelPart.server(config, cfg.splitft().minCut()), serverRoot),
                    cfg.split().serverVersion(), cfg.lora(), cfg::loraAtCut, unitStepping(), totalSteps, cfg.train().labelSmoothing(),
                    cfg.train().gradientCheckpointing());
            TrainConfig.Split s = cfg.split();
            String secret = newSecret();
            SplitAddress address = SplitAddress.of(s.bind(), s.advertiseHost(), spark.sparkContext().isLocal(),
                    spark.sparkContext().getConf().get("spark.driver.host", SplitAddress.LOOPBACK));
            this.server = SplitServer.start(segment, new ServerSettings(address.bind(), s.port(), runId, secret, s.stepTimeout(),
                    s.pipelineDepth(), s.maxMessageBytes(), STREAMS_PER_CLIENT * sampler.perRound(),
                    s.tls() ? new ServerSettings.Tls(s.tlsCertChain(), s.tlsPrivateKey()) : null));
            LOG.info("split server listens on {}:{}{}; executors dial {}", address.bind(), server.port(),
                    address.allInterfaces() ? " (all interfaces)" : "", address.dial());
            endpoint = new SplitEndpoint(address.dial(), server.port(), secret, s.tls() ? readCert(s) : null, s.maxMessageBytes(),
                    s.stepTimeout(), s.wireDtype(), cfg.privacy(), s.pipelineDepth());
        } else {
            this.server = null;
        }
        this.failures = new RoundFailures(spark.sparkContext(), server);
        this.stage = new ClientStage(spark, cfg, config, shards, runId, aggregator, server, endpoint, failures, totalSteps);
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
        stage.restore(state);
        aggregator.restore(state.aggregator());
        if (server != null) {
            server.restore(state.server());
        }
        restored = state;
    }

    /** Trains the remaining rounds; returns the adapters of the whole model after the last. */
    public Map<String, float[]> run() {
        long start = System.nanoTime();
        SchemeContext ctx = new SchemeContext(stage, wholeModel, shards::collectByClient, sampler.perRound(), totalSteps, startRound,
                global, restored);
        try (TrainingScheme.Rounds training = scheme.start(ctx)) {
            for (int round = startRound; round < rounds; round++) {
                long t0 = System.nanoTime();
                List<Integer> clients = sampler.select(round);
                SchemeRound done = training.train(round, clients, global);
                global = done.global();
                double trainSeconds = (System.nanoTime() - t0) / 1e9;
                boolean evalDue = round + 1 == rounds || (cfg.train().evalEvery() > 0 && (round + 1) % cfg.train().evalEvery() == 0);
                boolean evaluated = evalDue && !shards.valid().isEmpty();
                double val = evaluated ? evaluate(global) : Double.NaN;
                double seconds = (System.nanoTime() - t0) / 1e9;
                RunState state = new RunState(round + 1, Map.copyOf(global), done.server(), stage.optimizerStates(),
                        stage.batchesDone(), training.centralOptimizer(), training.cuts(), aggregator.state());
                listener.onRound(result(round, clients, done, val, evaluated, trainSeconds, seconds,
                        (System.nanoTime() - start) / 1e9, state));
                FaultInjection.afterRound(round);
            }
            return global;
        }
    }

    private double evaluate(Map<String, float[]> adapters) {
        try (LoraAdapters lora = LoraAdapters.fromFloats(root, config, LoraAdapters.specOf(cfg.lora(), config, adapters), 0,
                config.numLayers(), adapters)) {
            return Evaluator.evaluate(wholeModel, lora, shards.valid(), cfg.train().microBatchSize()).loss();
        }
    }

    private RoundResult result(int round, List<Integer> clients, SchemeRound done, double val, boolean evaluated,
                               double trainSeconds, double seconds, double elapsed, RunState state) {
        double loss = 0;
        long tokens = 0;
        long up = 0;
        long down = 0;
        for (ClientUpdate u : done.updates()) {
            loss += u.meanLoss();
            tokens += u.tokens();
            up += u.bytesUp();
            down += u.bytesDown();
        }
        return new RoundResult(round, rounds, cfg.mode(), clients, loss / done.updates().size(), val, evaluated, tokens, trainSeconds,
                seconds, elapsed, up, down, done.adapterBytes(), done.adapterBytes(), done.updates(), done.cuts(), done.decisions(),
                done.startTruncation(), done.aggregateTruncation(), global, LoraAdapters.specOf(cfg.lora(), config, global), state);
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

    /** A server optimizer aggregates the server's units as clients, so they step with the clients' optimizer. */
    private UnitStepping unitStepping() {
        return aggregator.aggregatesServerUnits()
                ? UnitStepping.asClients(cfg.federation().clientOptimizer(), cfg.optimizer())
                : UnitStepping.serverAdamW(cfg.optimizer());
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
