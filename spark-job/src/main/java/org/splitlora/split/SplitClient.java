package org.splitlora.split;

import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A client's connection to the split server: one bidirectional stream per round. A client sends
 * micro-batches' activations and receives their gradients in the order it sent them (the server
 * answers a client's frames in order); lock-step sends one and waits for it ({@link #exchange}), a
 * pipelined step keeps several sent before it receives the first. Counts the bytes it sends and
 * receives. Used by one thread.
 */
public final class SplitClient implements AutoCloseable {

    private final ManagedChannel channel;
    private final StreamObserver<StepRequest> requests;
    private final LinkedBlockingQueue<Object> replies = new LinkedBlockingQueue<>();
    private final Duration timeout;
    private long bytesSent;
    private long bytesReceived;

    private SplitClient(ManagedChannel channel, String secret, Duration timeout) {
        this.channel = channel;
        this.timeout = timeout;
        Metadata headers = new Metadata();
        headers.put(SplitProtocol.SECRET_HEADER, secret);
        var call = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers))
                .newCall(SplitProtocol.EXCHANGE, CallOptions.DEFAULT);
        this.requests = ClientCalls.asyncBidiStreamingCall(call, new StreamObserver<StepReply>() {
            @Override
            public void onNext(StepReply r) {
                replies.add(r);
            }

            @Override
            public void onError(Throwable t) {
                replies.add(t);
            }

            @Override
            public void onCompleted() {
                replies.add(Status.UNAVAILABLE.withDescription("the split server closed the stream").asRuntimeException());
            }
        });
    }

    /**
     * Connects to the server at host:port with the run's secret; {@code trustedCertPem} (null for
     * plaintext) is the server's certificate chain for TLS.
     */
    public static SplitClient connect(String host, int port, String secret, byte[] trustedCertPem,
                                      int maxMessageBytes, Duration timeout) {
        NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port).maxInboundMessageSize(maxMessageBytes);
        if (trustedCertPem == null) {
            b.usePlaintext();
        } else {
            try {
                b.sslContext(GrpcSslContexts.forClient().trustManager(new ByteArrayInputStream(trustedCertPem)).build());
            } catch (IOException e) {
                throw new UncheckedIOException("split.tls: " + e.getMessage(), e);
            }
        }
        return new SplitClient(b.build(), secret, timeout);
    }

    /** Sends one micro-batch and waits for its gradient; a server error or timeout is an exception. */
    public StepReply exchange(StepRequest request) {
        send(request);
        return receive(request.clientId(), request.step(), request.micro());
    }

    /** Sends one micro-batch without waiting; its reply comes in turn from {@link #receive}. */
    public void send(StepRequest request) {
        bytesSent += request.wireBytes();
        requests.onNext(request);
    }

    /**
     * Waits for the reply to micro-batch {@code micro} of {@code step} that {@code client} sent, the
     * oldest sent and not yet received; a server error or timeout is an exception.
     */
    public StepReply receive(int client, int step, int micro) {
        Object r;
        try {
            r = replies.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the split server", e);
        }
        if (r == null) {
            throw new SplitExchangeException("no reply from the split server within " + timeout
                    + " (split.stepTimeout) for step " + step + " of client " + client, null);
        }
        if (r instanceof Throwable t) {
            String why = t instanceof StatusRuntimeException s ? s.getStatus().getCode() + ": " + s.getStatus().getDescription()
                    : t.toString();
            throw new SplitExchangeException("split server refused step " + step + " of client " + client + ": " + why, t);
        }
        StepReply reply = (StepReply) r;
        if (reply.step() != step || reply.micro() != micro) {
            throw new SplitExchangeException("split server answered step " + reply.step() + " micro-batch " + reply.micro()
                    + " where client " + client + " waited for step " + step + " micro-batch " + micro, null);
        }
        bytesReceived += reply.gradient().length + 4L;
        return reply;
    }

    public long bytesSent() {
        return bytesSent;
    }

    public long bytesReceived() {
        return bytesReceived;
    }

    @Override
    public void close() {
        try {
            requests.onCompleted();
        } catch (RuntimeException ignored) {
            // the stream may already be failed; closing the channel is what matters
        }
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
