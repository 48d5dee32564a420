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

    /** The server's units step as clients do, so the pseudo-gradient of every block is in one currency. */
    @Override
    public boolean aggregatesServerUnits() {
        return true;
    }

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
     * The tensors a server optimizer steps this round: every tensor a holder returned. All holders
     * stepped as clients ({@link #aggregatesServerUnits}): a unit trained by the server's own
     * optimizer has no pseudo-gradient in the clients' terms and is refused.
     */
    static Set<String> federatedTensors(List<Holder> holders) {
        Set<String> out = new TreeSet<>();
        for (Holder h : holders) {
            if (h.role() == Role.SERVER) {
                throw new IllegalArgumentException(h.who() + ": a server optimizer aggregates split-server units that "
                        + "stepped as clients, not ones the server trained with its own optimizer");
            }
            out.addAll(h.lora().keySet());
        }
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
