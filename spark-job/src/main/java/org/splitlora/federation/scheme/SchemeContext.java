package org.splitlora.federation.scheme;

import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.function.Supplier;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.federation.ClientStage;
import org.splitlora.federation.RunState;
import org.splitlora.model.DecoderModel;

/**
 * What a run gives its scheme as it starts: the client stage (federated schemes), the whole model
 * and every training example (CenLoRA), the schedule, the adapters to start from, and the
 * checkpoint it continues.
 *
 * @param firstRound the first round to train: 0, or the checkpoint's completed rounds
 * @param restored the checkpoint the run continues; null for a new run
 */
public record SchemeContext(
        ClientStage stage,
        DecoderModel wholeModel,
        Supplier<SortedMap<Integer, List<TokenizedExample>>> examplesByClient,
        int clientsPerRound,
        int totalSteps,
        int firstRound,
        Map<String, float[]> global,
        RunState restored) {}
