package org.splitlora.aggregation;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.splitlora.train.OptimizerConfig;

/**
 * {@code server-adamw}: FedOpt (Reddi et al. 2021) with the run's own AdamW ({@code optimizer.*}:
 * betas, eps, weight decay, clipping, warmup/decay schedule) as the server optimizer. Each round
 * the pseudo-gradient of a federated tensor is g = previous − mean(holders) (fedavg's mean, mixed
 * ranks component by component as {@code nested}); g is clipped by
 * its global norm over all federated tensors (optimizer.maxGradNorm) and one bias-corrected AdamW
 * step is taken at the schedule's learning rate for the round's first global step.
 *
 * <p>With {@code federation.clientOptimizer = sgd}, {@code clientLr = 1} and one local step a
 * round, a client's update is minus its gradient, so this is AdamW on the weighted mean of the
 * clients' gradients — CenLoRA's step on the union of the clients' batches — while every client
 * still trains only on its own data. The moments and step count are checkpointed.
 */
final class ServerAdamW extends ServerOptimizer {

    private final OptimizerConfig optim;

    ServerAdamW(AggregatorSettings s) {
        this.optim = s.runOptimizer();
    }

    @Override
    public Result aggregate(List<Holder> holders, Map<String, float[]> previous, Round round) {
        Result mean = average.aggregate(holders, previous, round);
        Set<String> federated = federatedTensors(holders);
        Map<String, float[]> out = new TreeMap<>(mean.adapters());
        Map<String, double[]> grads = new TreeMap<>();
        double sq = 0;
        for (String key : federated) {
            float[] avg = mean.adapters().get(key);
            float[] prev = previous.get(key);
            if (prev == null || prev.length != avg.length) {
                forget(key);
                continue; // a block whose rank moved takes the average and starts over
            }
            double[] g = new double[prev.length];
            for (int i = 0; i < g.length; i++) {
                g[i] = (double) prev[i] - avg[i];
                sq += g[i] * g[i];
            }
            grads.put(key, g);
        }
        if (grads.isEmpty()) {
            return mean;
        }
        double norm = Math.sqrt(sq);
        double clip = optim.maxGradNorm() > 0 ? Math.min(1, optim.maxGradNorm() / (norm + 1e-6)) : 1;
        double lr = optim.lrAt(round.firstStep(), round.totalSteps());
        step++;
        double bc1 = 1 - Math.pow(optim.beta1(), step);
        double bc2 = 1 - Math.pow(optim.beta2(), step);
        for (Map.Entry<String, double[]> e : grads.entrySet()) {
            float[] prev = previous.get(e.getKey());
            float[] mk = firstMoment(e.getKey(), prev.length);
            float[] vk = secondMoment(e.getKey(), prev.length);
            float[] next = new float[prev.length];
            for (int i = 0; i < prev.length; i++) {
                double g = e.getValue()[i] * clip;
                mk[i] = (float) (optim.beta1() * mk[i] + (1 - optim.beta1()) * g);
                vk[i] = (float) (optim.beta2() * vk[i] + (1 - optim.beta2()) * g * g);
                double x = prev[i] * (1 - lr * optim.weightDecay());
                next[i] = (float) (x - lr / bc1 * mk[i] / (Math.sqrt(vk[i] / bc2) + optim.eps()));
            }
            out.put(e.getKey(), next);
        }
        return new Result(out, mean.truncationError());
    }

}
