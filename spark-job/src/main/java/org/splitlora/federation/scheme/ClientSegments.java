package org.splitlora.federation.scheme;

import java.util.List;
import java.util.Map;
import org.splitlora.federation.ClientStage;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.splitft.CutDecision;

/**
 * Which blocks each client of a federated scheme trains, at which adapter ranks: the whole model,
 * or the segment below its cut while the split server runs the rest, where a cut policy may move
 * the cuts after each round.
 */
interface ClientSegments {

    /** Whether the clients need the split server for the blocks above their segments. */
    boolean split();

    /** Per client, the blocks [0, layers) it trains now. */
    Map<Integer, Integer> layers(List<Integer> clients);

    /** The adapters' ranks of a client segment of {@code layers} blocks. */
    LoraSpec spec(int layers);

    /** The clients' cuts as a round reports them; empty without a split. */
    Map<Integer, Integer> cuts(List<Integer> clients);

    /** After a round: moves cuts (a client whose cut moved restarts its optimizer); the decisions. */
    List<CutDecision> afterRound(int round, List<ClientUpdate> updates, ClientStage stage);

    /** Every client's cut, as checkpointed; empty without a split. */
    Map<Integer, Integer> checkpoint();

    /** Continues with checkpointed cuts. */
    void restore(Map<Integer, Integer> cuts);
}
