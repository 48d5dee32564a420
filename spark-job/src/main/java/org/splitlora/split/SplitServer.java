package org.splitlora.split;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The split server the driver hosts: a gRPC service that runs the {@link ServerSegment} for the
 * clients of the current round. Clients advance in lock-step: the server waits until every client
 * due at (step, micro-batch) has sent its activations, serves them (one batch in v2), and takes
 * one optimizer step per global step on the server's adapters, each on the mean of the gradients
 * of the clients it served.
 * The grouping depends only on the round's clients, never on arrival order, so runs are
 * reproducible.
 *
 * <p>One worker thread owns the segment (PyTorch state is not shared across threads); gRPC threads
 * only decode frames and queue them. A frame of a newer Spark stage attempt rolls the segment back
 * to its state at the start of the round, so a retried round counts each update once.
 *
 * <p>Limits against callers that are not clients of the run: the secret is checked on a stream's
 * headers, before any of its frames is read; a connection carries one stream (a client opens one
 * per round, on its own connection), and at most {@link ServerSettings#maxStreams()} authenticated
 * streams are open at once, so what the server buffers stays below that many frames of
 * split.maxMessageSize.
 */
public final class SplitServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SplitServer.class);
    /** A client opens one stream per round, each on its own connection. */
    static final int STREAMS_PER_CONNECTION = 1;

    private final ServerSegment segment;
    private final ServerSettings settings;
    private final Server grpc;
    private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final Thread worker;
    private volatile boolean running = true;

    // Round state, owned by the worker thread.
    private int round = -1;
    private int attempt;
    private int firstStep;
    private int stepCount;
    private Set<Integer> expected = Set.of();
    private ServerSegment.Snapshot roundStart;
    private int step;
    private int micro;
    private final Map<Integer, Integer> microCounts = new TreeMap<>();
    private final Set<Integer> finished = new TreeSet<>();
    private int brokenAttempt = -1;
    private final Map<Integer, Arrival> waiting = new TreeMap<>();
    private long groupSince;
    private final Map<Integer, ClientTraffic> traffic = new TreeMap<>();

    private SplitServer(ServerSegment segment, ServerSettings settings) {
        this.segment = segment;
        this.settings = settings;
        ServerServiceDefinition service = ServerServiceDefinition.builder(SplitProtocol.SERVICE)
                .addMethod(SplitProtocol.RAW_EXCHANGE, ServerCalls.asyncBidiStreamingCall(this::openStream))
                .build();
        NettyServerBuilder builder = NettyServerBuilder
                .forAddress(new InetSocketAddress(settings.bindHost(), settings.port()))
                .maxInboundMessageSize(settings.maxMessageBytes())
                .maxConcurrentCallsPerConnection(STREAMS_PER_CONNECTION)
                // closes the connections of clients that vanished (a lost executor), which would
                // otherwise hold their stream slots for the rest of the run
                .keepAliveTime(1, TimeUnit.MINUTES)
                .keepAliveTimeout(20, TimeUnit.SECONDS)
                // interceptors run last to first: the secret is checked before a stream takes a slot
                .addService(ServerInterceptors.intercept(service, new StreamLimit(settings.maxStreams()),
                        new SecretCheck(settings.secret())));
        if (settings.tls() != null) {
            try {
                builder.sslContext(GrpcSslContexts.forServer(settings.tls().certChain().toFile(),
                        settings.tls().privateKey().toFile()).build());
            } catch (IOException e) {
                throw new UncheckedIOException("split.tls: " + e.getMessage(), e);
            }
        }
        this.grpc = builder.build();
        this.worker = new Thread(this::work, "split-server");
        this.worker.setDaemon(true);
    }

    /** Starts serving {@code segment} with {@code settings}; the port may be 0 (any free port). */
    public static SplitServer start(ServerSegment segment, ServerSettings settings) {
        SplitServer s = new SplitServer(segment, settings);
        try {
            s.grpc.start();
        } catch (IOException e) {
            throw new UncheckedIOException("split server cannot listen on " + settings.bindHost() + ":" + settings.port()
                    + " (split.bind / split.port): " + e.getMessage(), e);
        }
        s.worker.start();
        return s;
    }

    public int port() {
        return grpc.getPort();
    }

    /**
     * Opens a round (or a sequential-split turn) for the clients of {@code cuts} (each at its
     * cut), global steps [firstStep, firstStep + steps), with the server's adapters starting from
     * {@code start}; remembers the segment's state to roll back to.
     */
    public void beginRound(int round, int firstStep, int steps, Map<Integer, Integer> cuts, ServerSegment.StartValues start) {
        onWorker(() -> {
            segment.startRound(cuts, start);
            this.round = round;
            this.attempt = 0;
            this.brokenAttempt = -1;
            this.firstStep = firstStep;
            this.stepCount = steps;
            this.expected = new TreeSet<>(cuts.keySet());
            this.traffic.clear();
            this.roundStart = segment.snapshot();
            resetCursor();
            return null;
        });
    }

    /** Closes the round; returns what each client exchanged with the server in it. */
    public Map<Integer, ClientTraffic> endRound() {
        return onWorker(() -> {
            if (step != firstStep + stepCount) {
                throw new IllegalStateException("round " + round + " ended at step " + step + " of "
                        + (firstStep + stepCount) + ": some client did not finish");
            }
            this.round = -1;
            this.expected = Set.of();
            return Map.copyOf(traffic);
        });
    }

    /**
     * A client task of stage attempt {@code attempt} of the turn (round, firstStep) failed, as Spark
     * reports it: the attempt cannot finish in lock-step, so its waiting clients fail now and its
     * later frames are refused, instead of waiting out split.stepTimeout for a client that is gone
     * (one that failed before its first frame never opened a stream the server could see close).
     */
    public void abortAttempt(int round, int firstStep, int attempt, String reason) {
        events.add(new Abort(round, firstStep, attempt, reason));
    }

    public ServerSegment.Snapshot snapshot() {
        return onWorker(segment::snapshot);
    }

    public void restore(ServerSegment.Snapshot s) {
        onWorker(() -> {
            segment.restore(s);
            return null;
        });
    }

    /** Frames and payload bytes (as received and as answered) of one client in one round. */
    public record ClientTraffic(long frames, long bytesIn, long bytesOut) {
        static final ClientTraffic NONE = new ClientTraffic(0, 0, 0);

        ClientTraffic plus(long in, long out) {
            return new ClientTraffic(frames + 1, bytesIn + in, bytesOut + out);
        }
    }

    // ---- gRPC side: decode and queue -------------------------------------------------------

    private StreamObserver<byte[]> openStream(StreamObserver<StepReply> replies) {
        Stream stream = new Stream(replies);
        return new StreamObserver<>() {
            @Override
            public void onNext(byte[] frame) {
                StepRequest r;
                try {
                    r = SplitProtocol.decodeRequest(frame);
                } catch (MalformedFrameException e) {
                    events.add(new Failure(stream, Status.INVALID_ARGUMENT.withDescription(e.getMessage())));
                    return;
                }
                events.add(new Arrival(stream, r, frame.length, System.nanoTime()));
            }

            @Override
            public void onError(Throwable t) {
                events.add(new Gone(stream, true));
            }

            @Override
            public void onCompleted() {
                events.add(new Gone(stream, false));
            }
        };
    }

    /** One client connection; its observer is only touched by the worker thread. */
    private static final class Stream {
        final StreamObserver<StepReply> replies;
        boolean closed;
        /** Set when a frame of this stream joins a round: the client and the stage attempt it belongs to. */
        int clientId = -1;
        int attempt = -1;

        Stream(StreamObserver<StepReply> replies) {
            this.replies = replies;
        }

        void fail(Status status) {
            if (!closed) {
                closed = true;
                replies.onError(status.asRuntimeException());
            }
        }

        void complete() {
            if (!closed) {
                closed = true;
                replies.onCompleted();
            }
        }
    }

    private record Arrival(Stream stream, StepRequest request, int bytes, long nanos) {}

    private record Failure(Stream stream, Status status) {}

    /** A stream's client half-closed it, or gRPC cancelled it (the client went away, or its frame was refused). */
    private record Gone(Stream stream, boolean cancelled) {}

    private record Control(Callable<?> action, CompletableFuture<Object> done) {}

    private record Abort(int round, int firstStep, int attempt, String reason) {}

    // ---- worker side: group, compute, reply ------------------------------------------------

    @SuppressWarnings("unchecked")
    private <T> T onWorker(Callable<T> action) {
        CompletableFuture<Object> done = new CompletableFuture<>();
        events.add(new Control(action, done));
        try {
            return (T) done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the split server", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof RuntimeException re ? re : new IllegalStateException(c.getMessage(), c);
        }
    }

    private void work() {
        while (running) {
            Object ev;
            try {
                ev = events.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            try {
                if (ev instanceof Arrival a) {
                    arrive(a);
                } else if (ev instanceof Failure f) {
                    f.stream().fail(f.status());
                } else if (ev instanceof Gone g) {
                    gone(g.stream(), g.cancelled());
                } else if (ev instanceof Abort x) {
                    abort(x);
                } else if (ev instanceof Control c) {
                    try {
                        c.done().complete(c.action().call());
                    } catch (Exception e) {
                        c.done().completeExceptionally(e);
                    }
                }
                expireWaiting();
            } catch (RuntimeException e) {
                // a compute failure fails the clients of the group, never the server
                LOG.warn("split server: {}", e.toString());
                failWaiting(Status.INTERNAL.withDescription("server error: " + e.getMessage()));
            }
        }
    }

    /**
     * A client left. If it had steps to go, the round cannot finish in lock-step: fail the other
     * clients now (Spark then retries the whole barrier stage) instead of letting them time out.
     */
    private void gone(Stream stream, boolean cancelled) {
        if (cancelled) {
            // gRPC closed the call with its own status (an OK here could overtake it on the wire)
            stream.closed = true;
        } else {
            stream.complete();
        }
        waiting.values().removeIf(a -> a.stream() == stream);
        // only a stream that took part in the current attempt can break it (not a refused straggler)
        if (round >= 0 && stream.attempt == attempt && expected.contains(stream.clientId) && !finished.contains(stream.clientId)
                && brokenAttempt < attempt) {
            LOG.warn("split server: client {} left round {} before its last step; failing the round's attempt {}",
                    stream.clientId, round + 1, attempt);
            brokenAttempt = attempt;
            failWaiting(Status.ABORTED.withDescription("client " + stream.clientId + " left round " + (round + 1)));
        }
    }

    private void abort(Abort x) {
        if (x.round() != round || x.firstStep() != firstStep || x.attempt() < attempt || x.attempt() <= brokenAttempt) {
            return; // another turn, or an attempt already superseded or failed
        }
        LOG.warn("split server: round {} stage attempt {} failed ({}); failing its waiting clients", round + 1, x.attempt(),
                x.reason());
        brokenAttempt = x.attempt();
        failWaiting(Status.ABORTED.withDescription("round " + (round + 1) + " attempt " + x.attempt() + ": " + x.reason()));
    }

    private void arrive(Arrival a) {
        StepRequest r = a.request();
        String problem = admit(r);
        if (problem != null) {
            a.stream().fail(Status.FAILED_PRECONDITION.withDescription(problem));
            return;
        }
        try {
            segment.check(r);
        } catch (MalformedFrameException e) {
            a.stream().fail(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
            return;
        }
        if (r.attempt() > attempt) {
            // Spark retries the whole barrier stage: forget the failed attempt's steps
            LOG.warn("split server: round {} restarts as stage attempt {}; rolling back to the round start", round + 1, r.attempt());
            failWaiting(Status.ABORTED.withDescription("round " + (round + 1) + " restarted as attempt " + r.attempt()));
            segment.restore(roundStart);
            attempt = r.attempt();
            resetCursor();
        }
        if (r.step() != step || r.micro() != micro) {
            a.stream().fail(Status.FAILED_PRECONDITION.withDescription("client " + r.clientId() + " sent step "
                    + r.step() + " micro-batch " + r.micro() + ", the server is at step " + step + " micro-batch " + micro));
            return;
        }
        a.stream().clientId = r.clientId();
        a.stream().attempt = r.attempt();
        if (micro == 0) {
            microCounts.put(r.clientId(), r.microCount());
        }
        if (waiting.isEmpty()) {
            groupSince = System.nanoTime();
        }
        waiting.put(r.clientId(), a);
        serveIfComplete();
    }

    /** Why a frame cannot join the current round, or null. */
    private String admit(StepRequest r) {
        if (!r.runId().equals(settings.runId())) {
            return "frame of run " + r.runId() + ", this server serves run " + settings.runId();
        }
        if (r.round() != round) {
            return "frame of round " + r.round() + ", the server is " + (round < 0 ? "between rounds" : "in round " + round);
        }
        if (!expected.contains(r.clientId())) {
            return "client " + r.clientId() + " is not in round " + round;
        }
        if (r.attempt() < attempt) {
            return "stage attempt " + r.attempt() + " was superseded by attempt " + attempt;
        }
        if (r.attempt() <= brokenAttempt) {
            return "stage attempt " + r.attempt() + " of round " + round + " failed (a client left or its task failed)";
        }
        if (waiting.containsKey(r.clientId()) && r.attempt() == attempt) {
            return "client " + r.clientId() + " sent twice before a reply";
        }
        return null;
    }

    private void serveIfComplete() {
        List<Integer> members = new ArrayList<>();
        for (int c : expected) {
            if (micro == 0 || microCounts.getOrDefault(c, 0) > micro) {
                members.add(c);
            }
        }
        if (micro == 0 && microCounts.size() < expected.size() || !waiting.keySet().containsAll(members)) {
            return;
        }
        List<StepRequest> group = new ArrayList<>(members.size());
        for (int c : members) {
            group.add(waiting.get(c).request());
        }
        long start = System.nanoTime();
        ServerSegment.GroupResult result = segment.forwardBackward(group);
        for (int i = 0; i < members.size(); i++) {
            Arrival a = waiting.remove(members.get(i));
            ServerSegment.Outcome o = result.outcomes().get(i);
            StepReply reply = new StepReply(step, micro, o.loss(), a.request().dtype(), o.gradient(),
                    (float) result.forwardSeconds(), (float) result.backwardSeconds(), (float) ((start - a.nanos()) / 1e9));
            a.stream().replies.onNext(reply);
            if (step == firstStep + stepCount - 1 && micro == a.request().microCount() - 1) {
                finished.add(members.get(i));
            }
            traffic.put(members.get(i), traffic.getOrDefault(members.get(i), ClientTraffic.NONE)
                    .plus(a.bytes(), o.gradient().length));
        }
        micro++;
        int micros = microCounts.values().stream().mapToInt(Integer::intValue).max().orElse(1);
        if (micro >= micros) {
            segment.step(step);
            step++;
            micro = 0;
            microCounts.clear();
        }
    }

    private void expireWaiting() {
        if (!waiting.isEmpty() && System.nanoTime() - groupSince > settings.stepTimeout().toNanos()) {
            Set<Integer> missing = new TreeSet<>(expected);
            missing.removeAll(waiting.keySet());
            failWaiting(Status.DEADLINE_EXCEEDED.withDescription("step " + step + ": no activations from client(s) "
                    + missing + " within split.stepTimeout " + settings.stepTimeout()));
        }
    }

    private void failWaiting(Status status) {
        for (Arrival a : waiting.values()) {
            a.stream().fail(status);
        }
        waiting.clear();
    }

    private void resetCursor() {
        finished.clear();
        step = firstStep;
        micro = 0;
        microCounts.clear();
        waiting.clear();
    }

    /** Refuses calls without the run's secret (compared in constant time). */
    private static final class SecretCheck implements ServerInterceptor {
        private final byte[] secret;

        SecretCheck(String secret) {
            this.secret = secret.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            String given = headers.get(SplitProtocol.SECRET_HEADER);
            if (given == null || !MessageDigest.isEqual(secret, given.getBytes(StandardCharsets.UTF_8))) {
                call.close(Status.UNAUTHENTICATED.withDescription("missing or wrong run secret"), new Metadata());
                return new ServerCall.Listener<>() {};
            }
            return next.startCall(call, headers);
        }
    }

    /** Refuses a stream while {@code max} are open, so that callers cannot pile up frame buffers. */
    private static final class StreamLimit implements ServerInterceptor {
        private final int max;
        private final AtomicInteger open = new AtomicInteger();

        StreamLimit(int max) {
            this.max = max;
        }

        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            if (open.incrementAndGet() > max) {
                open.decrementAndGet();
                call.close(Status.RESOURCE_EXHAUSTED.withDescription("the split server already has " + max
                        + " streams open, the most it serves at once"), new Metadata());
                return new ServerCall.Listener<>() {};
            }
            // every call ends in exactly one of onComplete and onCancel
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
                @Override
                public void onComplete() {
                    open.decrementAndGet();
                    super.onComplete();
                }

                @Override
                public void onCancel() {
                    open.decrementAndGet();
                    super.onCancel();
                }
            };
        }
    }

    @Override
    public void close() {
        grpc.shutdownNow();
        running = false;
        worker.interrupt();
        try {
            grpc.awaitTermination(5, TimeUnit.SECONDS);
            worker.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
