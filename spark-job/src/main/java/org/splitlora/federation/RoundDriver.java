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
import org.splitlora.config.RunMode;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelPart;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.Torch;
import org.splitlora.split.ServerSegment;
import org.splitlora.split.ServerSettings;
import org.splitlora.split.SplitServer;
import org.splitlora.train.AdamW;
import org.splitlora.train.BatchStep;
import org.splitlora.train.Evaluator;
import org.splitlora.train.LocalBatchStep;
import org.splitlora.train.LocalSteps;
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
    private final int layers;
    private final int totalSteps;
    private final String runId = UUID.randomUUID().toString();
    private final SplitServer server;
    private final SplitEndpoint endpoint;

    private Map<String, float[]> clientLora;
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
        this.layers = cfg.mode().split() ? cfg.split().cut() : config.numLayers();
        int stepsPerRound = cfg.train().localSteps() * (cfg.mode() == RunMode.SL ? sampler.perRound() : 1);
        this.totalSteps = rounds * stepsPerRound;
        if (cfg.mode() != RunMode.CENTRAL) {
            checkSlots(spark, sampler.perRound());
        }
        this.wholeModel = source.loadWhole(root);
        Map<String, float[]> init;
        try (LoraAdapters fresh = LoraAdapters.init(root, config, cfg.lora(), 0, config.numLayers(), cfg.seed())) {
            init = fresh.toFloats();
        }
        this.clientLora = layerRange(init, 0, layers);
        if (cfg.mode().split()) {
            serverRoot = NDManager.newBaseManager(serverDevice(cfg.split().serverDevice()));
            ServerSegment segment = new ServerSegment(source.load(ModelPart.server(config, layers), serverRoot),
                    cfg.split().serverVersion(),
                    LoraAdapters.fromFloats(serverRoot, config, cfg.lora(), layers, config.numLayers(),
                            layerRange(init, layers, config.numLayers())),
                    cfg.optimizer(), totalSteps, cfg.train().labelSmoothing());
            TrainConfig.Split s = cfg.split();
            String secret = newSecret();
            this.server = SplitServer.start(segment, new ServerSettings(s.bind(), s.port(), runId, secret, s.stepTimeout(),
                    s.maxMessageBytes(), s.tls() ? new ServerSettings.Tls(s.tlsCertChain(), s.tlsPrivateKey()) : null));
            String host = s.advertiseHost().isBlank() ? spark.sparkContext().getConf().get("spark.driver.host", "127.0.0.1")
                    : s.advertiseHost();
            this.endpoint = new SplitEndpoint(host, server.port(), secret, s.tls() ? readCert(s) : null, s.maxMessageBytes(),
                    s.stepTimeout(), s.wireDtype(), cfg.privacy());
        } else {
            this.server = null;
            this.endpoint = null;
        }
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
        clientLora = new TreeMap<>(state.clientLora());
        optimizerStates.putAll(state.clientOptimizers());
        batchesDone.putAll(state.batchesDone());
        centralOptimizer = state.centralOptimizer();
        if (server != null) {
            server.restore(state.server());
        }
    }

    /** Trains the remaining rounds; returns the adapters of the whole model after the last. */
    public Map<String, float[]> run() {
        long start = System.nanoTime();
        List<TokenizedExample> all = cfg.mode() == RunMode.CENTRAL ? shards.collectAll() : null;
        try (CentralState central = cfg.mode() == RunMode.CENTRAL ? new CentralState(all) : null) {
            Map<String, float[]> adapters = null;
            for (int round = startRound; round < rounds; round++) {
                long t0 = System.nanoTime();
                List<Integer> clients = sampler.select(round);
                List<ClientUpdate> updates = switch (cfg.mode()) {
                    case CENTRAL -> List.of(central.round(round));
                    case FL, SFL -> parallelRound(round, clients);
                    case SL -> sequentialRound(round, clients);
                };
                double trainSeconds = (System.nanoTime() - t0) / 1e9;
                ServerSegment.Snapshot serverState = server == null ? null : server.snapshot();
                adapters = wholeAdapters(serverState);
                boolean evalDue = round + 1 == rounds || (cfg.train().evalEvery() > 0 && (round + 1) % cfg.train().evalEvery() == 0);
                double val = evalDue && !shards.valid().isEmpty() ? evaluate(adapters) : Double.NaN;
                double seconds = (System.nanoTime() - t0) / 1e9;
                RunState state = new RunState(round + 1, Map.copyOf(clientLora), serverState,
                        Map.copyOf(optimizerStates), Map.copyOf(batchesDone), central == null ? null : central.optimizerState());
                listener.onRound(result(round, clients, updates, val, trainSeconds, seconds, (System.nanoTime() - start) / 1e9,
                        adapters, state));
                FaultInjection.afterRound(round);
            }
            return adapters;
        }
    }

    private List<ClientUpdate> parallelRound(int round, List<Integer> clients) {
        int first = round * cfg.train().localSteps();
        if (server != null) {
            server.beginRound(round, first, cfg.train().localSteps(), clients);
        }
        List<ClientUpdate> updates = runStage(clients, plan(round, first, clientLora));
        if (server != null) {
            Map<Integer, Double> weights = new TreeMap<>();
            for (ClientUpdate u : updates) {
                weights.put(u.clientId(), FedAvg.weight(u, cfg.federation().weighting()));
            }
            server.endRound(weights);
        }
        clientLora = cfg.federation().aggregation() == TrainConfig.Aggregation.FEDAVG_SVD
                ? FedAvgSvd.aggregate(updates, cfg.federation().weighting(), cfg.lora(), config)
                : FedAvg.aggregate(updates, cfg.federation().weighting());
        remember(updates);
        return updates;
    }

    /** Vanilla split learning: clients in a seeded order, each continuing from the previous one's adapters. */
    private List<ClientUpdate> sequentialRound(int round, List<Integer> clients) {
        List<Integer> order = new ArrayList<>(clients);
        Collections.shuffle(order, new Random(Seeds.derive(cfg.seed(), 0x7475726eL, round)));
        List<ClientUpdate> updates = new ArrayList<>();
        for (int turn = 0; turn < order.size(); turn++) {
            int first = (round * order.size() + turn) * cfg.train().localSteps();
            server.beginRound(round, first, cfg.train().localSteps(), List.of(order.get(turn)));
            ClientUpdate u = runStage(List.of(order.get(turn)), plan(round, first, clientLora)).get(0);
            server.endRound(Map.of(u.clientId(), 1.0));
            clientLora = u.lora();
            updates.add(u);
        }
        remember(updates);
        return updates;
    }

    private RoundPlan plan(int round, int firstStep, Map<String, float[]> start) {
        return new RoundPlan(runId, cfg.mode(), cfg.model(), layers, cfg.lora(), cfg.optimizer(), cfg.train().batchSize(),
                cfg.train().microBatchSize(), cfg.train().labelSmoothing(), cfg.seed(), round, firstStep,
                cfg.train().localSteps(), totalSteps, start, Map.copyOf(optimizerStates), Map.copyOf(batchesDone), endpoint);
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
            List<ClientUpdate> updates = new ArrayList<>(JavaRDD.fromRDD(out, ClientShards.tag(ClientUpdate.class))
                    .repartition(1).collect());
            Set<Integer> got = new TreeSet<>();
            for (ClientUpdate u : updates) {
                if (!got.add(u.clientId())) {
                    throw new IllegalStateException("round " + plan.round() + ": two updates from client " + u.clientId());
                }
            }
            if (!got.equals(new TreeSet<>(clients))) {
                throw new IllegalStateException("round " + plan.round() + ": updates from " + got + ", expected " + clients);
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

    /** Client-side adapters and, in split modes, the server's: the whole model's. */
    private Map<String, float[]> wholeAdapters(ServerSegment.Snapshot serverState) {
        Map<String, float[]> all = new TreeMap<>(clientLora);
        if (serverState != null) {
            all.putAll(serverState.lora());
        }
        return all;
    }

    private double evaluate(Map<String, float[]> adapters) {
        try (LoraAdapters lora = LoraAdapters.fromFloats(root, config, cfg.lora(), 0, config.numLayers(), adapters)) {
            return Evaluator.evaluate(wholeModel, lora, shards.valid(), cfg.train().microBatchSize()).loss();
        }
    }

    private RoundResult result(int round, List<Integer> clients, List<ClientUpdate> updates, double val, double trainSeconds,
                               double seconds, double elapsed, Map<String, float[]> adapters, RunState state) {
        double loss = 0;
        long tokens = 0;
        long up = 0;
        long down = 0;
        long loraBytes = 0;
        for (ClientUpdate u : updates) {
            loss += u.meanLoss();
            tokens += u.tokens();
            up += u.bytesUp();
            down += u.bytesDown();
            if (cfg.mode() != RunMode.CENTRAL) {
                // the adapters a client gets have the shapes of those it returns
                for (float[] t : u.lora().values()) {
                    loraBytes += 4L * t.length;
                }
            }
        }
        return new RoundResult(round, rounds, cfg.mode(), clients, loss / updates.size(), val, tokens, trainSeconds, seconds, elapsed,
                up, down, loraBytes, loraBytes, updates, adapters, state);
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
            this.lora = LoraAdapters.fromFloats(root, config, cfg.lora(), 0, config.numLayers(), clientLora);
            this.opt = new AdamW(lora.parameters(), cfg.optimizer(), lora.manager());
            if (centralOptimizer != null) {
                opt.restore(centralOptimizer);
            }
            this.steps = new LocalSteps(data, seed, cfg.train().batchSize() * sampler.perRound(),
                    (long) startRound * cfg.train().localSteps());
        }

        ClientUpdate round(int round) {
            long t0 = System.nanoTime();
            BatchStep step = new LocalBatchStep(wholeModel, lora, cfg.train().microBatchSize(), cfg.train().labelSmoothing(), seed);
            BatchStep.StepLoss sum = steps.run(step, opt, cfg.optimizer(), round * cfg.train().localSteps(),
                    cfg.train().localSteps(), totalSteps, s -> { });
            clientLora = lora.toFloats();
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new ClientUpdate(0, clientLora, null, examples, cfg.train().localSteps(), sum.loss(), sum.tokens(), seconds,
                    step.timings(), 0, 0, 0);
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

    static Map<String, float[]> layerRange(Map<String, float[]> all, int from, int to) {
        Map<String, float[]> out = new TreeMap<>();
        for (Map.Entry<String, float[]> e : all.entrySet()) {
            int layer = LoraAdapters.layerOf(e.getKey());
            if (layer >= from && layer < to) {
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
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
