package org.splitlora.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.federation.Checkpoint;
import org.splitlora.federation.RunState;
import org.splitlora.testutil.Hdfs;
import org.splitlora.train.AdamW;

/** The run store's guarantees on local disk and on a real HDFS: whole replacement, recovery, exclusive ownership, checkpoints. */
class RunStoreTest {

    @TempDir
    static Path tmp;
    private static Hdfs hdfs;

    @BeforeAll
    static void startHdfs() throws IOException {
        hdfs = Hdfs.start(tmp.resolve("hdfs"));
    }

    @AfterAll
    static void stopHdfs() {
        hdfs.close();
    }

    private static RunStore store(String fs) {
        String name = "run-" + UUID.randomUUID();
        return RunStore.at(fs.equals("hdfs") ? hdfs.uri("/runs/" + name) : tmp.resolve(name).toString(), new Configuration());
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "hdfs"})
    void filesAndDirectoriesAreReplacedWholeAndLeaveNothingBehind(String fs) {
        RunStore run = store(fs);
        assertEquals(fs.equals("hdfs") ? "hdfs" : "file", run.path("").toUri().getScheme());
        run.writeText("a.json", "one");
        run.writeText("a.json", "two");
        assertEquals("two", run.readText("a.json").orElseThrow());
        run.publishDirectory("adapter", d -> {
            Files.createDirectories(d);
            Files.writeString(d.resolve("w"), "v1");
            Files.writeString(d.resolve("only-in-v1"), "x");
        });
        run.publishDirectory("adapter", d -> {
            Files.createDirectories(d);
            Files.writeString(d.resolve("w"), "v2");
        });
        assertEquals("v2", run.readText("adapter/w").orElseThrow());
        assertEquals(List.of("w"), run.list("adapter"), "the new directory replaced the old one whole");
        assertEquals(Set.of("a.json", "adapter"), Set.copyOf(run.list("")), "no staging or temporary entries left");
        // a writer that fails leaves the previous directory
        assertThrows(IllegalStateException.class, () -> run.publishDirectory("adapter", d -> {
            Files.createDirectories(d);
            Files.writeString(d.resolve("w"), "half");
            throw new IllegalStateException("disk full");
        }));
        assertEquals("v2", run.readText("adapter/w").orElseThrow());
        assertEquals(Set.of("a.json", "adapter"), Set.copyOf(run.list("")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "hdfs"})
    void recoveryFinishesAnInterruptedSwapAndTouchesNothingElse(String fs) {
        RunStore run = store(fs);
        String uuid = UUID.randomUUID().toString();
        // killed between the two renames: adapter/ moved aside, its replacement still staged
        run.writeText(".adapter.old-" + uuid + "/w", "previous");
        run.writeText(".adapter.staging-" + UUID.randomUUID() + "/w", "new but never swapped in");
        run.writeText(".run.json.tmp-" + UUID.randomUUID(), "{");
        // the user's own files, with names close to ours
        run.writeText(".adapter.backup", "mine");
        run.writeText(".adapter.old-not-a-uuid", "mine");
        run.writeText("notes.txt", "mine");
        List<String> done = run.recover("");
        assertEquals(3, done.size(), done.toString());
        assertEquals("previous", run.readText("adapter/w").orElseThrow());
        assertEquals(Set.of("adapter", ".adapter.backup", ".adapter.old-not-a-uuid", "notes.txt"), Set.copyOf(run.list("")));
        assertEquals(List.of(), run.recover(""), "recovery is idempotent");
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "hdfs"})
    void oneLiveRunOwnsTheDirectory(String fs) throws Exception {
        RunStore run = store(fs);
        try (RunLock held = RunLock.take(run, "train")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> RunLock.take(run, "train"));
            assertTrue(e.getMessage().contains("is in use by train (pid " + ProcessHandle.current().pid()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        assertFalse(run.exists(RunLock.FILE), "released");
        // a holder that died on this host (as after a SIGKILL) is taken over at once
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        run.writeText(RunLock.FILE, "{\"command\":\"train\",\"pid\":" + dead.pid() + ",\"host\":\""
                + java.net.InetAddress.getLocalHost().getHostName() + "\",\"started\":\"then\",\"token\":\"t\"}");
        try (RunLock taken = RunLock.take(run, "train")) {
            assertTrue(run.readText(RunLock.FILE).orElseThrow().contains("\"pid\":" + ProcessHandle.current().pid()));
        }
        // another host's live-looking lock is respected until its lease runs out
        run.writeText(RunLock.FILE, "{\"command\":\"train\",\"pid\":1,\"host\":\"elsewhere\",\"started\":\"then\",\"token\":\"t\"}");
        assertThrows(IllegalStateException.class, () -> RunLock.take(run, "train"));
        run.touch(RunLock.FILE, System.currentTimeMillis() - RunLock.LEASE.toMillis() - 1000);
        RunLock.take(run, "train").close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "hdfs"})
    void resumeTakesTheNewestCompleteCheckpoint(String fs) {
        RunStore run = store(fs);
        Checkpoint.Header h = new Checkpoint.Header(7, "hash", "{\"k\":1}");
        Checkpoint.write(run, state(1), h);
        Checkpoint.write(run, state(2), h);
        Checkpoint.write(run, state(3), h);
        assertEquals(Set.of("round-0002", "round-0003"), Set.copyOf(run.list(Checkpoint.DIR)),
                "all but the previous checkpoint go once a newer one is complete");
        run.delete(Checkpoint.directory(3));
        // a kill while writing round 3's: its files are there, its marker is not
        run.writeText(Checkpoint.directory(3) + "/state.json", "{\"completed_rounds\": 3, \"trunc");
        RunState back = Checkpoint.read(run, h);
        assertEquals(2, back.completedRounds());
        assertArrayEquals(state(2).global().get("w"), back.global().get("w"));
        assertEquals(state(2).clientOptimizers().get(0).step(), back.clientOptimizers().get(0).step());
        assertArrayEquals(state(2).clientOptimizers().get(0).v().get(0), back.clientOptimizers().get(0).v().get(0));
        assertEquals(Set.of("round-0002"), Set.copyOf(run.list(Checkpoint.DIR)), "the incomplete one was removed");
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.read(run, new Checkpoint.Header(8, "hash", "{}")));
        // a checkpoint whose file no longer has the size its marker recorded does not count: the previous one does
        Checkpoint.write(run, state(3), h);
        run.writeText(Checkpoint.directory(3) + "/tensors.safetensors", "truncated");
        assertEquals(2, Checkpoint.latest(run).orElseThrow());
    }

    private static RunState state(int round) {
        Map<String, float[]> global = new TreeMap<>(Map.of("w", new float[] {round, -round, 0.5f}));
        AdamW.State opt = new AdamW.State(round * 10, List.of(new float[] {0.1f * round}), List.of(new float[] {0.2f * round}));
        return new RunState(round, global, null, Map.of(0, opt), Map.of(0, (long) round * 4), null, new TreeMap<>(Map.of(0, 2)), Map.of());
    }
}
