package org.splitlora.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.splitlora.aggregation.Aggregator;
import org.splitlora.aggregation.AggregatorSettings;
import org.splitlora.aggregation.Aggregators;
import org.splitlora.datasets.EnumOption;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.split.ActivationPrivacy;
import org.splitlora.split.ServerVersion;
import org.splitlora.split.WireDtype;
import org.splitlora.train.ClientOptimizer;
import org.splitlora.train.OptimizerConfig;

/**
 * A training run's configuration: HOCON (a file plus {@code --set key=value} overrides) over the
 * defaults in {@code defaults.conf}, validated when it loads. Unknown keys, wrong types and values
 * out of range are errors that name the key.
 */
public record TrainConfig(
        RunMode mode,
        long seed,
        String out,
        String model,
        Data data,
        LoraSpec lora,
        OptimizerConfig optimizer,
        Train train,
        Federation federation,
        Split split,
        Devices devices,
        SplitFt splitft,
        List<Double> clientSpeeds,
        ActivationPrivacy privacy,
        boolean exportMergedModel,
        String sparkMaster,
        Config resolved) {

    public record Data(String dir, int maxValidExamples, DataVerify verify) {}

    /** What the driver compares with the manifest before round 1 (see ShardCheck). */
    public enum DataVerify { HASH, SIZE }

    public record Train(int batchSize, int microBatchSize, double labelSmoothing, int localSteps, int rounds, int epochs,
                        int evalEvery, CentralBatches centralBatches, boolean gradientCheckpointing) {}

    /** Where {@code central} draws a step's examples from (see train.centralBatches). */
    public enum CentralBatches { UNION, PER_CLIENT }

    public enum Weighting { SAMPLES, UNIFORM }

    public enum OptimizerState { KEEP, RESET }

    public enum ClientOptimizerKind { ADAMW, SGD }

    /**
     * {@code aggregation} names an {@link Aggregator} (see {@link Aggregators}); its own keys,
     * {@code federation.NAME.*}, were checked when the config loaded.
     */
    public record Federation(int clientsPerRound, double clientFraction, String aggregation, Weighting weighting,
                             OptimizerState optimizerState, AggregatorSettings aggregatorSettings,
                             ClientOptimizer clientOptimizer) {
        /** A fresh aggregator for a run (aggregators may keep state across rounds). */
        public Aggregator newAggregator() {
            return Aggregators.of(aggregation, aggregatorSettings);
        }
    }

    /** {@code pipelineDepth}: micro-batches a client keeps in flight within a step (1 = lock-step). */
    public record Split(int cut, ServerVersion serverVersion, WireDtype wireDtype, String bind, int port, String advertiseHost, Duration stepTimeout,
                        int pipelineDepth, int maxMessageBytes, Path tlsCertChain, Path tlsPrivateKey) {
        public boolean tls() {
            return tlsCertChain != null;
        }
    }

    /**
     * Where each role computes: the split server's segment, the client tasks (executors; threads
     * of the driver in local mode) and the driver's whole model (validation and central
     * training). With every one {@code cpu} the run touches no GPU.
     */
    public record Devices(DeviceChoice server, DeviceChoice client, DeviceChoice eval) {}

    /** How splitft mode moves each client's cut after a round (see org.splitlora.splitft). */
    public enum CutPolicyKind { FIXED, SPLITFT, EQUALIZE }

    /**
     * Per-client cut layers: every cut stays in [minCut, maxCut] and moves by at most gamma blocks
     * a round; {@code cutRank} is lora.cutRank (0 = no reduction).
     */
    public record SplitFt(CutPolicyKind policy, int minCut, int maxCut, int gamma, int cutRank) {}

    private static final Config DEFAULTS = ConfigFactory.parseResources(TrainConfig.class, "defaults.conf",
            ConfigParseOptions.defaults().setAllowMissing(false));

    /** The defaults: every key a run configuration may set (see {@link ConfigReference}). */
    static Config defaults() {
        return DEFAULTS;
    }

    /** Loads {@code file} (or only the defaults when null) with {@code key=value} overrides applied on top. */
    public static TrainConfig load(Path file, List<String> overrides) {
        Config user = ConfigFactory.empty();
        if (file != null) {
            if (!Files.isRegularFile(file)) {
                throw new ConfigError(file + ": config file not found");
            }
            try {
                user = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
            } catch (ConfigException e) {
                throw new ConfigError(e.getMessage()); // names the file and line
            }
        }
        return load(user, file == null ? "defaults" : file.toString(), overrides);
    }

    /** Parses a configuration given as text (a run's recorded config) with overrides on top. */
    public static TrainConfig parse(String text, String origin, List<String> overrides) {
        try {
            return load(ConfigFactory.parseString(text), origin, overrides);
        } catch (ConfigException e) {
            throw new ConfigError(origin + ": " + e.getMessage());
        }
    }

    private static TrainConfig load(Config base, String origin, List<String> overrides) {
        Config user = base;
        Map<String, String> setBy = new java.util.HashMap<>(); // key -> the --set that gave it, for error texts
        for (String o : overrides) {
            Config one = knownOverride(o);
            for (Map.Entry<String, ConfigValue> e : one.entrySet()) {
                setBy.put(e.getKey(), "--set " + o);
            }
            user = one.withFallback(user);
        }
        for (Map.Entry<String, ConfigValue> e : user.entrySet()) {
            if (!DEFAULTS.hasPathOrNull(e.getKey())) {
                throw unknownKey(origin, e.getKey());
            }
        }
        Config c;
        try {
            c = user.withFallback(DEFAULTS).resolve();
            c.checkValid(DEFAULTS);
        } catch (ConfigException e) {
            throw located(e, origin);
        }
        Keys k = new Keys(c, origin, setBy);
        try {
            finiteNumbers(k, c);
            return build(c, k);
        } catch (ConfigException e) {
            throw located(e, origin);
        }
    }

    /** One {@code key=value} as a config of known keys, else an error naming it. */
    private static Config knownOverride(String o) {
        int eq = o.indexOf('=');
        if (eq <= 0) {
            throw new ConfigError("--set " + o + ": expected key=value");
        }
        Config one = override(o.substring(0, eq).trim(), o.substring(eq + 1), o);
        for (Map.Entry<String, ConfigValue> e : one.entrySet()) {
            if (!DEFAULTS.hasPathOrNull(e.getKey())) {
                throw unknownKey("--set " + o, e.getKey());
            }
        }
        return one;
    }

    /** Keys that earlier versions read, and where they went. */
    private static final Map<String, String> MOVED = Map.of("split.serverDevice", "devices.server");

    private static ConfigError unknownKey(String origin, String key) {
        String moved = MOVED.get(key);
        return new ConfigError(origin + ": unknown key '" + key + "'" + (moved == null ? "" : " (now " + moved + ")"));
    }

    /**
     * The checks of one {@code key=value} that need no other key: the key exists, the value parses
     * and has the default's type, a number is finite. Ranges and the rules between keys are checked
     * when the whole configuration loads.
     */
    public static void checkOverride(String o) {
        Config one = knownOverride(o);
        Config c;
        try {
            c = one.withFallback(DEFAULTS).resolve();
            c.checkValid(DEFAULTS);
        } catch (ConfigException e) {
            throw located(e, "--set " + o);
        }
        finiteNumbers(new Keys(c, "--set " + o, Map.of()), c);
    }

    /** Typesafe's message names its origin: a --set's is itself, anything else is the file's. */
    private static ConfigError located(ConfigException e, String origin) {
        boolean fromSet = e.origin() != null && e.origin().description().startsWith("--set ");
        return new ConfigError(fromSet ? e.getMessage() : origin + ": " + e.getMessage());
    }

    /**
     * One {@code --set KEY=VALUE} as a config: the text after '=' is HOCON, except for a key whose
     * default is a string, where it is the string exactly as typed ({@code out=hdfs://nn/runs/x}
     * would otherwise end at the HOCON comment {@code //}); a quoted HOCON string still works.
     */
    private static Config override(String key, String value, String typed) {
        ConfigParseOptions named = ConfigParseOptions.defaults().setOriginDescription("--set " + typed);
        try {
            boolean stringKey = DEFAULTS.hasPath(key) && DEFAULTS.getValue(key).valueType() == ConfigValueType.STRING;
            if (stringKey && !value.strip().startsWith("\"")) {
                return ConfigFactory.empty().withValue(key, ConfigValueFactory.fromAnyRef(value, "--set " + typed));
            }
            return ConfigFactory.parseString(key + "=" + value, named);
        } catch (ConfigException e) {
            throw new ConfigError("--set " + typed + ": " + e.getMessage());
        }
    }

    /** Every numeric key holds a finite number: Typesafe reads "Infinity" and "NaN" as doubles. */
    private static void finiteNumbers(Keys k, Config c) {
        for (Map.Entry<String, ConfigValue> e : DEFAULTS.entrySet()) {
            if (e.getValue().valueType() == ConfigValueType.NUMBER && c.hasPath(e.getKey())) {
                String key = e.getKey();
                double v = k.parse(key, () -> {
                    try {
                        return c.getDouble(key);
                    } catch (ConfigException.WrongType wrong) {
                        throw new IllegalArgumentException("must be a number, got '" + c.getValue(key).unwrapped() + "'");
                    }
                });
                k.check(Double.isFinite(v), key, "must be a finite number, got " + c.getValue(key).unwrapped());
            }
        }
    }

    private static TrainConfig build(Config c, Keys k) {
        RunMode mode = k.choice("mode", RunMode.class);
        String model = c.getString("model");
        ModelConfig modelConfig;
        try {
            modelConfig = ModelSource.of(model).config();
        } catch (RuntimeException e) {
            throw new ConfigError(k.origin("model") + ": model: " + e.getMessage());
        }
        String dataDir = c.getString("data.dir");
        k.check(!dataDir.isBlank(), "data.dir", "must name a `prepare` output directory");
        Data data = new Data(dataDir, k.atLeast("data.maxValidExamples", 0), k.choice("data.verify", DataVerify.class));

        Set<LoraTarget> targets = EnumSet.noneOf(LoraTarget.class);
        for (String t : c.getStringList("lora.targets")) {
            targets.add(k.parse("lora.targets", () -> LoraTarget.parse(t)));
        }
        k.check(!targets.isEmpty(), "lora.targets", "must name at least one projection");
        for (LoraTarget t : targets) {
            k.check(modelConfig.architecture().loraTargets().contains(t), "lora.targets",
                    modelConfig.architecture().displayName() + " has no " + t.key() + " projection");
        }
        int rank = k.atLeast("lora.rank", 1);
        int cutRank = k.integer("lora.cutRank");
        k.check(cutRank >= 0 && cutRank <= rank, "lora.cutRank", "must be in [1, lora.rank (" + rank + ")] or 0 (= lora.rank), got "
                + cutRank);
        double alpha = k.positive("lora.alpha");
        double dropout = c.getDouble("lora.dropout");
        k.check(dropout >= 0 && dropout < 1, "lora.dropout", "must be in [0, 1), got " + dropout);

        int warmupSteps = k.integer("optimizer.warmupSteps");
        OptimizerConfig optim = k.parse("optimizer", () -> new OptimizerConfig(c.getDouble("optimizer.lr"),
                c.getDouble("optimizer.beta1"), c.getDouble("optimizer.beta2"), c.getDouble("optimizer.eps"),
                c.getDouble("optimizer.weightDecay"), warmupSteps, c.getDouble("optimizer.maxGradNorm")));

        int batch = k.atLeast("train.batchSize", 1);
        int micro = k.atLeast("train.microBatchSize", 1);
        k.check(micro <= batch, "train.microBatchSize", "must be <= train.batchSize (" + batch + "), got " + micro);
        double smoothing = c.getDouble("train.labelSmoothing");
        k.check(smoothing >= 0 && smoothing < 1, "train.labelSmoothing", "must be in [0, 1), got " + smoothing);
        int rounds = k.atLeast("train.rounds", 0);
        int epochs = k.atLeast("train.epochs", 0);
        k.check(rounds > 0 || epochs > 0, "train.rounds", "train.rounds or train.epochs must be >= 1");
        Train train = new Train(batch, micro, smoothing, k.atLeast("train.localSteps", 1), rounds, epochs,
                k.atLeast("train.evalEvery", 0), k.choice("train.centralBatches", CentralBatches.class),
                c.getBoolean("train.gradientCheckpointing"));

        double fraction = c.getDouble("federation.clientFraction");
        k.check(fraction > 0 && fraction <= 1, "federation.clientFraction", "must be in (0, 1], got " + fraction);
        String aggregation = c.getString("federation.aggregation");
        AggregatorSettings aggregatorSettings = k.under("federation." + aggregation + ".", optim);
        k.parse("federation.aggregation", () -> Aggregators.of(aggregation, aggregatorSettings));
        Federation fed = new Federation(k.atLeast("federation.clientsPerRound", 0), fraction, aggregation,
                k.choice("federation.weighting", Weighting.class), k.choice("federation.optimizerState", OptimizerState.class),
                aggregatorSettings, new ClientOptimizer(k.choice("federation.clientOptimizer", ClientOptimizerKind.class)
                        == ClientOptimizerKind.SGD, k.positive("federation.clientLr")));

        int cut = k.integer("split.cut");
        k.check(!(mode.split() || cutRank > 0) || (cut >= 1 && cut < modelConfig.numLayers()), "split.cut",
                "must be in [1, " + (modelConfig.numLayers() - 1) + "] for " + model + " (" + modelConfig.numLayers()
                        + " layers), got " + cut);
        // the same adapters in every mode, so that modes compare on the same model
        LoraSpec lora = LoraSpec.of(targets, rank, alpha, dropout).atCut(cut, cutRank);
        int port = k.integer("split.port");
        k.check(port >= 0 && port <= 65535, "split.port", "must be in [0, 65535], got " + port);
        long maxBytes = c.getBytes("split.maxMessageSize");
        k.check(maxBytes >= 1 << 20 && maxBytes <= Integer.MAX_VALUE, "split.maxMessageSize", "must be in [1m, 2g), got " + maxBytes);
        Duration timeout = c.getDuration("split.stepTimeout");
        k.check(!timeout.isNegative() && !timeout.isZero(), "split.stepTimeout", "must be > 0");
        String cert = c.getString("split.tls.certChain");
        String key = c.getString("split.tls.privateKey");
        k.check(cert.isBlank() == key.isBlank(), "split.tls", "set both certChain and privateKey, or neither");
        ServerVersion version = k.parse("split.serverVersion", () -> ServerVersion.parse(c.getString("split.serverVersion")));
        k.check(version == ServerVersion.V2 || mode == RunMode.SFL || mode == RunMode.SPLITFT, "split.serverVersion",
                "v1 (a server copy per client) applies to modes sfl and splitft only");
        Split split = new Split(cut, version, k.parse("split.wireDtype", () -> WireDtype.parse(c.getString("split.wireDtype"))),
                c.getString("split.bind"), port, c.getString("split.advertiseHost"), timeout, k.atLeast("split.pipelineDepth", 1), (int) maxBytes,
                cert.isBlank() ? null : k.file("split.tls.certChain", cert), key.isBlank() ? null : k.file("split.tls.privateKey", key));

        DeviceChoice serverDevice = k.choice("devices.server", DeviceChoice.class);
        String evalDevice = c.getString("devices.eval").trim();
        k.check(evalDevice.equalsIgnoreCase("server") || EnumSet.allOf(DeviceChoice.class).stream()
                .anyMatch(d -> d.key().equalsIgnoreCase(evalDevice)), "devices.eval", "must be server, auto, cpu or gpu, got '"
                + evalDevice + "'");
        Devices devices = new Devices(serverDevice, k.choice("devices.client", DeviceChoice.class),
                evalDevice.equalsIgnoreCase("server") ? serverDevice : DeviceChoice.parse(evalDevice, "devices.eval"));

        CutPolicyKind policy = k.choice("splitft.policy", CutPolicyKind.class);
        int gamma = k.integer("splitft.gamma");
        k.check(gamma >= 1, "splitft.gamma", "must be >= 1 (blocks a cut moves per round), got " + gamma);
        int minCutSetting = k.integer("splitft.minCut");
        int maxCutSetting = k.integer("splitft.maxCut");
        int minCut = cut;
        int maxCut = cut;
        if (mode == RunMode.SPLITFT) {
            int layers = modelConfig.numLayers();
            minCut = minCutSetting;
            k.check(minCut >= 1 && minCut < layers, "splitft.minCut", "must be in [1, " + (layers - 1) + "] for " + model + " ("
                    + layers + " layers), got " + minCut);
            maxCut = maxCutSetting == 0 ? layers - 1 : maxCutSetting;
            k.check(maxCut >= minCut && maxCut < layers, "splitft.maxCut", "must be in [splitft.minCut (" + minCut + "), "
                    + (layers - 1) + "] or 0 (= " + (layers - 1) + "), got " + maxCutSetting);
            k.check(cut >= minCut && cut <= maxCut, "split.cut", "(every client's first cut) must be in [splitft.minCut, "
                    + "splitft.maxCut] = [" + minCut + ", " + maxCut + "], got " + cut);
        } else {
            k.check(policy == CutPolicyKind.FIXED, "splitft.policy", "moves per-client cuts in mode splitft only (mode is "
                    + mode.key() + ")");
        }
        SplitFt splitft = new SplitFt(policy, minCut, maxCut, gamma, cutRank);
        List<Double> speeds = List.copyOf(c.getDoubleList("clients.speed"));
        for (int i = 0; i < speeds.size(); i++) {
            double v = speeds.get(i);
            k.check(v > 0 && v <= 1, "clients.speed", "[" + i + "] must be in (0, 1] (1 = full speed, 0.25 = 4x slower), got " + v);
        }

        // read (and so type-checked) even when off: a typo must not wait until someone turns it on
        double clipNorm = c.getDouble("privacy.activationNoise.clipNorm");
        double noiseMultiplier = c.getDouble("privacy.activationNoise.noiseMultiplier");
        ActivationPrivacy privacy = c.getBoolean("privacy.activationNoise.enabled")
                ? k.parse("privacy.activationNoise", () -> new ActivationPrivacy(clipNorm, noiseMultiplier))
                : null;
        String out = c.getString("out");
        k.check(!out.isBlank(), "out", "must name the run directory (a path or a Hadoop URI)");
        return new TrainConfig(mode, k.longInteger("seed"), out, model, data, lora, optim, train, fed,
                split, devices, splitft, speeds, privacy, c.getBoolean("export.mergedModel"), c.getString("spark.master"), c);
    }

    /** The adapters' ranks for a client split at {@code cut} (lora.cutRank on both sides of it). */
    public LoraSpec loraAtCut(int cut) {
        return lora.atCut(cut, splitft.cutRank());
    }

    /** The simulated compute speed of a client (clients.speed; 1 when not listed). */
    public double clientSpeed(int clientId) {
        return clientId < clientSpeeds.size() ? clientSpeeds.get(clientId) : 1.0;
    }

    /**
     * Keys that {@code train --resume --set} may change: they do not alter what the rounds already
     * trained computed (networking, timeouts, pipelining, how long to go on, what to export), so the
     * checkpoint stays valid. Anything else would silently mix two configurations in one run.
     */
    private static final List<String> RESUMABLE = List.of("train.rounds", "train.epochs", "train.evalEvery", "split.bind",
            "split.port", "split.advertiseHost", "split.stepTimeout", "split.pipelineDepth", "split.maxMessageSize", "split.tls", "spark.master", "devices",
            "export.mergedModel", "out");

    /**
     * What {@code resumed} (this recorded configuration with --resume's --set on top) changes,
     * key by key; an error naming the first key that a resumed run may not change.
     */
    public Map<String, Object> changesOnResume(TrainConfig resumed) {
        Map<String, Object> changed = new java.util.TreeMap<>();
        for (Map.Entry<String, ConfigValue> e : resumed.resolved.entrySet()) {
            String key = e.getKey();
            ConfigValue was = resolved.hasPath(key) ? resolved.getValue(key) : null;
            if (was != null && was.unwrapped().equals(e.getValue().unwrapped())) {
                continue;
            }
            if (RESUMABLE.stream().noneMatch(r -> key.equals(r) || key.startsWith(r + "."))) {
                throw new ConfigError("--set " + key + ": cannot change on --resume (the run recorded "
                        + (was == null ? "nothing" : was.render(ConfigRenderOptions.concise())) + " and trained its rounds with it);"
                        + " start a new run to change it");
            }
            if (!key.equals("out")) {
                changed.put(key, e.getValue().unwrapped());
            }
        }
        return changed;
    }

    /** The resolved configuration as JSON (what run.json records). */
    public String toJson() {
        return resolved.root().render(ConfigRenderOptions.concise().setFormatted(true));
    }

    /** Typed reads with range checks whose errors name where the value came from (the file, or the --set) and the key. */
    private record Keys(Config c, String file, Map<String, String> setBy) {
        /** The --set that gave {@code key} (or a key under it), else the file. */
        String origin(String key) {
            for (Map.Entry<String, String> e : setBy.entrySet()) {
                if (e.getKey().equals(key) || e.getKey().startsWith(key + ".")) {
                    return e.getValue();
                }
            }
            return file;
        }

        void check(boolean ok, String key, String problem) {
            if (!ok) {
                throw new ConfigError(origin(key) + ": " + key + " " + problem);
            }
        }

        /** An int; Typesafe's getInt would truncate 0.5 to 0 without a word. */
        int integer(String key) {
            wholeNumber(key);
            return c.getInt(key);
        }

        long longInteger(String key) {
            wholeNumber(key);
            return c.getLong(key);
        }

        private void wholeNumber(String key) {
            if (c.getValue(key).unwrapped() instanceof Double d) {
                throw new ConfigError(origin(key) + ": " + key + " must be an integer, got " + d);
            }
        }

        int atLeast(String key, int min) {
            int v = integer(key);
            check(v >= min, key, "must be >= " + min + ", got " + v);
            return v;
        }

        double positive(String key) {
            double v = c.getDouble(key);
            check(v > 0, key, "must be > 0, got " + v);
            return v;
        }

        /** The keys under {@code prefix} as an aggregator's settings. */
        AggregatorSettings under(String prefix, OptimizerConfig optimizer) {
            return new AggregatorSettings() {
                @Override
                public double number(String key, double min, boolean minOpen, double max, boolean maxOpen) {
                    String full = prefix + key;
                    check(c.hasPath(full), full, "is missing (an aggregator's settings need a default in defaults.conf)");
                    double v = c.getDouble(full);
                    boolean ok = (minOpen ? v > min : v >= min) && (maxOpen ? v < max : v <= max);
                    check(ok, full, "must be in " + (minOpen ? "(" : "[") + min + ", "
                            + (max == Double.MAX_VALUE ? "∞" : String.valueOf(max)) + (maxOpen ? ")" : "]") + ", got " + v);
                    return v;
                }

                @Override
                public OptimizerConfig runOptimizer() {
                    return optimizer;
                }
            };
        }

        <E extends Enum<E>> E choice(String key, Class<E> type) {
            return parse(key, () -> EnumOption.parse(type, c.getString(key), key));
        }

        <T> T parse(String key, java.util.function.Supplier<T> read) {
            try {
                return read.get();
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                throw new ConfigError(origin(key) + ": " + (m.contains(key) ? m : key + ": " + m));
            }
        }

        Path file(String key, String value) {
            Path p = Path.of(value);
            check(Files.isRegularFile(p), key, "file not found: " + value);
            return p;
        }
    }
}
