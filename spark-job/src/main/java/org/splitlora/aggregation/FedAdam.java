package org.splitlora.aggregation;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code fedadam}: a server optimizer over rounds (Reddi et al. 2021, "Adaptive Federated
 * Optimization", Algorithm 2). The pseudo-gradient of a tensor is Δ = mean(holders) − previous,
 * the mean being fedavg's (with mixed ranks component by component, as {@code nested}: the global
 * adapters keep their full rank, so every tensor keeps its shape and its moments);
 * the server keeps Adam moments m, v of Δ and moves the global adapters by lr·m/(√v + τ). Tensors
 * no holder returned this round keep their value without a step, their moments untouched; a tensor whose shape changes (a block's rank moved)
 * takes the average and starts its moments over.
 *
 * <p>Settings: {@code federation.fedadam.lr | beta1 | beta2 | tau}. The moments are the state
 * checkpointed with the run.
 */
final class FedAdam extends ServerOptimizer {

    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double tau;

    FedAdam(AggregatorSettings s) {
        this.lr = s.number("lr", 0, true, Double.MAX_VALUE, false);
        this.beta1 = s.number("beta1", 0, false, 1, true);
        this.beta2 = s.number("beta2", 0, false, 1, true);
        this.tau = s.number("tau", 0, true, Double.MAX_VALUE, false);
    }

    @Override
    public Result aggregate(List<Holder> holders, Map<String, float[]> previous, Round round) {
        Result mean = average.aggregate(holders, previous, round);
        Set<String> federated = federatedTensors(holders);
        if (!federated.isEmpty()) {
            step++;
        }
        Map<String, float[]> out = new TreeMap<>();
        for (Map.Entry<String, float[]> e : mean.adapters().entrySet()) {
            String key = e.getKey();
            float[] avg = e.getValue();
            float[] prev = previous.get(key);
            if (!federated.contains(key)) {
                out.put(key, avg);
            } else if (prev == null || prev.length != avg.length) {
                forget(key);
                out.put(key, avg);
            } else {
                out.put(key, step(key, prev, avg));
            }
        }
        return new Result(out, mean.truncationError());
    }

    private float[] step(String key, float[] prev, float[] avg) {
        float[] mk = firstMoment(key, prev.length);
        float[] vk = secondMoment(key, prev.length);
        float[] next = new float[prev.length];
        for (int i = 0; i < prev.length; i++) {
            double delta = (double) avg[i] - prev[i];
            mk[i] = (float) (beta1 * mk[i] + (1 - beta1) * delta);
            vk[i] = (float) (beta2 * vk[i] + (1 - beta2) * delta * delta);
            next[i] = (float) (prev[i] + lr * mk[i] / (Math.sqrt(vk[i]) + tau));
        }
        return next;
    }
}
