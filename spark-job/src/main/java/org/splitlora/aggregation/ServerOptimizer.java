package org.splitlora.aggregation;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** What the server-optimizer aggregators (fedadam, server-adamw) share. */
final class ServerOptimizer {

    private ServerOptimizer() {}

    /**
     * The tensors a server optimizer steps this round: those of blocks held by a client or by
     * several split-server units (v1's per-client copies). A block held only by the shared server
     * unit (v2) was trained by the server's own optimizer every step and is not federated.
     */
    static Set<String> federatedTensors(List<Aggregator.Holder> holders) {
        Map<String, Integer> serverHolders = new TreeMap<>();
        Set<String> byClients = new TreeSet<>();
        for (Aggregator.Holder h : holders) {
            for (String key : h.lora().keySet()) {
                if (h.role() == Aggregator.Role.CLIENT) {
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
}
