package org.splitlora.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.splitlora.datasets.synthetic.SyntheticE2E;

/**
 * The job jar on a real Spark standalone cluster on 127.0.0.1 (a master and two 4-core workers,
 * separate JVMs from the jars of this build's Spark: 3.5.9, or 4.2.0 with -Pspark4), submitted
 * through submit-scripts/submit-standalone.sh: prepare and 2 rounds of SFL with 4 clients on the
 * built-in model; the same run through run-local.sh in local mode gives the same losses, and so
 * does the other Spark line's build on its own Spark; a worker killed in a round does not stop the run.
 */
@Tag("cluster")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterIT {

    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(6);
    private static final Path DIST_POM = Path.of(System.getProperty("splitlora.sparkDistPom", "src/it/spark-dist/pom.xml"))
            .toAbsolutePath();
    private static final String SPARK_VERSION = System.getProperty("splitlora.sparkVersion",
            org.apache.spark.package$.MODULE$.SPARK_VERSION());
    private static final String SCALA_BINARY_VERSION = System.getProperty("splitlora.scalaBinaryVersion",
            scala.util.Properties$.MODULE$.versionNumberString().replaceAll("^(\\d+\\.\\d+).*", "$1"));

    private static Path itDir;
    private static Path work;
    private static Path sparkHome;
    private static LocalSparkCluster cluster;
    private static Path data;
    private static Path conf;
    /** Test 1's local-mode run, the reference of the HDFS run. */
    private static List<JsonObject> localRounds;

    @BeforeAll
    static void startCluster() throws Exception {
        itDir = Path.of(System.getProperty("splitlora.itDir", "target/cluster-it")).toAbsolutePath();
        sparkHome = LocalSparkCluster.distribution(DIST_POM, itDir.resolve("spark-dist"), SPARK_VERSION, SCALA_BINARY_VERSION);
        work = itDir.resolve("work");
        deleteTree(work);
        Files.createDirectories(work);
        cluster = LocalSparkCluster.start(sparkHome, SCALA_BINARY_VERSION, work.resolve("cluster-logs"), 2, 4);

        Path csv = work.resolve("synthetic-e2e.csv");
        try (Writer w = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
            SyntheticE2E.writeCsv(w, SyntheticE2E.generate(240, 11));
        }
        data = work.resolve("prepared");
        Result prep = submitStandalone("prepare", List.of("prepare", "--input", csv.toString(), "--format", "e2e",
                "--tokenizer", "builtin:tiny-gpt2", "--clients", "4", "--partition", "iid", "--valid-fraction", "0.1",
                "--seed", "11", "--out", data.toString()));
        assertEquals(0, prep.exit(), "prepare on the cluster failed:\n" + prep.log());
        assertTrue(Files.isRegularFile(data.resolve("manifest.json")), prep.log());

        conf = Files.writeString(work.resolve("cluster.conf"), String.join("\n",
                "mode = sfl", "seed = 5", "model = \"builtin:tiny-gpt2\"",
                "data { dir = \"" + data + "\", maxValidExamples = 24 }",
                "lora { targets = [q, v], rank = 4, alpha = 16, dropout = 0.0 }",
                "optimizer { lr = 1e-2, warmupSteps = 2 }",
                "train { batchSize = 4, microBatchSize = 4, labelSmoothing = 0.0, localSteps = 5, rounds = 2, evalEvery = 1 }",
                "federation.clientsPerRound = 4", "split.cut = 2", ""));
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void sflOnTheClusterCompletesAndMatchesLocalMode() throws Exception {
        Result onCluster = submitStandalone("train-cluster", List.of("train", "--conf", conf.toString(), "--set",
                "out=" + work.resolve("run-cluster")));
        assertEquals(0, onCluster.exit(), "train on the cluster failed:\n" + onCluster.log());
        Path run = work.resolve("run-cluster");
        for (String f : List.of("run.json", "metrics.jsonl", "report.html", "adapter/adapter_model.safetensors",
                "adapter/adapter_config.json", "adapters/round-0001/adapter_model.safetensors",
                "adapters/round-0002/adapter_model.safetensors", "checkpoint")) {
            assertTrue(Files.exists(run.resolve(f)), "run directory lacks " + f + "\n" + onCluster.log());
        }
        List<JsonObject> cluster = rounds(run);
        assertEquals(2, cluster.size());
        for (JsonObject r : cluster) {
            assertEquals(4, r.getAsJsonArray("per_client").size(), "4 client tasks a round");
        }
        double trainLoss1 = cluster.get(0).get("train_loss").getAsDouble();
        double trainLoss2 = cluster.get(1).get("train_loss").getAsDouble();
        double val1 = cluster.get(0).get("val_loss").getAsDouble();
        double val2 = cluster.get(1).get("val_loss").getAsDouble();
        assertTrue(trainLoss2 < trainLoss1, "train loss " + trainLoss1 + " -> " + trainLoss2);
        assertTrue(val2 < val1, "validation loss " + val1 + " -> " + val2);

        Result local = run("train-local", List.of(ROOT.resolve("submit-scripts/run-local.sh").toString(),
                "--master", "local[4,4]", "--torch-threads", "1", "--conf", "spark.driver.memory=1g",
                "train", "--conf", conf.toString(), "--set", "out=" + work.resolve("run-local")));
        assertEquals(0, local.exit(), "train in local mode failed:\n" + local.log());
        List<JsonObject> inLocal = rounds(work.resolve("run-local"));
        localRounds = inLocal;
        assertEquals(cluster.size(), inLocal.size());
        for (int i = 0; i < cluster.size(); i++) {
            for (String key : List.of("train_loss", "val_loss")) {
                assertEquals(inLocal.get(i).get(key).getAsDouble(), cluster.get(i).get(key).getAsDouble(), 1e-5,
                        "round " + (i + 1) + " " + key + ": local mode vs cluster");
            }
            for (int c = 0; c < 4; c++) {
                JsonObject l = inLocal.get(i).getAsJsonArray("per_client").get(c).getAsJsonObject();
                JsonObject k = cluster.get(i).getAsJsonArray("per_client").get(c).getAsJsonObject();
                assertEquals(l.get("client").getAsInt(), k.get("client").getAsInt());
                assertEquals(l.get("train_loss").getAsDouble(), k.get("train_loss").getAsDouble(), 1e-5,
                        "round " + (i + 1) + " client " + l.get("client") + " loss: local mode vs cluster");
            }
        }
    }

    /**
     * The job jar of the other Spark line (the Spark 3.5 / Scala 2.12 build next to a Spark 4 /
     * Scala 2.13 one, or the other way round) on its own Spark, same run in local mode: the same
     * losses. Needs that build's job jar (mvn verify in the other profile first); without it the
     * test is skipped, unless -Dsplitlora.requireOtherBuild=true (.ci/run) makes that a failure.
     */
    @Test
    @Order(2)
    void theOtherSparkLineGivesTheSameLosses() throws Exception {
        Path otherJar = Path.of(System.getProperty("splitlora.otherBuild.jobJar", ""));
        String otherSpark = System.getProperty("splitlora.otherBuild.sparkVersion");
        String otherScala = System.getProperty("splitlora.otherBuild.scalaBinaryVersion");
        if (!Files.isRegularFile(otherJar)) {
            String why = "no job jar of the Spark " + otherSpark + " build at " + otherJar;
            assertFalse(Boolean.getBoolean("splitlora.requireOtherBuild"), why);
            Assumptions.abort(why);
        }
        assertNotNull(localRounds, "test 1's local-mode run");
        Path otherHome = LocalSparkCluster.distribution(DIST_POM, itDir.resolve("spark-dist-" + otherSpark), otherSpark,
                otherScala);
        List<String> cmd = List.of(ROOT.resolve("submit-scripts/run-local.sh").toString(), "--master", "local[4,4]",
                "--torch-threads", "1", "--conf", "spark.driver.memory=1g", "train", "--conf", conf.toString(), "--set",
                "out=" + work.resolve("run-local-spark" + otherSpark));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(work.resolve("train-local-spark" + otherSpark + ".log").toFile());
        pb.environment().putAll(LocalSparkCluster.environment(otherHome, otherScala));
        pb.environment().put("SPLITLORA_DRIVER_THREADS", "1");
        pb.environment().put("SPLITLORA_JOB_JAR", otherJar.toString());
        Result other = await("train-local-spark" + otherSpark, pb.start());
        assertEquals(0, other.exit(), "train on Spark " + otherSpark + " failed:\n" + other.log());
        assertEquals(otherSpark, sparkVersionOf(work.resolve("run-local-spark" + otherSpark)), "the other build's run");
        assertEquals(SPARK_VERSION, sparkVersionOf(work.resolve("run-local")), "this build's run");
        List<JsonObject> theirs = rounds(work.resolve("run-local-spark" + otherSpark));
        assertEquals(localRounds.size(), theirs.size());
        for (int i = 0; i < theirs.size(); i++) {
            for (String key : List.of("train_loss", "val_loss")) {
                assertEquals(localRounds.get(i).get(key).getAsDouble(), theirs.get(i).get(key).getAsDouble(), 1e-6,
                        "round " + (i + 1) + " " + key + ": Spark " + SPARK_VERSION + " vs Spark " + otherSpark);
            }
            for (int c = 0; c < 4; c++) {
                JsonObject ours = localRounds.get(i).getAsJsonArray("per_client").get(c).getAsJsonObject();
                JsonObject their = theirs.get(i).getAsJsonArray("per_client").get(c).getAsJsonObject();
                assertEquals(ours.get("client").getAsInt(), their.get("client").getAsInt());
                assertEquals(ours.get("train_loss").getAsDouble(), their.get("train_loss").getAsDouble(), 1e-6,
                        "round " + (i + 1) + " client " + ours.get("client") + ": Spark " + SPARK_VERSION + " vs Spark "
                        + otherSpark);
            }
        }
    }

    /** The driver and the executors (separate JVMs) read the shards from and write the run directory to a real HDFS. */
    @Test
    @Order(3)
    void aClusterRunReadsAndWritesHdfs() throws Exception {
        try (org.splitlora.testutil.Hdfs hdfs = org.splitlora.testutil.Hdfs.start(work.resolve("hdfs"))) {
            hdfs.fileSystem().copyFromLocalFile(new org.apache.hadoop.fs.Path(data.toString()), new org.apache.hadoop.fs.Path("/data"));
            String out = hdfs.uri("/runs/cluster");
            Result r = submitStandalone("train-hdfs", List.of("train", "--conf", conf.toString(), "--set", "data.dir=" + hdfs.uri("/data"),
                    "--set", "out=" + out));
            assertEquals(0, r.exit(), "train with data and out on HDFS failed:\n" + r.log());
            org.splitlora.store.RunStore run = org.splitlora.store.RunStore.at(out, new org.apache.hadoop.conf.Configuration());
            for (String f : List.of("run.json", "metrics.jsonl", "report.html", "adapter/adapter_model.safetensors",
                    "adapters/round-0002/adapter_config.json", org.splitlora.federation.Checkpoint.directory(2) + "/_COMPLETE")) {
                assertTrue(run.exists(f), "the HDFS run directory lacks " + f + "\n" + r.log());
            }
            assertTrue(!run.exists("run.lock"), "the run released its directory");
            String[] lines = run.readText("metrics.jsonl").orElseThrow().split("\n");
            assertEquals(localRounds.size(), lines.length);
            for (int i = 0; i < lines.length; i++) {
                JsonObject o = com.google.gson.JsonParser.parseString(lines[i]).getAsJsonObject();
                for (String key : List.of("train_loss", "val_loss")) {
                    assertEquals(localRounds.get(i).get(key).getAsDouble(), o.get(key).getAsDouble(), 1e-5,
                            "round " + (i + 1) + " " + key + ": HDFS cluster run vs local mode");
                }
            }
        }
    }

    /**
     * bench on the cluster (clients in the executors' JVMs, the server in the driver's) at
     * split.pipelineDepth 1, 2 and 4, interleaved: the same validation loss at every depth, and
     * the round-time ratios against lock-step in target/cluster-it/work/bench-pipeline.json.
     */
    @Test
    @Order(4)
    void pipelineDepthsBenchOnTheCluster() throws Exception {
        Path json = work.resolve("bench-pipeline.json");
        Result r = submitStandalone("bench-pipeline", List.of("bench", "--conf", conf.toString(), "--set",
                "out=" + work.resolve("run-bench"), "--set", "train.microBatchSize=1", "--set", "train.rounds=3",
                "--set", "train.evalEvery=3", "--modes", "sfl", "--pipeline-depths", "1,2,4", "--repeats", "3",
                "--json", json.toString()));
        assertEquals(0, r.exit(), "bench on the cluster failed:\n" + r.log());
        JsonObject report = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        JsonObject modes = report.getAsJsonObject("modes");
        double lockStep = modes.getAsJsonObject("sfl:depth=1").get("final_val_loss").getAsDouble();
        for (String depth : List.of("2", "4")) {
            assertEquals(lockStep, modes.getAsJsonObject("sfl:depth=" + depth).get("final_val_loss").getAsDouble(), 0.0,
                    "depth " + depth + ": the same arithmetic as lock-step");
        }
        System.out.println("StandaloneClusterIT: pipelined vs lock-step on the cluster: " + report.get("pipelined_vs_lock_step"));
    }

    /** Runs after the other tests: it leaves the cluster with one worker, whose 4 slots take the re-run round. */
    @Test
    @Order(5)
    void aWorkerKilledInARoundDoesNotStopTheRun() throws Exception {
        Path run = work.resolve("run-killed");
        // slowed clients make a round last long enough to be caught in the middle
        Process p = startStandalone("train-killed", List.of("train", "--conf", conf.toString(), "--set", "out=" + run,
                "--set", "train.rounds=3", "--set", "train.localSteps=12", "--set", "clients.speed=[0.2, 0.2, 0.2, 0.2]"));
        Path log = work.resolve("train-killed.log");
        try {
            long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
            while (lines(run.resolve("metrics.jsonl")) < 1) {
                assertTrue(p.isAlive(), "the run ended before its first round:\n" + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "no round finished in time:\n" + Files.readString(log));
                Thread.sleep(200);
            }
            // round 1 is over (its line is written before the next stage starts): the next task an
            // executor starts is a client of round 2; kill the worker of the first one seen
            long[] before = new long[cluster.workers()];
            for (int w = 0; w < before.length; w++) {
                before[w] = cluster.tasksStarted(w);
            }
            int victim = -1;
            while (victim < 0) {
                assertTrue(p.isAlive() && System.nanoTime() < deadline, "round 2 never started:\n" + Files.readString(log));
                for (int w = 0; w < before.length && victim < 0; w++) {
                    victim = cluster.tasksStarted(w) > before[w] ? w : -1;
                }
                Thread.sleep(100);
            }
            Thread.sleep(1000); // into the round's local steps (12 slowed steps take several seconds)
            cluster.killWorker(victim);
            assertTrue(p.waitFor(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS), "the run did not finish after the kill");
        } finally {
            p.destroyForcibly();
        }
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), "the run failed after a worker was killed:\n" + out);
        List<JsonObject> rounds = rounds(run);
        assertEquals(3, rounds.size(), out);
        boolean retried = rounds.stream().flatMap(r -> r.getAsJsonArray("per_client").asList().stream())
                .anyMatch(c -> c.getAsJsonObject().get("stage_attempt").getAsInt() > 0);
        assertTrue(retried, "no round was re-run after the kill:\n" + out);
        assertTrue(out.contains("lost ("), "the driver did not say an executor was lost:\n" + out);
        for (JsonObject r : rounds) {
            assertEquals(4, r.getAsJsonArray("per_client").size(), "every round completes with its 4 clients");
        }
    }

    private record Result(int exit, String log) {}

    private static Result submitStandalone(String name, List<String> command) throws Exception {
        return await(name, startStandalone(name, command));
    }

    /** submit-standalone.sh in client mode: the driver (and split server) in a JVM on this machine. */
    private static Process startStandalone(String name, List<String> command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("submit-scripts/submit-standalone.sh").toString(),
                "--master", cluster.masterUrl(), "--torch-threads", "1",
                "--conf", "spark.executor.cores=4", "--conf", "spark.executor.memory=1g", "--conf", "spark.driver.memory=1g",
                "--conf", "spark.cores.max=8", "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=60s"));
        cmd.addAll(command);
        return start(name, cmd);
    }

    private static Result run(String name, List<String> cmd) throws Exception {
        return await(name, start(name, cmd));
    }

    /** Waits for a started command (killed after RUN_TIMEOUT: exit -1); its output is in NAME.log. */
    private static Result await(String name, Process p) throws Exception {
        boolean finished = p.waitFor(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly();
        }
        return new Result(finished ? p.exitValue() : -1, Files.readString(work.resolve(name + ".log")));
    }

    private static Process start(String name, List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(work.resolve(name + ".log").toFile());
        pb.environment().putAll(cluster.environment());
        pb.environment().put("SPLITLORA_DRIVER_THREADS", "1");
        pb.environment().put("SPLITLORA_JOB_JAR", System.getProperty("splitlora.jobJar", ""));
        return pb.start();
    }

    private static List<JsonObject> rounds(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().filter(l -> !l.isBlank())
                .map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
    }

    /** The Spark version a run directory's run.json says the run had. */
    private static String sparkVersionOf(Path run) throws IOException {
        return JsonParser.parseString(Files.readString(run.resolve("run.json"))).getAsJsonObject().getAsJsonObject("versions")
                .get("spark").getAsString();
    }

    private static long lines(Path f) throws IOException {
        if (!Files.exists(f)) {
            return 0;
        }
        try (Stream<String> s = Files.lines(f)) {
            return s.filter(l -> !l.isBlank()).count();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
