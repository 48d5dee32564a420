package org.splitlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;

/**
 * 2000 training steps on the built-in model: the number of live NDArrays in the JVM must not grow
 * (exact: every array a step makes lives in a scope that closes), nor must the process RSS (which
 * also sees native memory no NDArray accounts for).
 */
@Tag("slow")
class MemorySoakTest {

    @Test
    void liveArraysAndRssStayFlatOver2000Steps() {
        ModelSource source = ModelSource.of(BuiltinModels.TINY_GPT2);
        List<TokenizedExample> data;
        try (TextTokenizer tok = source.tokenizer()) {
            data = PromptCompletionFormat.encodeE2E(tok, SyntheticE2E.generate(64, 1));
        }
        LoraSpec spec = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V), 4, 32, 0.1);
        TrainOptions opts = new TrainOptions(2, 2, new OptimizerConfig(2e-4, 0.9, 0.999, 1e-6, 0.01, 10, 1.0), 0.1, 3);
        int steps = 2000;
        long[] rss = new long[20];
        int[] arrays = new int[rss.length];
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = source.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, 4, 3);
             CentralTrainer trainer = new CentralTrainer(model, lora, opts, data, 0)) {
            // rounds of 100 steps, as the driver's central scheme runs them; a validation pass every 500
            for (int round = 0; round < rss.length; round++) {
                trainer.run(round * 100, 100, steps);
                if ((round + 1) % 5 == 0) {
                    Evaluator.evaluate(model, lora, data.subList(0, 8), 2);
                }
                rss[round] = settledRssKb();
                arrays[round] = liveArrays();
            }
        }
        // the first round creates the optimizer's moments; from then on a step leaves nothing behind
        for (int round = 1; round < arrays.length; round++) {
            assertEquals(arrays[0], arrays[round], "live NDArrays after round " + round + ": " + Arrays.toString(arrays));
        }
        StringBuilder trace = new StringBuilder();
        for (long kb : rss) {
            trace.append(String.format(java.util.Locale.ROOT, " %.1f", kb / 1024.0));
        }
        System.err.println("soak RSS (MB) every 100 steps:" + trace);
        // A leak grows RSS at a steady rate; the JVM and allocators also grow it in one-off steps
        // (a code-cache or malloc-arena expansion, tens of MB once), which are not leaks. So compare
        // the medians of three windows of five samples (steps 500-1000, 1000-1500, 1500-2000): a
        // median of five moves by a step wholly or not at all, so one step lifts one increment,
        // while a leak of a forward pass's tensors per step (>= 32 KB) lifts both by >= 16 MB.
        long first = median(Arrays.copyOfRange(rss, 5, 10));
        long second = median(Arrays.copyOfRange(rss, 10, 15));
        long third = median(Arrays.copyOfRange(rss, 15, 20));
        String seen = " medians " + first + ", " + second + ", " + third + " KB; every 100 steps:" + trace + " MB";
        assertTrue(Math.min(second - first, third - second) < 8 * 1024, "RSS grows steadily:" + seen);
        assertTrue(third - first < 64 * 1024, "RSS grew by more than 64 MB:" + seen);
    }

    /**
     * RSS once the garbage collector has freed the direct buffers DJL staged Java data in: they are
     * released only by a GC, and the up-to-64 MB of them that is pending at a random moment would
     * otherwise swing a sample by more than the leak this test looks for.
     */
    private static long settledRssKb() {
        System.gc();
        try {
            Thread.sleep(100); // the Cleaner thread frees the buffers after the collection
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return rssKb();
    }

    /** Every NDArray DJL tracks in this JVM: the arrays of all managers under the engine's system manager. */
    private static int liveArrays() {
        try (NDManager probe = NDManager.newBaseManager()) {
            return probe.getParentManager().getManagedArrays().size();
        }
    }

    private static long median(long[] values) {
        long[] v = values.clone();
        Arrays.sort(v);
        return (v[(v.length - 1) / 2] + v[v.length / 2]) / 2;
    }

    static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
