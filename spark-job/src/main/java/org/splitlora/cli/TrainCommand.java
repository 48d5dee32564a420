package org.splitlora.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.splitlora.api.SplitLoraTrainer;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.federation.ClientShards;
import org.splitlora.report.MetricsJsonl;
import org.splitlora.store.HadoopConf;
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
            description = {"Continues the run in RUN_DIR (a path or a Hadoop URI) from its last complete checkpoint, with the",
                    "configuration it recorded (a run stopped before its first checkpoint starts over). --set may change",
                    "only keys that do not alter the rounds already trained (train.rounds, split.* networking, ...)."})
    String resume;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Overrides one key, e.g. --set train.rounds=3 (repeatable).")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() {
        if (resume != null && conf != null) {
            throw new IllegalArgumentException("--resume continues a run with its recorded configuration; drop --conf");
        }
        return run(resume != null ? SplitLoraTrainer.resume(resume, sets) : SplitLoraTrainer.of(TrainConfig.load(conf, sets)),
                System.out);
    }

    /**
     * Runs {@code trainer} in a Spark session sized for it, with progress on {@code log}; a
     * session that was already running (the demo's) is used and left running.
     */
    static int run(SplitLoraTrainer trainer, PrintStream log) {
        TrainConfig cfg = trainer.config();
        try (SparkSessions.Session session = session("splitlora train", cfg, trainer.clientsPerRound())) {
            trainer.progressTo(log).fit(session.spark());
        }
        log.println("wrote " + cfg.out() + "/" + MetricsJsonl.FILE);
        return 0;
    }

    static Manifest manifest(TrainConfig cfg) {
        return ClientShards.readManifest(cfg.data().dir(), HadoopConf.fromSpark());
    }

    /**
     * The run's Spark session: spark.master from the config or spark-submit, else local mode with
     * a slot per client of a round (a barrier stage needs them all at once) and task retries,
     * which plain local[N] does not have.
     */
    static SparkSessions.Session session(String appName, TrainConfig cfg, int clientsPerRound) {
        String local = "local[" + Math.max(clientsPerRound, Runtime.getRuntime().availableProcessors()) + ",4]";
        return SparkSessions.open(appName, cfg.sparkMaster().isBlank() ? null : cfg.sparkMaster(), local);
    }
}
