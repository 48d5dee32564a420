package org.splitlora.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.federation.AdapterExport;
import org.splitlora.federation.Checkpoint;
import org.splitlora.federation.CheckpointWriter;
import org.splitlora.federation.ClientSampler;
import org.splitlora.federation.ClientShards;
import org.splitlora.federation.MergedModelExport;
import org.splitlora.federation.RoundDriver;
import org.splitlora.federation.RoundListener;
import org.splitlora.federation.RunState;
import org.splitlora.model.ModelSource;
import org.splitlora.report.MetricsJsonl;
import org.splitlora.report.ReportWriter;
import org.splitlora.report.RoundMetrics;
import org.splitlora.report.RoundProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Trains LoRA adapters in any mode (sfl, splitft, sl, fl, central) on a prepared dataset and",
                "writes a run directory (run.json, metrics.jsonl, report.html). The configuration is HOCON: the file's",
                "keys over the defaults (see conf/*.conf), then every --set on top."})
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--conf", description = "HOCON run configuration (see conf/demo.conf).")
    Path conf;

    @Option(names = "--resume", paramLabel = "RUN_DIR",
            description = "Continues the run in RUN_DIR from its last checkpoint, with the configuration it recorded.")
    Path resume;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Overrides one key, e.g. --set train.rounds=3 (repeatable).")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        if (resume != null) {
            if (conf != null) {
                throw new IllegalArgumentException("--resume continues a run with its recorded configuration; drop --conf");
            }
            Path runJson = resume.resolve("run.json");
            if (!Files.isRegularFile(runJson)) {
                throw new IllegalArgumentException(resume + ": not a run directory (no run.json)");
            }
            String recorded = JsonParser.parseString(Files.readString(runJson, StandardCharsets.UTF_8))
                    .getAsJsonObject().get("config").toString();
            List<String> overrides = new ArrayList<>(sets);
            overrides.add("out=" + com.typesafe.config.ConfigUtil.quoteString(resume.toString()));
            return run(TrainConfig.parse(recorded, runJson.toString(), overrides), true, System.out);
        }
        return run(TrainConfig.load(conf, sets), false, System.out);
    }

    /** Runs a validated configuration end to end (or continues it from its checkpoint); also what {@code demo} calls. */
    static int run(TrainConfig cfg, boolean resuming, PrintStream log) throws IOException {
        Path out = cfg.out();
        if (!resuming && Files.exists(out.resolve("metrics.jsonl"))) {
            throw new IllegalArgumentException("out: " + out + " already holds a run (metrics.jsonl); choose another directory"
                    + " or continue it with --resume " + out);
        }
        ModelSource source = ModelSource.of(cfg.model());
        Manifest manifest = manifest(cfg);
        int perRound = ClientSampler.perRound(manifest.clients.size(), cfg.federation().clientsPerRound(),
                cfg.federation().clientFraction());
        Files.createDirectories(out);
        Checkpoint.Header header = new Checkpoint.Header(cfg.seed(), manifest.contentHash, cfg.toJson());
        RunState state = resuming ? Checkpoint.read(out, header) : null;
        if (state != null) {
            MetricsJsonl.truncateAfterRound(out.resolve("metrics.jsonl"), state.completedRounds());
        }
        try (SparkSession spark = session("splitlora train", cfg, perRound)) {
            ClientShards shards = ClientShards.open(spark, cfg.data(), source.config(), source.tokenizerSpec());
            try (MetricsJsonl metrics = new MetricsJsonl(out.resolve("metrics.jsonl"));
                 RoundProgress progress = new RoundProgress(log);
                 RoundDriver driver = new RoundDriver(spark, cfg, shards, listeners(cfg, source, out, metrics, progress, header))) {
                if (state == null) {
                    writeRunJson(cfg, driver, manifest);
                } else {
                    driver.restore(state);
                }
                log.printf(Locale.ROOT, "train: %s on %s, %d clients (%d per round), %d rounds x %d local steps%s -> %s%n",
                        cfg.mode().key(), cfg.model(), manifest.clients.size(), perRound, driver.rounds(),
                        cfg.train().localSteps(), state == null ? "" : ", resuming after round " + state.completedRounds(),
                        out.toAbsolutePath());
                driver.run();
            } finally {
                shards.release();
            }
        }
        log.println("wrote " + out.resolve("metrics.jsonl"));
        return 0;
    }

    /** Metrics first and checkpoint last: a kill in between re-runs the round and rewrites its line. */
    private static RoundListener listeners(TrainConfig cfg, ModelSource source, Path out, MetricsJsonl metrics,
                                           RoundProgress progress, Checkpoint.Header header) {
        List<RoundListener> all = new ArrayList<>(List.of(new RoundMetrics(metrics), progress,
                new AdapterExport(out, source.config(), cfg.model())));
        if (cfg.exportMergedModel()) {
            all.add(new MergedModelExport(out, source));
        }
        all.add(new ReportWriter(out));
        all.add(new CheckpointWriter(out, header));
        return RoundListener.all(all.toArray(RoundListener[]::new));
    }

    static Manifest manifest(TrainConfig cfg) {
        return ClientShards.readManifest(cfg.data().dir(), new Configuration());
    }

    /**
     * The run's Spark session: spark.master from the config or spark-submit, else local mode with
     * a slot per client of a round (a barrier stage needs them all at once) and task retries,
     * which plain local[N] does not have.
     */
    static SparkSession session(String appName, TrainConfig cfg, int clientsPerRound) {
        String local = "local[" + Math.max(clientsPerRound, Runtime.getRuntime().availableProcessors()) + ",4]";
        return SparkSessions.create(appName, cfg.sparkMaster().isBlank() ? null : cfg.sparkMaster(), local);
    }

    private static void writeRunJson(TrainConfig cfg, RoundDriver driver, Manifest manifest) throws IOException {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("run_id", driver.runId());
        run.put("mode", cfg.mode().key());
        run.put("seed", cfg.seed());
        run.put("rounds", driver.rounds());
        run.put("data", Map.of("dir", cfg.data().dir(), "content_hash", manifest.contentHash, "clients", manifest.clients.size()));
        run.put("config", JsonParser.parseString(cfg.toJson()));
        run.put("versions", Map.of("splitlora", new VersionProvider().getVersion()[0], "java", System.getProperty("java.version"),
                "spark", org.apache.spark.package$.MODULE$.SPARK_VERSION()));
        Files.writeString(cfg.out().resolve("run.json"), new GsonBuilder().setPrettyPrinting().create().toJson(run),
                StandardCharsets.UTF_8);
    }
}
