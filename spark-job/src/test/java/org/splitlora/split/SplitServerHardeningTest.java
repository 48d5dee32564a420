package org.splitlora.split;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The split server against callers that are not well-behaved clients of the run, over real sockets. */
class SplitServerHardeningTest {

    private static final String SECRET = "k";

    @Test
    void inLocalModeTheServerListensOnLoopbackOnly() throws Exception {
        assertEquals(new SplitAddress("127.0.0.1", "127.0.0.1"), SplitAddress.of("", "", true, "driver"));
        assertEquals(new SplitAddress("0.0.0.0", "driver"), SplitAddress.of("", "", false, "driver"));
        assertEquals(new SplitAddress("0.0.0.0", "127.0.0.1"), SplitAddress.of("0.0.0.0", "", true, "driver"));
        assertEquals(new SplitAddress("10.1.2.3", "10.1.2.3"), SplitAddress.of("10.1.2.3", "", true, "driver"));
        assertEquals(new SplitAddress("10.1.2.3", "gw"), SplitAddress.of("10.1.2.3", "gw", false, "driver"));

        InetAddress external = nonLoopbackAddress();
        assumeTrue(external != null, "this machine has no non-loopback address to probe");
        try (NDManager root = NDManager.newBaseManager()) {
            SplitAddress local = SplitAddress.of("", "", true, external.getHostAddress());
            try (SplitServer server = SplitServer.start(SplitExchangeTest.segment(root, 2), settings(local.bind(), 1 << 20, 4))) {
                assertThrows(ConnectException.class, () -> probe(external, server.port()),
                        "a local-mode server must not be reachable on " + external.getHostAddress());
                SplitExchangeTest.begin(server, root, 1, Map.of(0, 2));
                try (SplitClient client = connect(local.dial(), server.port())) {
                    assertTrue(Float.isFinite(client.exchange(SplitExchangeTest.request(root, 2, 0)).loss()));
                }
                server.endRound();
            }
            // the probe does reach a server on every interface, as on a cluster
            SplitAddress cluster = SplitAddress.of("", "", false, external.getHostAddress());
            try (SplitServer server = SplitServer.start(SplitExchangeTest.segment(root, 2), settings(cluster.bind(), 1 << 20, 4))) {
                probe(external, server.port());
            }
        }
    }

    @Test
    void streamsOverTheCapAreRefusedWhileTheRoundsClientKeepsWorking() throws Exception {
        try (NDManager root = NDManager.newBaseManager();
             SplitServer server = SplitServer.start(SplitExchangeTest.segment(root, 2), settings("127.0.0.1", 1 << 20, 3))) {
            SplitExchangeTest.begin(server, root, 2, Map.of(0, 2));
            StepRequest first = SplitExchangeTest.request(root, 2, 0);
            List<ManagedChannel> hostile = new ArrayList<>();
            try (SplitClient client = connect("127.0.0.1", server.port())) {
                // served, so its stream holds one of the 3 slots
                assertTrue(Float.isFinite(client.exchange(first).loss()));
                LinkedBlockingQueue<Status> closed = new LinkedBlockingQueue<>();
                for (int i = 0; i < 4; i++) {
                    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
                    hostile.add(ch);
                    openIdleStream(ch, closed);
                }
                // two of the four idle streams fit beside the client's; the other two are refused
                for (int i = 0; i < 2; i++) {
                    Status s = closed.poll(10, TimeUnit.SECONDS);
                    assertNotNull(s, "only " + i + " of 4 streams over the cap of 3 were refused");
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, s.getCode(), s.toString());
                    assertTrue(s.getDescription().contains("already has 3 streams open"), s.getDescription());
                }
                assertTrue(Float.isFinite(client.exchange(atStep(first, 1)).loss()));
                assertEquals(0, closed.size(), "streams refused beyond the two over the cap: " + closed);
            } finally {
                hostile.forEach(ManagedChannel::shutdownNow);
            }
            assertEquals(2, server.endRound().get(0).frames());
        }
    }

    @Test
    void aRawConnectionGetsOneStreamAndEveryFurtherOneIsRefused() throws Exception {
        try (NDManager root = NDManager.newBaseManager();
             SplitServer server = SplitServer.start(SplitExchangeTest.segment(root, 2), settings("127.0.0.1", 1 << 20, 8))) {
            SplitExchangeTest.begin(server, root, 1, Map.of(0, 2));
            try (Socket socket = new Socket("127.0.0.1", server.port())) {
                socket.setSoTimeout(10_000);
                Http2 h2 = new Http2(socket);
                Http2.Frame settings = h2.handshake();
                assertEquals(SplitServer.STREAMS_PER_CONNECTION, settings.setting(Http2.MAX_CONCURRENT_STREAMS),
                        "SETTINGS_MAX_CONCURRENT_STREAMS the server announces");
                for (int stream = 1; stream <= 7; stream += 2) {
                    h2.openGrpcStream(stream, server.port(), SECRET);
                }
                // stream 1 stays open (it has the secret); 3, 5 and 7 are reset as refused
                Set<Integer> refused = new TreeSet<>();
                while (refused.size() < 3) {
                    Http2.Frame f = h2.read();
                    if (f.type() == Http2.RST_STREAM) {
                        assertEquals(Http2.REFUSED_STREAM, f.payload().getInt(0), "RST_STREAM error code of stream " + f.stream());
                        refused.add(f.stream());
                    }
                }
                assertEquals(Set.of(3, 5, 7), refused);
                // a client on its own connection is served meanwhile
                try (SplitClient client = connect("127.0.0.1", server.port())) {
                    assertTrue(Float.isFinite(client.exchange(SplitExchangeTest.request(root, 2, 0)).loss()));
                }
            }
            server.endRound();
        }
    }

    @Test
    void hugeOrForeignFirstFramesAreRefusedAtOnce() throws Exception {
        try (NDManager root = NDManager.newBaseManager();
             SplitServer server = SplitServer.start(SplitExchangeTest.segment(root, 2), settings("127.0.0.1", 1 << 20, 4))) {
            SplitExchangeTest.begin(server, root, 1, Map.of(0, 2));
            byte[] huge = new byte[4 << 20];
            // the secret is checked on the stream's headers: an outsider's frame is never read, whatever its size
            assertEquals(Status.Code.UNAUTHENTICATED, SplitExchangeTest.rawExchange(server.port(), null, huge).getStatus().getCode());
            StatusRuntimeException tooBig = SplitExchangeTest.rawExchange(server.port(), SECRET, huge);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, tooBig.getStatus().getCode(), tooBig.toString());
            StepRequest good = SplitExchangeTest.request(root, 2, 0);
            StatusRuntimeException foreign = SplitExchangeTest.rawExchange(server.port(), SECRET, SplitProtocol.encode(ofRun(good, "other")));
            assertEquals(Status.Code.FAILED_PRECONDITION, foreign.getStatus().getCode());
            assertTrue(foreign.getStatus().getDescription().contains("frame of run other, this server serves run run"),
                    foreign.getStatus().getDescription());
            try (SplitClient client = connect("127.0.0.1", server.port())) {
                assertTrue(Float.isFinite(client.exchange(good).loss()));
            }
            assertEquals(1, server.endRound().get(0).frames());
        }
    }

    private static ServerSettings settings(String bind, int maxMessageBytes, int maxStreams) {
        return new ServerSettings(bind, 0, "run", SECRET, Duration.ofSeconds(30), 1, maxMessageBytes, maxStreams, null);
    }

    private static SplitClient connect(String host, int port) {
        return SplitClient.connect(host, port, SECRET, null, 1 << 20, Duration.ofSeconds(30));
    }

    /** Opens an authenticated stream that sends nothing; how the server closes it goes to {@code closed}. */
    private static void openIdleStream(ManagedChannel ch, LinkedBlockingQueue<Status> closed) {
        ClientCall<byte[], StepReply> call = ch.newCall(SplitProtocol.RAW_EXCHANGE, CallOptions.DEFAULT);
        Metadata headers = new Metadata();
        headers.put(SplitProtocol.SECRET_HEADER, SECRET);
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                    closed.add(status);
                }
            }
        }, headers);
    }

    private static void probe(InetAddress address, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), 5000);
        }
    }

    /** An address of this machine other than loopback, or null. */
    private static InetAddress nonLoopbackAddress() throws SocketException {
        return NetworkInterface.networkInterfaces()
                .filter(SplitServerHardeningTest::isUp)
                .flatMap(NetworkInterface::inetAddresses)
                .filter(a -> !a.isLoopbackAddress() && !a.isLinkLocalAddress())
                .findFirst().orElse(null);
    }

    private static boolean isUp(NetworkInterface n) {
        try {
            return n.isUp() && !n.isLoopback();
        } catch (SocketException e) {
            return false;
        }
    }

    private static StepRequest atStep(StepRequest r, int step) {
        return new StepRequest(r.runId(), r.clientId(), r.round(), r.attempt(), step, r.micro(), r.microCount(), r.cut(),
                r.dropoutSeed(), r.dtype(), r.batch(), r.time(), r.hidden(), r.activations(), r.lengths(), r.targetPositions(),
                r.labels(), r.lossWeight());
    }

    private static StepRequest ofRun(StepRequest r, String runId) {
        return new StepRequest(runId, r.clientId(), r.round(), r.attempt(), r.step(), r.micro(), r.microCount(), r.cut(),
                r.dropoutSeed(), r.dtype(), r.batch(), r.time(), r.hidden(), r.activations(), r.lengths(), r.targetPositions(),
                r.labels(), r.lossWeight());
    }

    /** Just enough of HTTP/2 (RFC 9113) over a plain socket to open gRPC streams by hand. */
    private static final class Http2 {
        static final int HEADERS = 0x1;
        static final int RST_STREAM = 0x3;
        static final int SETTINGS = 0x4;
        static final int MAX_CONCURRENT_STREAMS = 0x3;
        static final int REFUSED_STREAM = 0x7;
        private static final int ACK = 0x1;
        private static final int END_HEADERS = 0x4;

        record Frame(int type, int flags, int stream, ByteBuffer payload) {
            /** A SETTINGS frame's value for {@code id}, or -1. */
            long setting(int id) {
                for (int at = 0; at + 6 <= payload.limit(); at += 6) {
                    if ((payload.getShort(at) & 0xFFFF) == id) {
                        return payload.getInt(at + 2) & 0xFFFFFFFFL;
                    }
                }
                return -1;
            }
        }

        private final DataInputStream in;
        private final DataOutputStream out;

        Http2(Socket socket) throws IOException {
            this.in = new DataInputStream(socket.getInputStream());
            this.out = new DataOutputStream(socket.getOutputStream());
        }

        /** Sends the preface, returns the server's SETTINGS and acknowledges them (which puts them in force). */
        Frame handshake() throws IOException {
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            write(SETTINGS, 0, 0, new byte[0]);
            Frame f;
            do {
                f = read();
            } while (f.type() != SETTINGS || (f.flags() & ACK) != 0);
            write(SETTINGS, ACK, 0, new byte[0]);
            return f;
        }

        /** HEADERS of a gRPC call to the split exchange, without END_STREAM: the stream stays open. */
        void openGrpcStream(int stream, int port, String secret) throws IOException {
            ByteArrayOutputStream block = new ByteArrayOutputStream();
            String[][] headers = {{":method", "POST"}, {":scheme", "http"}, {":path", "/" + SplitProtocol.SERVICE + "/Exchange"},
                    {":authority", "127.0.0.1:" + port}, {"content-type", "application/grpc"}, {"te", "trailers"},
                    {SplitProtocol.SECRET_HEADER.name(), secret}};
            for (String[] h : headers) {
                // HPACK literal field without indexing, new name, no Huffman coding; every string here is < 127 bytes
                block.write(0);
                for (String s : h) {
                    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
                    block.write(b.length);
                    block.write(b);
                }
            }
            write(HEADERS, END_HEADERS, stream, block.toByteArray());
        }

        Frame read() throws IOException {
            int length;
            try {
                length = in.readUnsignedByte() << 16 | in.readUnsignedShort();
            } catch (EOFException e) {
                throw new AssertionError("the server closed the connection", e);
            }
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int stream = in.readInt() & 0x7FFFFFFF;
            byte[] payload = new byte[length];
            in.readFully(payload);
            return new Frame(type, flags, stream, ByteBuffer.wrap(payload));
        }

        private void write(int type, int flags, int stream, byte[] payload) throws IOException {
            out.writeByte(payload.length >>> 16);
            out.writeShort(payload.length & 0xFFFF);
            out.writeByte(type);
            out.writeByte(flags);
            out.writeInt(stream);
            out.write(payload);
            out.flush();
        }
    }
}
