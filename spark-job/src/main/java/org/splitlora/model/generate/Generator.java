package org.splitlora.model.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.Torch;

/** Text generation with a KV cache: greedy, sampling, or beam search with HF semantics. */
public final class Generator {

    private final DecoderModel model;
    private final LoraAdapters lora;

    public Generator(DecoderModel model, LoraAdapters lora) {
        if (!model.part().embeddings() || !model.part().head()) {
            throw new IllegalArgumentException("generation needs a whole model, got part " + model.part());
        }
        this.model = model;
        this.lora = lora;
    }

    public GenerationResult generate(int[] prompt, GenerationConfig cfg) {
        validatePrompt(prompt);
        try (Torch.GradScope ignored = Torch.gradMode(false); DecodingSession s = new DecodingSession(model, lora)) {
            return switch (cfg.strategy()) {
                case GREEDY, SAMPLE -> single(s, prompt, cfg, maxNew(prompt, cfg));
                case BEAM -> beam(s, prompt, cfg, maxNew(prompt, cfg)).get(0);
            };
        }
    }

    /**
     * The {@code n} best finished hypotheses of a beam search (HF {@code num_return_sequences}),
     * best first: their scores, {@code sum log p / len^lengthPenalty}, do not increase.
     */
    public List<GenerationResult> generateBeams(int[] prompt, GenerationConfig cfg, int n) {
        if (cfg.strategy() != GenerationConfig.Strategy.BEAM || n < 1 || n > cfg.numBeams()) {
            throw new IllegalArgumentException("return sequences: " + n + " must be in [1, beams = " + cfg.numBeams()
                    + "] of a beam search");
        }
        validatePrompt(prompt);
        try (Torch.GradScope ignored = Torch.gradMode(false); DecodingSession s = new DecodingSession(model, lora)) {
            List<GenerationResult> all = beam(s, prompt, cfg, maxNew(prompt, cfg));
            return all.subList(0, Math.min(n, all.size()));
        }
    }

    private int maxNew(int[] prompt, GenerationConfig cfg) {
        return Math.min(cfg.maxNewTokens(), model.config().maxPositions() - prompt.length);
    }

    private void validatePrompt(int[] prompt) {
        int vocab = model.config().vocabSize();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new IllegalArgumentException("prompt id " + prompt[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (prompt.length >= model.config().maxPositions()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the model's context is "
                    + model.config().maxPositions());
        }
    }

    private GenerationResult single(DecodingSession s, int[] prompt, GenerationConfig cfg, int maxNew) {
        Random rng = new Random(cfg.seed());
        List<Integer> out = new ArrayList<>();
        int[] history = prompt;
        double score = 0;
        float[] logits = s.prefill(prompt)[0];
        for (int i = 0; i < maxNew; i++) {
            double[] logp = LogitsMath.logSoftmax(logits);
            banRepeatedNgrams(history, cfg.noRepeatNgramSize(), logp);
            int next = cfg.strategy() == GenerationConfig.Strategy.GREEDY
                    ? LogitsMath.argmax(logp)
                    : LogitsMath.sample(LogitsMath.toFloats(logp), cfg.temperature(), cfg.topK(), cfg.topP(), rng);
            score += logp[next];
            if (cfg.eosTokenIds().contains(next)) {
                return new GenerationResult(toArray(out), score, true);
            }
            out.add(next);
            history = Arrays.copyOf(history, history.length + 1);
            history[history.length - 1] = next;
            if (i + 1 < maxNew) {
                logits = s.step(new int[] {next})[0];
            }
        }
        return new GenerationResult(toArray(out), score, false);
    }

    /** A finished hypothesis: generated tokens and its length-penalised score. */
    private record Hypothesis(int[] tokens, double score, boolean eos) {}

    /** A running beam: full token history (prompt included) and its sum of log-probs. */
    private record Beam(int[] history, double sumLogProb) {}

    private record Candidate(int row, int token, double score) {}

    /**
     * HF beam search (BeamSearchScorer), its kept hypotheses best first: each step keeps the best
     * {@code 2·beams} continuations; an EOS among the top {@code beams} closes a hypothesis scored
     * {@code sum log p / len^penalty} (len = generated tokens including the EOS); the search ends when no running beam can beat the
     * worst kept hypothesis, or at the length limit.
     */
    private List<GenerationResult> beam(DecodingSession s, int[] prompt, GenerationConfig cfg, int maxNew) {
        int k = cfg.numBeams();
        float[][] logits = s.prefill(prompt);
        List<Beam> beams = List.of(new Beam(prompt, 0));
        List<Hypothesis> done = new ArrayList<>();
        for (int step = 0; step < maxNew; step++) {
            int genLen = step + 1;
            List<Candidate> cands = new ArrayList<>();
            for (int r = 0; r < beams.size(); r++) {
                double[] logp = LogitsMath.logSoftmax(logits[r]);
                banRepeatedNgrams(beams.get(r).history(), cfg.noRepeatNgramSize(), logp);
                for (int[] top : LogitsMath.topIndices(logp, 2 * k)) {
                    cands.add(new Candidate(r, top[0], beams.get(r).sumLogProb() + logp[top[0]]));
                }
            }
            cands.sort(Comparator.comparingDouble(Candidate::score).reversed());
            List<Beam> next = new ArrayList<>();
            int[] sourceRows = new int[k];
            for (int rank = 0; rank < cands.size() && next.size() < k; rank++) {
                Candidate c = cands.get(rank);
                if (Double.isInfinite(c.score())) {
                    break;
                }
                int[] hist = beams.get(c.row()).history();
                if (cfg.eosTokenIds().contains(c.token())) {
                    if (rank < k) {
                        addHypothesis(done, k, new Hypothesis(Arrays.copyOfRange(hist, prompt.length, hist.length),
                                c.score() / Math.pow(genLen, cfg.lengthPenalty()), true));
                    }
                    continue;
                }
                int[] h = Arrays.copyOf(hist, hist.length + 1);
                h[hist.length] = c.token();
                sourceRows[next.size()] = c.row();
                next.add(new Beam(h, c.score()));
            }
            if (next.isEmpty()) {
                break;
            }
            beams = next;
            if (isDone(done, k, cfg, beams.get(0).sumLogProb(), genLen) || step + 1 == maxNew) {
                break;
            }
            s.selectRows(Arrays.copyOf(sourceRows, beams.size()));
            int[] tokens = new int[beams.size()];
            for (int r = 0; r < beams.size(); r++) {
                int[] h = beams.get(r).history();
                tokens[r] = h[h.length - 1];
            }
            logits = s.step(tokens);
        }
        for (Beam b : beams) {
            int gen = b.history().length - prompt.length;
            if (gen > 0) {
                addHypothesis(done, k, new Hypothesis(Arrays.copyOfRange(b.history(), prompt.length, b.history().length),
                        b.sumLogProb() / Math.pow(gen, cfg.lengthPenalty()), false));
            }
        }
        if (done.isEmpty()) {
            return List.of(new GenerationResult(new int[0], Double.NEGATIVE_INFINITY, false));
        }
        return done.stream().sorted(Comparator.comparingDouble(Hypothesis::score).reversed())
                .map(h -> new GenerationResult(h.tokens(), h.score(), h.eos())).toList();
    }

    private static void addHypothesis(List<Hypothesis> done, int k, Hypothesis h) {
        if (done.size() < k || h.score() > worst(done)) {
            done.add(h);
            if (done.size() > k) {
                done.remove(done.stream().min(Comparator.comparingDouble(Hypothesis::score)).orElseThrow());
            }
        }
    }

    private static double worst(List<Hypothesis> done) {
        return done.stream().mapToDouble(Hypothesis::score).min().orElse(Double.POSITIVE_INFINITY);
    }

    private static boolean isDone(List<Hypothesis> done, int k, GenerationConfig cfg, double bestRunning, int genLen) {
        if (done.size() < k) {
            return false;
        }
        if (cfg.earlyStopping()) {
            return true;
        }
        return worst(done) >= bestRunning / Math.pow(genLen, cfg.lengthPenalty());
    }

    /** Forbids tokens that would repeat an n-gram already in the history (HF no_repeat_ngram_size). */
    static void banRepeatedNgrams(int[] history, int n, double[] logp) {
        if (n <= 0 || history.length + 1 < n) {
            return;
        }
        Map<List<Integer>, Set<Integer>> seen = new HashMap<>();
        for (int i = 0; i + n <= history.length; i++) {
            List<Integer> prefix = new ArrayList<>(n - 1);
            for (int j = i; j < i + n - 1; j++) {
                prefix.add(history[j]);
            }
            seen.computeIfAbsent(prefix, x -> new HashSet<>()).add(history[i + n - 1]);
        }
        List<Integer> current = new ArrayList<>(n - 1);
        for (int j = history.length - n + 1; j < history.length; j++) {
            current.add(history[j]);
        }
        for (int banned : seen.getOrDefault(current, Set.of())) {
            logp[banned] = Double.NEGATIVE_INFINITY;
        }
    }

    private static int[] toArray(List<Integer> list) {
        return list.stream().mapToInt(Integer::intValue).toArray();
    }
}
