package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.splitlora.config.TrainConfig;
import org.splitlora.model.ModelSource;
import org.splitlora.train.AdamW;

/**
 * Per-client state stays with its client: a round's broadcast plan holds nothing of any one client,
 * each task's start holds only its own client's optimizer state, and so the bytes a task receives
 * (plan + start, Java-serialized as Spark's default serializer ships them) are the same with 3
 * clients as with 30.
 */
class ClientStartTest {

    @Test
    void bytesPerTaskDoNotGrowWithTheNumberOfClients() throws IOException {
        long[] perTask = new long[2];
        int[] counts = {3, 30};
        for (int i = 0; i < counts.length; i++) {
            int n = counts[i];
            TrainConfig cfg = TrainConfig.load(null, List.of("model=builtin:tiny-gpt2", "data.dir=/nonexistent", "mode=sfl", "split.cut=2",
                    "lora.targets=[q,v]", "lora.rank=8"));
            ClientStage stage = new ClientStage(null, cfg, ModelSource.of(cfg.model()).config(), null, "run-0001",
                    cfg.federation().newAggregator(), null, null, null, 100);
            Map<Integer, AdamW.State> states = new TreeMap<>();
            Map<Integer, Long> done = new TreeMap<>();
            Map<Integer, Integer> layers = new TreeMap<>();
            for (int c = 0; c < n; c++) {
                states.put(c, state(c));
                done.put(c, 10L * c);
                layers.put(c, 2);
            }
            stage.restore(new RunState(1, Map.of(), null, states, done, null, Map.of(), Map.of()));
            long plan = bytes(stage.plan(1, 10, Map.of()));
            List<ClientStart> starts = stage.clientStarts(layers);
            assertEquals(n, starts.size());
            long largest = 0;
            for (int c = 0; c < n; c++) {
                ClientStart s = starts.get(c);
                assertEquals(c, s.clientId(), "starts follow the partitions' client order");
                assertSame(states.get(c), s.optimizer(), "client " + c + " gets its own state");
                assertEquals(10L * c, s.batchesDone());
                largest = Math.max(largest, bytes(s));
            }
            perTask[i] = plan + largest;
        }
        assertEquals(perTask[0], perTask[1], "bytes a task receives with 3 and with 30 clients");
        assertTrue(perTask[0] > 2 * 4 * 1024, "a task's start carries its AdamW moments: " + perTask[0]);
    }

    @Test
    void aClientWhoseCutMovedStartsWithAFreshOptimizer() {
        TrainConfig cfg = TrainConfig.load(null, List.of("model=builtin:tiny-gpt2", "data.dir=/nonexistent", "mode=splitft", "split.cut=2"));
        ClientStage stage = new ClientStage(null, cfg, ModelSource.of(cfg.model()).config(), null, "run", cfg.federation().newAggregator(),
                null, null, null, 100);
        stage.restore(new RunState(1, Map.of(), null, Map.of(0, state(0), 1, state(1)), Map.of(), null, Map.of(), Map.of()));
        stage.restartOptimizer(1);
        List<ClientStart> starts = stage.clientStarts(Map.of(0, 2, 1, 3));
        assertEquals(3, starts.get(1).layers());
        assertNull(starts.get(1).optimizer());
        assertTrue(starts.get(0).optimizer() != null);
    }

    /** An AdamW state of the shape a client's q,v rank-8 adapters over two blocks would have. */
    private static AdamW.State state(int client) {
        List<float[]> m = new ArrayList<>();
        List<float[]> v = new ArrayList<>();
        for (int p = 0; p < 8; p++) {
            float[] a = new float[8 * 64];
            a[0] = client;
            m.add(a);
            v.add(a.clone());
        }
        return new AdamW.State(3, m, v);
    }

    private static long bytes(Object o) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ObjectOutputStream s = new ObjectOutputStream(out)) {
            s.writeObject(o);
        }
        return out.size();
    }
}
