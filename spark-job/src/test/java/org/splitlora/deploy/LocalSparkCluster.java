package org.splitlora.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
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

/**
 * A real Spark standalone cluster on 127.0.0.1: a master and workers, each its own JVM started
 * from the jars of a Spark distribution, as {@code sbin/start-master.sh} and
 * {@code start-worker.sh} would. Closing it kills every process it started, executors included.
 */
final class LocalSparkCluster implements AutoCloseable {

    /** The JVM flags Spark 3.5 needs on Java 17: those this test JVM got from the build (the pom's list). */
    static final List<String> JAVA17_OPENS = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
            .filter(a -> a.startsWith("--add-opens") || a.equals("-Djdk.reflect.useDirectMethodHandle=false")).toList();

    private final Path sparkHome;
    private final Path logs;
    private final int masterPort = freePort();
    private final int masterUiPort = freePort();
    private final Process master;
    private final List<Process> workers = new ArrayList<>();

    private LocalSparkCluster(Path sparkHome, Path logs, int workers, int coresPerWorker) throws IOException {
        this.sparkHome = sparkHome;
        this.logs = logs;
        Files.createDirectories(logs);
        this.master = start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                String.valueOf(masterPort), "--webui-port", String.valueOf(masterUiPort));
        for (int i = 0; i < workers; i++) {
            Path work = logs.resolve("worker-" + i + "-work");
            Files.createDirectories(work);
            this.workers.add(start("worker-" + i, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                    "--cores", String.valueOf(coresPerWorker), "--memory", "3g", "--webui-port", String.valueOf(freePort()),
                    "--work-dir", work.toString(), masterUrl()));
        }
    }

    /** Starts the cluster and waits until every worker has registered with the master. */
    static LocalSparkCluster start(Path sparkHome, Path logs, int workers, int coresPerWorker) throws Exception {
        LocalSparkCluster c = new LocalSparkCluster(sparkHome, logs, workers, coresPerWorker);
        try {
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
        return Map.of("SPARK_HOME", sparkHome.toString(), "SPARK_LOCAL_IP", "127.0.0.1", "SPARK_SCALA_VERSION", "2.12");
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
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", sparkHome.resolve("jars") + "/*"));
        cmd.addAll(JAVA17_OPENS);
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(logs.resolve(name + ".log").toFile());
        pb.environment().putAll(environment());
        return pb.start();
    }

    @Override
    public void close() {
        List<Process> all = new ArrayList<>(workers);
        all.add(master);
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
     * Makes a minimal Spark distribution in {@code dir}: Spark 3.5.9's jars resolved by Maven from
     * {@code distPom} (Spark's own dependency versions), a RELEASE file, and bin/spark-submit.
     */
    static Path distribution(Path distPom, Path dir) throws IOException, InterruptedException {
        if (Files.isRegularFile(dir.resolve("RELEASE")) && Files.isDirectory(dir.resolve("jars"))) {
            return dir;
        }
        List<String> mvn = new ArrayList<>(List.of(Path.of(System.getProperty("maven.home", "/usr/share/maven"), "bin", "mvn")
                .toString(), "-q", "-B", "-ntp", "-f", distPom.toString(), "package", "-Ddist.dir=" + dir));
        Process p = new ProcessBuilder(mvn).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("could not assemble the Spark distribution: " + out);
        }
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Files.copy(distPom.resolveSibling("bin").resolve("spark-submit"), bin.resolve("spark-submit"),
                StandardCopyOption.REPLACE_EXISTING);
        if (!bin.resolve("spark-submit").toFile().setExecutable(true)) {
            throw new IOException("cannot make " + bin.resolve("spark-submit") + " executable");
        }
        Files.writeString(dir.resolve("RELEASE"), "Spark 3.5.9 (jars from Maven Central, for the cluster test)\n");
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
