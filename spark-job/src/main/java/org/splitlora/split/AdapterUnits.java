package org.splitlora.split;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.train.LocalOptimizer;

/**
 * The server's adapter units by name: each holds the adapters of a range of server blocks, its own
 * optimizer ({@link UnitStepping}), and the clients whose rows it runs this round. Which units exist and whom they serve is
 * the {@link AdapterLayout}'s choice; this keeps them, loads them once a round, and snapshots them.
 */
final class AdapterUnits implements AutoCloseable {

    /** Adapters of a range of server blocks, their optimizer, and the clients whose rows they run this round. */
    static final class Unit implements AutoCloseable {
        final LoraAdapters lora;
        final LocalOptimizer optimizer;
        final Set<Integer> clients = new TreeSet<>();

        private Unit(LoraAdapters lora, UnitStepping stepping) {
            this.lora = lora;
            this.optimizer = stepping.create(lora);
        }

        @Override
        public void close() {
            optimizer.close();
            lora.close();
        }
    }

    private final DecoderModel model;
    private final LoraSpec base;
    private final UnitStepping stepping;
    private final Map<String, Unit> units = new TreeMap<>();

    /** Units of {@code model}'s blocks, adapters shaped like {@code base} where a snapshot does not say otherwise. */
    AdapterUnits(DecoderModel model, LoraSpec base, UnitStepping stepping) {
        this.model = model;
        this.base = base;
        this.stepping = stepping;
    }

    /** Steps every unit in use for global step {@code step}; {@code together}: clipped as one model. */
    void step(int step, int totalSteps, boolean together) {
        stepping.step(inUse(), step, totalSteps, together);
    }

    /** A new round: no unit serves anyone yet. */
    void releaseClients() {
        for (Unit u : units.values()) {
            u.clients.clear();
        }
    }

    /**
     * The unit {@code name} for layers [from, to) at the ranks of {@code spec}, loaded from
     * {@code start} once a round (when it gets its first client). A unit is created on first use;
     * one whose layers moved (a v1 copy whose client's cut moved) is replaced, with a fresh
     * optimizer, since its parameters' shapes changed.
     */
    Unit use(String name, LoraSpec spec, int from, int to, ServerSegment.StartValues start) {
        Unit u = units.get(name);
        if (u != null && u.lora.fromLayer() != from) {
            u.close();
            units.remove(name);
            u = null;
        }
        if (u == null) {
            u = new Unit(LoraAdapters.fromFloats(model.manager(), model.config(), spec, from, to, start.of(spec, from, to)),
                    stepping);
            units.put(name, u);
        } else if (u.clients.isEmpty()) {
            u.lora.loadFloats(start.of(spec, from, to));
        }
        return u;
    }

    Unit get(String name) {
        return units.get(name);
    }

    /** The units that serve a client this round, by name. */
    List<Unit> inUse() {
        List<Unit> out = new ArrayList<>();
        for (Unit u : units.values()) {
            if (!u.clients.isEmpty()) {
                out.add(u);
            }
        }
        return out;
    }

    ServerSegment.Snapshot snapshot() {
        Map<String, ServerSegment.UnitState> out = new TreeMap<>();
        units.forEach((name, u) -> out.put(name, new ServerSegment.UnitState(u.lora.fromLayer(), u.lora.toLayer(),
                Set.copyOf(u.clients), u.lora.toFloats(), u.optimizer.state())));
        return new ServerSegment.Snapshot(out);
    }

    /** Restores a snapshot; gradients accumulated since (a step that never finished) are dropped with the old units. */
    void restore(ServerSegment.Snapshot s) {
        close();
        s.units().forEach((name, state) -> {
            LoraSpec spec = LoraAdapters.specOf(base, model.config(), state.lora());
            Unit u = new Unit(LoraAdapters.fromFloats(model.manager(), model.config(), spec, state.fromLayer(),
                    state.toLayer(), state.lora()), stepping);
            u.optimizer.restore(state.optimizer());
            u.clients.addAll(state.clients());
            units.put(name, u);
        });
    }

    @Override
    public void close() {
        for (Unit u : units.values()) {
            u.close();
        }
        units.clear();
    }
}
