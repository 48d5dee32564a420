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
import org.splitlora.federation.ClientSampler;
import org.splitlora.federation.ClientShards;
import org.splitlora.federation.RoundDriver;
import org.splitlora.federation.RoundListener;
import org.splitlora.model.ModelSource;
import org.splitlora.report.MetricsJsonl;
import org.splitlora.report.RoundMetrics;
import org.splitlora.report.RoundProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Trains LoRA adapters in any mode (sfl, sl, fl, central) on a prepared dataset and",
                "writes a run directory (run.json, metrics.jsonl). The configuration is HOCON: the file's",
                "keys over the defaults (see conf/*.conf), then every --set on top."})
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--conf", description = "HOCON run configuration (see conf/demo.conf).")
    Path conf;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Overrides one key, e.g. --set train.rounds=3 (repeatable).")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        TrainConfig cfg = TrainConfig.load(conf, sets);
        return run(cfg, System.out);
    }

    /** Runs a validated configuration end to end; also what {@code demo} calls. */
    static int run(TrainConfig cfg, PrintStream log) throws IOException {
        Path out = cfg.out();
        if (Files.exists(out.resolve("metrics.jsonl"))) {
            throw new IllegalArgumentException("out: " + out + " already holds a run (metrics.jsonl); choose another directory");
        }
        ModelSource source = ModelSource.of(cfg.model());
        Manifest manifest = Manifest.read(new org.apache.hadoop.fs.Path(cfg.data().dir()).getFileSystem(new Configuration()),
                new org.apache.hadoop.fs.Path(cfg.data().dir()));
        int perRound = ClientSampler.perRound(manifest.clients.size(), cfg.federation().clientsPerRound(),
                cfg.federation().clientFraction());
        // local mode: a slot per client of a round (barrier stage), and task retries (local[N] has none)
        String local = "local[" + Math.max(perRound, Runtime.getRuntime().availableProcessors()) + ",4]";
        SparkSession spark = SparkSessions.create("splitlora-train", cfg.sparkMaster().isBlank() ? null : cfg.sparkMaster(), local);
        ClientShards shards = ClientShards.open(spark, cfg.data().dir(), source.config(), source.tokenizerSpec(),
                cfg.data().maxValidExamples());
        Files.createDirectories(out);
        try (MetricsJsonl metrics = new MetricsJsonl(out.resolve("metrics.jsonl"), cfg.mode().key());
             RoundDriver driver = new RoundDriver(spark, cfg, shards,
                     RoundListener.all(new RoundMetrics(metrics), new RoundProgress(log)))) {
            writeRunJson(cfg, driver, manifest);
            log.printf(Locale.ROOT, "train: %s on %s, %d clients (%d per round), %d rounds x %d local steps -> %s%n",
                    cfg.mode().key(), cfg.model(), manifest.clients.size(), perRound, driver.rounds(),
                    cfg.train().localSteps(), out.toAbsolutePath());
            driver.run();
        } finally {
            shards.release();
        }
        log.println("wrote " + out.resolve("metrics.jsonl"));
        return 0;
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
