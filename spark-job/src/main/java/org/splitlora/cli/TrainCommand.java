package org.splitlora.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.federation.AdapterExport;
import org.splitlora.federation.Checkpoint;
import org.splitlora.federation.CheckpointWriter;
import org.splitlora.federation.ClientSampler;
import org.splitlora.federation.ClientShards;
import org.splitlora.federation.DivergenceGuard;
import org.splitlora.federation.MergedModelExport;
import org.splitlora.federation.RoundDriver;
import org.splitlora.federation.RoundListener;
import org.splitlora.federation.RunState;
import org.splitlora.model.ModelSource;
import org.splitlora.report.MetricsJsonl;
import org.splitlora.report.ReportWriter;
import org.splitlora.report.RoundMetrics;
import org.splitlora.report.RoundProgress;
import org.splitlora.store.HadoopConf;
import org.splitlora.store.RunLock;
import org.splitlora.store.RunStore;
import org.splitlora.util.KillPoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Trains LoRA adapters in any mode (sfl, splitft, sl, fl, central) on a prepared dataset and",
                "writes a run directory (run.json, metrics.jsonl, report.html). The configuration is HOCON: the file's",
                "keys over the defaults (see conf/*.conf), then every --set on top."})
final class TrainCommand implements Callable<Integer> {

    private static final String RUN_JSON = "run.json";
    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Option(names = "--conf", description = "HOCON run configuration (see conf/demo.conf).")
    Path conf;

    @Option(names = "--resume", paramLabel = "RUN_DIR",
            description = {"Continues the run in RUN_DIR (a path or a Hadoop URI) from its last complete checkpoint, with the",
                    "configuration it recorded (a run stopped before its first checkpoint starts over). --set may change",
                    "only keys that do not alter the rounds already trained (train.rounds, split.* networking, ...)."})
    String resume;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Overrides one key, e.g. --set train.rounds=3 (repeatable).")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        if (resume != null) {
            if (conf != null) {
                throw new IllegalArgumentException("--resume continues a run with its recorded configuration; drop --conf");
            }
            RunStore store = RunStore.at(resume, HadoopConf.fromSpark());
            String runJson = store.path(RUN_JSON).toString();
            String recorded = JsonParser.parseString(store.readText(RUN_JSON)
                    .orElseThrow(() -> new IllegalArgumentException(resume + ": not a run directory (no run.json)")))
                    .getAsJsonObject().get("config").toString();
            String here = "out=" + com.typesafe.config.ConfigUtil.quoteString(resume);
            TrainConfig before = TrainConfig.parse(recorded, runJson, List.of(here));
            List<String> overrides = new ArrayList<>(List.of(here));
            overrides.addAll(sets);
            TrainConfig cfg = TrainConfig.parse(recorded, runJson, overrides);
            Map<String, Object> changed = before.changesOnResume(cfg);
            return run(cfg, changed, System.out);
        }
        return run(TrainConfig.load(conf, sets), null, System.out);
    }

    /**
     * Runs a validated configuration end to end, or continues it from its checkpoint when {@code
     * resumedWith} is not null (the keys --set changed on resuming); also what {@code demo} calls.
     */
    static int run(TrainConfig cfg, Map<String, Object> resumedWith, PrintStream log) throws IOException {
        boolean resuming = resumedWith != null;
        RunStore out = RunStore.at(cfg.out(), HadoopConf.fromSpark());
        if (out.status("") != null && !out.isDirectory("")) {
            throw new IllegalArgumentException("out: " + out + " is a file, not a run directory");
        }
        try (RunLock lock = RunLock.take(out, "train")) {
            for (String dir : List.of("", "adapters", Checkpoint.DIR)) {
                out.recover(dir).forEach(done -> LOG.warn("out: {}", done));
            }
            OptionalInt checkpointed = Checkpoint.latest(out);
            if (!resuming && out.exists(RUN_JSON)) {
                throw new IllegalArgumentException(checkpointed.isPresent()
                        ? "out: " + out + " already holds a run (checkpoint after round " + checkpointed.getAsInt()
                                + "); continue it with --resume " + out + " or choose another directory"
                        : "out: " + out + " holds a run that stopped before its first checkpoint; --resume " + out
                                + " starts it over from round 1 with its recorded configuration, or choose another directory");
            }
            ModelSource source = ModelSource.of(cfg.model());
            Manifest manifest = manifest(cfg);
            int perRound = ClientSampler.perRound(manifest.clients.size(), cfg.federation().clientsPerRound(),
                    cfg.federation().clientFraction());
            Checkpoint.Header header = new Checkpoint.Header(cfg.seed(), manifest.contentHash, cfg.toJson());
            RunState state = resuming ? Checkpoint.read(out, header) : null;
            if (resuming && state == null) {
                log.println("train: " + out + " has no complete checkpoint; starting the run over from round 1 with its"
                        + " recorded configuration");
            }
            MetricsJsonl metrics = new MetricsJsonl(out, state == null ? 0 : state.completedRounds());
            try (SparkSession spark = session("splitlora train", cfg, perRound)) {
                ClientShards shards = ClientShards.open(spark, cfg.data(), source.config(), source.tokenizerSpec());
                try (RoundProgress progress = new RoundProgress(log);
                     RoundDriver driver = new RoundDriver(spark, cfg, shards, listeners(cfg, source, out, metrics, progress, header))) {
                    writeRunJson(out, cfg, driver, manifest, state, resumedWith);
                    if (state != null) {
                        driver.restore(state);
                    }
                    log.printf(Locale.ROOT, "train: %s on %s, %d clients (%d per round), %d rounds x %d local steps%s -> %s%n",
                            cfg.mode().key(), cfg.model(), manifest.clients.size(), perRound, driver.rounds(),
                            cfg.train().localSteps(), state == null ? "" : ", resuming after round " + state.completedRounds(),
                            out);
                    KillPoint.reach("train.before-round-1");
                    driver.run();
                } finally {
                    shards.release();
                }
            }
        }
        log.println("wrote " + out.path(MetricsJsonl.FILE));
        return 0;
    }

    /** The guard first (a diverged round writes nothing), metrics next and checkpoint last: a kill in between re-runs the round. */
    private static RoundListener listeners(TrainConfig cfg, ModelSource source, RunStore out, MetricsJsonl metrics,
                                           RoundProgress progress, Checkpoint.Header header) {
        List<RoundListener> all = new ArrayList<>(List.of(new DivergenceGuard(), new RoundMetrics(metrics), progress,
                new AdapterExport(out, source.config(), cfg.model())));
        if (cfg.exportMergedModel()) {
            all.add(new MergedModelExport(out, source));
        }
        all.add(new ReportWriter(out));
        all.add(new CheckpointWriter(out, header));
        return RoundListener.all(all.toArray(RoundListener[]::new));
    }

    static Manifest manifest(TrainConfig cfg) {
        return ClientShards.readManifest(cfg.data().dir(), HadoopConf.fromSpark());
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

    /**
     * Writes run.json: what the run is (id, mode, seed, data and its hash, the resolved config,
     * versions). A resumed run keeps the original and records each resume, with what --set changed.
     */
    private static void writeRunJson(RunStore out, TrainConfig cfg, RoundDriver driver, Manifest manifest, RunState state,
                                     Map<String, Object> resumedWith) {
        Gson gson = new GsonBuilder().setPrettyPrinting().create();
        JsonObject run;
        if (state == null) {
            Map<String, Object> fresh = new LinkedHashMap<>();
            fresh.put("run_id", driver.runId());
            fresh.put("mode", cfg.mode().key());
            fresh.put("seed", cfg.seed());
            fresh.put("rounds", driver.rounds());
            fresh.put("data", Map.of("dir", cfg.data().dir(), "content_hash", manifest.contentHash, "clients", manifest.clients.size()));
            fresh.put("config", JsonParser.parseString(cfg.toJson()));
            fresh.put("versions", Map.of("splitlora", new VersionProvider().getVersion()[0], "java", System.getProperty("java.version"),
                    "spark", org.apache.spark.package$.MODULE$.SPARK_VERSION()));
            run = gson.toJsonTree(fresh).getAsJsonObject();
        } else {
            run = JsonParser.parseString(out.readText(RUN_JSON).orElseThrow()).getAsJsonObject();
            run.add("config", JsonParser.parseString(cfg.toJson()));
            run.addProperty("rounds", driver.rounds());
            JsonObject resume = new JsonObject();
            resume.addProperty("after_round", state.completedRounds());
            resume.addProperty("at", java.time.Instant.now().toString());
            resume.add("changed", gson.toJsonTree(resumedWith));
            if (!run.has("resumes")) {
                run.add("resumes", new JsonArray());
            }
            run.getAsJsonArray("resumes").add(resume);
        }
        out.writeText(RUN_JSON, gson.toJson(run));
    }
}
