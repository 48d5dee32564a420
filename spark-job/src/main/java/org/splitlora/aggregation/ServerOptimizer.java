package org.splitlora.aggregation;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;

/**
 * What the server-optimizer aggregators (fedadam, server-adamw) share: the mean their
 * pseudo-gradient is taken to (fedavg's, with mixed ranks component by component as {@code
 * nested}, so the global adapters keep their full rank and every tensor its shape), which tensors
 * are federated, and their per-tensor moments and step count, which are the checkpointed state.
 */
abstract class ServerOptimizer implements Aggregator {

    final Aggregator average = new NestedRankAverage();
    private final Map<String, float[]> m = new TreeMap<>();
    private final Map<String, float[]> v = new TreeMap<>();
    /** Server steps taken. */
    int step;

    @Override
    public Result start(Map<String, float[]> global, LoraSpec spec, int from, int to, ModelConfig config, long seed) {
        return average.start(global, spec, from, to, config, seed);
    }

    /** {@code key}'s first moment, zeros the first time. */
    float[] firstMoment(String key, int size) {
        return m.computeIfAbsent(key, k -> new float[size]);
    }

    float[] secondMoment(String key, int size) {
        return v.computeIfAbsent(key, k -> new float[size]);
    }

    /** A tensor whose shape changed starts its moments over. */
    void forget(String key) {
        m.remove(key);
        v.remove(key);
    }

    /**
     * The tensors a server optimizer steps this round: those of blocks held by a client or by
     * several split-server units (v1's per-client copies). A block held only by the shared server
     * unit (v2) was trained by the server's own optimizer every step and is not federated.
     */
    static Set<String> federatedTensors(List<Holder> holders) {
        Map<String, Integer> serverHolders = new TreeMap<>();
        Set<String> byClients = new TreeSet<>();
        for (Holder h : holders) {
            for (String key : h.lora().keySet()) {
                if (h.role() == Role.CLIENT) {
                    byClients.add(key);
                } else {
                    serverHolders.merge(key, 1, Integer::sum);
                }
            }
        }
        Set<String> out = new TreeSet<>(byClients);
        serverHolders.forEach((key, n) -> {
            if (n > 1) {
                out.add(key);
            }
        });
        return out;
    }

    @Override
    public Map<String, float[]> state() {
        Map<String, float[]> out = new TreeMap<>();
        m.forEach((k, x) -> out.put("m." + k, x.clone()));
        v.forEach((k, x) -> out.put("v." + k, x.clone()));
        out.put("step", new float[] {step});
        return out;
    }

    @Override
    public void restore(Map<String, float[]> state) {
        m.clear();
        v.clear();
        step = 0;
        for (Map.Entry<String, float[]> e : state.entrySet()) {
            String k = e.getKey();
            if (k.equals("step")) {
                step = (int) e.getValue()[0];
            } else if (k.startsWith("m.")) {
                m.put(k.substring(2), e.getValue().clone());
            } else if (k.startsWith("v.")) {
                v.put(k.substring(2), e.getValue().clone());
            } else {
                throw new IllegalArgumentException(getClass().getSimpleName() + " state: unexpected tensor '" + k
                        + "' in the checkpoint");
            }
        }
    }
}
