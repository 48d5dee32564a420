package org.splitlora.federation;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.split.SplitBatchStep;
import org.splitlora.split.SplitClient;
import org.splitlora.train.BatchStep;
import org.splitlora.train.LocalBatchStep;
import org.splitlora.train.LocalOptimizer;
import org.splitlora.train.LocalSteps;
import scala.collection.Iterator;
import scala.collection.JavaConverters;
import scala.runtime.AbstractFunction1;

/**
 * One federated client's part of a round, run as a Spark task over that client's partition: load
 * the frozen segment (cached per executor), start from the broadcast adapters and the client's own
 * optimizer state, run the round's local steps (against the split server, or the whole model
 * locally in FL), and return the update.
 */
final class ClientTask extends AbstractFunction1<Iterator<ClientInput>, Iterator<ClientUpdate>>
        implements Serializable {

    private static final long serialVersionUID = 1L;
    private final Broadcast<RoundPlan> plan;

    ClientTask(Broadcast<RoundPlan> plan) {
        this.plan = plan;
    }

    @Override
    public Iterator<ClientUpdate> apply(Iterator<ClientInput> inputs) {
        ClientInput in = inputs.next();
        ClientStart start = in.start();
        int client = start.clientId();
        List<TokenizedExample> examples = in.examples();
        TaskContext ctx = TaskContext.get();
        RoundPlan p = plan.value();
        if (examples.isEmpty()) {
            throw new ClientFailure("client " + client + ": no training rows (its shard changed after the driver checked it)", null);
        }
        if (in.rowsClient() != client) {
            throw new IllegalStateException("partition " + ctx.partitionId() + " holds the rows of client " + in.rowsClient()
                    + " but the start of client " + client);
        }
        int attempt = ctx instanceof BarrierTaskContext b ? b.stageAttemptNumber() : ctx.stageAttemptNumber();
        ClientUpdate u;
        try {
            u = train(p, start, examples, attempt);
        } catch (RuntimeException e) {
            throw ClientFailure.permanent(e) ? ClientFailure.of(client, e) : e;
        }
        return JavaConverters.asScalaIteratorConverter(List.of(u).iterator()).asScala();
    }

    static ClientUpdate train(RoundPlan p, ClientStart own, List<TokenizedExample> examples, int attempt) {
        long t0 = System.nanoTime();
        int client = own.clientId();
        int layers = own.layers();
        RoundPlan.SegmentStart start = p.starts().get(layers);
        Device device = p.device().resolve("devices.client");
        DecoderModel model = SegmentCache.get(p.model(), layers, device);
        var config = ModelSource.of(p.model()).config();
        long seed = ClientSeeds.of(p.seed(), client);
        try (NDManager m = NDManager.newBaseManager(device);
             LoraAdapters lora = LoraAdapters.fromFloats(m, config, start.spec(), 0, layers, start.lora());
             LocalOptimizer opt = p.clientOptimizer().create(lora, p.optimizer())) {
            if (own.optimizer() != null) {
                opt.restore(own.optimizer());
            }
            LocalSteps steps = new LocalSteps(examples, seed, p.batchSize(), own.batchesDone());
            SplitClient link = p.server() == null ? null : SplitClient.connect(p.server().host(), p.server().port(),
                    p.server().secret(), p.server().trustedCertPem(), p.server().maxMessageBytes(), p.server().timeout());
            try {
                BatchStep step = link == null
                        ? new LocalBatchStep(model, lora, p.microBatchSize(), p.labelSmoothing(), seed, p.gradientCheckpointing())
                        : new SplitBatchStep(model, lora, p.microBatchSize(), p.server().pipelineDepth(), seed, link, new SplitBatchStep.Route(
                                p.runId(), client, p.round(), attempt, p.server().dtype(), p.server().privacy()),
                                own.speed(), p.gradientCheckpointing());
                BatchStep.StepLoss sum = steps.run(step, opt, p.firstStep(), p.localSteps(), p.totalSteps(),
                        s -> FaultInjection.check(p.round(), client, s, attempt));
                double seconds = (System.nanoTime() - t0) / 1e9;
                return new ClientUpdate(client, layers, start.spec().rank(layers - 1), lora.toFloats(), opt.state(), examples.size(), p.localSteps(), sum.loss(),
                        sum.tokens(), seconds, step.timings(), link == null ? 0 : link.bytesSent(), link == null ? 0 : link.bytesReceived(), attempt);
            } finally {
                if (link != null) {
                    link.close();
                }
            }
        }
    }
}
