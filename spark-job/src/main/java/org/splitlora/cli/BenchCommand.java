package org.splitlora.cli;

import ai.djl.Device;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.splitlora.bench.MatmulRate;
import org.splitlora.bench.TrainingFlops;
import org.splitlora.config.RunMode;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.EnumOption;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.federation.ClientSampler;
import org.splitlora.federation.ClientShards;
import org.splitlora.federation.RoundDriver;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.report.LossCurve;
import org.splitlora.report.ThroughputRecorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Throughput and communication of the modes on the same work: the configuration's data,",
                "model, schedule and global batch, run once per mode and repeat (interleaved, so noise hits",
                "all modes alike). Prints JSON: tokens/s (median and every run), ms per client step by phase",
                "(client forward/backward, transfer, server forward/backward, lock-step wait), bytes per",
                "global step, and each mode's throughput relative to central. The first round of every run is",
                "warm-up and not counted. For splitft, --policies compares cut policies on the same work: mean",
                "round wall time, final validation loss and adapter bytes per round, each relative to the fixed cut.",
                "--pipeline-depths runs every split mode at each split.pipelineDepth and compares round time and",
                "tokens/s with lock-step (depth 1)."})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--conf", description = "HOCON run configuration (as for train).")
    Path conf;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Overrides one key (repeatable).")
    List<String> sets = new ArrayList<>();

    @Option(names = "--modes", split = ",", defaultValue = "central,sfl,fl", description = "Modes to compare (default: ${DEFAULT-VALUE}).")
    List<String> modes;

    @Option(names = "--policies", split = ",", paramLabel = "P",
            description = "splitft cut policies to compare when --modes has splitft (fixed, splitft, equalize; default: the configuration's).")
    List<String> policies = new ArrayList<>();

    @Option(names = "--pipeline-depths", split = ",", paramLabel = "D",
            description = "split.pipelineDepth values to compare for the split modes (e.g. 1,2,4; with 1 each other depth is "
                    + "compared with lock-step; default: the configuration's).")
    List<Integer> depths = new ArrayList<>();

    @Option(names = "--repeats", defaultValue = "3", description = "Runs per mode (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--target-loss", paramLabel = "L",
            description = "Validation loss for time- and bytes-to-target (default: the lowest loss every run reaches).")
    Double targetLoss;

    @Option(names = "--json", paramLabel = "OUT", description = "Also write the JSON to this file.")
    Path json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (repeats < 1) {
            throw new IllegalArgumentException("--repeats must be >= 1");
        }
        List<Variant> variants = variants();
        TrainConfig base = TrainConfig.load(conf, sets);
        if (base.train().rounds() < 2) {
            throw new IllegalArgumentException("bench needs train.rounds >= 2 (the first round is warm-up)");
        }
        ModelSource source = ModelSource.of(base.model());
        Map<Variant, List<ThroughputRecorder>> runs = new LinkedHashMap<>();
        Manifest manifest = TrainCommand.manifest(base);
        int perRound = ClientSampler.perRound(manifest.clients.size(), base.federation().clientsPerRound(),
                base.federation().clientFraction());
        try (SparkSessions.Session session = TrainCommand.session("splitlora bench", base, perRound)) {
            SparkSession spark = session.spark();
            ClientShards shards = ClientShards.open(spark, base.data(), source.config(), source.tokenizerSpec());
            for (int rep = 0; rep < repeats; rep++) {
                for (Variant v : variants) {
                    TrainConfig cfg = TrainConfig.load(conf, v.overrides(sets));
                    ThroughputRecorder rec = new ThroughputRecorder(1);
                    try (RoundDriver driver = new RoundDriver(spark, cfg, shards, rec)) {
                        driver.run();
                    }
                    runs.computeIfAbsent(v, k -> new ArrayList<>()).add(rec);
                    System.err.printf("bench: %s run %d/%d: %.0f tokens/s, %.2f s/round, val %.4f%n", v.label(), rep + 1, repeats,
                            rec.tokensPerSecond(), rec.roundSeconds(), rec.lastValLoss());
                }
            }
            shards.release();
        }
        String out = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create()
                .toJson(report(base, source.config(), targetFraction(manifest), perRound, runs));
        spec.commandLine().getOut().println(out);
        spec.commandLine().getOut().flush();
        if (json != null) {
            Files.writeString(json, out + "\n", StandardCharsets.UTF_8);
        }
        return 0;
    }

    /** Target tokens per token of the clients' training data (the LM head's share of the work), as prepare counted them. */
    private static double targetFraction(Manifest manifest) {
        long tokens = manifest.clients.stream().mapToLong(c -> c.tokens).sum();
        long targets = manifest.clients.stream().mapToLong(c -> c.targetTokens).sum();
        return tokens == 0 ? 0 : (double) targets / tokens;
    }

    /**
     * Each mode's model FLOP/s ({@link TrainingFlops} × tokens/s) as a fraction of this machine's
     * fp32 matmul FLOP/s, measured after the runs in the same libtorch on the model's MLP shape;
     * only where every role computes on one device (a mixed CPU/GPU run has no one peak).
     */
    private static Map<String, Object> flops(TrainConfig base, ModelConfig model, double targetFraction,
                                             Map<Variant, Double> medianTokensPerSecond) {
        TrainingFlops perToken = TrainingFlops.of(model, base.lora(), targetFraction);
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("train_flops_per_token", perToken.perToken());
        f.put("target_fraction", targetFraction);
        Set<Device> devices = new LinkedHashSet<>(List.of(base.devices().server().resolve("devices.server"),
                base.devices().client().resolve("devices.client"), base.devices().eval().resolve("devices.eval")));
        if (devices.size() != 1) {
            f.put("fraction_of_peak", "not computed: the roles compute on " + devices);
            return f;
        }
        int rows = 2048;
        double peak = MatmulRate.measure(devices.iterator().next(), rows, model.hiddenSize(), model.intermediateSize(), 10);
        f.put("matmul_shape", List.of(rows, model.hiddenSize(), model.intermediateSize()));
        f.put("matmul_gflops_fp32", peak / 1e9);
        Map<String, Double> fractions = new LinkedHashMap<>();
        medianTokensPerSecond.forEach((v, tps) -> fractions.put(v.label(), tps * perToken.perToken() / peak));
        f.put("fraction_of_peak", fractions);
        return f;
    }

    private Map<String, Object> report(TrainConfig base, ModelConfig model, double targetFraction, int perRound,
                                       Map<Variant, List<ThroughputRecorder>> runs) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", base.model());
        r.put("data", base.data().dir());
        r.put("clients_per_round", perRound);
        r.put("global_batch", base.train().batchSize() * perRound);
        r.put("rounds", base.train().rounds());
        r.put("local_steps", base.train().localSteps());
        r.put("split_cut", base.split().cut());
        r.put("wire_dtype", base.split().wireDtype().name().toLowerCase(java.util.Locale.ROOT));
        r.put("repeats", repeats);
        r.put("machine", Map.of("cores", Runtime.getRuntime().availableProcessors(), "java", System.getProperty("java.version")));
        Map<String, Object> byMode = new LinkedHashMap<>();
        Map<Variant, Double> medians = new LinkedHashMap<>();
        Map<Variant, double[]> roundSeconds = new LinkedHashMap<>();
        Map<Variant, double[]> valLosses = new LinkedHashMap<>();
        Map<Variant, double[]> loraBytes = new LinkedHashMap<>();
        for (Map.Entry<Variant, List<ThroughputRecorder>> e : runs.entrySet()) {
            List<ThroughputRecorder> recs = e.getValue();
            double[] tps = recs.stream().mapToDouble(ThroughputRecorder::tokensPerSecond).toArray();
            double median = median(tps);
            medians.put(e.getKey(), median);
            roundSeconds.put(e.getKey(), recs.stream().mapToDouble(ThroughputRecorder::roundSeconds).toArray());
            valLosses.put(e.getKey(), recs.stream().mapToDouble(ThroughputRecorder::lastValLoss).toArray());
            loraBytes.put(e.getKey(), recs.stream().mapToDouble(ThroughputRecorder::loraBytesPerRound).toArray());
            ThroughputRecorder mid = recs.get(indexOfMedian(tps));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tokens_per_s", median);
            m.put("tokens_per_s_runs", tps);
            m.put("round_seconds", median(roundSeconds.get(e.getKey())));
            m.put("round_seconds_runs", roundSeconds.get(e.getKey()));
            m.put("final_val_loss", median(valLosses.get(e.getKey())));
            m.put("final_val_loss_runs", valLosses.get(e.getKey()));
            m.put("step_ms", mid.stepMillis());
            m.put("bytes_per_step", mid.bytesPerStep());
            m.put("lora_bytes_per_round", median(loraBytes.get(e.getKey())));
            byMode.put(e.getKey().label(), m);
        }
        r.put("modes", byMode);
        r.put("to_target", toTarget(runs));
        r.put("flops", flops(base, model, targetFraction, medians));
        Variant central = new Variant(RunMode.CENTRAL, null, null);
        if (medians.containsKey(central)) {
            Map<String, Double> ratios = new LinkedHashMap<>();
            for (Map.Entry<Variant, Double> e : medians.entrySet()) {
                if (!e.getKey().equals(central)) {
                    ratios.put(e.getKey().label() + "_vs_central", e.getValue() / medians.get(central));
                }
            }
            r.put("tokens_per_s_ratio", ratios);
        }
        Map<String, Object> vsFixed = new LinkedHashMap<>();
        Map<String, Object> vsLockStep = new LinkedHashMap<>();
        for (Variant v : roundSeconds.keySet()) {
            Variant fixed = new Variant(RunMode.SPLITFT, "fixed", v.depth());
            if (v.mode() == RunMode.SPLITFT && v.policy() != null && !v.equals(fixed) && roundSeconds.containsKey(fixed)) {
                vsFixed.put(v.label(), Map.of(
                        "round_seconds_ratio", median(roundSeconds.get(v)) / median(roundSeconds.get(fixed)),
                        "final_val_loss_ratio", median(valLosses.get(v)) / median(valLosses.get(fixed)),
                        "lora_bytes_ratio", median(loraBytes.get(v)) / median(loraBytes.get(fixed))));
            }
            Variant lockStep = new Variant(v.mode(), v.policy(), 1);
            if (v.depth() != null && v.depth() != 1 && roundSeconds.containsKey(lockStep)) {
                vsLockStep.put(v.label(), Map.of(
                        "round_seconds_ratio", median(roundSeconds.get(v)) / median(roundSeconds.get(lockStep)),
                        "tokens_per_s_ratio", medians.get(v) / medians.get(lockStep)));
            }
        }
        if (!vsFixed.isEmpty()) {
            r.put("splitft_vs_fixed_cut", vsFixed);
        }
        if (!vsLockStep.isEmpty()) {
            r.put("pipelined_vs_lock_step", vsLockStep);
        }
        return r;
    }

    /**
     * Per mode, the training seconds and bytes (activations, gradients, adapters) until the
     * validation loss first reaches the target, medians over the repeats that reach it: the
     * SplitLoRA paper's time-to-target. Time counts every round (warm-up too), evaluation excluded.
     */
    private Map<String, Object> toTarget(Map<Variant, List<ThroughputRecorder>> runs) {
        double target = targetLoss != null ? targetLoss
                : LossCurve.commonTarget(runs.values().stream().flatMap(List::stream).map(ThroughputRecorder::curve).toList());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("target_loss", target);
        out.put("target", targetLoss != null ? "--target-loss" : "the lowest validation loss every run reaches");
        Map<String, Object> byMode = new LinkedHashMap<>();
        for (Map.Entry<Variant, List<ThroughputRecorder>> e : runs.entrySet()) {
            List<LossCurve.Point> reached = e.getValue().stream().map(rec -> rec.curve().firstReaching(target))
                    .flatMap(java.util.Optional::stream).toList();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("runs_reaching", reached.size() + " of " + e.getValue().size());
            if (!reached.isEmpty()) {
                m.put("seconds", median(reached.stream().mapToDouble(LossCurve.Point::seconds).toArray()));
                m.put("seconds_runs", reached.stream().mapToDouble(LossCurve.Point::seconds).toArray());
                m.put("bytes", median(reached.stream().mapToDouble(LossCurve.Point::bytes).toArray()));
                m.put("round", median(reached.stream().mapToDouble(LossCurve.Point::round).toArray()));
            }
            byMode.put(e.getKey().label(), m);
        }
        out.put("modes", byMode);
        return out;
    }

    /** A mode, for splitft the cut policy, for a split mode the pipeline depth (null: the configuration's). */
    record Variant(RunMode mode, String policy, Integer depth) {
        String label() {
            return mode.key() + (policy == null ? "" : ":" + policy) + (depth == null ? "" : ":depth=" + depth);
        }

        List<String> overrides(List<String> sets) {
            List<String> out = new ArrayList<>(sets);
            out.add("mode=" + mode.key());
            if (policy != null) {
                out.add("splitft.policy=" + policy);
            }
            if (depth != null) {
                out.add("split.pipelineDepth=" + depth);
            }
            return out;
        }
    }

    private List<Variant> variants() {
        for (int d : depths) {
            if (d < 1) {
                throw new IllegalArgumentException("--pipeline-depths must be >= 1, got " + d);
            }
        }
        List<Variant> out = new ArrayList<>();
        for (String m : modes) {
            RunMode mode = RunMode.parse(m);
            List<String> ps = new ArrayList<>();
            if (mode == RunMode.SPLITFT && !policies.isEmpty()) {
                policies.forEach(p -> ps.add(EnumOption.key(EnumOption.parse(TrainConfig.CutPolicyKind.class, p, "--policies"))));
            } else {
                ps.add(null);
            }
            for (String p : ps) {
                if (mode.split() && !depths.isEmpty()) {
                    new LinkedHashSet<>(depths).forEach(d -> out.add(new Variant(mode, p, d)));
                } else {
                    out.add(new Variant(mode, p, null));
                }
            }
        }
        if (!policies.isEmpty() && out.stream().noneMatch(v -> v.policy() != null)) {
            throw new IllegalArgumentException("--policies compares splitft cut policies: add splitft to --modes");
        }
        if (!depths.isEmpty() && out.stream().noneMatch(v -> v.depth() != null)) {
            throw new IllegalArgumentException("--pipeline-depths compares split modes: add sl, sfl or splitft to --modes");
        }
        return out;
    }

    private static double median(double[] v) {
        return v[indexOfMedian(v)];
    }

    /** Index of the (lower) median value. */
    private static int indexOfMedian(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            idx[i] = i;
        }
        java.util.Arrays.sort(idx, (a, b) -> Double.compare(v[a], v[b]));
        return idx[(v.length - 1) / 2];
    }
}
