package org.splitlora.api;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import org.apache.hadoop.conf.Configuration;
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

/**
 * Trains LoRA adapters (any mode: central, fl, sl, sfl, splitft) on a prepared dataset, on the
 * caller's {@link SparkSession}, into a run directory (run.json, metrics.jsonl, adapter/,
 * checkpoints, report.html), and never stops that session. The {@code train} command is this
 * class plus a session of its own.
 *
 * <pre>{@code
 * TrainConfig cfg = TrainConfig.load(Path.of("conf/demo.conf"), List.of("data.dir=data/e2e-3", "out=runs/sfl"));
 * TrainedRun run = SplitLoraTrainer.of(cfg).listener(r -> log(r.round(), r.trainLoss())).fit(spark);
 * }</pre>
 *
 * <p>Listeners added here see each round after it is checkpointed: what they see survives a kill.
 */
public final class SplitLoraTrainer {

    private static final String RUN_JSON = "run.json";
    private static final Logger LOG = LoggerFactory.getLogger(SplitLoraTrainer.class);

    private final TrainConfig cfg;
    /** Null for a new run; what --set changed (possibly nothing) when continuing one. */
    private final Map<String, Object> resumedWith;
    private final List<RoundListener> listeners = new ArrayList<>();
    private PrintStream log = new PrintStream(OutputStream.nullOutputStream());

    private SplitLoraTrainer(TrainConfig cfg, Map<String, Object> resumedWith) {
        this.cfg = cfg;
        this.resumedWith = resumedWith;
    }

    /** A new run of {@code cfg} into {@code cfg.out()}, which must not hold a run yet. */
    public static SplitLoraTrainer of(TrainConfig cfg) {
        return new SplitLoraTrainer(cfg, null);
    }

    /**
     * Continues the run in {@code runDir} (a path or Hadoop URI) from its newest complete
     * checkpoint with the configuration it recorded, or starts it over when it has none; {@code
     * sets} may change only the keys {@link TrainConfig#changesOnResume} allows.
     */
    public static SplitLoraTrainer resume(String runDir, List<String> sets) {
        RunStore store = RunStore.at(runDir, HadoopConf.fromSpark());
        String runJson = store.path(RUN_JSON).toString();
        String recorded = JsonParser.parseString(store.readText(RUN_JSON)
                        .orElseThrow(() -> new IllegalArgumentException(runDir + ": not a run directory (no run.json)")))
                .getAsJsonObject().get("config").toString();
        String here = "out=" + com.typesafe.config.ConfigUtil.quoteString(runDir);
        TrainConfig before = TrainConfig.parse(recorded, runJson, List.of(here));
        List<String> overrides = new ArrayList<>(List.of(here));
        overrides.addAll(sets);
        TrainConfig cfg = TrainConfig.parse(recorded, runJson, overrides);
        return new SplitLoraTrainer(cfg, before.changesOnResume(cfg));
    }

    public TrainConfig config() {
        return cfg;
    }

    /** Adds a listener, told of every round once it is checkpointed. */
    public SplitLoraTrainer listener(RoundListener l) {
        listeners.add(l);
        return this;
    }

    /** Where the progress lines go (one per round; none by default). */
    public SplitLoraTrainer progressTo(PrintStream out) {
        this.log = out;
        return this;
    }

    /** Clients per round: the task slots a round's barrier stage needs at once. */
    public int clientsPerRound() {
        Manifest manifest = ClientShards.readManifest(cfg.data().dir(), HadoopConf.fromSpark());
        return ClientSampler.perRound(manifest.clients.size(), cfg.federation().clientsPerRound(), cfg.federation().clientFraction());
    }

    /** Runs the remaining rounds on {@code spark}; the session stays open. */
    public TrainedRun fit(SparkSession spark) {
        boolean resuming = resumedWith != null;
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        RunStore out = RunStore.at(cfg.out(), hadoop);
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
            Manifest manifest = ClientShards.readManifest(cfg.data().dir(), hadoop);
            Checkpoint.Header header = new Checkpoint.Header(cfg.seed(), manifest.contentHash, cfg.toJson());
            RunState state = resuming ? Checkpoint.read(out, header) : null;
            if (resuming && state == null) {
                log.println("train: " + out + " has no complete checkpoint; starting the run over from round 1 with its"
                        + " recorded configuration");
            }
            // the shards are checked against the manifest here: a bad dataset fails before the run writes anything
            ClientShards shards = ClientShards.open(spark, cfg.data(), source.config(), source.tokenizerSpec());
            MetricsJsonl metrics = new MetricsJsonl(out, state == null ? 0 : state.completedRounds());
            try (RoundProgress progress = new RoundProgress(log);
                 RoundDriver driver = new RoundDriver(spark, cfg, shards, listeners(source, out, metrics, progress, header))) {
                writeRunJson(out, driver, manifest, state);
                if (state != null) {
                    driver.restore(state);
                }
                log.printf(Locale.ROOT, "train: %s on %s, %d clients (%d per round), %d rounds x %d local steps%s -> %s%n",
                        cfg.mode().key(), cfg.model(), manifest.clients.size(), driver.clientsPerRound(), driver.rounds(),
                        cfg.train().localSteps(), state == null ? "" : ", resuming after round " + state.completedRounds(), out);
                KillPoint.reach("train.before-round-1");
                return new TrainedRun(out.location(), driver.rounds(), driver.run());
            } finally {
                shards.release();
            }
        }
    }

    /**
     * The guard first (a diverged round writes nothing), metrics next, the checkpoint after the
     * exports (a kill in between re-runs the round), the caller's listeners last.
     */
    private RoundListener listeners(ModelSource source, RunStore out, MetricsJsonl metrics, RoundProgress progress,
                                    Checkpoint.Header header) {
        List<RoundListener> all = new ArrayList<>(List.of(new DivergenceGuard(), new RoundMetrics(metrics), progress,
                new AdapterExport(out, source.config(), cfg.model())));
        if (cfg.exportMergedModel()) {
            all.add(new MergedModelExport(out, source));
        }
        all.add(new ReportWriter(out));
        all.add(new CheckpointWriter(out, header));
        all.addAll(listeners);
        return RoundListener.all(all.toArray(RoundListener[]::new));
    }

    /**
     * Writes run.json: what the run is (id, mode, seed, data and its hash, the resolved config,
     * versions). A resumed run keeps the original and records each resume, with what --set changed.
     */
    private void writeRunJson(RunStore out, RoundDriver driver, Manifest manifest, RunState state) {
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
            String version = SplitLoraTrainer.class.getPackage().getImplementationVersion();
            fresh.put("versions", Map.of("splitlora", version == null ? "dev" : version, "java", System.getProperty("java.version"),
                    "spark", org.apache.spark.package$.MODULE$.SPARK_VERSION(), "scala",
                    scala.util.Properties$.MODULE$.versionNumberString()));
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
