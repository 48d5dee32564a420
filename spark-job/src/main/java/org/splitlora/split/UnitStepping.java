package org.splitlora.split;

import java.util.List;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.train.AdamW;
import org.splitlora.train.ClientOptimizer;
import org.splitlora.train.LocalOptimizer;
import org.splitlora.train.OptimizerConfig;
import org.splitlora.train.Sgd;

/**
 * How the split server's adapter units step, once a global step, each on the mean of the
 * gradients of the clients it served: with the server's own AdamW ({@code optimizer.*}), which
 * trains the server's blocks; or as the clients step ({@code federation.clientOptimizer}), when a
 * server optimizer (FedOpt) aggregates the units like clients and takes the adaptive step itself —
 * then with SGD clients a unit's update is, like a client's, minus its gradient.
 */
public abstract class UnitStepping {

    private UnitStepping() {
    }

    /** The server trains its blocks with the run's AdamW. */
    public static UnitStepping serverAdamW(OptimizerConfig optim) {
        return new WithAdamW(optim);
    }

    /** The units step with the clients' optimizer and are aggregated as clients are. */
    public static UnitStepping asClients(ClientOptimizer clients, OptimizerConfig optim) {
        return clients.sgd() ? new WithSgd(clients.sgdLr()) : new WithAdamW(optim);
    }

    abstract LocalOptimizer create(LoraAdapters lora);

    /**
     * One step of {@code units} for global step {@code step} of {@code totalSteps}, each on its
     * gradients over the number of clients it served.
     *
     * @param together the units are parts of one model, clipped by their joint norm
     */
    abstract void step(List<AdapterUnits.Unit> units, int step, int totalSteps, boolean together);

    private static double[] meanScales(List<AdapterUnits.Unit> units) {
        double[] scales = new double[units.size()];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = 1.0 / units.get(i).clients.size();
        }
        return scales;
    }

    private static final class WithAdamW extends UnitStepping {
        private final OptimizerConfig optim;

        WithAdamW(OptimizerConfig optim) {
            this.optim = optim;
        }

        @Override
        LocalOptimizer create(LoraAdapters lora) {
            return new AdamW(lora.parameters(), optim, lora.manager());
        }

        @Override
        void step(List<AdapterUnits.Unit> units, int step, int totalSteps, boolean together) {
            double lr = optim.lrAt(step, totalSteps);
            double[] scales = meanScales(units);
            if (together) {
                AdamW.stepTogether(units.stream().map(u -> (AdamW) u.optimizer).toList(), lr, scales);
            } else {
                for (int i = 0; i < scales.length; i++) {
                    ((AdamW) units.get(i).optimizer).step(lr, scales[i]);
                }
            }
        }
    }

    private static final class WithSgd extends UnitStepping {
        private final double lr;

        WithSgd(double lr) {
            this.lr = lr;
        }

        @Override
        LocalOptimizer create(LoraAdapters lora) {
            return new Sgd(lora, lr);
        }

        /** SGD does not clip, so stepping together is stepping each. */
        @Override
        void step(List<AdapterUnits.Unit> units, int step, int totalSteps, boolean together) {
            double[] scales = meanScales(units);
            for (int i = 0; i < scales.length; i++) {
                ((Sgd) units.get(i).optimizer).step(scales[i]);
            }
        }
    }
}
