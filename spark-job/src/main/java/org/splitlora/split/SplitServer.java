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
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.split.schedule.LockStepScheduler;
import org.splitlora.split.schedule.StepScheduler;

/**
 * The split server the driver hosts: the gRPC transport in front of the {@link ServerSegment} for
 * the clients of the current round. It checks the secret on a stream's headers, limits streams,
 * decodes and checks frames, answers each micro-batch with its activation gradient, and counts
 * each client's traffic. Which micro-batches are served together, and when, is the
 * {@link StepScheduler}'s choice (today {@link LockStepScheduler}: clients advance in lock-step, a
 * group is served once every client due at (step, micro-batch) has sent, its grouping independent
 * of arrival order); after a step's last group the segment takes one optimizer step on the
 * server's adapters, each on the mean of the gradients of the clients it served.
 *
 * <p>One worker thread owns the segment and the scheduler (PyTorch state is not shared across
 * threads); gRPC threads only decode frames and queue them. A frame of a newer Spark stage attempt
 * rolls the segment back to its state at the start of the round, so a retried round counts each
 * update once.
 *
 * <p>Limits against callers that are not clients of the run: the secret is checked on a stream's
 * headers, before any of its frames is read; a connection carries one stream (a client opens one
 * per round, on its own connection), and at most {@link ServerSettings#maxStreams()} authenticated
 * streams are open at once, each with at most split.pipelineDepth frames waiting, so what the
 * server buffers stays below that many times that many frames of split.maxMessageSize.
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

    // Owned by the worker thread.
    private final StepScheduler<Arrival> scheduler;
    /** Streams failed while handling the current event: their queued frames leave the scheduler after it. */
    private final List<Stream> failed = new ArrayList<>();
    /** When the last group was answered: a frame queued ahead of it waits for its own group only from then. */
    private long lastServed;
    private ServerSegment.Snapshot roundStart;
    private final Map<Integer, ClientTraffic> traffic = new TreeMap<>();

    private SplitServer(ServerSegment segment, ServerSettings settings) {
        this.segment = segment;
        this.settings = settings;
        this.scheduler = new LockStepScheduler<>(settings.stepTimeout(), settings.pipelineDepth(), new StepScheduler.Effects<>() {
            @Override
            public void refuse(Arrival a, StepScheduler.Refusal why, String message) {
                fail(a.stream(), status(why).withDescription(message));
            }

            @Override
            public void rollBack() {
                segment.restore(roundStart);
            }
        });
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
            scheduler.open(new StepScheduler.Turn(round, firstStep, steps, cuts.keySet()));
            this.traffic.clear();
            this.roundStart = segment.snapshot();
            return null;
        });
    }

    /** Closes the round; returns what each client exchanged with the server in it. */
    public Map<Integer, ClientTraffic> endRound() {
        return onWorker(() -> {
            scheduler.close();
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

    // ---- worker side: schedule, compute, reply ---------------------------------------------

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
                    fail(f.stream(), f.status());
                } else if (ev instanceof Gone g) {
                    gone(g.stream(), g.cancelled());
                } else if (ev instanceof Abort x) {
                    scheduler.abort(x.round(), x.firstStep(), x.attempt(), x.reason());
                } else if (ev instanceof Control c) {
                    try {
                        c.done().complete(c.action().call());
                    } catch (Exception e) {
                        c.done().completeExceptionally(e);
                    }
                }
                scheduler.expire(System.nanoTime());
                dropFailed();
            } catch (RuntimeException e) {
                // a compute failure fails the waiting clients, never the server
                LOG.warn("split server: {}", e.toString());
                for (Arrival a : scheduler.drain()) {
                    fail(a.stream(), Status.INTERNAL.withDescription("server error: " + e.getMessage()));
                }
                failed.clear();
            }
        }
    }

    /** Ends a stream with an error; its frames still queued (a pipelined client's) leave the scheduler after this event. */
    private void fail(Stream stream, Status status) {
        if (!stream.closed) {
            stream.closed = true;
            stream.replies.onError(status.asRuntimeException());
            failed.add(stream);
        }
    }

    /**
     * A failed stream's client is gone as far as the round goes (its task fails on the error): as
     * when its connection closes, its queued frames leave the queue and, if it had steps to go,
     * its attempt breaks. Without this a pipelined client's earlier frames would be served and
     * answered on a closed stream.
     */
    private void dropFailed() {
        while (!failed.isEmpty()) {
            Stream s = failed.remove(failed.size() - 1);
            scheduler.disconnected(a -> a.stream() == s, s.clientId, s.attempt);
        }
    }

    /**
     * A client left. If it had steps to go, the round cannot finish: the scheduler fails the other
     * clients now (Spark then retries the whole barrier stage) instead of letting them time out.
     */
    private void gone(Stream stream, boolean cancelled) {
        if (cancelled) {
            // gRPC closed the call with its own status (an OK here could overtake it on the wire)
            stream.closed = true;
        } else {
            stream.complete();
        }
        scheduler.disconnected(a -> a.stream() == stream, stream.clientId, stream.attempt);
    }

    private void arrive(Arrival a) {
        StepRequest r = a.request();
        if (!r.runId().equals(settings.runId())) {
            fail(a.stream(), Status.FAILED_PRECONDITION.withDescription("frame of run " + r.runId() + ", this server serves run "
                    + settings.runId()));
            return;
        }
        StepScheduler.Slot slot = new StepScheduler.Slot(r.clientId(), r.round(), r.attempt(), r.step(), r.micro(), r.microCount());
        if (!scheduler.admit(a, slot)) {
            return;
        }
        try {
            checkFits(r);
        } catch (MalformedFrameException e) {
            fail(a.stream(), Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
            return;
        }
        if (!scheduler.enqueue(a, slot, System.nanoTime())) {
            return;
        }
        a.stream().clientId = r.clientId();
        a.stream().attempt = r.attempt();
        for (StepScheduler.Group<Arrival> g = scheduler.next(); g != null; g = scheduler.next()) {
            serve(g);
            scheduler.served(g, System.nanoTime());
            if (g.endsStep()) {
                segment.step(g.step());
            }
        }
    }

    /** Rejects a frame that does not fit the segment: cut, width, labels. */
    private void checkFits(StepRequest r) {
        OptionalInt cut = segment.cutOf(r.clientId());
        if (cut.isEmpty() || r.cut() != cut.getAsInt()) {
            throw new MalformedFrameException("client " + r.clientId() + " sent activations at cut " + r.cut()
                    + (cut.isEmpty() ? " but has no cut this round" : " but its cut this round is " + cut.getAsInt()));
        }
        ModelConfig model = segment.config();
        if (r.hidden() != model.hiddenSize()) {
            throw new MalformedFrameException("activation width " + r.hidden() + ", the model's hidden size is "
                    + model.hiddenSize());
        }
        for (int label : r.labels()) {
            if (label < 0 || label >= model.vocabSize()) {
                throw new MalformedFrameException("label " + label + " outside the vocabulary of " + model.vocabSize());
            }
        }
    }

    /** Runs a group on the segment and answers each member with its gradient, in the member's wire dtype. */
    private void serve(StepScheduler.Group<Arrival> g) {
        long start = System.nanoTime();
        List<SegmentInput> inputs = new ArrayList<>(g.members().size());
        for (Arrival a : g.members()) {
            inputs.add(a.request().segmentInput());
        }
        ServerSegment.GroupResult result = segment.forwardBackward(inputs);
        for (int i = 0; i < g.members().size(); i++) {
            Arrival a = g.members().get(i);
            ServerSegment.Outcome o = result.outcomes().get(i);
            byte[] gradient = a.request().dtype().encode(o.gradient());
            // waiting for the group's other members: from arrival, or for a frame queued ahead from the last group's answer
            float waited = (float) ((start - Math.max(a.nanos(), lastServed)) / 1e9);
            StepReply reply = new StepReply(g.step(), g.micro(), o.loss(), a.request().dtype(), gradient,
                    (float) result.forwardSeconds(), (float) result.backwardSeconds(), waited);
            a.stream().replies.onNext(reply);
            int client = g.clients().get(i);
            traffic.put(client, traffic.getOrDefault(client, ClientTraffic.NONE).plus(a.bytes(), gradient.length));
        }
        lastServed = System.nanoTime();
    }

    private static Status status(StepScheduler.Refusal why) {
        return switch (why) {
            case NOT_DUE -> Status.FAILED_PRECONDITION;
            case ATTEMPT_ABORTED -> Status.ABORTED;
            case TIMED_OUT -> Status.DEADLINE_EXCEEDED;
        };
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
