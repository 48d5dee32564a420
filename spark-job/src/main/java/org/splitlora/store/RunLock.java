package org.splitlora.store;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.FileStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One live run owns a run directory: {@code run.lock}, created exclusively (O_EXCL on local
 * disk, the NameNode's create-if-absent on HDFS; best effort on object stores, which have no
 * such create) and kept fresh by a heartbeat. A second run is refused at once, naming the
 * holder. A lock whose holder is gone is taken over: at once when the holder was a process on
 * this host that no longer exists (a kill), otherwise when its heartbeat is older than the lease.
 */
public final class RunLock implements AutoCloseable {

    public static final String FILE = "run.lock";
    static final Duration HEARTBEAT = Duration.ofSeconds(10);
    static final Duration LEASE = Duration.ofSeconds(90);
    private static final Logger LOG = LoggerFactory.getLogger(RunLock.class);

    private final RunStore store;
    private final String token;
    private final ScheduledExecutorService heartbeat;

    private RunLock(RunStore store, String token) {
        this.store = store;
        this.token = token;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "run-lock-heartbeat");
            t.setDaemon(true);
            return t;
        });
        heartbeat.scheduleWithFixedDelay(this::beat, HEARTBEAT.toMillis(), HEARTBEAT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Takes the lock of {@code store} for {@code command} (e.g. "train"), or fails naming who holds it. */
    public static RunLock take(RunStore store, String command) {
        String token = UUID.randomUUID().toString();
        JsonObject me = new JsonObject();
        me.addProperty("command", command);
        me.addProperty("pid", ProcessHandle.current().pid());
        me.addProperty("host", host());
        me.addProperty("started", Instant.now().toString());
        me.addProperty("token", token);
        byte[] bytes = me.toString().getBytes(StandardCharsets.UTF_8);
        for (int attempt = 0; attempt < 3; attempt++) {
            if (store.createExclusive(FILE, bytes)) {
                return new RunLock(store, token);
            }
            FileStatus held = store.status(FILE);
            if (held == null) {
                continue; // released between our create and our look
            }
            JsonObject holder = read(store);
            String why = staleBecause(holder, held);
            if (why == null) {
                throw new IllegalStateException("out: " + store.location() + " is in use by " + describe(holder, held)
                        + "; wait for it to end or stop it (a lock whose holder died expires " + LEASE.toSeconds()
                        + " s after its last heartbeat)");
            }
            // rename first: of two runs taking over the same stale lock, only one rename succeeds
            String aside = "." + FILE + ".tmp-" + UUID.randomUUID();
            if (store.rename(FILE, aside)) {
                store.delete(aside);
                LOG.warn("out: {}: took over the lock of {} ({})", store.location(), describe(holder, held), why);
            }
        }
        throw new IllegalStateException("out: " + store.location() + ": cannot take " + FILE + " (another run keeps taking it)");
    }

    private void beat() {
        try {
            store.touch(FILE, System.currentTimeMillis());
        } catch (RuntimeException e) {
            LOG.warn("out: {}: cannot refresh {}: {}", store.location(), FILE, e.getMessage());
        }
    }

    /** Releases the lock if it is still this run's (never another's that took over a lapsed lease). */
    @Override
    public void close() {
        heartbeat.shutdownNow();
        JsonObject now = read(store);
        if (now != null && now.has("token") && now.get("token").getAsString().equals(token)) {
            store.delete(FILE);
        }
    }

    private static JsonObject read(RunStore store) {
        try {
            return store.readText(FILE).map(t -> JsonParser.parseString(t).getAsJsonObject()).orElse(null);
        } catch (RuntimeException e) {
            return null; // torn or foreign content: judged by its age alone
        }
    }

    /** Why the holder is gone, or null while it may be alive. */
    private static String staleBecause(JsonObject holder, FileStatus held) {
        long age = System.currentTimeMillis() - held.getModificationTime();
        if (holder != null && holder.has("host") && holder.get("host").getAsString().equals(host()) && holder.has("pid")
                && ProcessHandle.of(holder.get("pid").getAsLong()).map(p -> !p.isAlive()).orElse(true)) {
            return "process " + holder.get("pid").getAsLong() + " no longer runs on this host";
        }
        if (age > LEASE.toMillis()) {
            return String.format(Locale.ROOT, "no heartbeat for %d s", age / 1000);
        }
        return null;
    }

    private static String describe(JsonObject holder, FileStatus held) {
        long age = Math.max(0, System.currentTimeMillis() - held.getModificationTime()) / 1000;
        if (holder == null) {
            return "an unreadable " + FILE + " (last touched " + age + " s ago)";
        }
        return String.format(Locale.ROOT, "%s (pid %s on %s, started %s, last heartbeat %d s ago)",
                text(holder, "command"), text(holder, "pid"), text(holder, "host"), text(holder, "started"), age);
    }

    private static String text(JsonObject o, String key) {
        return o.has(key) ? o.get(key).getAsString() : "?";
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown-host";
        }
    }
}
