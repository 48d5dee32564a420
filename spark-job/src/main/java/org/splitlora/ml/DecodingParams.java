package org.splitlora.ml;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.generate.GenerationConfig;

/**
 * The decoding Params of {@link SplitLoraModel#transform} and where it runs, declared once for both stages: the
 * estimator carries them too, and Spark hands them (by name) to the model it fits. The owner
 * exposes each through a public accessor, which is how Spark ML finds a stage's Params.
 */
final class DecodingParams implements java.io.Serializable {

    private static final long serialVersionUID = 1L;
    static final List<String> STRATEGIES = List.of("greedy", "beam", "sample");
    static final List<String> DEVICES = Arrays.stream(DeviceChoice.values()).map(DeviceChoice::key).toList();

    final Param<String> outputCol;
    final Param<String> strategy;
    final IntParam maxNewTokens;
    final IntParam numBeams;
    final DoubleParam lengthPenalty;
    final IntParam noRepeatNgram;
    final DoubleParam temperature;
    final IntParam topK;
    final DoubleParam topP;
    final Param<String> generationDevice;

    DecodingParams(Params owner) {
        outputCol = new Param<>(owner, "outputCol", "column transform adds: the continuation generated for promptCol "
                + "(null where the prompt is null)");
        strategy = new Param<>(owner, "strategy", "decoding: greedy | beam (numBeams, lengthPenalty) | sample (temperature, "
                + "topK, topP, seed)", ParamValidators.inArray(STRATEGIES));
        maxNewTokens = new IntParam(owner, "maxNewTokens", "most tokens generated per prompt (fewer at EOS)", ParamValidators.gtEq(1));
        numBeams = new IntParam(owner, "numBeams", "beams of strategy beam", ParamValidators.gtEq(1));
        lengthPenalty = new DoubleParam(owner, "lengthPenalty", "strategy beam: a beam scores sum log p / length^lengthPenalty");
        noRepeatNgram = new IntParam(owner, "noRepeatNgram", "forbid repeating n-grams of this size; 0 = off", ParamValidators.gtEq(0));
        temperature = new DoubleParam(owner, "temperature", "strategy sample: softmax temperature", ParamValidators.gt(0));
        topK = new IntParam(owner, "topK", "strategy sample: sample among the k most likely tokens; 0 = off", ParamValidators.gtEq(0));
        topP = new DoubleParam(owner, "topP", "strategy sample: nucleus mass; 1 = off", ParamValidators.inRange(0, 1, false, true));
        generationDevice = new Param<>(owner, "generationDevice", "where transform generates on each executor: auto (a GPU "
                + "when PyTorch sees one, else cpu) | cpu | gpu", ParamValidators.inArray(DEVICES));
    }

    /** Sets the defaults (the {@code generate} command's); call once every Param of the owner exists. */
    void setDefaults(Params owner) {
        owner.setDefault(outputCol, "generated");
        owner.setDefault(strategy, "greedy");
        owner.setDefault(maxNewTokens, 64);
        owner.setDefault(numBeams, 4);
        owner.setDefault(lengthPenalty, 1.0);
        owner.setDefault(noRepeatNgram, 0);
        owner.setDefault(temperature, 1.0);
        owner.setDefault(topK, 0);
        owner.setDefault(topP, 1.0);
        owner.setDefault(generationDevice, "auto");
    }

    /** The decoding the owner's values ask for; {@code seed} seeds sampling. */
    GenerationConfig config(Params p, long seed, int eosTokenId) {
        int maxNew = (Integer) p.getOrDefault(maxNewTokens);
        int noRepeat = (Integer) p.getOrDefault(noRepeatNgram);
        Set<Integer> eos = Set.of(eosTokenId);
        return switch (p.getOrDefault(strategy)) {
            case "beam" -> new GenerationConfig(GenerationConfig.Strategy.BEAM, maxNew, 1, 0, 1, 0,
                    (Integer) p.getOrDefault(numBeams), (Double) p.getOrDefault(lengthPenalty), noRepeat, false, eos);
            case "sample" -> new GenerationConfig(GenerationConfig.Strategy.SAMPLE, maxNew, (Double) p.getOrDefault(temperature),
                    (Integer) p.getOrDefault(topK), (Double) p.getOrDefault(topP), seed, 1, 1, noRepeat, false, eos);
            default -> new GenerationConfig(GenerationConfig.Strategy.GREEDY, maxNew, 1, 0, 1, 0, 1, 1, noRepeat, false, eos);
        };
    }
}
