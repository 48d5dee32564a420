package org.splitlora.split;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The split exchange as a gRPC bidirectional stream with our own binary frames (no generated
 * code): a magic and version, then fixed fields, then length-prefixed arrays. Decoding checks
 * every length against what is left, so a malformed frame is an error, never a huge allocation.
 */
public final class SplitProtocol {

    public static final String SERVICE = "splitlora.SplitServer";
    /** The run's secret travels in this header; the server refuses streams without it. */
    public static final Metadata.Key<String> SECRET_HEADER = Metadata.Key.of("splitlora-secret", Metadata.ASCII_STRING_MARSHALLER);

    private static final int REQUEST_MAGIC = 0x534C5251; // "SLRQ"
    private static final int REPLY_MAGIC = 0x534C5250; // "SLRP"
    private static final int VERSION = 1;

    public static final MethodDescriptor<StepRequest, StepReply> EXCHANGE = MethodDescriptor.<StepRequest, StepReply>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Exchange"))
            .setRequestMarshaller(new RequestMarshaller())
            .setResponseMarshaller(new ReplyMarshaller())
            .build();

    /**
     * The same method as the server registers it: requests arrive as raw bytes and are decoded by
     * the service, so a malformed frame is answered with INVALID_ARGUMENT on its stream.
     */
    public static final MethodDescriptor<byte[], StepReply> RAW_EXCHANGE = MethodDescriptor.<byte[], StepReply>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Exchange"))
            .setRequestMarshaller(new RawMarshaller())
            .setResponseMarshaller(new ReplyMarshaller())
            .build();

    private SplitProtocol() {}

    public static byte[] encode(StepRequest r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(r.activations().length + 64 + 12 * r.labels().length);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(REQUEST_MAGIC);
            out.writeInt(VERSION);
            out.writeUTF(r.runId());
            out.writeInt(r.clientId());
            out.writeInt(r.round());
            out.writeInt(r.attempt());
            out.writeInt(r.step());
            out.writeInt(r.micro());
            out.writeInt(r.microCount());
            out.writeInt(r.cut());
            out.writeLong(r.dropoutSeed());
            out.writeByte(r.dtype().ordinal());
            out.writeInt(r.batch());
            out.writeInt(r.time());
            out.writeInt(r.hidden());
            out.writeFloat(r.lossWeight());
            writeBytes(out, r.activations());
            out.writeInt(r.lengths().length);
            for (int l : r.lengths()) {
                out.writeInt(l);
            }
            out.writeInt(r.labels().length);
            for (int i = 0; i < r.labels().length; i++) {
                out.writeLong(r.targetPositions()[i]);
                out.writeInt(r.labels()[i]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    public static StepRequest decodeRequest(byte[] frame) {
        try (Reader in = new Reader(frame)) {
            in.expect(REQUEST_MAGIC, "request");
            String runId = in.readUTF();
            int client = in.readInt();
            int round = in.readInt();
            int attempt = in.readInt();
            int step = in.readInt();
            int micro = in.readInt();
            int microCount = in.readInt();
            int cut = in.readInt();
            long seed = in.readLong();
            WireDtype dtype = in.dtype();
            int batch = in.readInt();
            int time = in.readInt();
            int hidden = in.readInt();
            float weight = in.readFloat();
            byte[] act = in.bytes();
            int[] lengths = new int[in.count(4)];
            for (int i = 0; i < lengths.length; i++) {
                lengths[i] = in.readInt();
            }
            int n = in.count(12);
            long[] positions = new long[n];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                positions[i] = in.readLong();
                labels[i] = in.readInt();
            }
            in.end();
            return new StepRequest(runId, client, round, attempt, step, micro, microCount, cut, seed, dtype,
                    batch, time, hidden, act, lengths, positions, labels, weight);
        } catch (IOException e) {
            throw new MalformedFrameException("truncated request frame: " + e.getMessage());
        }
    }

    public static byte[] encode(StepReply r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(r.gradient().length + 32);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(REPLY_MAGIC);
            out.writeInt(VERSION);
            out.writeInt(r.step());
            out.writeInt(r.micro());
            out.writeFloat(r.loss());
            out.writeByte(r.dtype().ordinal());
            out.writeFloat(r.forwardSeconds());
            out.writeFloat(r.backwardSeconds());
            out.writeFloat(r.waitSeconds());
            writeBytes(out, r.gradient());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    public static StepReply decodeReply(byte[] frame) {
        try (Reader in = new Reader(frame)) {
            in.expect(REPLY_MAGIC, "reply");
            int step = in.readInt();
            int micro = in.readInt();
            float loss = in.readFloat();
            WireDtype dtype = in.dtype();
            float forward = in.readFloat();
            float backward = in.readFloat();
            float wait = in.readFloat();
            byte[] grad = in.bytes();
            in.end();
            return new StepReply(step, micro, loss, dtype, grad, forward, backward, wait);
        } catch (IOException e) {
            throw new MalformedFrameException("truncated reply frame: " + e.getMessage());
        }
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readAll(InputStream stream) {
        try (stream) {
            return stream.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A bounds-checked reader over one frame. */
    private static final class Reader extends DataInputStream {
        private final int size;

        Reader(byte[] frame) {
            super(new ByteArrayInputStream(frame));
            this.size = frame.length;
        }

        void expect(int magic, String what) throws IOException {
            if (size < 8 || readInt() != magic) {
                throw new MalformedFrameException("not a split-protocol " + what + " frame");
            }
            int version = readInt();
            if (version != VERSION) {
                throw new MalformedFrameException("protocol version " + version + ", this server speaks " + VERSION);
            }
        }

        WireDtype dtype() throws IOException {
            int d = readUnsignedByte();
            if (d >= WireDtype.values().length) {
                throw new MalformedFrameException("unknown wire dtype code " + d);
            }
            return WireDtype.values()[d];
        }

        /** A count of elements of {@code width} bytes that must fit in what is left of the frame. */
        int count(int width) throws IOException {
            int n = readInt();
            if (n < 0 || (long) n * width > available()) {
                throw new MalformedFrameException("array of " + n + " elements does not fit in the frame");
            }
            return n;
        }

        byte[] bytes() throws IOException {
            byte[] b = new byte[count(1)];
            readFully(b);
            return b;
        }

        void end() throws IOException {
            if (available() != 0) {
                throw new MalformedFrameException(available() + " trailing bytes after the frame");
            }
        }
    }

    private static final class RequestMarshaller implements MethodDescriptor.Marshaller<StepRequest> {
        @Override
        public InputStream stream(StepRequest value) {
            return new ByteArrayInputStream(encode(value));
        }

        @Override
        public StepRequest parse(InputStream stream) {
            return decodeRequest(readAll(stream));
        }
    }

    private static final class ReplyMarshaller implements MethodDescriptor.Marshaller<StepReply> {
        @Override
        public InputStream stream(StepReply value) {
            return new ByteArrayInputStream(encode(value));
        }

        @Override
        public StepReply parse(InputStream stream) {
            return decodeReply(readAll(stream));
        }
    }

    private static final class RawMarshaller implements MethodDescriptor.Marshaller<byte[]> {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            return readAll(stream);
        }
    }
}
