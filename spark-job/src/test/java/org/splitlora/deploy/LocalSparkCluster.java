package org.splitlora.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real Spark standalone cluster on 127.0.0.1: a master and workers, each its own JVM started
 * from the jars of a Spark distribution, as {@code sbin/start-master.sh} and
 * {@code start-worker.sh} would. Closing it kills every process it started, executors included.
 */
final class LocalSparkCluster implements AutoCloseable {

    /** The JVM options this build's Spark needs on Java 17+ (the pom's java.module.options, which this JVM runs with). */
    static final List<String> JAVA_MODULE_OPTIONS = options("splitlora.javaModuleOptions");

    /** The words of a list of JVM options the build passed as system property {@code key}. */
    static List<String> options(String key) {
        String value = System.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + key + " is not set: run the test through Maven (the pom sets it)");
        }
        return List.of(value.trim().split("\\s+"));
    }

    private final Path sparkHome;
    private final String scalaBinaryVersion;
    private final Path logs;
    private final int masterPort = freePort();
    private final int masterUiPort = freePort();
    private final Process master;
    private final List<Process> workers = new ArrayList<>();
    private final Thread cleanup = new Thread(this::killAll);

    private LocalSparkCluster(Path sparkHome, String scalaBinaryVersion, Path logs) throws IOException {
        this.sparkHome = sparkHome;
        this.scalaBinaryVersion = scalaBinaryVersion;
        this.logs = logs;
        Files.createDirectories(logs);
        // a failsafe JVM killed mid-test must not leave Spark daemons behind
        Runtime.getRuntime().addShutdownHook(cleanup);
        this.master = start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                String.valueOf(masterPort), "--webui-port", String.valueOf(masterUiPort));
    }

    private void startWorkers(int n, int cores) throws IOException {
        for (int i = 0; i < n; i++) {
            Path work = workDir(i);
            Files.createDirectories(work);
            workers.add(start("worker-" + i, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                    "--cores", String.valueOf(cores), "--memory", "3g", "--webui-port", String.valueOf(freePort()),
                    "--work-dir", work.toString(), masterUrl()));
        }
    }

    private Path workDir(int worker) {
        return logs.resolve("worker-" + worker + "-work");
    }

    /** Starts the cluster and waits until every worker has registered with the master. */
    static LocalSparkCluster start(Path sparkHome, String scalaBinaryVersion, Path logs, int workers, int coresPerWorker)
            throws Exception {
        LocalSparkCluster c = new LocalSparkCluster(sparkHome, scalaBinaryVersion, logs);
        try {
            c.startWorkers(workers, coresPerWorker);
            c.awaitWorkers(workers, Duration.ofSeconds(90));
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    String masterUrl() {
        return "spark://127.0.0.1:" + masterPort;
    }

    /** The environment a Spark process of this cluster (or spark-submit) runs with. */
    Map<String, String> environment() {
        return environment(sparkHome, scalaBinaryVersion);
    }

    /** The environment spark-submit of distribution {@code sparkHome} (Scala {@code scalaBinaryVersion}) runs with. */
    static Map<String, String> environment(Path sparkHome, String scalaBinaryVersion) {
        return Map.of("SPARK_HOME", sparkHome.toString(), "SPARK_LOCAL_IP", "127.0.0.1", "SPARK_SCALA_VERSION", scalaBinaryVersion);
    }

    /** Kills worker {@code i} and the executors it launched at once (SIGKILL: a machine that dies). */
    void killWorker(int i) throws InterruptedException {
        Process w = workers.get(i);
        List<ProcessHandle> children = w.descendants().toList();
        w.destroyForcibly();
        for (ProcessHandle h : children) {
            h.destroyForcibly();
        }
        w.waitFor(30, TimeUnit.SECONDS);
    }

    /** Lines of "Running task" in the logs of the executors worker {@code i} launched. */
    long tasksStarted(int worker) throws IOException {
        Path work = workDir(worker);
        if (!Files.isDirectory(work)) {
            return 0;
        }
        long n = 0;
        try (Stream<Path> files = Files.walk(work)) {
            for (Path f : files.filter(p -> p.getFileName().toString().equals("stderr")).toList()) {
                try (Stream<String> lines = Files.lines(f, StandardCharsets.ISO_8859_1)) {
                    n += lines.filter(l -> l.contains("Running task")).count();
                }
            }
        }
        return n;
    }

    int workers() {
        return workers.size();
    }

    /** Alive workers as the master reports them (its JSON status page). */
    int aliveWorkers() throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + masterUiPort + "/json/")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("\"aliveworkers\"\\s*:\\s*(\\d+)").matcher(r.body());
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    private void awaitWorkers(int n, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!master.isAlive()) {
                throw new IllegalStateException("the Spark master exited; see " + logs.resolve("master.log"));
            }
            try {
                if (aliveWorkers() >= n) {
                    return;
                }
            } catch (IOException notYet) {
                // the master's UI is not up yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("fewer than " + n + " workers registered within " + timeout + "; see " + logs);
            }
            Thread.sleep(500);
        }
    }

    private Process start(String name, String mainClass, String... args) throws IOException {
        // spark.port.maxRetries=0: a port taken since freePort() fails here instead of moving silently
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-Dspark.port.maxRetries=0", "-cp", sparkHome.resolve("jars") + "/*"));
        cmd.addAll(JAVA_MODULE_OPTIONS);
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(logs.resolve(name + ".log").toFile());
        pb.environment().putAll(environment());
        return pb.start();
    }

    @Override
    public void close() {
        killAll();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run
        }
    }

    private void killAll() {
        List<Process> all = new ArrayList<>(workers);
        if (master != null) {
            all.add(master);
        }
        for (Process p : all) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : all) {
            try {
                p.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Makes a minimal Spark distribution in {@code dir}: the jars of Spark {@code sparkVersion} for
     * Scala {@code scalaBinaryVersion} resolved by Maven from {@code distPom} (Spark's own
     * dependency versions), a RELEASE file, and bin/spark-submit.
     */
    static Path distribution(Path distPom, Path dir, String sparkVersion, String scalaBinaryVersion)
            throws IOException, InterruptedException {
        if (Files.isRegularFile(dir.resolve("RELEASE")) && Files.isDirectory(dir.resolve("jars"))) {
            return dir;
        }
        List<String> mvn = new ArrayList<>(List.of(Path.of(System.getProperty("maven.home", "/usr/share/maven"), "bin", "mvn")
                .toString(), "-q", "-B", "-ntp", "-f", distPom.toString(), "package", "-Ddist.dir=" + dir,
                "-Dspark.version=" + sparkVersion, "-Dscala.binary.version=" + scalaBinaryVersion));
        String repo = System.getProperty("splitlora.mavenRepo");
        if (repo != null && !repo.isBlank()) {
            mvn.add("-Dmaven.repo.local=" + repo); // the outer build's repository
        }
        Path log = Files.createDirectories(dir.getParent()).resolve("spark-dist-build.log");
        Process p = new ProcessBuilder(mvn).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("assembling the Spark distribution took over 10 minutes; see " + log);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("could not assemble the Spark distribution: " + Files.readString(log));
        }
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Files.copy(distPom.resolveSibling("bin").resolve("spark-submit"), bin.resolve("spark-submit"),
                StandardCopyOption.REPLACE_EXISTING);
        if (!bin.resolve("spark-submit").toFile().setExecutable(true)) {
            throw new IOException("cannot make " + bin.resolve("spark-submit") + " executable");
        }
        Files.writeString(dir.resolve("RELEASE"), "Spark " + sparkVersion + " (Scala " + scalaBinaryVersion + ", jars from Maven Central, for the cluster test)\n");
        return dir;
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
