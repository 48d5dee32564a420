package org.splitlora.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spark-submit commands the submit-scripts build, read back from {@code --dry-run} as the
 * argument vector bash would pass (the printed command is evaluated by bash, not split by us).
 */
class SubmitScriptsTest {

    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final String JAR = "/opt/jobs/splitlora-job.jar";

    @TempDir
    static Path tmp;
    private static Path sparkHome;
    private static Path runConf;

    @BeforeAll
    static void fakeSparkHome() throws IOException {
        sparkHome = tmp.resolve("spark");
        Path submit = Files.createDirectories(sparkHome.resolve("bin")).resolve("spark-submit");
        Files.writeString(submit, "#!/bin/sh\necho 'a dry run must not run spark-submit' >&2; exit 99\n");
        assertTrue(submit.toFile().setExecutable(true));
        runConf = Files.writeString(tmp.resolve("run.conf"), "mode = sfl\n");
    }

    @Test
    void yarnClusterModeShipsTheConfAndLoggingAndPassesJavaAndDjlOptions() throws Exception {
        Submit s = dryRun("submit-yarn.sh", "--jar", JAR, "--num-executors", "4", "--queue", "ml",
                "train", "--conf", runConf.toString(), "--set", "train.rounds=3");
        assertEquals(sparkHome.resolve("bin/spark-submit").toString(), s.argv.get(0));
        assertEquals("yarn", s.option("--master"));
        assertEquals("cluster", s.option("--deploy-mode"));
        assertEquals("org.splitlora.cli.SplitLoraCli", s.option("--class"));
        assertEquals("ml", s.option("--queue"));
        assertEquals("4", s.option("--num-executors"));
        // conf/spark-defaults.conf as --conf entries, so the cluster's own spark-defaults.conf still applies
        assertEquals(null, s.option("--properties-file"));
        assertEquals("false", s.conf("spark.dynamicAllocation.enabled"));
        assertEquals("4", s.conf("spark.stage.maxConsecutiveAttempts"));
        // the driver runs in YARN: the run conf and log4j2.properties travel with --files (one list)
        assertEquals(List.of(runConf.toString(), ROOT.resolve("conf/log4j2.properties").toString()),
                Arrays.asList(s.option("--files").split(",")));
        assertEquals(List.of("train", "--conf", "run.conf", "--set", "train.rounds=3"), s.appArgs());
        assertJavaOptions(s.conf("spark.driver.extraJavaOptions"));
        assertTrue(s.conf("spark.driver.extraJavaOptions").contains("-Dlog4j2.configurationFile=log4j2.properties"));
        assertJavaOptions(s.conf("spark.executor.extraJavaOptions"));
        assertTrue(s.conf("spark.executor.extraJavaOptions").contains("-Dai.djl.pytorch.num_threads=1"));
        assertEquals("1", s.conf("spark.executorEnv.OMP_NUM_THREADS"));
        assertEquals("4", s.conf("spark.yarn.appMasterEnv.OMP_NUM_THREADS"));
    }

    @Test
    void yarnClientModeNamesTheDriverHostAndFixesThePorts() throws Exception {
        Submit s = dryRun("submit-yarn.sh", "--deploy-mode", "client", "--driver-host", "10.1.2.3", "--driver-port", "7077",
                "--block-manager-port", "7078", "--split-port", "7079", "--torch-threads", "2",
                "train", "--conf", runConf.toString());
        assertEquals("client", s.option("--deploy-mode"));
        assertEquals("10.1.2.3", s.conf("spark.driver.host"));
        assertEquals("7077", s.conf("spark.driver.port"));
        assertEquals("7078", s.conf("spark.blockManager.port"));
        // the conf stays a local path: the driver runs here; the split server's port is a run setting
        assertEquals(List.of("train", "--conf", runConf.toString(), "--set", "split.port=7079"), s.appArgs());
        assertEquals(null, s.option("--files"));
        assertEquals("2", s.conf("spark.executorEnv.OMP_NUM_THREADS"));
        assertTrue(s.conf("spark.driver.extraJavaOptions").contains(
                "-Dlog4j2.configurationFile=file:" + ROOT.resolve("conf/log4j2.properties")));
        assertEquals(JAR, s.jar(), "the job jar from SPLITLORA_JOB_JAR");
    }

    @Test
    void k8sRunsTheDriverPodFromTheImage() throws Exception {
        Submit s = dryRunWithJar(null, "submit-k8s.sh", "--master", "k8s://https://api.example:6443", "--image", "repo/splitlora:0.1",
                "--namespace", "fl", "--upload-path", "s3a://bucket/spark", "--split-port", "7079", "train", "--conf",
                runConf.toString());
        assertEquals("s3a://bucket/spark", s.conf("spark.kubernetes.file.upload.path"));
        assertEquals(runConf.toString(), s.option("--files"));
        assertEquals("k8s://https://api.example:6443", s.option("--master"));
        assertEquals("cluster", s.option("--deploy-mode"));
        assertEquals("repo/splitlora:0.1", s.conf("spark.kubernetes.container.image"));
        assertEquals("fl", s.conf("spark.kubernetes.namespace"));
        assertEquals("spark", s.conf("spark.kubernetes.authenticate.driver.serviceAccountName"));
        assertEquals("4", s.conf("spark.kubernetes.driverEnv.OMP_NUM_THREADS"));
        assertEquals("local:///opt/splitlora/splitlora-job.jar", s.jar());
        assertEquals(List.of("train", "--conf", "run.conf", "--set", "split.port=7079"), s.appArgs());
        assertJavaOptions(s.conf("spark.driver.extraJavaOptions"));
        assertJavaOptions(s.conf("spark.executor.extraJavaOptions"));
    }

    @Test
    void standaloneAndLocalScripts() throws Exception {
        Submit standalone = dryRun("submit-standalone.sh", "--master", "spark://m:7077", "--driver-host", "h1",
                "eval", "--model", "builtin:tiny-gpt2", "--data", "d.csv");
        assertEquals("spark://m:7077", standalone.option("--master"));
        assertEquals("client", standalone.option("--deploy-mode"));
        assertEquals("h1", standalone.conf("spark.driver.host"));
        assertEquals(List.of("eval", "--model", "builtin:tiny-gpt2", "--data", "d.csv"), standalone.appArgs());
        Submit local = dryRun("run-local.sh", "--master", "local[4]", "demo");
        assertEquals("local[4]", local.option("--master"));
        assertEquals(List.of("demo"), local.appArgs());
        assertEquals("local[*,4]", dryRun("run-local.sh", "demo").option("--master"), "task retries by default");
        Submit threads = dryRun("run-local.sh", "--torch-threads", "1", "demo");
        assertTrue(threads.conf("spark.driver.extraJavaOptions").contains("-Dai.djl.pytorch.num_threads=1"),
                "an explicit --torch-threads wins in local mode");
    }

    @Test
    void optionsWithEqualsSignsAreTheScriptsOptionsToo() throws Exception {
        Submit s = dryRun("submit-standalone.sh", "--master=spark://m:7077", "--deploy-mode=client", "--torch-threads=2",
                "--split-port=7079", "--executor-memory=2g", "train", "--conf", runConf.toString());
        assertEquals("spark://m:7077", s.option("--master"));
        assertEquals("client", s.option("--deploy-mode"));
        assertEquals("2", s.conf("spark.executorEnv.OMP_NUM_THREADS"));
        assertEquals("2g", s.option("--executor-memory"));
        assertEquals(List.of("train", "--conf", runConf.toString(), "--set", "split.port=7079"), s.appArgs());
    }

    /** splitlora with a cluster --master hands the command to that cluster's script (k8s also needs --image: call it directly). */
    @Test
    void theLauncherSubmitsToTheClusterItsMasterNames() throws Exception {
        for (String master : List.of("spark://m:7077", "yarn")) {
            ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("submit-scripts/splitlora").toString(),
                    "prepare", "--input", "a.csv", "--master", master, "--format", "e2e");
            pb.environment().put("SPARK_HOME", sparkHome.toString());
            pb.environment().put("SPLITLORA_JOB_JAR", JAR);
            pb.environment().put("SPLITLORA_DRY_RUN", "1");
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), err);
            Submit s = parse(out);
            assertEquals(master, s.option("--master"));
            assertEquals(List.of("prepare", "--input", "a.csv", "--format", "e2e"), s.appArgs(), "--master goes to spark-submit");
        }
    }

    @Test
    void badOptionsAreRefusedNamingTheOption() throws Exception {
        assertRefused("--image is required", "submit-k8s.sh", "--master", "k8s://https://a:1", "train");
        assertRefused("give --upload-path", "submit-k8s.sh", "--master", "k8s://https://a:1", "--image", "i", "train", "--conf",
                runConf.toString());
        assertRefused("--master must be spark://", "submit-standalone.sh", "--master", "yarn", "train");
        assertRefused("--split-port applies to train and bench", "submit-yarn.sh", "--split-port", "7079", "prepare");
        assertRefused("--driver-host is for client mode", "submit-yarn.sh", "--driver-host", "h", "train");
        assertRefused("no splitlora command given", "submit-yarn.sh", "--num-executors", "2");
        assertRefused("--torch-threads needs a positive integer", "run-local.sh", "--torch-threads", "0", "demo");
    }

    private static void assertRefused(String message, String script, String... args) throws Exception {
        Run r = run(script, args);
        assertNotEquals(0, r.exit, script + " accepted " + List.of(args));
        assertTrue(r.err.contains(message), "expected '" + message + "' in: " + r.err);
    }

    /**
     * The scripts' two lists of JVM options are the pom's (spark3.java.options, spark4.java.options);
     * the launcher takes the list of the Spark its build holds.
     */
    @Test
    void theJavaOptionListsAreThePomsAndTheLauncherPicksItsSparksList() throws Exception {
        assertEquals(LocalSparkCluster.options("splitlora.spark3JavaOptions"), scriptWords("$spark3_java_options"));
        assertEquals(LocalSparkCluster.options("splitlora.spark4JavaOptions"), scriptWords("$spark4_java_options"));
        Path jars3 = Files.createDirectories(tmp.resolve("jars-3"));
        Files.createFile(jars3.resolve("spark-core_2.12-3.5.9.jar"));
        Path jars4 = Files.createDirectories(tmp.resolve("jars-4"));
        Files.createFile(jars4.resolve("spark-core_2.13-4.2.0.jar"));
        assertEquals(scriptWords("$spark3_java_options"), scriptWords("$(java_options_for_spark_jars " + jars3 + ")"));
        assertEquals(scriptWords("$spark4_java_options"), scriptWords("$(java_options_for_spark_jars " + jars4 + ")"));
    }

    /** The words bash makes of {@code expression} after sourcing lib/java-options.sh. */
    private static List<String> scriptWords(String expression) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "source \"$1\"; printf '%s\\n' " + expression, "bash",
                ROOT.resolve("submit-scripts/lib/java-options.sh").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    /** The Spark 3.5 options (all of them: the spark-submit of Spark 4 adds its own), and DJL offline. */
    private static void assertJavaOptions(String javaOptions) {
        List<String> opts = Arrays.asList(javaOptions.split(" "));
        List<String> expected = LocalSparkCluster.options("splitlora.spark3JavaOptions");
        assertEquals(15, expected.size(), "the Spark 3.5 options: " + expected);
        assertTrue(opts.containsAll(expected), "missing Java 17 options in " + javaOptions);
        assertTrue(opts.contains("-Dai.djl.offline=true"), javaOptions);
        assertTrue(opts.stream().anyMatch(o -> o.startsWith("-XX:MaxDirectMemorySize=")), javaOptions);
    }

    private record Run(int exit, String out, String err) {}

    private static Run run(String script, String... args) throws Exception {
        return runWithJar(JAR, script, args);
    }

    /** Runs {@code script --dry-run args} with SPLITLORA_JOB_JAR={@code jobJar} (unset if null). */
    private static Run runWithJar(String jobJar, String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("submit-scripts").resolve(script).toString(), "--dry-run"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        if (jobJar == null) {
            pb.environment().remove("SPLITLORA_JOB_JAR");
        } else {
            pb.environment().put("SPLITLORA_JOB_JAR", jobJar);
        }
        pb.environment().remove("SPLITLORA_DRIVER_THREADS");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out, err);
    }

    /** The printed command as bash parses it: one argument per NUL-terminated field. */
    private static Submit dryRun(String script, String... args) throws Exception {
        return dryRunWithJar(JAR, script, args);
    }

    private static Submit dryRunWithJar(String jobJar, String script, String... args) throws Exception {
        Run r = runWithJar(jobJar, script, args);
        assertEquals(0, r.exit, script + " failed: " + r.err);
        return parse(r.out);
    }

    private static Submit parse(String printed) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "eval \"argv=($1)\"; printf '%s\\0' \"${argv[@]}\"", "_", printed).start();
        String fields = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        return new Submit(List.of(fields.substring(0, fields.length() - 1).split("\0", -1)));
    }

    /** A spark-submit argument vector: options up to the jar, then the application's arguments. */
    private record Submit(List<String> argv) {

        int jarIndex() {
            for (int i = 1; i < argv.size(); i++) {
                String previous = argv.get(i - 1);
                boolean previousTakesValue = previous.startsWith("--") && !previous.equals("--verbose")
                        && !previous.equals("--supervise");
                if (!argv.get(i).startsWith("--") && !previousTakesValue) {
                    return i;
                }
            }
            throw new AssertionError("no jar in " + argv);
        }

        String jar() {
            return argv.get(jarIndex());
        }

        List<String> appArgs() {
            return argv.subList(jarIndex() + 1, argv.size());
        }

        /** The value of a spark-submit option; an option given twice is an error (spark-submit keeps the last). */
        String option(String name) {
            String value = null;
            for (int i = 1; i < jarIndex(); i++) {
                if (argv.get(i).equals(name)) {
                    assertEquals(null, value, name + " given twice in " + argv);
                    value = argv.get(i + 1);
                }
            }
            return value;
        }

        String conf(String key) {
            Map<String, String> confs = new LinkedHashMap<>();
            for (int i = 1; i < jarIndex(); i++) {
                if (argv.get(i).equals("--conf")) {
                    String[] kv = argv.get(i + 1).split("=", 2);
                    assertEquals(null, confs.put(kv[0], kv[1]), kv[0] + " set twice");
                }
            }
            return confs.get(key);
        }
    }
}
