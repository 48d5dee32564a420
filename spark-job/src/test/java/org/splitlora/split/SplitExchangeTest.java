package org.splitlora.split;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelPart;
import org.splitlora.model.ModelSource;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.train.AdamW;
import org.splitlora.train.BatchStep;
import org.splitlora.train.EpochSampler;
import org.splitlora.train.LocalBatchStep;
import org.splitlora.train.OptimizerConfig;
import org.splitlora.train.SimulatedSpeed;

/** The split exchange over real gRPC on loopback, against the whole model run in one process. */
class SplitExchangeTest {

    private static final ModelSource SOURCE = ModelSource.of(BuiltinModels.TINY_GPT2);
    private static final LoraSpec SPEC = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V, LoraTarget.DOWN), 4, 16, 0.1);
    // no clipping: the split clips each side by its own norm, the whole model by the joint norm
    private static final OptimizerConfig OPTIM = new OptimizerConfig(5e-3, 0.9, 0.999, 1e-6, 0.01, 2, 0);
    private static final int STEPS = 6;
    private static final long SEED = 11;

    @Test
    void splitAtEveryCutMatchesTheWholeModelStepByStep() {
        List<TokenizedExample> data = data(40);
        List<Double> central = central(data);
        for (int cut = 1; cut < SOURCE.config().numLayers(); cut++) {
            List<Double> split = split(data, cut, WireDtype.FP32, 1).losses();
            for (int s = 0; s < STEPS; s++) {
                assertEquals(central.get(s), split.get(s), 1e-5, "cut " + cut + ", step " + s);
            }
        }
        // half-precision wire: activations and gradients rounded to 11 (fp16) / 8 (bf16) mantissa bits
        List<Double> fp16 = split(data, 2, WireDtype.FP16, 1).losses();
        List<Double> bf16 = split(data, 2, WireDtype.BF16, 1).losses();
        for (int s = 0; s < STEPS; s++) {
            assertEquals(central.get(s), fp16.get(s), 2e-3, "fp16 step " + s);
            assertEquals(central.get(s), bf16.get(s), 2e-2, "bf16 step " + s);
        }
    }

    /**
     * Micro-batches in flight (split.pipelineDepth): each step has 3 (8 rows, 3 per micro-batch),
     * so depth 2 overlaps some, 3 all, and 4 more than there are; the losses, the client's adapters
     * and the server's adapters and moments equal lock-step's bit for bit.
     */
    @Test
    void pipelinedStepsEqualLockStepBitForBit() {
        List<TokenizedExample> data = data(40);
        SplitRun lockStep = split(data, 2, WireDtype.FP32, 1);
        for (int depth = 2; depth <= 4; depth++) {
            SplitRun pipelined = split(data, 2, WireDtype.FP32, depth);
            assertEquals(lockStep.losses(), pipelined.losses(), "depth " + depth + ": per-step losses");
            for (Map.Entry<String, float[]> e : lockStep.client().entrySet()) {
                assertArrayEquals(e.getValue(), pipelined.client().get(e.getKey()), 0f, "depth " + depth + ": client " + e.getKey());
            }
            assertEquals(lockStep.server().keySet(), pipelined.server().keySet());
            lockStep.server().forEach((unit, state) -> {
                state.lora().forEach((k, v) -> assertArrayEquals(v, pipelined.server().get(unit).lora().get(k), 0f, unit + " " + k));
                AdamW.State moments = pipelined.server().get(unit).optimizer();
                assertEquals(state.optimizer().step(), moments.step());
                for (int i = 0; i < moments.m().size(); i++) {
                    assertArrayEquals(state.optimizer().m().get(i), moments.m().get(i), 0f, unit + ": first moment " + i);
                    assertArrayEquals(state.optimizer().v().get(i), moments.v().get(i), 0f, unit + ": second moment " + i);
                }
            });
        }
    }

    @Test
    void rowsJoinTheBatchAtTheirCutAndClientsShareTheBlocksTheyAllRun() {
        // ...and the batched pass checkpointed (blocks recomputed in the backward) gives the same
        int low = 1;
        int high = 2;
        Map<Integer, Integer> cuts = Map.of(0, low, 1, high, 2, high);
        // no dropout: a batch draws other masks than its rows alone
        LoraSpec spec = LoraSpec.of(SPEC.targets(), SPEC.rank(), SPEC.alpha(), 0);
        // one rank everywhere, and a reduced rank on both sides of each cut (its own server unit)
        for (IntFunction<LoraSpec> atCut : List.<IntFunction<LoraSpec>>of(cut -> spec, cut -> spec.atCut(cut, 2))) {
            try (NDManager root = NDManager.newBaseManager();
                 ServerSegment batched = segment(root, 1, spec, atCut);
                 ServerSegment apart = segment(root, 1, spec, atCut);
                 ServerSegment checkpointed = segment(root, 1, spec, atCut, true)) {
                batched.startRound(cuts, init(root));
                apart.startRound(cuts, init(root));
                checkpointed.startRound(cuts, init(root));
                List<SegmentInput> group = List.of(request(root, low, 0).segmentInput(), request(root, high, 1).segmentInput(),
                        request(root, high, 2).segmentInput());
                for (int step = 0; step < 3; step++) {
                    List<ServerSegment.Outcome> together = batched.forwardBackward(group).outcomes();
                    // the same batched pass with its blocks recomputed in the backward
                    List<ServerSegment.Outcome> recomputed = checkpointed.forwardBackward(group).outcomes();
                    for (int i = 0; i < group.size(); i++) {
                        assertEquals(together.get(i).loss(), recomputed.get(i).loss(), 1e-6, "checkpointed, client " + i);
                        assertArrayEquals(together.get(i).gradient(), recomputed.get(i).gradient(), 1e-6f,
                                "checkpointed activation gradient, step " + step + ", client " + i);
                    }
                    for (int i = 0; i < group.size(); i++) {
                        // one pass per client, accumulating on the same units
                        ServerSegment.Outcome alone = apart.forwardBackward(List.of(group.get(i))).outcomes().get(0);
                        assertEquals(alone.loss(), together.get(i).loss(), 1e-5, "step " + step + ", client " + i);
                        assertArrayEquals(alone.gradient(), together.get(i).gradient(), 1e-5f,
                                "activation gradient, step " + step + ", client " + i);
                    }
                    batched.step(step);
                    apart.step(step);
                    checkpointed.step(step);
                }
                Map<String, ServerSegment.UnitState> units = batched.snapshot().units();
                Map<String, ServerSegment.UnitState> reference = apart.snapshot().units();
                assertEquals(reference.keySet(), units.keySet());
                checkpointed.snapshot().units().forEach((name, u) -> u.lora().forEach((k, v) ->
                        assertArrayEquals(units.get(name).lora().get(k), v, 1e-6f, "checkpointed " + name + " " + k)));
                units.forEach((name, u) -> u.lora().forEach((k, v) -> assertArrayEquals(reference.get(name).lora().get(k), v,
                        1e-5f, name + " " + k)));
                // blocks from the high cut up serve all three clients; below it only the low one
                boolean reduced = atCut.apply(high).rank(high) != spec.rank();
                assertEquals(Set.of(0), units.get(reduced ? "cut." + low : "block." + low).clients());
                assertEquals(reduced ? Set.of(0) : Set.of(0, 1, 2), units.get("block." + high).clients());
                if (reduced) {
                    assertEquals(Set.of(1, 2), units.get("cut." + high).clients());
                }
                assertEquals(Set.of(0, 1, 2), units.get("block." + (high + 1)).clients());
            }
        }
    }

    private static ServerSegment.StartValues init(NDManager root) {
        return (spec, from, to) -> {
            try (LoraAdapters init = LoraAdapters.init(root, SOURCE.config(), spec, from, to, SEED)) {
                return init.toFloats();
            }
        };
    }

    @Test
    void refusesClientsWithoutTheSecretAndAnswersMalformedFramesWithoutDying() throws Exception {
        try (NDManager root = NDManager.newBaseManager();
             SplitServer server = SplitServer.start(segment(root, 2), settings("s3cret"))) {
            begin(server, root, 1, Map.of(0, 2));
            StepRequest good = request(root, 2, 0);
            StatusRuntimeException wrongSecret = rawExchange(server.port(), "guess", SplitProtocol.encode(good));
            assertEquals(io.grpc.Status.Code.UNAUTHENTICATED, wrongSecret.getStatus().getCode());
            StatusRuntimeException noSecret = rawExchange(server.port(), null, SplitProtocol.encode(good));
            assertEquals(io.grpc.Status.Code.UNAUTHENTICATED, noSecret.getStatus().getCode());

            byte[] frame = SplitProtocol.encode(good);
            byte[] truncated = java.util.Arrays.copyOf(frame, frame.length - 7);
            assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, rawExchange(server.port(), "s3cret", truncated).getStatus().getCode());
            assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT,
                    rawExchange(server.port(), "s3cret", "garbage".getBytes(java.nio.charset.StandardCharsets.UTF_8)).getStatus().getCode());
            byte[] badDtype = frame.clone();
            badDtype[dtypeOffset(good)] = 9;
            assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, rawExchange(server.port(), "s3cret", badDtype).getStatus().getCode());
            StatusRuntimeException wrongWidth = rawExchange(server.port(), "s3cret", SplitProtocol.encode(withHidden(good, 32)));
            assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, wrongWidth.getStatus().getCode());
            assertTrue(wrongWidth.getStatus().getDescription().contains("hidden size"), wrongWidth.getStatus().getDescription());
            StatusRuntimeException wrongCut = rawExchange(server.port(), "s3cret", SplitProtocol.encode(request(root, 3, 0)));
            assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, wrongCut.getStatus().getCode());
            assertTrue(wrongCut.getStatus().getDescription().contains("its cut this round is 2"), wrongCut.getStatus().getDescription());
            assertThrows(MalformedFrameException.class, () -> new StepRequest("run", 0, 0, 0, 0, 0, 1, 2, 5, WireDtype.FP16,
                    good.batch(), good.time(), good.hidden(), good.activations(), good.lengths(), good.targetPositions(),
                    good.labels(), good.lossWeight()), "fp32 payload declared as fp16");

            // the server still serves a well-formed client of the run
            try (SplitClient client = SplitClient.connect("127.0.0.1", server.port(), "s3cret", null, 64 << 20, Duration.ofSeconds(30))) {
                StepReply reply = client.exchange(good);
                assertTrue(Float.isFinite(reply.loss()) && reply.loss() > 0);
                assertEquals(good.activations().length, reply.gradient().length);
            }
            assertEquals(1, server.endRound().get(0).frames());
        }
    }

    @Test
    void aStragglerOfAFailedAttemptCannotBreakTheRetriedRound() throws Exception {
        try (NDManager root = NDManager.newBaseManager();
             SplitServer server = SplitServer.start(segment(root, 2), settings("k"))) {
            begin(server, root, 1, Map.of(0, 2, 1, 2));
            try (SplitClient y = connect(server); SplitClient z = connect(server)) {
                // attempt 0: both clients are served step 0, and their streams stay open
                var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> y.exchange(withAttempt(request(root, 2, 0), 0)));
                assertTrue(Float.isFinite(z.exchange(withAttempt(request(root, 2, 1), 0)).loss()));
                first.get(30, TimeUnit.SECONDS);
                try (SplitClient a = connect(server); SplitClient b = connect(server)) {
                    // Spark retries the stage: client 0 of attempt 1 waits for client 1 ...
                    var retried = java.util.concurrent.CompletableFuture.supplyAsync(() -> a.exchange(withAttempt(request(root, 2, 0), 1)));
                    Thread.sleep(500);
                    // ... while attempt 0's zombie client 1 goes away; that must not fail attempt 1 ...
                    z.close();
                    Thread.sleep(500);
                    // ... which completes when client 1 of attempt 1 arrives
                    assertTrue(Float.isFinite(b.exchange(withAttempt(request(root, 2, 1), 1)).loss()));
                    assertTrue(Float.isFinite(retried.get(30, TimeUnit.SECONDS).loss()));
                }
            }
            server.endRound();
        }
    }

    /**
     * A pipelined client whose third frame goes beyond split.pipelineDepth 2 is refused, and its two
     * queued frames leave the queue with it: its attempt breaks (it had steps to go), so the other
     * client is refused at once instead of being served and answered on a closed stream; the retried
     * attempt, pipelined, completes.
     */
    @Test
    void aPipelinedClientRefusedMidStepLeavesNoFrameBehind() {
        try (NDManager root = NDManager.newBaseManager();
             SplitServer server = SplitServer.start(segment(root, 1), settings("k", 2))) {
            begin(server, root, 1, Map.of(0, 2, 1, 2));
            try (SplitClient a = connect(server); SplitClient b = connect(server)) {
                for (int m = 0; m < 3; m++) {
                    a.send(micro(request(root, 2, 0), m, 3, 0));
                }
                SplitExchangeException refused = assertThrows(SplitExchangeException.class, () -> a.receive(0, 0, 0));
                assertTrue(refused.getMessage().contains("FAILED_PRECONDITION: client 0 sent more than 2 micro-batches"),
                        refused.getMessage());
                SplitExchangeException other = assertThrows(SplitExchangeException.class,
                        () -> b.exchange(micro(request(root, 2, 1), 0, 3, 0)));
                // refused waiting (ABORTED) or on arrival, depending on which came first
                assertTrue(other.getMessage().contains("ABORTED: client 0 left round 1")
                        || other.getMessage().contains("stage attempt 0 of round 0 failed"), other.getMessage());
            }
            try (SplitClient a = connect(server); SplitClient b = connect(server)) {
                for (int m = 0; m < 3; m++) {
                    a.send(micro(request(root, 2, 0), m, 3, 1));
                    b.send(micro(request(root, 2, 1), m, 3, 1));
                    if (m > 0) {
                        assertTrue(Float.isFinite(a.receive(0, 0, m - 1).loss()));
                        assertTrue(Float.isFinite(b.receive(1, 0, m - 1).loss()));
                    }
                }
                assertTrue(Float.isFinite(a.receive(0, 0, 2).loss()));
                assertTrue(Float.isFinite(b.receive(1, 0, 2).loss()));
            }
            assertEquals(3, server.endRound().get(0).frames(), "attempt 1's frames only");
        }
    }

    private static StepRequest micro(StepRequest r, int micro, int count, int attempt) {
        return new StepRequest(r.runId(), r.clientId(), r.round(), attempt, r.step(), micro, count, r.cut(),
                r.dropoutSeed(), r.dtype(), r.batch(), r.time(), r.hidden(), r.activations(), r.lengths(), r.targetPositions(),
                r.labels(), r.lossWeight());
    }

    private static SplitClient connect(SplitServer server) {
        return SplitClient.connect("127.0.0.1", server.port(), "k", null, 64 << 20, Duration.ofSeconds(30));
    }

    private static StepRequest withAttempt(StepRequest r, int attempt) {
        return new StepRequest(r.runId(), r.clientId(), r.round(), attempt, r.step(), r.micro(), r.microCount(), r.cut(),
                r.dropoutSeed(), r.dtype(), r.batch(), r.time(), r.hidden(), r.activations(), r.lengths(), r.targetPositions(),
                r.labels(), r.lossWeight());
    }

    @Test
    void tlsServerServesClientsThatTrustItsCertificate(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path[] pem = selfSigned(tmp);
        try (NDManager root = NDManager.newBaseManager();
             SplitServer server = SplitServer.start(segment(root, 2), new ServerSettings("127.0.0.1", 0, "run", "k",
                     Duration.ofSeconds(30), 1, 64 << 20, 16, new ServerSettings.Tls(pem[0], pem[1])))) {
            begin(server, root, 1, Map.of(0, 2));
            StepRequest good = request(root, 2, 0);
            try (SplitClient plain = SplitClient.connect("127.0.0.1", server.port(), "k", null, 64 << 20, Duration.ofSeconds(30))) {
                assertThrows(SplitExchangeException.class, () -> plain.exchange(good), "plaintext against a TLS server");
            }
            try (SplitClient client = SplitClient.connect("127.0.0.1", server.port(), "k", java.nio.file.Files.readAllBytes(pem[0]),
                    64 << 20, Duration.ofSeconds(30))) {
                assertTrue(Float.isFinite(client.exchange(good).loss()));
            }
            server.endRound();
        }
    }

    /** A self-signed certificate for 127.0.0.1 made with the JDK's keytool: {cert chain PEM, PKCS#8 key PEM}. */
    private static java.nio.file.Path[] selfSigned(java.nio.file.Path dir) throws Exception {
        java.nio.file.Path store = dir.resolve("server.p12");
        String keytool = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048",
                "-validity", "2", "-dname", "CN=localhost", "-ext", "san=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), log);
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        try (var in = java.nio.file.Files.newInputStream(store)) {
            ks.load(in, "changeit".toCharArray());
        }
        java.util.Base64.Encoder b64 = java.util.Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        java.nio.file.Path cert = dir.resolve("cert.pem");
        java.nio.file.Path key = dir.resolve("key.pem");
        java.nio.file.Files.writeString(cert, "-----BEGIN CERTIFICATE-----\n"
                + b64.encodeToString(ks.getCertificate("server").getEncoded()) + "\n-----END CERTIFICATE-----\n");
        java.nio.file.Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
                + b64.encodeToString(ks.getKey("server", "changeit".toCharArray()).getEncoded()) + "\n-----END PRIVATE KEY-----\n");
        return new java.nio.file.Path[] {cert, key};
    }

    private static List<Double> central(List<TokenizedExample> data) {
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = SOURCE.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, SOURCE.config(), SPEC, 0, SOURCE.config().numLayers(), SEED);
             AdamW opt = new AdamW(lora.parameters(), OPTIM, lora.manager())) {
            return train(new LocalBatchStep(model, lora, 3, 0.1, SEED, false), opt, data);
        }
    }

    /** A split run's per-step losses, the client's adapters and the server's units after it. */
    private record SplitRun(List<Double> losses, Map<String, float[]> client, Map<String, ServerSegment.UnitState> server) {}

    private static SplitRun split(List<TokenizedExample> data, int cut, WireDtype dtype, int depth) {
        try (NDManager root = NDManager.newBaseManager();
             SplitServer server = SplitServer.start(segment(root, 1), settings("k", depth));
             DecoderModel model = SOURCE.load(ModelPart.client(SOURCE.config(), cut), root);
             LoraAdapters lora = LoraAdapters.init(root, SOURCE.config(), SPEC, 0, cut, SEED);
             AdamW opt = new AdamW(lora.parameters(), OPTIM, lora.manager());
             SplitClient client = SplitClient.connect("127.0.0.1", server.port(), "k", null, 64 << 20, Duration.ofSeconds(60))) {
            begin(server, root, STEPS, Map.of(0, cut));
            List<Double> losses = train(new SplitBatchStep(model, lora, 3, depth, SEED, client,
                    new SplitBatchStep.Route("run", 0, 0, 0, dtype, null), SimulatedSpeed.FULL, false), opt, data);
            server.endRound();
            return new SplitRun(losses, lora.toFloats(), server.snapshot().units());
        }
    }

    /** STEPS steps of 8 seeded examples each; the per-step losses. */
    private static List<Double> train(BatchStep step, AdamW opt, List<TokenizedExample> data) {
        EpochSampler sampler = new EpochSampler(data.size(), SEED);
        List<Double> losses = new ArrayList<>();
        for (int s = 0; s < STEPS; s++) {
            losses.add(step.run(pick(data, sampler.next(8)), s).loss());
            opt.step(OPTIM.lrAt(s, STEPS));
        }
        return losses;
    }

    /** Opens round 0 for clients at the given cuts, with the server's adapters initialised as the whole model's would be. */
    static void begin(SplitServer server, NDManager root, int steps, Map<Integer, Integer> cuts) {
        server.beginRound(0, 0, steps, cuts, init(root));
    }

    /** A server that serves every cut from {@code minCut} up. */
    static ServerSegment segment(NDManager root, int minCut) {
        return segment(root, minCut, SPEC, cut -> SPEC);
    }

    private static ServerSegment segment(NDManager root, int minCut, LoraSpec base, IntFunction<LoraSpec> atCut) {
        return segment(root, minCut, base, atCut, false);
    }

    private static ServerSegment segment(NDManager root, int minCut, LoraSpec base, IntFunction<LoraSpec> atCut,
                                         boolean checkpointing) {
        DecoderModel model = SOURCE.load(ModelPart.server(SOURCE.config(), minCut), root);
        return new ServerSegment(model, ServerVersion.V2, base, atCut, UnitStepping.serverAdamW(OPTIM), STEPS, 0.1, checkpointing);
    }

    private static ServerSettings settings(String secret) {
        return settings(secret, 1);
    }

    private static ServerSettings settings(String secret, int depth) {
        return new ServerSettings("127.0.0.1", 0, "run", secret, Duration.ofSeconds(30), depth, 64 << 20, 16, null);
    }

    static StepRequest request(NDManager root, int cut, int client) {
        List<TokenizedExample> data = data(4);
        org.splitlora.train.Batch b = org.splitlora.train.Batch.of(data, SOURCE.config().eosTokenId(), 0);
        int d = SOURCE.config().hiddenSize();
        float[] act = new float[b.size() * b.time() * d];
        java.util.Random rng = new java.util.Random(1);
        for (int i = 0; i < act.length; i++) {
            act[i] = (float) rng.nextGaussian();
        }
        return new StepRequest("run", client, 0, 0, 0, 0, 1, cut, 5, WireDtype.FP32, b.size(), b.time(), d,
                WireDtype.FP32.encode(act), b.rowLengths(), b.flatTargetPositions(), b.targetLabels(), b.targetWeight());
    }

    private static StepRequest withHidden(StepRequest r, int hidden) {
        byte[] act = new byte[r.batch() * r.time() * hidden * 4];
        return new StepRequest(r.runId(), r.clientId(), r.round(), r.attempt(), r.step(), r.micro(), r.microCount(), r.cut(),
                r.dropoutSeed(), r.dtype(), r.batch(), r.time(), hidden, act, r.lengths(), r.targetPositions(), r.labels(),
                r.lossWeight());
    }

    /** Byte offset of the dtype code: magic, version, runId (UTF), 8 ints, the seed. */
    private static int dtypeOffset(StepRequest r) {
        return 8 + 2 + r.runId().length() + 8 * 4 + 8;
    }

    /** Sends one raw frame with the given secret (or none); returns how the server refused it. */
    static StatusRuntimeException rawExchange(int port, String secret, byte[] frame) throws InterruptedException {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            Metadata headers = new Metadata();
            if (secret != null) {
                headers.put(SplitProtocol.SECRET_HEADER, secret);
            }
            LinkedBlockingQueue<Object> out = new LinkedBlockingQueue<>();
            StreamObserver<byte[]> req = ClientCalls.asyncBidiStreamingCall(
                    ClientInterceptors.intercept(ch, MetadataUtils.newAttachHeadersInterceptor(headers))
                            .newCall(SplitProtocol.RAW_EXCHANGE, CallOptions.DEFAULT),
                    new StreamObserver<StepReply>() {
                        public void onNext(StepReply v) { out.add(v); }
                        public void onError(Throwable t) { out.add(t); }
                        public void onCompleted() { out.add("completed"); }
                    });
            req.onNext(frame);
            Object r = out.poll(30, TimeUnit.SECONDS);
            assertTrue(r instanceof StatusRuntimeException, "expected a refusal, got " + r);
            return (StatusRuntimeException) r;
        } finally {
            ch.shutdownNow();
        }
    }

    private static List<TokenizedExample> data(int n) {
        try (TextTokenizer tok = SOURCE.tokenizer()) {
            return PromptCompletionFormat.encodeE2E(tok, SyntheticE2E.generate(n, 5));
        }
    }

    private static List<TokenizedExample> pick(List<TokenizedExample> data, List<Integer> idx) {
        List<TokenizedExample> out = new ArrayList<>();
        for (int i : idx) {
            out.add(data.get(i));
        }
        return out;
    }

}
